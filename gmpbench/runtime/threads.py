"""The Python side of a run: OS threads for the Ms, the template thread, the watchdog, results.

Threads.  Each M is a Python ``threading.Thread`` that enters the nogil core once for its whole
life.  Go's newm creates a thread with clone(); a Python thread takes ~100 µs to start, so the
template thread (this module's loop, on the caller's thread) keeps a couple of *spare* threads
parked in the core: newm hands its new M to a spare at futex speed and the template thread starts
a replacement.  Ms are still created on demand and counted as Go counts them (threads_max); only
the OS thread under each is prepared ahead.

The template thread also watches the run: it wakes when main returns, when an M fails, and every
few milliseconds to check the timeout (watchdog) and hand the state to the caller's schedtrace
callback.  Nothing here formats text for people: a failed run's RunError carries a Snapshot of
the state, which the caller's ``describe`` (gmpbench.report.dump.describe) turns into Go's dump.
"""
from __future__ import annotations

import errno
import os
import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import layout as L
from .clock import ticks_to_ns_py
from .policy import K_SYSMON
from .rss import current_rss, peak_rss, reset_peak
from .state import gs_that_fit, new_state, rows, steps_per_ns, table, timers_per_g, uses_net
from .histogram import NBUCKETS
from .trace import collect

SPARES = 2                 # spare threads kept ready for newm
TICK_NS = 20_000_000       # the template thread's longest sleep
JOIN_TIMEOUT = 5.0


@dataclass(frozen=True)
class Snapshot:
    """The state of a failed run as it was when it failed, for the report side to describe."""
    S: np.ndarray                  # the state array (a copy when threads could still write it)
    program: object                # the compiled workload (workload.program.Program)
    scheduler: bool                # the scheduler's detail (Ps, Ms) before the goroutines


class RunError(Exception):
    """A run that did not finish: deadlock, timeout, a failed invariant, too many threads.

    ``dump`` is the text after the message: an engine's own (Go's stderr), or the snapshot as
    ``describe`` words it (run_program's caller passes gmpbench.report.dump.describe; without
    one the snapshot stays unworded, in ``snapshot``)."""

    def __init__(self, kind: str, message: str, dump: str = "", *,
                 snapshot: Snapshot | None = None,
                 describe: Callable[[Snapshot], str] | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.snapshot = snapshot
        self._dump = dump
        self._describe = describe

    @property
    def dump(self) -> str:
        if not self._dump and self.snapshot is not None and self._describe is not None:
            self._dump = self._describe(self.snapshot)
        return self._dump

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
    # --- sizes (issue 16) ---
    max_rss: int = 0                     # bytes: the process's peak RSS over the run (rss.py)
    rss_base: int = 0                    # bytes: its RSS before the run's state was allocated
    gs_max: int = 0                      # G rows handed out: the most Gs live at once (allglen)
    gs_limit: int = 0                    # the G table's rows (Program.max_gs)


def _core():
    from . import sched  # imported late: compiling it is the expensive part
    return sched


class _Run:
    def __init__(self, program, procs, knobs, timeout, max_threads, max_gs, seed, schedtrace,
                 describe, trace_max, steps_per_ns=None):
        self.program = program
        self.knobs = knobs
        self.timeout = timeout
        self.rss_base = current_rss()
        reset_peak()
        try:
            self.S = new_state(program, procs, knobs, max_threads, max_gs, seed, trace_max,
                               steps_per_ns)
        except MemoryError:
            raise RunError("maxg", f"fatal error: out of memory allocating the state of "
                           f"{max_gs} goroutines: lower the workload's max_goroutines:") from None
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.schedtrace = schedtrace or (0.0, None)
        self.describe = describe
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
        code = np.asarray(self.program.code).reshape(-1, L.CODE_WORDS)
        if timers_per_g(code):
            self._start_thread("gmpbench-timers", self.core.timerproc)
        if uses_net(code):
            _raise_fd_limit()
            if not self.core.netpollinit(self.S):
                raise RunError("throw", "fatal error: netpollinit: epoll_create1/eventfd failed")
            self._start_thread("gmpbench-network", self.core.netemu)
        self.system_threads = len(self.threads)

    def _close_fds(self):
        """Close every connection's eventfd, the break eventfd and the epoll instance."""
        S = self.S
        n = int(S[L.S_ALLGLEN]) + 1
        conns = rows(S, L.H_ALLG, L.GSTRIDE, n)[:, L.G_CONNFD]    # one pass, not a Python loop
        fds = [int(S[L.S_BREAKFD]), int(S[L.S_EPFD]), *conns[conns > 0].tolist()]
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
        period, on_schedtrace = self.schedtrace
        next_trace = t0 + period
        try:
            while not (S[L.S_STOP] or S[L.S_FATAL]):
                self.core.template_wait(S, TICK_NS)
                self._replenish()
                now = time.monotonic()
                if now - t0 > self.timeout:
                    self.core.fatal_from_outside(S, L.FATAL_TIMEOUT, 0)
                if on_schedtrace is not None and now >= next_trace:
                    next_trace += period
                    on_schedtrace(S, now - t0)
        except KeyboardInterrupt:
            self.core.fatal_from_outside(S, L.FATAL_INTERRUPT, 0)
        # the watchdog's dump shows the run as it hung: copied before stop_all changes it
        # (the Ms are still running, so the copy is a moment's view, as Go's is)
        before = S.copy() if S[L.S_FATAL] == L.FATAL_TIMEOUT else None
        self.core.stop_all(S)
        self._join()
        if not self.errors:                 # a stuck thread may still use them
            self._close_fds()
        return self._result(before)

    def _join(self):
        deadline = time.monotonic() + JOIN_TIMEOUT
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self.threads if t.is_alive()]
        if stuck:
            self.errors.append(f"threads did not stop: {', '.join(stuck)}")

    def _result(self, before: np.ndarray | None) -> RunResult:
        S = self.S
        code = int(S[L.S_FATAL])
        if code != L.FATAL_NONE or self.errors:
            raise self._error(code, before)
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
            max_rss=peak_rss(),
            rss_base=self.rss_base,
            gs_max=int(S[L.S_ALLGLEN]),
            gs_limit=int(S[L.S_MAXG]),
        )

    def _snapshot(self, scheduler: bool, before: np.ndarray | None = None) -> dict:
        """RunError's snapshot keywords: the state as it was before stop_all (a timeout), or the
        run's own once every M has stopped and been joined -- nothing writes it any more -- but
        a copy when a thread failed or is stuck (it may still be writing)."""
        if before is None:
            before = self.S.copy() if self.errors else self.S
        return {"snapshot": Snapshot(before, self.program, scheduler),
                "describe": self.describe}

    def _error(self, code, before) -> RunError:
        S = self.S
        if code == L.FATAL_DEADLOCK:
            return RunError("deadlock", "fatal error: all goroutines are asleep - deadlock!",
                            **self._snapshot(False))
        if code == L.FATAL_TIMEOUT:
            return RunError("timeout", f"fatal error: run exceeded its timeout of "
                            f"{self.timeout:g}s (watchdog)", **self._snapshot(True, before))
        if code == L.FATAL_MAXTHREADS:
            return RunError("maxthreads", f"fatal error: thread exhaustion: more than "
                            f"{int(S[L.S_MAXMCOUNT])} threads (max_threads)",
                            **self._snapshot(False))
        if code == L.FATAL_MAXG:
            return RunError("maxg", f"fatal error: more than {int(S[L.S_MAXG])} live "
                            "goroutines (the G table is full; raise the workload's "
                            "max_goroutines: to hold more)")
        if code == L.FATAL_NOFILE:
            return RunError("nofile", nofile_message(int(S[L.S_FATALARG])))
        if code == L.FATAL_PANIC:
            return RunError("panic", "panic: " + L.PANIC_MESSAGES[int(S[L.S_FATALARG])],
                            **self._snapshot(False))
        if code == L.FATAL_INTERRUPT:
            return RunInterrupted("interrupt", "interrupted")
        return RunError("throw", "fatal error: " + "; ".join(self.errors or ["unknown"]),
                        **self._snapshot(True))


