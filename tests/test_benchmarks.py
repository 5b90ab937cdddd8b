"""Benchmarks of the core (pytest-benchmark): figures to compare with Go's, never asserted on.

Per-operation figures are in each benchmark's extra_info ("ns_per_op"); `pytest
--benchmark-only -k benchmarks` prints them in the table's name column order.
"""
import numpy as np
import pytest
from numba import njit

from gmpbench.runtime.policy import knobs
from gmpbench.runtime.runq import runqempty, runqget, runqput
from gmpbench.runtime.state import new_state
from gmpbench.runtime.threads import run_program

from util import compile_file, compile_text, empty_program

N_RUNQ = 1_000_000


@njit(nogil=True)
def _put_get(S, n, nxt):
    """n puts, each taken back at once; returns how many gets gave back the G just put, with
    inheritTime set exactly when it came from runnext."""
    ok = 0
    for i in range(n):
        runqput(S, 1, 1, i + 1, nxt)
        gp, inherit = runqget(S, 1)
        ok += gp == i + 1 and inherit == nxt
    return ok


@pytest.mark.parametrize("via", ["tail", "runnext"])
def test_bench_runq_put_get(benchmark, via):
    S = new_state(empty_program(), 1, knobs(), max_threads=2, max_gs=16, seed=1)
    nxt = via == "runnext"
    _put_get(S, 10, nxt)
    got = []
    benchmark.pedantic(lambda: got.append(_put_get(S, N_RUNQ, nxt)), rounds=5, iterations=1)
    assert got == [N_RUNQ] * 5 and runqempty(S, 1)
    benchmark.extra_info["ns_per_op"] = benchmark.stats.stats.median / N_RUNQ * 1e9


def _bench_run(benchmark, prog, procs, ops):
    """Time whole runs; each value is one run's wall time (main runnable -> main returned)."""
    walls = []

    def once():
        r = run_program(prog, procs, knobs(), timeout=60)
        walls.append(r.wall_time)
        return r

    r = benchmark.pedantic(once, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["ns_per_op"] = float(np.median(walls)) / ops * 1e9
    benchmark.extra_info["threads_max"] = r.threads_max
    return r


def test_bench_ping_pong_round_trip_procs1(benchmark, core):
    rounds = 100_000
    _, prog, _ = compile_file("workloads/ping-pong.yaml", rounds=rounds)
    r = _bench_run(benchmark, prog, 1, rounds)
    assert r.counters["gs_exited"] == 3


SPAWN = """
name: spawn
params: {batches: [1000]}
main:
  - repeat: ${batches}
    do:
      - go: {fn: nop, n: 100}
      - wait: children
functions:
  nop:
    - work: 0
"""


@pytest.mark.parametrize("procs", [1, 2])
def test_bench_spawn_exit_per_goroutine(benchmark, core, tmp_path, procs):
    batches = 1000
    _, prog, _ = compile_text(tmp_path, SPAWN, batches=batches)
    r = _bench_run(benchmark, prog, procs, batches * 100)
    assert r.counters["gs_exited"] == batches * 100 + 1


YIELDS = """
name: gosched
params: {n: [1000]}
main:
  - repeat: ${n}
    do: [yield]
"""


def test_bench_schedule_round(benchmark, core, tmp_path):
    """One Gosched: the G goes to the global queue, schedule() finds it there and runs it."""
    n = 200_000
    _, prog, _ = compile_text(tmp_path, YIELDS, n=n)
    r = _bench_run(benchmark, prog, 1, n)
    # one schedule per yield, plus main's start, plus one per sysmon preemption (10 ms slices)
    assert r.counters["schedules"] == n + 1 + r.counters["preemptions"]
