"""The Python side of a run: OS threads for the Ms, the template thread, the watchdog, results.

Threads.  Each M is a Python ``threading.Thread`` that enters the nogil core once for its whole
life.  Go's newm creates a thread with clone(); a Python thread takes ~100 µs to start, so the
template thread (this module's loop, on the caller's thread) keeps a couple of *spare* threads
parked in the core: newm hands its new M to a spare at futex speed and the template thread starts
a replacement.  Ms are still created on demand and counted as Go counts them (threads_max); only
the OS thread under each is prepared ahead.

The template thread also watches the run: it wakes when main returns, when an M fails, and every
few milliseconds to check the timeout (watchdog) and print schedtrace lines.
"""
from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..workload import ops
from . import layout as L
from .clock import ticks_to_ns_py
from .policy import K_SYSMON
from .state import new_state, rows, steps_per_ns, table
from .histogram import NBUCKETS
from .trace import collect

SPARES = 2                 # spare threads kept ready for newm
TICK_NS = 20_000_000       # the template thread's longest sleep
JOIN_TIMEOUT = 5.0


class RunError(Exception):
    """A run that did not finish: deadlock, timeout, a failed invariant, too many threads."""

    def __init__(self, kind: str, message: str, dump: str = ""):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.dump = dump

    def __str__(self):
        return self.message + ("\n\n" + self.dump if self.dump else "")


class RunInterrupted(RunError):
    """Ctrl-C during a run: the threads were stopped cleanly."""


@dataclass
class RunResult:
    wall_time: float                     # s, main runnable -> main returned
    cpu_time: float                      # s, CPU of every M's thread over the run
    counters: dict                       # COUNTERS' names, plus EXTRA_COUNTERS
    latency: np.ndarray                  # histogram of runnable->running, ns (stats.py buckets)
    threads_max: int
    gs_live: int                         # Gs still alive when main returned
    netpoll_latency: np.ndarray          # histogram of readiness due -> G running, ns
    channels: dict = field(default_factory=dict)   # name -> {sent, received, sent_sum, received_sum}
    trace: np.ndarray | None = None      # with trace=True: trace.TRACE_DTYPE events, by time
    trace_dropped: int = 0               # events lost to full buffers
    steps_per_ns: float = 0.0            # `work`'s rate: xorshift64 steps per ns of `work: D`
    request_latency: np.ndarray | None = None   # serve: scheduled arrival -> handler's end, ns
    safepoint_latency: np.ndarray | None = None   # histogram: stop requested -> every P stopped, ns
    stw_pause: np.ndarray | None = None           # histogram: world stopped -> started again, ns


def _core():
    from . import sched  # imported late: compiling it is the expensive part
    return sched


