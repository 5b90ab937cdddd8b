"""Helpers shared by the tests."""
import subprocess
import sys
from pathlib import Path

import numpy as np

from gmpbench.workload import compile_case, expand_cases, load_workload
from gmpbench.workload.program import Program

ROOT = Path(__file__).resolve().parents[1]      # the repository: tests resolve paths from it


def run_cli(*args, cwd=None, env=None, timeout=300):
    """``python -m gmpbench ARGS`` of this checkout (importable from any cwd), captured."""
    from gmpbench.bench.prestart import worker_env
    base = worker_env()
    if env is not None:
        env = {**env, "PYTHONPATH": base["PYTHONPATH"]}
    return subprocess.run([sys.executable, "-m", "gmpbench", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env or base, check=False)


def empty_program(max_depth: int = 1) -> Program:
    """A program with no instructions: for driving run-queue functions directly."""
    z = np.zeros(1, np.int64)
    return Program(name="empty", code=np.zeros((1, 4), np.int64), dists=np.zeros((0, 3)),
                   func_names=["main"], func_entry=z, pc_func=z, pc_line=z, pc_text=[""],
                   chan_names=[], chan_caps=np.zeros(0, np.int64), group_names=[],
                   mutex_names=[], max_depth=max_depth)


def bare_state(procs: int = 1, policy: str = "baseline", **kw):
    """A scheduler state with no threads, for driving the core's functions directly."""
    from gmpbench.runtime.policy import parse_policy
    from gmpbench.runtime.state import new_state
    return new_state(empty_program(), procs, parse_policy(policy)[1], max_threads=4, max_gs=16,
                     seed=1, **kw)


def compile_file(path, **params):
    """Load and compile one case of a workload file (relative paths: from the repository)."""
    wl = load_workload(ROOT / path)
    overrides = {k: [v] for k, v in params.items()}
    case = expand_cases(wl, overrides)[0]
    return wl, compile_case(wl, case), case


def compile_text(tmp_path, text, **params):
    f = tmp_path / "w.yaml"
    f.write_text(text)
    return compile_file(f, **params)


def hog_workload(hog: str, other: str) -> str:
    """A CPU hog beside one other G at procs=1: main waits only for the other G.  The hog is
    started last, so it runs first (runnext) and only preemption lets the other G in."""
    return f"""
name: hog
groups: [others]
main:
  - go: {{fn: other, group: others}}
  - go: hog
  - wait: others
functions:
  hog:
    - work: {hog}
  other:
    - {other}
"""


def compile_text_in(directory, text, **params):
    """compile_text for scripts without pytest's tmp_path: the compiled Program only."""
    from pathlib import Path
    return compile_text(Path(directory), text, **params)[1]


def wait_for(predicate, timeout: float = 120.0, what: str = "a state"):
    """Poll ``predicate()`` until it returns something true, and return that: tests wait for
    a state rather than sleep a fixed time (the machine is shared: a fixed sleep is either too
    short under load or wasted)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.02)


def worker_threads_cpu(pid: int) -> float:
    """CPU seconds used by the threads of process ``pid`` other than its main thread: in a
    process running the core, the Ms' (each M is a thread; the main thread only supervises).
    0 when the process is gone."""
    import os
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        tids = [t for t in os.listdir(f"/proc/{pid}/task") if t != str(pid)]
    except FileNotFoundError:
        return 0.0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])          # utime, stime
    return total / tick


def run_is_under_way(pid: int, cpu: float = 0.2):
    """A predicate for wait_for: process ``pid``'s Ms have burnt ``cpu`` seconds, so a run of
    a CPU-bound workload is in progress (its main G started well before)."""
    return lambda: worker_threads_cpu(pid) >= cpu


FOREVER = """\
name: forever
main:
  - go: {fn: spin, n: 2}
  - wait: children
functions:
  spin:
    - loop: 1h
      do: [{work: 1ms}]
"""


DEADLOCK = """\
name: stuck
channels: {never: 0}
main:
  - recv: never
"""


def default_sigint():
    """preexec_fn for a child that a test Ctrl-Cs: SIGINT as a terminal's process would have it.
    A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored
    across exec -- a suite run that way would otherwise send signals nobody hears."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def busy_worker(pid: int, cpu: float = 0.2):
    """A predicate for wait_for: the child of process ``pid`` (a `gmpbench run`) whose Ms have
    burnt ``cpu`` seconds -- a worker in the middle of a CPU-bound run -- else None."""
    return lambda: next((c for c in children(pid) if worker_threads_cpu(c) >= cpu), None)


# main puts 64 Gs of 2 ms on P 1's queue at once; the M woken for P 2 steals half of what is
# left -- many Gs, not one.  For no steal, or only steals of one G, to happen the host would have
# to keep that M off the cores for nearly the whole 128 ms of work.
STEALABLE = """
name: stealable
main:
  - go: {fn: w, n: 64}
  - wait: children
functions:
  w:
    - work: 2ms
"""


# 100 Gs yielding 50 times each: at procs=1 every yield goes through the global queue.
YIELDERS = """
name: yielders
main:
  - go: {fn: yielder, n: 100}
  - wait: children
functions:
  yielder:
    - repeat: 50
      do: [yield]
"""


# Every shipped workload (path under workloads/, without .yaml) with params that keep one run to
# milliseconds: the preset, Go-engine and CI tests run them all from this one table.
SMALL = {
    "fan-out": {"batches": 100},
    "ping-pong": {"rounds": 5000},
    "go/ping-pong-hog": {"rounds": 50, "hog": "100ms"},
    "syscall-heavy": {"iters": 10},
    "netpoll-heavy": {"conns": 32, "requests": 20},
    "wakeup": {"tasks": 500},
    "million": {"crowd": 2000, "conns": 100},
    "serve": {"requests": 300, "rate": "20k"},
    # Go's own scheduler benchmarks (workloads/go/)
    "go/create-goroutines": {"links": 2000},
    "go/create-goroutines-parallel": {"links": 2000},
    "go/chan-sync": {"rounds": 500},
    "go/chan-prod-cons": {"messages": 1000, "cap": 10},
    "go/chan-prod-cons-work": {"messages": 500, "cap": 0},
    "go/wakeup-parallel-spinning": {"iters": 50, "delay_us": 0},
    "go/wakeup-parallel-syscall": {"iters": 50, "delay_us": 0},
    "go/matmult": {"leaf": "50ns"},
    "go/syscall-excess": {"calls": 400},
    "stw-latency": {"batches": 4, "width": 10, "hog": "1ms"},       # issue 13
    "setprocs": {"tasks": 200},
    "locked-thread": {"rounds": 500},
}