def _raise_fd_limit():
    """One eventfd per connection: let the process open as many files as it may (the hard
    limit), and say so on stderr the once it changes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        print(f"gmpbench: raised the open-file limit (RLIMIT_NOFILE) from {soft} to its hard "
              f"limit {hard}: netwait opens one eventfd per goroutine", file=sys.stderr)


def nofile_message(errno_: int) -> str:
    """Why a connection's eventfd could not be opened, naming the limit when it is the cause."""
    if errno_ not in (errno.EMFILE, errno.ENFILE):
        return f"fatal error: netpoll: cannot open a connection: {os.strerror(errno_)}"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return (f"fatal error: too many open files: netwait needs an eventfd per goroutine and the "
            f"open-file limit RLIMIT_NOFILE is {soft} (hard limit {hard}); run fewer "
            f"connections or raise the hard limit (ulimit -Hn, as root)")


def run_program(program, procs: int, knobs: np.ndarray, *, timeout: float = 120.0,
                max_threads: int = 10000, max_gs: int | None = None, seed: int | None = None,
                schedtrace: tuple[float, Callable[[np.ndarray, float], None]] | None = None,
                describe: Callable[[Snapshot], str] | None = None, trace: bool = False,
                trace_max: int = L.TRACE_MAX, steps_per_ns: float | None = None) -> RunResult:
    """Run a compiled workload once at GOMAXPROCS=procs under a policy's knobs.  trace=True
    records an execution trace (RunResult.trace) of at most trace_max events per M.
    steps_per_ns: `work`'s rate (default: the machine's calibration, work.steps_per_ns).
    max_gs: the G table's rows (default: the program's, Program.max_gs, as far as memory goes).
    schedtrace=(period, fn): fn(S, seconds since main started) every period seconds, on the
    template thread while the Ms run (GODEBUG=schedtrace: report.dump.schedtrace_line words it).
    describe: how a RunError words its Snapshot (its ``dump``; report.dump.describe).
    """
    if max_gs is None:
        max_gs = min(program.max_gs, gs_that_fit(program))
    run = _Run(program, procs, knobs, timeout, max_threads, max_gs,
               program.seed if seed is None else seed, schedtrace, describe,
               trace_max if trace else 0, steps_per_ns)
    return run.run()


# ---- reading the state ------------------------------------------------------------------------

def channel_stats(S, program) -> dict:
    out = {}
    for i, name in enumerate(program.chan_names):
        c = table(S, L.H_CHANS, L.CSTRIDE, i)
        out[name] = {"sent": int(c[L.C_SENT]), "received": int(c[L.C_RECVD]),
                     "sent_sum": int(c[L.C_SENTSUM]), "received_sum": int(c[L.C_RECVDSUM]),
                     "buffered": int(c[L.C_COUNT]), "closed": bool(c[L.C_CLOSED])}
    return out