class _Run:
    def __init__(self, program, procs, knobs, timeout, max_threads, max_gs, seed, schedtrace,
                 out, trace_max, steps_per_ns=None):
        self.program = program
        self.knobs = knobs
        self.timeout = timeout
        self.S = new_state(program, procs, knobs, max_threads, max_gs, seed, trace_max,
                           steps_per_ns)
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.schedtrace = schedtrace
        self.out = out
        from . import load_core
        load_core()
        self.core = _core()

    # -- threads --------------------------------------------------------------------------------
    def _start_thread(self, name, body, *args):
        def guarded():
            try:
                body(self.S, *args)
            except BaseException as e:  # an invariant failed inside the core: stop everyone
                self.errors.append(f"{type(e).__name__}: {e}")
                self.core.fatal_from_outside(self.S, L.FATAL_THROW, 0)
                self.core.stop_all(self.S)
        t = threading.Thread(target=guarded, name=name, daemon=True)
        self.threads.append(t)
        t.start()

    def _spawn_spare(self):
        self._start_thread(f"gmpbench-m{len(self.threads)}", self.core.spare_thread)

    def _start_system_threads(self):
        """sysmon (an M without a P, as in Go) and, for workloads that sleep, the timer thread
        (not an M)."""
        if self.knobs[K_SYSMON]:
            self._start_thread("gmpbench-sysmon", self.core.sysmon, self.core.newsysmon(self.S))
        if self._uses(ops.SLEEP) or self._uses_after():
            self._start_thread("gmpbench-timers", self.core.timerproc)
        if self._uses(ops.NETWAIT) or self._uses(ops.SERVE_ACCEPT):
            _raise_fd_limit()
            if not self.core.netpollinit(self.S):
                raise RunError("throw", "fatal error: netpollinit: epoll_create1/eventfd failed")
            self._start_thread("gmpbench-network", self.core.netemu)
        self.system_threads = len(self.threads)

    def _uses(self, op) -> bool:
        return bool((np.asarray(self.program.code)[:, 0] == op).any())

    def _uses_after(self) -> bool:
        """A select with an `after:` case (its timers are served by the timer thread)."""
        code = np.asarray(self.program.code)
        return bool(((code[:, 0] == ops.CASE) & (code[:, 1] == ops.CASE_AFTER)).any())

    def _close_fds(self):
        """Close every connection's eventfd, the break eventfd and the epoll instance."""
        S = self.S
        fds = [int(S[L.S_BREAKFD]), int(S[L.S_EPFD])]
        for gp in range(1, int(S[L.S_ALLGLEN]) + 1):
            fds.append(int(table(S, L.H_ALLG, L.GSTRIDE, gp)[L.G_CONNFD]))
        for fd in fds:
            if fd > 0:
                os.close(fd)

    def _replenish(self):
        """Keep SPARES threads ready: those not yet an M are parked or on their way."""
        S = self.S
        while True:
            spares = len(self.threads) - self.system_threads - int(S[L.S_MCOUNT] - S[L.S_NMSYS])
            if spares >= SPARES or S[L.S_MCOUNT] + spares >= S[L.S_MAXMCOUNT]:
                return
            self._spawn_spare()

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> RunResult:
        S = self.S
        self._start_system_threads()
        for _ in range(SPARES):
            self._spawn_spare()
        while S[L.S_NPOOL] < SPARES:           # thread start-up is outside the measurement
            if self.errors:
                break
            time.sleep(0.0002)
        t0 = time.monotonic()
        self.core.start_main(S)
        next_trace = t0 + (self.schedtrace or 0)
        try:
            while not (S[L.S_STOP] or S[L.S_FATAL]):
                self.core.template_wait(S, TICK_NS)
                self._replenish()
                now = time.monotonic()
                if now - t0 > self.timeout:
                    self.core.fatal_from_outside(S, L.FATAL_TIMEOUT, 0)
                if self.schedtrace and now >= next_trace:
                    next_trace += self.schedtrace
                    print(schedtrace_line(S, now - t0), file=self.out, flush=True)
        except KeyboardInterrupt:
            self.core.fatal_from_outside(S, L.FATAL_INTERRUPT, 0)
        dump_before = scheduler_dump(S, self.program) if S[L.S_FATAL] == L.FATAL_TIMEOUT else ""
        self.core.stop_all(S)
        self._join()
        if not self.errors:                 # a stuck thread may still use them
            self._close_fds()
        return self._result(dump_before)

    def _join(self):
        deadline = time.monotonic() + JOIN_TIMEOUT
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self.threads if t.is_alive()]
        if stuck:
            self.errors.append(f"threads did not stop: {', '.join(stuck)}")

    def _result(self, timeout_dump: str) -> RunResult:
        S = self.S
        code = int(S[L.S_FATAL])
        if code != L.FATAL_NONE or self.errors:
            raise self._error(code, timeout_dump)
        nm = int(S[L.S_MCOUNT]) + 1
        st = rows(S, L.H_MSTATS, L.STSTRIDE, nm).sum(axis=0)
        counters = {name: int(st[i]) for i, name in enumerate(L.COUNTERS)}
        counters["threads_max"] = int(S[L.S_THREADS_MAX])
        counters["requests"] = int(rows(S, L.H_MREQLAT, NBUCKETS, nm).sum())   # serve
        for i, name in enumerate(L.EXTRA_COUNTERS + L.LATER_COUNTERS + L.SELECT_COUNTERS):
            counters[name] = int(st[len(L.COUNTERS) + i])    # the row's order (layout.py)
        stw = table(S, L.H_STWLAT, NBUCKETS, 0), table(S, L.H_STWLAT, NBUCKETS, 1)
        trace, dropped = collect(S) if S[L.S_TRACE] else (None, 0)
        return RunResult(
            wall_time=int(ticks_to_ns_py(S, S[L.S_ENDTICK] - S[L.S_STARTTICK])) / 1e9,
            cpu_time=counters["cpu_ns"] / 1e9,
            counters=counters,
            latency=rows(S, L.H_MLAT, NBUCKETS, nm).sum(axis=0),
            request_latency=rows(S, L.H_MREQLAT, NBUCKETS, nm).sum(axis=0),
            netpoll_latency=rows(S, L.H_MNETLAT, NBUCKETS, nm).sum(axis=0),
            threads_max=int(S[L.S_THREADS_MAX]),
            gs_live=counters["gs_created"] - counters["gs_exited"],
            channels=channel_stats(S, self.program),
            trace=trace,
            trace_dropped=dropped,
            steps_per_ns=steps_per_ns(S),
            safepoint_latency=stw[0].copy(),
            stw_pause=stw[1].copy(),
        )

    def _error(self, code, timeout_dump) -> RunError:
        S = self.S
        if code == L.FATAL_DEADLOCK:
            return RunError("deadlock", "fatal error: all goroutines are asleep - deadlock!",
                            goroutine_dump(S, self.program))
        if code == L.FATAL_TIMEOUT:
            return RunError("timeout", f"fatal error: run exceeded its timeout of "
                            f"{self.timeout:g}s (watchdog)", timeout_dump)
        if code == L.FATAL_MAXTHREADS:
            return RunError("maxthreads", f"fatal error: thread exhaustion: more than "
                            f"{int(S[L.S_MAXMCOUNT])} threads (max_threads)",
                            goroutine_dump(S, self.program))
        if code == L.FATAL_MAXG:
            return RunError("maxg", f"fatal error: more than {int(S[L.S_MAXG])} live "
                            "goroutines (the G table is full)")
        if code == L.FATAL_PANIC:
            return RunError("panic", "panic: " + L.PANIC_MESSAGES[int(S[L.S_FATALARG])],
                            goroutine_dump(S, self.program))
        if code == L.FATAL_INTERRUPT:
            return RunInterrupted("interrupt", "interrupted")
        return RunError("throw", "fatal error: " + "; ".join(self.errors or ["unknown"]),
                        scheduler_dump(S, self.program))


