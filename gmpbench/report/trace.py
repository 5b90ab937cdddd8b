"""An execution trace (gmpbench.runtime.trace) as Chrome Trace Event JSON, for Perfetto or
chrome://tracing: one track per P with an interval per G run (named by the G's function, with
its goid and why it stopped), one track per M with its syscalls, one with the stop-the-world
pauses (and resizes), and instant events for steals, syscall exits and netpoll deliveries.
Timestamps are microseconds (the format's unit)."""
from __future__ import annotations

import json

from ..runtime.layout import WAIT_REASONS, WHY_NAMES
from ..runtime.trace import (
    EV_GO_START, EV_GO_STOP, EV_NETPOLL, EV_STEAL, EV_SYSCALL_ENTER, EV_SYSCALL_EXIT_FAST,
    EV_STW_START,
    EV_STW_STOP,
    EV_STW_STOPPED,
    EV_SYSCALL_EXIT_SLOW, STEAL_SHIFT, WHY_BITS,
)

PID = 1                     # one process per run
M_TID_BASE = 1000           # M tracks come after the P tracks
STW_TID = 999               # the stop-the-world track, between them


def stop_reason(arg: int) -> str:
    """EV_GO_STOP's arg as words: "park: chan receive", "yield", ..."""
    why, wait = arg & ((1 << WHY_BITS) - 1), arg >> WHY_BITS
    name = WHY_NAMES.get(why, str(why))
    if name == "park" and 0 < wait < len(WAIT_REASONS):
        return f"park: {WAIT_REASONS[wait]}"
    return name


def function_name(program, pc: int) -> str:
    """The function a G that started at pc runs (workload.Program)."""
    if 0 <= pc < len(program.pc_func):
        return program.func_names[int(program.pc_func[pc])]
    return f"pc{pc}"


def _us(ns: int) -> float:
    return ns / 1000.0


def _p_tid(p: int) -> int:
    return p


def _m_tid(m: int) -> int:
    return M_TID_BASE + m


