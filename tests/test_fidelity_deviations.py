"""Baseline as Go 1.9/1.10's proc.go, and the knobs that keep the other behaviour
(DESIGN.md, "Deviations from Go 1.9/1.10's proc.go")."""
import ctypes
import threading

import pytest

from gmpbench.runtime import layout as L
from gmpbench.runtime import work
from gmpbench.report.dump import schedtrace_line
from gmpbench.runtime.interp import work_steps
from gmpbench.runtime.lock import runtime_timerslack
from gmpbench.runtime.policy import knobs, parse_policy
from gmpbench.runtime.runq import pidleget
from gmpbench.runtime.state import table
from gmpbench.runtime.sysmon import retake
from gmpbench.runtime.threads import run_program

from util import bare_state, compile_file, compile_text, hog_workload

PR_GET_TIMERSLACK = 30


# ---- work: D is computation -------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.41272684499, 1.0, 0.0625, 3.3333333])
def test_work_steps_round_as_steps_for(core, rate):
    """The Go engine runs work.steps_for(ns, rate) steps: the core must count the same."""
    S = bare_state(steps_per_ns=rate)
    for ns in [0, 1, 2, 3, 7, 100, 999, 5_000, 123_457, 10**6, 10**9 + 7, 3 * 10**10]:
        assert work_steps(S, ns) == work.steps_for(ns, rate), ns


ONE_WORK = """
name: one-work
main:
  - work: 40ms
"""


def test_work_is_a_number_of_steps_at_the_given_rate(core, tmp_path):
    """At a tenth of the rate the same `work: 40ms` is a tenth of the steps."""
    _, prog, _ = compile_text(tmp_path, ONE_WORK)
    rate = work.steps_per_ns()
    full = run_program(prog, 1, knobs(), steps_per_ns=rate)
    tenth = run_program(prog, 1, knobs(), steps_per_ns=rate / 10)
    assert full.steps_per_ns == rate and tenth.steps_per_ns == rate / 10
    assert full.wall_time > 3 * tenth.wall_time


# ---- preemption points --------------------------------------------------------------------------

LONG_WORK = hog_workload(hog="60ms", other="work: 10us")


@pytest.mark.parametrize("policy", ["baseline,async_preempt=1", "go1.14"])
def test_a_work_statement_is_preempted_only_with_async_preempt(core, tmp_path, policy):
    """Go 1.9/1.10 preempts at function calls: the hog's `work` (a call-free loop) runs to its
    end before the other G gets the P (the hog runs first: runnext).  async_preempt=1
    (Go >= 1.14; preset go1.14 sets it) stops it after its 10 ms time slice, so main is done
    long before: unless the host keeps sysmon off the cores for half of the 60 ms."""
    _, prog, _ = compile_text(tmp_path, LONG_WORK)
    sync = run_program(prog, 1, knobs())
    async_ = run_program(prog, 1, parse_policy(policy)[1])
    assert async_.counters["preemptions"] >= 1
    assert sync.wall_time > 2 * async_.wall_time


# ---- timer slack --------------------------------------------------------------------------------

def _slack_after(S) -> int:
    out = []

    def body():
        runtime_timerslack(S)
        out.append(ctypes.CDLL(None, use_errno=True).prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0))
    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out[0]


def test_runtime_threads_keep_the_kernel_timer_slack_unless_a_knob_sets_it(core):
    default = ctypes.CDLL(None).prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)
    assert _slack_after(bare_state()) == default
    assert _slack_after(bare_state(policy="baseline,timer_slack_ns=1")) == 1
    assert _slack_after(bare_state(policy="baseline,timer_slack_ns=7000")) == 7000


# ---- handoffp's last running P ------------------------------------------------------------------

BLOCKS = """
name: blocks
main:
  - repeat: 20
    do: [{syscall: {dur: 1ms, block: true}}]
"""


def test_handoff_of_the_last_running_p_starts_an_m(core, tmp_path):
    """proc.go: "If this is the last running P and nobody is polling network, need to wakeup
    another M to poll network" -- lastpoll is set from the start, so with or without network
    use every such handoff starts an M (which finds nothing and parks)."""
    _, prog, _ = compile_text(tmp_path, BLOCKS)
    c = run_program(prog, 2, knobs()).counters
    assert c["handoffs"] >= 20
    assert c["startms"] >= 20 and c["stopms"] >= 20


# ---- schedtrace ---------------------------------------------------------------------------------

