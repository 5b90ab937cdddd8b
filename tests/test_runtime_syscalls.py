"""System calls, sysmon (retake, preemption), sleep and thread limits, end to end."""
import io
import re

import pytest

from gmpbench.bench.measure import schedtrace_printer
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.threads import RunError, run_program

from util import bare_state, compile_file, compile_text, hog_workload


def run(prog, procs, policy="baseline", **kw):
    kw.setdefault("timeout", 60.0)
    return run_program(prog, procs, knobs(policy), **kw)


BLOCKER = """
name: blocker
groups: [workers]
main:
  - go: blocker
  - go: {fn: worker, n: 4, group: workers}
  - wait: workers
functions:
  blocker:
    - syscall: 400ms
  worker:
    - work: 1ms
"""


def test_long_syscall_does_not_hold_back_its_p(core, tmp_path):
    """At procs=1 the workers are queued behind a G that blocks for 400 ms in a syscall;
    sysmon retakes the P and hands it to another M, so they finish -- and main returns --
    while the blocker is still in its syscall: it is the one G left (gs_live).  Without the
    retake the blocker would exit first.  (Only a host keeping the workers' M off the cores
    for the whole 400 ms could reverse the order.)"""
    _, prog, _ = compile_text(tmp_path, BLOCKER)
    r = run(prog, 1)
    assert r.counters["retakes"] >= 1 and r.counters["handoffs"] >= 1
    assert r.gs_live == 1 and r.counters["gs_exited"] == 1 + 4     # main and the workers
    assert r.threads_max >= 3                   # the blocked M, the one running workers, sysmon


def looping_hog(total_us: int, other: str, each_us: int = 100) -> str:
    """hog_workload with the hog as a loop of short works: Go 1.9/1.10 preempts only between
    statements, and one long `work` is a call-free loop (preemptible with async_preempt)."""
    return hog_workload(hog=f"{each_us}us", other=other).replace(
        f"    - work: {each_us}us\n",
        f"    - repeat: {total_us // each_us}\n      do: [{{work: {each_us}us}}]\n", 1)


HOG = looping_hog(100_000, other="work: 10us")


def test_cpu_hog_is_preempted(core, tmp_path):
    """A G burning 100 ms (in 100 µs statements) at procs=1 runs first (runnext) but is
    preempted after its 10 ms time slice, so the other G runs, and main returns, before the
    hog is done: the hog is the one G left (gs_live).  Unpreempted, it would exit first.
    (Only a host keeping sysmon off the cores for the hog's whole 100 ms could reverse it.)"""
    _, prog, _ = compile_text(tmp_path, HOG)
    r = run(prog, 1)
    assert r.counters["preemptions"] >= 1
    assert r.gs_live == 1 and r.counters["gs_exited"] == 2         # main and the other G


@pytest.mark.parametrize("procs", [1, 2])
def test_syscall_heavy_enters_and_exits_each_syscall_once(core, procs):
    wl, prog, case = compile_file("workloads/syscall-heavy.yaml", iters=50)
    r = run(prog, procs)
    c = r.counters
    assert c["syscalls"] == wl.ops_value(case)
    assert c["syscall_fast_exits"] + c["syscall_slow_exits"] == c["syscalls"]
    assert c["gs_exited"] == c["gs_created"] == 64 + 1


BLOCKING = """
name: blocking
max_threads: MAXT
main:
  - go: {fn: sleeper, n: 8}
  - wait: children
functions:
  sleeper:
    - syscall: {dur: 30ms, block: true}
"""


def test_blocked_gs_need_more_threads_than_procs(core, tmp_path):
    wl, prog, _ = compile_text(tmp_path, BLOCKING.replace("MAXT", "100"))
    r = run(prog, 1, max_threads=wl.max_threads)
    assert r.counters["syscalls"] == 8
    assert r.threads_max >= 8 + 1               # every sleeper holds an M, plus sysmon
    assert r.counters["handoffs"] >= 8          # entersyscallblock hands its P off at once


def test_running_out_of_threads_is_a_clear_error(core, tmp_path):
    wl, prog, _ = compile_text(tmp_path, BLOCKING.replace("MAXT", "5"))
    assert wl.max_threads == 5
    with pytest.raises(RunError) as e:
        run(prog, 1, max_threads=wl.max_threads)
    assert e.value.kind == "maxthreads"
    assert "thread exhaustion" in str(e.value) and "5" in str(e.value)


SLEEPERS = """
name: sleepers
main:
  - go: {fn: sleeper, n: 500}
  - sleep: 20ms
  - wait: children
functions:
  sleeper:
    - sleep: {uniform: [0, 5ms]}
    - work: 1us
"""


@pytest.mark.parametrize("procs", [1, 2])
def test_sleep_wakes_every_g_and_never_early(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, SLEEPERS)
    r = run(prog, procs)
    assert r.gs_live == 0 and r.counters["gs_exited"] == 501
    assert r.wall_time >= 0.020                 # main's own sleep cannot end early


def test_schedtrace_prints_go_lines(core):
    _, prog, _ = compile_file("workloads/syscall-heavy.yaml", iters=100)
    out = io.StringIO()
    run(prog, 2, schedtrace=schedtrace_printer(0.01, out))
    lines = out.getvalue().splitlines()
    pat = re.compile(r"^SCHED \d+ms: gomaxprocs=2 idleprocs=\d+ threads=\d+ "
                     r"spinningthreads=\d+ idlethreads=\d+ runqueue=\d+ \[\d+ \d+\]$")
    assert lines and all(pat.match(line) for line in lines), lines[:3]


def test_a_zero_length_syscall_is_a_real_system_call(core):
    """`syscall: 0` makes a nanosleep(0), as the Go engine's does: the thread sleeps (for its
    timer slack), which the kernel counts as a voluntary context switch."""
    import resource
    from gmpbench.runtime.syscall import blocking_call
    S = bare_state()
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
    for _ in range(100):
        blocking_call(S, 0)
    assert resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw - before >= 50