class _Builder:
    """Walks the events in time order, pairing starts with stops per goid."""

    def __init__(self, program):
        self.program = program
        self.out: list[dict] = []
        self.running: dict[int, tuple[int, int, str]] = {}  # goid -> (start ns, P, function)
        self.funcs: dict[int, str] = {}                     # goid -> function
        self.syscalls: dict[int, tuple[int, int]] = {}      # M -> (enter ns, goid)
        self.ps: set[int] = set()
        self.ms: set[int] = set()
        self.stw: tuple[int, int, int] | None = None      # (stop requested, stopped, procs)

    def interval(self, name, tid, start, end, args, cat):
        self.out.append({"name": name, "cat": cat, "ph": "X", "ts": _us(start),
                         "dur": _us(max(end - start, 0)), "pid": PID, "tid": tid,
                         "args": args})

    def instant(self, name, tid, t, args):
        self.out.append({"name": name, "cat": "sched", "ph": "i", "s": "t", "ts": _us(t),
                         "pid": PID, "tid": tid, "args": args})

    def start_g(self, goid, p, t, func):
        self.funcs[goid] = func
        self.running[goid] = (t, p, func)
        self.ps.add(p)

    def stop_g(self, goid, t, reason):
        if goid not in self.running:
            return
        start, p, func = self.running.pop(goid)
        self.interval(func, _p_tid(p), start, t, {"goid": goid, "stop": reason}, "G")

    def event(self, e):
        kind, t, goid, p, m, arg = (int(e["kind"]), int(e["t"]), int(e["goid"]), int(e["p"]),
                                    int(e["m"]), int(e["arg"]))
        if kind == EV_GO_START:
            self.start_g(goid, p, t, function_name(self.program, arg))
        elif kind == EV_GO_STOP:
            self.stop_g(goid, t, stop_reason(arg))
        elif kind == EV_SYSCALL_ENTER:
            self.stop_g(goid, t, "syscall (blocking)" if arg else "syscall")
            self.syscalls[m] = (t, goid)
        elif kind in (EV_SYSCALL_EXIT_FAST, EV_SYSCALL_EXIT_SLOW):
            self.end_syscall(kind, m, t, goid, p)
        elif kind == EV_STEAL:
            victim, n = arg & ((1 << STEAL_SHIFT) - 1), arg >> STEAL_SHIFT
            self.ps.add(p)
            self.instant("steal", _p_tid(p), t, {"victim": f"P{victim - 1}", "gs": n})
        elif kind in (EV_STW_STOP, EV_STW_STOPPED, EV_STW_START):
            self.stop_the_world(kind, t, arg)
        elif kind == EV_NETPOLL:
            tid = _p_tid(p) if p else _m_tid(m)
            (self.ps if p else self.ms).add(p or m)
            self.instant("netpoll", tid, t, {"gs": arg})

    def stop_the_world(self, kind, t, arg):
        """A stop-the-world as one interval on its track (time to safepoint in its args), and
        a procresize as an instant when gomaxprocs changed."""
        if kind == EV_STW_STOP:
            self.stw = (t, t, arg)
        elif self.stw is not None and kind == EV_STW_STOPPED:
            self.stw = (self.stw[0], t, self.stw[2])
        elif self.stw is not None:
            start, stopped, procs = self.stw
            self.stw = None
            self.ps.update(range(1, arg + 1))       # a track for every P, as for procs
            self.interval("stop-the-world", STW_TID, start, t,
                          {"time_to_safepoint_us": _us(stopped - start),
                           "pause_us": _us(t - stopped), "gomaxprocs": arg}, "stw")
            if arg != procs:
                self.instant(f"procresize {procs} -> {arg}", STW_TID, t, {"gomaxprocs": arg})

    def end_syscall(self, kind, m, t, goid, p):
        fast = kind == EV_SYSCALL_EXIT_FAST
        start, _ = self.syscalls.pop(m, (t, goid))
        self.ms.add(m)
        self.interval("syscall", _m_tid(m), start, t,
                      {"goid": goid, "exit": "fast" if fast else "slow"}, "syscall")
        if fast:                                # gp runs on, on the P it got back
            self.start_g(goid, p, t, self.funcs.get(goid, "?"))
        else:
            self.instant("syscall exit (slow)", _m_tid(m), t, {"goid": goid})

    def finish(self, end):
        """Close what was still running or in a syscall when the trace ends."""
        for goid in list(self.running):
            self.stop_g(goid, end, "running at the end")
        for m, (start, goid) in self.syscalls.items():
            self.interval("syscall", _m_tid(m), start, end, {"goid": goid}, "syscall")

    def names(self, title):
        meta = [{"name": "process_name", "ph": "M", "pid": PID, "args": {"name": title}}]
        tracks = [(_p_tid(p), f"P{p - 1}") for p in sorted(self.ps) if p > 0]
        tracks += [(STW_TID, "stop-the-world")] if any(e["tid"] == STW_TID for e in self.out) \
            else []
        tracks += [(_m_tid(m), f"M{m - 1}") for m in sorted(self.ms)]
        for tid, name in tracks:
            meta.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid,
                         "args": {"name": name}})
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid,
                         "args": {"sort_index": tid}})
        return meta


def chrome_trace(events, program, title: str = "gmpbench", procs: int = 0,
                 dropped: int = 0) -> dict:
    """The Chrome Trace Event document of a run's events (RunResult.trace) of a
    workload.Program.  A track for each of the procs Ps is named even when it ran nothing."""
    b = _Builder(program)
    b.ps.update(range(1, procs + 1))
    for e in events:
        b.event(e)
    b.finish(int(events["t"][-1]) if len(events) else 0)
    return {"traceEvents": b.names(title) + b.out, "displayTimeUnit": "ns",
            "otherData": {"title": title, "events": len(events), "dropped": dropped}}


def write_trace(path, events, program, title: str = "gmpbench", procs: int = 0,
                dropped: int = 0) -> None:
    from .results import atomic_write
    atomic_write(path, json.dumps(chrome_trace(events, program, title, procs, dropped)))
