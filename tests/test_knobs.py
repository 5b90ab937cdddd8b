"""Every knob with a non-default value acts: a counter or a behaviour proves it.

Real runs where the outcome is certain by construction (procs=1, where the order of events is
the program's; or a counter that the knob pins to zero); the scheduler's functions on a bare
state where only thread interleaving would show the knob in a run (spin_cap, steal_rounds,
steal_runnext, steal_order, runnext_backoff_us).  The presets are in test_policies.py;
async_preempt (and preset go1.14), sysretake and timer_slack_ns in
test_fidelity_deviations.py.
"""
from __future__ import annotations

import time

import pytest

from gmpbench.runtime import layout as L
from gmpbench.runtime.policy import K_FAIRNESS_TICK, PolicyError, parse_policy
from gmpbench.runtime.runq import runqget, runqput
from gmpbench.runtime.sched import may_steal, steal_work
from gmpbench.runtime.state import table
from gmpbench.runtime.threads import run_program

from util import ROOT, YIELDERS, bare_state, compile_file, compile_text, hog_workload


def run(path_or_text, procs, policy="baseline", tmp_path=None, **params):
    if tmp_path is not None:
        _, prog, _ = compile_text(tmp_path, path_or_text, **params)
    else:
        _, prog, _ = compile_file(path_or_text, **params)
    return run_program(prog, procs, parse_policy(policy)[1], timeout=60.0)


def counter(S, mid, index) -> int:
    return int(S[S[L.H_MSTATS] + mid * L.STSTRIDE + index])


# --- real runs ---------------------------------------------------------------------------

def test_global_batch_0_takes_one_g_at_a_time(core, tmp_path):
    """At procs=1 every yield puts a G on the global queue.  globrunqget's batch moves the
    rest of a batch onto the local queue (local puts); one G at a time moves none, so the only
    local puts are newproc's kicks out of runnext, at most one per G created."""
    base = run(YIELDERS, 1, tmp_path=tmp_path).counters
    single = run(YIELDERS, 1, "baseline,global_batch=0", tmp_path=tmp_path).counters
    assert single["local_puts"] <= single["gs_created"]
    assert base["local_puts"] > 10 * base["gs_created"]


PAIR_AND_YIELDER = """
name: pair-and-yielder
channels: {ping: 0, pong: 0}
groups: [pair]
main:
  - go: yielder
  - go: {fn: pinger, group: pair}
  - go: {fn: ponger, group: pair}
  - wait: pair
functions:
  yielder:
    - loop: 10s
      do: [yield]
  pinger:
    - repeat: 3000
      do: [{send: ping}, {recv: pong}]
  ponger:
    - repeat: 3000
      do: [{recv: ping}, {send: pong}]
"""


def test_inherit_time_0_starts_a_time_slice_at_every_runnext_switch(core, tmp_path):
    """schedtick counts time slices and schedule() serves the global queue every 61st: at
    procs=1 the yielder waits there while the pair hands the P back and forth via runnext.
    Inheriting, the pair's 6000 switches are one slice (the yielder gets in only after a
    sysmon preemption); with inherit_time=0 each is a slice, so every 61st schedule is a
    fairness get."""
    base = run(PAIR_AND_YIELDER, 1, tmp_path=tmp_path).counters
    fresh = run(PAIR_AND_YIELDER, 1, "baseline,inherit_time=0", tmp_path=tmp_path).counters
    assert fresh["runnext_puts"] >= 6000 and base["runnext_puts"] >= 6000   # runnext still on
    assert fresh["fairness_gets"] >= 0.9 * fresh["schedules"] / 61 - 1
    assert base["fairness_gets"] < 0.5 * fresh["fairness_gets"]


TWO_SYSCALLS = hog_workload(hog="1ms", other="syscall: 50ms\n    - syscall: 50ms")


def test_retake_after_us_delays_the_retake(core, tmp_path):
    """Two 50 ms syscalls, each retaken after a sysmon tick; with retake_after_us=1s neither
    is (unless the host stalls a syscall's return by the 950 ms between) -- the first one too,
    although sysmon's snapshot of a P's syscalltick starts equal to it, which in proc.go's
    retake (and the default) leaves it no syscallwhen to count from."""
    assert run(TWO_SYSCALLS, 1, tmp_path=tmp_path).counters["retakes"] >= 2
    late = run(TWO_SYSCALLS, 1, "baseline,retake_after_us=1000000", tmp_path=tmp_path)
    assert late.counters["retakes"] == 0 and late.counters["syscalls"] == 2


def test_netpoll_in_findrunnable_0_leaves_polling_to_others(core):
    """findrunnable's non-blocking poll is the only source of netpoll_gs_nonblocking."""
    np_heavy = ("workloads/netpoll-heavy.yaml", 2)
    base = run(*np_heavy, conns=32, requests=20).counters
    off = run(*np_heavy, "baseline,netpoll_in_findrunnable=0", conns=32, requests=20).counters
    assert base["netpoll_gs_nonblocking"] > 0
    assert off["netpoll_gs_nonblocking"] == 0
    assert off["netwaits"] == 32 * 20 == off["netpoll_gs_blocking"] + off["netpoll_gs_sysmon"] \
        + off["netpoll_gs_nonblocking"] + (off["netwaits"] - off["netpoll_gs"])