def test_schedtrace_run_queue_is_tail_minus_head(core):
    S = bare_state(procs=2)
    table(S, L.H_ALLP, L.PSTRIDE, 1)[L.P_RUNNEXT] = 1       # runnext only: Go prints 0
    p2 = table(S, L.H_ALLP, L.PSTRIDE, 2)
    p2[L.P_RUNQHEAD], p2[L.P_RUNQTAIL] = 5, 8
    assert schedtrace_line(S, 0.0).endswith("[0 3]")


# ---- sysretake: Go >= 1.14's retake ---------------------------------------------------------------

def _in_syscall_with_churning_tick(policy):
    """P 1 in _Psyscall, its time slice (schedtick) unchanged for 20 ms, but its syscalltick
    moved since sysmon's last look: Ms taking it back from each other on exitsyscall's fast
    path, so no single syscall ever spans two sysmon rounds."""
    S = bare_state(policy=policy)
    pid = pidleget(S)
    p = table(S, L.H_ALLP, L.PSTRIDE, pid)
    p[L.P_STATUS] = L.Psyscall
    p[L.P_SCHEDTICK] = p[L.P_SM_SCHEDTICK] = 5
    p[L.P_SM_SCHEDWHEN] = 0
    p[L.P_SYSCALLTICK], p[L.P_SM_SYSCALLTICK] = 7, 6
    return S, p


def test_sysretake_retakes_a_p_whose_time_slice_is_over(core):
    S, p = _in_syscall_with_churning_tick("baseline")
    assert retake(S, 1, 20_000_000) == 0            # Go 1.9/1.10: a new syscall, look again
    assert p[L.P_STATUS] == L.Psyscall and p[L.P_SM_SYSCALLTICK] == 7
    S, p = _in_syscall_with_churning_tick("baseline,sysretake=1")
    assert retake(S, 1, 20_000_000) == 1
    assert p[L.P_STATUS] != L.Psyscall


# ---- sysmon's wake-ups ----------------------------------------------------------------------------

def test_startm_does_not_wake_sysmon_but_entersyscall_does(core):
    """proc.go wakes a deep-sleeping sysmon only from entersyscall and the exitsyscall paths
    (entersyscall_sysmon); startm hands the P to an M and leaves sysmon asleep."""
    from gmpbench.runtime.proc import startm, wake_sysmon
    from gmpbench.runtime.runq import mput_list
    S = bare_state(procs=2)
    S[L.S_MCOUNT] = 2
    mput_list(S, 1)                               # M 1 parked on the idle list
    S[L.S_SYSMONWAIT] = 1                         # sysmon in its deep sleep
    startm(S, 2, 0, False)
    m1 = table(S, L.H_ALLM, L.MSTRIDE, 1)
    assert m1[L.M_PARK] == 1 and m1[L.M_NEXTP] != 0            # M 1 woken with a P
    assert S[L.S_SYSMONWAIT] == 1 and S[L.S_SYSMONNOTE] == 0       # sysmon still asleep
    wake_sysmon(S)                                # what entersyscall does
    assert S[L.S_SYSMONWAIT] == 0 and S[L.S_SYSMONNOTE] == 1


# ---- scheduling latency is sampled as Go >= 1.17 samples it -----------------------------------

ONCE = """
name: once
main:
  - go: {fn: nop, n: 50}
  - wait: children
functions:
  nop:
    - work: 0
"""


def test_every_goroutines_first_run_is_a_latency_sample(core, tmp_path):
    """50 Gs that run once: one sample each, plus main's first run (its second, after the
    wait, is not sampled): the first run of a G is always measured (proc.stamp_runnable)."""
    _, prog, _ = compile_text(tmp_path, ONCE)
    r = run_program(prog, 1, knobs())
    assert r.counters["schedules"] == 52            # main twice, each child once
    assert int(r.latency.sum()) == 51


def test_sched_latency_samples_one_run_in_eight(core):
    """ping-pong's two Gs run about 2 * rounds times: ceil(runs / 8) samples each, and main's
    first run -- as Go's gTrackingPeriod, not one per run."""
    from gmpbench.runtime.proc import LATENCY_PERIOD
    _, prog, _ = compile_file("workloads/ping-pong.yaml", rounds=2000)
    r = run_program(prog, 1, knobs())
    runs, samples = r.counters["schedules"], int(r.latency.sum())
    assert LATENCY_PERIOD == 8 and runs > 4000
    assert runs // 8 <= samples <= runs // 8 + 3, (runs, samples)