def _raise_fd_limit():
    """One eventfd per connection: let the process open as many files as it may."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_program(program, procs: int, knobs: np.ndarray, *, timeout: float = 120.0,
                max_threads: int = 10000, max_gs: int = 1 << 20, seed: int | None = None,
                schedtrace: float | None = None, out=None, trace: bool = False,
                trace_max: int = L.TRACE_MAX, steps_per_ns: float | None = None) -> RunResult:
    """Run a compiled workload once at GOMAXPROCS=procs under a policy's knobs.  trace=True
    records an execution trace (RunResult.trace) of at most trace_max events per M.
    steps_per_ns: `work`'s rate (default: the machine's calibration, work.steps_per_ns)."""
    import sys
    run = _Run(program, procs, knobs, timeout, max_threads, max_gs,
               program.seed if seed is None else seed, schedtrace, out or sys.stdout,
               trace_max if trace else 0, steps_per_ns)
    return run.run()


# ---- reading the state for people ------------------------------------------------------------------

def channel_stats(S, program) -> dict:
    out = {}
    for i, name in enumerate(program.chan_names):
        c = table(S, L.H_CHANS, L.CSTRIDE, i)
        out[name] = {"sent": int(c[L.C_SENT]), "received": int(c[L.C_RECVD]),
                     "sent_sum": int(c[L.C_SENTSUM]), "received_sum": int(c[L.C_RECVDSUM]),
                     "buffered": int(c[L.C_COUNT]), "closed": bool(c[L.C_CLOSED])}
    return out


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
