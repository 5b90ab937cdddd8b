"""Every preset acts (its counters prove it) and completes every shipped workload."""
import pytest

from gmpbench.runtime.policy import PRESETS, PolicyError, knobs, parse_policy, split_policies
from gmpbench.runtime.threads import run_program

from test_runtime_syscalls import looping_hog
from util import ROOT, SMALL, STEALABLE, YIELDERS, bare_state, compile_file, compile_text, hog_workload

def run(prog, procs, policy, **kw):
    return run_program(prog, procs, parse_policy(policy)[1], timeout=60.0, **kw)


def test_every_shipped_workload_has_a_small_case():
    workloads = ROOT / "workloads"
    assert {str(p.relative_to(workloads).with_suffix(""))
            for p in workloads.rglob("*.yaml")} == set(SMALL)


@pytest.mark.parametrize("workload", sorted(SMALL))
@pytest.mark.parametrize("policy", sorted(PRESETS))
def test_preset_completes_workload_with_nothing_lost(core, policy, workload):
    wl, prog, case = compile_file(f"workloads/{workload}.yaml", **SMALL[workload])
    r = run(prog, 2, policy)
    c = r.counters
    abandoned = 1 if workload in ("go/ping-pong-hog", "stw-latency") else 0   # the hog outlives
    assert r.gs_live <= abandoned
    assert c["gs_created"] == c["gs_exited"] + r.gs_live
    for ch in r.channels.values():
        assert ch["sent"] == ch["received"] and ch["sent_sum"] == ch["received_sum"]
    assert c["syscall_fast_exits"] + c["syscall_slow_exits"] == c["syscalls"]
    if workload == "netpoll-heavy":
        assert c["netwaits"] == wl.ops_value(case)
    if workload == "million":
        assert c["gs_created"] == wl.ops_value(case) + 1 and c["netwaits"] == case["conns"]


def counters(path_or_text, procs, policy, tmp_path=None, **params):
    if tmp_path is not None:
        _, prog, _ = compile_text(tmp_path, path_or_text, **params)
    else:
        _, prog, _ = compile_file(path_or_text, **params)
    return run(prog, procs, policy).counters


FANOUT = ("workloads/fan-out.yaml", 2)


@pytest.fixture(scope="module")
def fanout_baseline(core):
    """The baseline run the presets' fan-out runs are compared with (one run for them all)."""
    return counters(*FANOUT, "baseline", batches=200)


def test_no_runnext_never_uses_runnext(core, fanout_baseline):
    assert fanout_baseline["runnext_puts"] > 0
    assert counters(*FANOUT, "no-runnext", batches=200)["runnext_puts"] == 0
    assert counters("workloads/ping-pong.yaml", 1, "no-runnext", rounds=2000)["runnext_puts"] == 0


def test_no_steal_never_steals(core):
    c = counters(*FANOUT, "no-steal", batches=200)
    assert c["steals"] == 0 and c["steal_attempts"] == 0


def test_steal_one_takes_one_g_per_steal(core, tmp_path):
    c = counters(STEALABLE, 2, "steal-one", tmp_path)
    assert c["steals"] > 0 and c["gs_stolen"] == c["steals"]
    base = counters(STEALABLE, 2, "baseline", tmp_path)
    assert base["gs_stolen"] > base["steals"]              # half of a queue of many


def test_no_spinning_never_spins(core, fanout_baseline):
    assert fanout_baseline["spinning_transitions"] > 0
    assert counters(*FANOUT, "no-spinning", batches=200)["spinning_transitions"] == 0


def test_no_fairness_never_takes_from_the_global_queue_first(core, tmp_path):
    assert counters(YIELDERS, 1, "baseline", tmp_path)["fairness_gets"] > 0
    assert counters(YIELDERS, 1, "no-fairness", tmp_path)["fairness_gets"] == 0