def test_syscall_fastpath_0_always_exits_through_exitsyscall0(core):
    base = run("workloads/syscall-heavy.yaml", 1, iters=10).counters
    slow = run("workloads/syscall-heavy.yaml", 1, "baseline,syscall_fastpath=0", iters=10).counters
    assert base["syscall_fast_exits"] > 0
    assert slow["syscall_fast_exits"] == 0 and slow["syscall_slow_exits"] == slow["syscalls"]


def test_a_workloads_policies_map_is_applied_in_a_run(core, tmp_path):
    from gmpbench.bench.cases import prepare_case
    from gmpbench.bench.measure import run_once
    from gmpbench.workload import load_workload
    path = tmp_path / "pp.yaml"
    path.write_text((ROOT / "workloads/ping-pong.yaml").read_text()
                    + "policies: {runnext: 0, fairness_tick: 7}\n")
    wl = load_workload(path)
    for text, runnext in (("baseline", 0), ("baseline,runnext=1", 1)):   # the command line wins
        prepared = prepare_case(wl, {"rounds": 500}, 1, text)
        assert prepared.policy.knobs[K_FAIRNESS_TICK] == 7
        c = run_once(prepared).counters
        assert (c["runnext_puts"] >= 1000) if runnext else (c["runnext_puts"] == 0)


# --- the scheduler's functions on a bare state -------------------------------------------

def test_spin_cap_0_lets_every_m_steal(core):
    """2 Ps both busy and one M already spinning: 2*nmspinning >= busy Ps, so findrunnable's
    cap keeps a second M from stealing; spin_cap=0 lets it."""
    for policy, want in (("baseline", False), ("baseline,spin_cap=0", True)):
        S = bare_state(procs=2, policy=policy)
        S[L.S_NPIDLE], S[L.S_NMSPINNING] = 0, 1
        assert may_steal(S, 1) is want


def _thief_state(policy, procs=3):
    S = bare_state(procs=procs, policy=policy)
    for pid in range(1, procs + 1):
        table(S, L.H_ALLP, L.PSTRIDE, pid)[L.P_STATUS] = L.Pidle
    return S


@pytest.mark.parametrize("rounds", [4, 2, 1])
def test_steal_rounds_is_how_often_every_p_is_visited(core, rounds):
    S = _thief_state(f"baseline,steal_rounds={rounds}")
    assert steal_work(S, 1, 3) == 0                 # nothing anywhere
    assert counter(S, 1, L.ST_STEAL_ATTEMPTS) == rounds * 2   # 2 victims a round


def test_steal_runnext_0_never_takes_a_runnext(core):
    for policy, stolen in (("baseline", 7), ("baseline,steal_runnext=0", 0)):
        S = _thief_state(policy)
        runqput(S, 1, 1, 7, True)                   # G 7 in P 1's runnext, its queue empty
        assert steal_work(S, 1, 3) == stolen
        assert counter(S, 1, L.ST_RUNNEXT_STEALS) == (stolen != 0)


def test_steal_order_1_visits_the_ps_from_p_1(core):
    """P 1 and P 2 both have work; thief P 4.  Sequentially the victim is always P 1; the
    random coprime walk starts at P 2 or P 3 about half of the time (fastrand is seeded: the
    40 draws are the same every run)."""
    firsts = {}
    for policy in ("baseline", "baseline,steal_order=1"):
        S = _thief_state(policy, procs=4)
        victims = []
        for i in range(40):
            for pid in (1, 2):
                runqput(S, 1, pid, 10 * pid + i % 2 + 1, False)
            victims.append(steal_work(S, 1, 4) // 10)
            for pid in (1, 2, 4):                   # empty every queue for the next draw
                while runqget(S, pid)[0]:
                    pass
        firsts[policy] = victims
    assert set(firsts["baseline,steal_order=1"]) == {1}
    assert set(firsts["baseline"]) == {1, 2}


def test_runnext_backoff_us_waits_before_stealing_from_a_running_p(core):
    """The victim is running: the thief sleeps runnext_backoff_us before taking its runnext
    (a lower bound on time, which no host stall can break)."""
    S = _thief_state("baseline,runnext_backoff_us=50000")
    table(S, L.H_ALLP, L.PSTRIDE, 1)[L.P_STATUS] = L.Prunning
    runqput(S, 1, 1, 7, True)
    t0 = time.monotonic()
    assert steal_work(S, 1, 3) == 7
    assert time.monotonic() - t0 >= 0.050


# --- validation --------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("baseline,runq_size=512", "power of two in [2, 256], not 512"),
    ("baseline,runq_size=1", "power of two in [2, 256], not 1"),
    ("baseline,steal=3", "'steal' is 0 (never), 1 (one G) or 2 (half)"),
    ("baseline,fairness_tick=-1", "knob 'fairness_tick' must be >= 0, not -1"),
    ("baseline,preempt_ms=1.5", "knob 'preempt_ms' takes an integer, not '1.5'"),
    ("baseline,spin_cap=yes", "knob 'spin_cap' takes an integer, not 'yes'"),
])
def test_bad_knob_values(text, message):
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    assert message in str(err.value)


def test_bad_knob_values_in_a_workload_file(tmp_path):
    from test_cli import gmpbench
    path = tmp_path / "k.yaml"
    path.write_text("name: k\npolicies: {preempt_ms: 1.5}\nmain: [yield]\n")
    out = gmpbench("validate", path)
    assert out.returncode == 2 and "preempt_ms" in out.stderr and "1.5" in out.stderr
    assert "Traceback" not in out.stderr
