"""A run's scheduler state as text for people: Go's goroutine dump, GODEBUG=schedtrace's SCHED
line and its scheddetail=1 form.  The runtime hands over the state array (a failed run's
threads.Snapshot, or the live state at a schedtrace tick); the text is made here."""
from __future__ import annotations

from ..runtime import layout as L
from ..runtime.state import table

_GSTATUS = {L.Gidle: "idle", L.Grunnable: "runnable", L.Grunning: "running",
            L.Gsyscall: "syscall", L.Gwaiting: "waiting", L.Gdead: "dead"}


def _where(program, pc: int) -> str:
    pc = min(max(pc, 0), len(program.pc_func) - 1)
    fn = program.func_names[int(program.pc_func[pc])]
    return f"{fn}: {program.pc_text[pc]}  ({program.source}:{int(program.pc_line[pc])})"


def goroutine_dump(S, program) -> str:
    """Go-style listing of every live G: id, state or wait reason, statement, YAML line."""
    lines = []
    for gp in range(1, int(S[L.S_ALLGLEN]) + 1):
        g = table(S, L.H_ALLG, L.GSTRIDE, gp)
        st = int(g[L.G_STATUS])
        if st == L.Gdead:
            continue
        if st == L.Gwaiting:
            state, pc = L.WAIT_REASONS[int(g[L.G_WAITREASON])] or "waiting", int(g[L.G_PC]) - 1
        else:
            state, pc = _GSTATUS.get(st, str(st)), int(g[L.G_PC])
        lines.append(f"goroutine {int(g[L.G_GOID])} [{state}]:\n    {_where(program, pc)}")
    return "\n\n".join(lines)


def schedtrace_line(S, elapsed: float) -> str:
    """GODEBUG=schedtrace's line."""
    nprocs = int(S[L.S_NPROCS])
    runqs = []
    for pid in range(1, nprocs + 1):
        p = table(S, L.H_ALLP, L.PSTRIDE, pid)
        runqs.append(str(max(int(p[L.P_RUNQTAIL] - p[L.P_RUNQHEAD]), 0)))   # Go: tail - head
    return (f"SCHED {int(elapsed * 1000)}ms: gomaxprocs={nprocs} idleprocs={int(S[L.S_NPIDLE])} "
            f"threads={int(S[L.S_MCOUNT] - S[L.S_NMFREED])} "
            f"spinningthreads={int(S[L.S_NMSPINNING])} "
            f"idlethreads={int(S[L.S_NMIDLE])} runqueue={int(S[L.S_RUNQSIZE])} "
            f"[{' '.join(runqs)}]")


def scheduler_dump(S, program) -> str:
    """schedtrace's detailed form (scheddetail=1) followed by the goroutine dump."""
    goid = lambda gp: int(table(S, L.H_ALLG, L.GSTRIDE, gp)[L.G_GOID]) if gp else 0
    out = [schedtrace_line(S, 0.0)]
    pstat = {L.Pidle: "idle", L.Prunning: "running", L.Psyscall: "syscall", L.Pgcstop: "gcstop",
             L.Pdead: "dead"}
    for pid in range(1, int(S[L.S_NPROCS]) + 1):
        p = table(S, L.H_ALLP, L.PSTRIDE, pid)
        out.append(f"  P{pid - 1}: status={pstat.get(int(p[L.P_STATUS]), p[L.P_STATUS])} "
                   f"schedtick={int(p[L.P_SCHEDTICK])} syscalltick={int(p[L.P_SYSCALLTICK])} "
                   f"m={int(p[L.P_M]) - 1} runqsize={int(p[L.P_RUNQTAIL] - p[L.P_RUNQHEAD])} "
                   f"runnext={goid(int(p[L.P_RUNNEXT]))}")
    for mid in range(1, int(S[L.S_MCOUNT]) + 1):
        m = table(S, L.H_ALLM, L.MSTRIDE, mid)
        out.append(f"  M{mid - 1}: p={int(m[L.M_P]) - 1} curg={goid(int(m[L.M_CURG]))} "
                   f"spinning={bool(m[L.M_SPINNING])}")
    gd = goroutine_dump(S, program)
    return "\n".join(out) + ("\n\n" + gd if gd else "")


def describe(snapshot) -> str:
    """A failed run's dump (threads.Snapshot): the goroutines, after the scheduler's detail
    when the snapshot asks for it (a timeout, a failed invariant)."""
    if snapshot.scheduler:
        return scheduler_dump(snapshot.S, snapshot.program)
    return goroutine_dump(snapshot.S, snapshot.program)