def test_centralized_has_no_local_queues(core):
    c = counters(*FANOUT, "centralized", batches=200)
    assert c["local_puts"] == 0 and c["runnext_puts"] == 0 and c["steals"] == 0
    assert c["global_puts"] >= c["gs_created"] - 1


HOG = looping_hog(60_000, other="syscall: 1ms")


def test_no_sysmon_no_retakes_no_preemptions(core, tmp_path):
    c = counters(HOG, 1, "baseline", tmp_path)
    assert c["preemptions"] >= 1
    c = counters(HOG, 1, "no-sysmon", tmp_path)
    assert c["preemptions"] == 0 and c["retakes"] == 0
    c = counters("workloads/syscall-heavy.yaml", 1, "no-sysmon", iters=20)
    assert c["retakes"] == 0 and c["preemptions"] == 0


LONG_SYSCALL = hog_workload(hog="5ms", other="syscall: 50ms")


def test_no_preempt_keeps_sysmon_but_never_preempts(core, tmp_path):
    assert counters(HOG, 1, "no-preempt", tmp_path)["preemptions"] == 0
    # a 50 ms syscall spans many sysmon ticks: retaken, preemption or not
    assert counters(LONG_SYSCALL, 1, "no-preempt", tmp_path)["retakes"] > 0


def test_direct_handoff_hands_gs_to_woken_ms(core, fanout_baseline):
    assert fanout_baseline["direct_handoffs"] == 0
    assert counters(*FANOUT, "direct-handoff", batches=200)["direct_handoffs"] > 0


def test_eager_wakeup_wakes_despite_spinners(core, fanout_baseline):
    """A G made ready while a P is idle and an M spins: baseline counts on the spinner, the
    eager-wakeup preset wakes a parked M as well (on a bare state: in a run, a spinner at the
    moment of a ready is up to the host's thread scheduling)."""
    from gmpbench.runtime import layout as L
    from gmpbench.runtime.proc import wakep_if_needed
    from gmpbench.runtime.runq import mput_list
    from gmpbench.runtime.state import table
    for policy, woken in (("baseline", 0), ("eager-wakeup", 1)):
        S = bare_state(procs=2, policy=policy)
        S[L.S_MCOUNT] = 2
        mput_list(S, 1)                           # M 1 parked on the idle list
        S[L.S_NMSPINNING] = 1                     # M 2 spinning; both Ps idle
        wakep_if_needed(S, 2)
        assert table(S, L.H_ALLM, L.MSTRIDE, 1)[L.M_NEXTP] != 0 if woken else \
            table(S, L.H_ALLM, L.MSTRIDE, 1)[L.M_NEXTP] == 0
        assert S[S[L.H_MSTATS] + 2 * L.STSTRIDE + L.ST_EAGER_WAKEUPS] == woken
    assert fanout_baseline["eager_wakeups"] == 0


def test_knob_overrides_name_the_policy():
    name, k = parse_policy("baseline,fairness_tick=0,runq_size=64")
    assert name == "baseline,fairness_tick=0,runq_size=64"
    assert k.tolist() == knobs("baseline", {"fairness_tick": 0, "runq_size": 64}).tolist()


def test_one_tokenizer_for_one_and_several_policies():
    """parse_policy reads one policy with the same tokenizer --policy's lists use."""
    assert split_policies("fairness_tick=0, no-runnext,steal=1") == \
        [("baseline", {"fairness_tick": "0"}), ("no-runnext", {"steal": "1"})]
    assert (parse_policy("fairness_tick=0")[1] == parse_policy("baseline,fairness_tick=0")[1]).all()
    with pytest.raises(PolicyError, match="names 2 policies"):
        parse_policy("baseline,no-runnext")


def test_small_run_queue_overflows_to_the_global_queue(core, fanout_baseline):
    base = fanout_baseline
    small = counters(*FANOUT, "baseline,runq_size=8", batches=200)
    # baseline's only global puts are preemptions (rare); an 8-slot ring overflows every batch
    assert small["global_puts"] > 10 * (base["global_puts"] + 1)
