"""Running a built Go program: its warm-up and measured runs, read as RunFigures.

The program prints one JSON object per run as it finishes (support.go).  A watchdog gives each
run the workload's ``timeout``; a run that exceeds it gets SIGQUIT, which makes the Go runtime
print every goroutine's stack before it exits: that dump is the failure's message.  Go's own
deadlock detection ("all goroutines are asleep - deadlock!") ends the program the same way.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

import numpy as np

from ...report.results import RunFigures
from ...runtime.threads import RunError

QUIT_GRACE = 5.0           # s the Go program gets to print its dump after SIGQUIT


@dataclass
class GoRuns:
    go_version: str
    warmups: list[float]          # wall times of the warm-up runs, s
    runs: list[RunFigures]


def _bucket_of(lo: float, hi: float) -> int:
    """The gmpbench histogram bucket for one of Go's /sched/latencies buckets [lo, hi) s: the
    bucket holding its midpoint (its finite edge, for the open-ended first and last)."""
    from ...runtime.histogram import bucket_bounds
    if math.isinf(lo):
        value = hi
    elif math.isinf(hi):
        value = lo
    else:
        value = (lo + hi) / 2
    lows, _ = bucket_bounds()
    return max(0, int(np.searchsorted(lows, round(value * 1e9), side="right")) - 1)


def figures(obj: dict) -> RunFigures:
    """One run's line of the program's output as RunFigures."""
    latency: dict[int, int] = {}
    for lo, hi, count in obj.get("sched_latency_buckets") or []:
        bucket = _bucket_of(lo, hi)
        latency[bucket] = latency.get(bucket, 0) + int(count)
    return RunFigures(obj["wall_ns"] / 1e9, obj["cpu_ns"] / 1e9, int(obj["threads"]),
                      {k: int(v) for k, v in obj["counters"].items()}, latency,
                      **{name: {int(b): int(n) for b, n in (obj.get(name) or {}).items()}
                         for name in RunFigures.HISTOGRAMS})


def command(binary, procs: int, values: int, warmups: int, steps_per_ns: float,
            seed: int) -> list[str]:
    return [str(binary), "-procs", str(procs), "-values", str(values), "-warmups", str(warmups),
            "-steps-per-ns", repr(steps_per_ns), "-seed", str(seed)]


class _Watchdog:
    """SIGQUIT to the program when a run takes longer than ``timeout``; reset per run."""

    def __init__(self, proc: subprocess.Popen, timeout: float):
        self.proc = proc
        self.timeout = timeout
        self.fired = False
        self.timer = None
        self.reset()

    def reset(self) -> None:
        self.cancel()
        self.timer = threading.Timer(self.timeout, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)


def run_go(binary, *, procs: int, values: int, warmups: int, steps_per_ns: float, seed: int,
           timeout: float, schedtrace_ms: int | None = None) -> GoRuns:
    """Run the program; raises RunError when it fails (deadlock, timeout, crash)."""
    env = dict(os.environ, GOTRACEBACK="all")
    if schedtrace_ms:
        env["GODEBUG"] = f"schedtrace={schedtrace_ms}"
    proc = subprocess.Popen(command(binary, procs, values, warmups, steps_per_ns, seed),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stderr: list[str] = []
    reader = threading.Thread(target=_read_stderr, args=(proc, stderr, bool(schedtrace_ms)),
                              daemon=True)
    reader.start()
    dog = _Watchdog(proc, timeout)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(json.loads(line))
            dog.reset()
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        dog.cancel()
        reader.join(QUIT_GRACE)
    if proc.returncode != 0 or dog.fired:
        raise _failure(proc.returncode, dog.fired, timeout, "".join(stderr))
    head, runs = lines[0], lines[1:]
    return GoRuns(head["go_version"],
                  [r["wall_ns"] / 1e9 for r in runs if r["warmup"]],
                  [figures(r) for r in runs if not r["warmup"]])


def _read_stderr(proc: subprocess.Popen, kept: list[str], schedtrace: bool) -> None:
    """Keep the program's stderr for a failure's message; with schedtrace, Go's SCHED lines go
    to stdout as they come, as the port's do."""
    for line in proc.stderr:
        if schedtrace and line.startswith("SCHED "):
            sys.stdout.write(line)
            sys.stdout.flush()
        else:
            kept.append(line)


def measure_go(prepared, *, values: int, warmups: int,
               schedtrace: float | None = None) -> GoRuns:
    """Run a prepared case (bench.cases.Prepared, policy ``go``) on the Go runtime: translate,
    build (cached) and run ``warmups`` + ``values`` runs in one Go process."""
    from ...runtime.work import steps_per_ns
    from .build import build
    from .translate import translate
    wl = prepared.workload
    binary = build(translate(wl, prepared.case.params))
    return run_go(binary, procs=prepared.case.procs, values=values, warmups=warmups,
                  steps_per_ns=steps_per_ns(), seed=wl.seed, timeout=wl.timeout,
                  schedtrace_ms=max(1, round(schedtrace * 1000)) if schedtrace else None)


def _failure(status: int, timed_out: bool, timeout: float, stderr: str) -> RunError:
    if timed_out:
        return RunError("timeout", f"the Go program's run did not finish within {timeout:g}s "
                        "(stopped with SIGQUIT; Go's goroutine dump follows)", stderr.strip())
    if "all goroutines are asleep - deadlock!" in stderr:
        return RunError("deadlock", "fatal error: all goroutines are asleep - deadlock! "
                        "(reported by the Go runtime)", stderr.strip())
    how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
    return RunError("crash", f"the Go program {how}", stderr.strip())
