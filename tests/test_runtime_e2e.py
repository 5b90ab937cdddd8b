"""Workloads end to end on real threads: nothing lost, counters consistent, failures reported."""
import pytest

from gmpbench.report.dump import describe
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.threads import RunError, run_program

from util import compile_file, compile_text


def run(prog, procs, timeout=60.0, **kw):
    kw.setdefault("describe", describe)
    return run_program(prog, procs, knobs(), timeout=timeout, **kw)


def assert_consistent(r):
    c = r.counters
    assert c["gs_created"] == c["gs_exited"] + r.gs_live
    assert c["schedules"] >= c["gs_created"]
    assert c["steals"] <= c["steal_attempts"]
    assert c["gs_stolen"] >= c["steals"]
    assert c["runnext_steals"] <= c["steals"]
    assert c["threads_max"] >= 1
    for ch in r.channels.values():
        assert ch["sent"] == ch["received"] + ch["buffered"]


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_fan_out_100k_goroutines(core, procs):
    wl, prog, case = compile_file("workloads/fan-out.yaml")
    assert wl.ops_value(case) >= 100_000
    r = run(prog, procs)
    assert_consistent(r)
    assert r.gs_live == 0
    assert r.counters["gs_created"] == wl.ops_value(case) + 1      # + main
    # Ms for the Ps, sysmon, and a few started while another M was on its way to park (how
    # many depends on the host's scheduling of those Ms) -- but not growing with the work: a
    # thread per batch of 100 Gs would be 1000, per G 100,000
    assert r.threads_max < 50
    if procs > 1:
        assert r.counters["steals"] > 0


@pytest.mark.parametrize("procs", [1, 2])
def test_ping_pong_every_message_once(core, procs):
    _, prog, _ = compile_file("workloads/ping-pong.yaml", rounds=20000)
    r = run(prog, procs)
    assert_consistent(r)
    for name in ("ping", "pong"):
        ch = r.channels[name]
        assert ch["sent"] == ch["received"] == 20000
        assert ch["sent_sum"] == ch["received_sum"] == sum(range(20000))
    if procs == 1:
        # Each send readies the partner into runnext: the token never leaves the P.
        assert r.counters["runnext_puts"] >= 2 * 20000
        assert r.threads_max == 2                  # main's M and sysmon, as Go counts


BUFFERED = """
name: buffered
channels: {jobs: 8, done: 0}
groups: [workers]
main:
  - go: {fn: worker, n: 4, group: workers}
  - repeat: 5000
    do: [{send: jobs}]
  - repeat: 4
    do: [{send: done}]
  - wait: workers
functions:
  worker:
    - loop: 30s
      do:
        - recv: jobs
        - work: 200ns
        - yield
"""


def test_buffered_channel_and_wait_group(core, tmp_path):
    # Workers never see `done`: main's sends to it block forever... so it deadlocks. Instead,
    # make the workers leave after their share: 4 workers x 1250 receives.
    text = BUFFERED.replace("    - loop: 30s\n      do:", "    - repeat: 1250\n      do:")
    text = text.replace("  - repeat: 4\n    do: [{send: done}]\n", "")
    _, prog, _ = compile_text(tmp_path, text)
    for procs in (1, 2):
        r = run(prog, procs)
        assert_consistent(r)
        jobs = r.channels["jobs"]
        assert jobs["sent"] == jobs["received"] == 5000
        assert jobs["sent_sum"] == jobs["received_sum"]
        assert r.gs_live == 0


MUTEX = """
name: mutex
mutexes: [mu]
main:
  - go: {fn: worker, n: 8}
  - wait: children
functions:
  worker:
    - repeat: 2000
      do: [{lock: mu}, {work: 100ns}, {unlock: mu}, yield]
"""


@pytest.mark.parametrize("procs", [1, 2])
def test_mutex_workers_finish(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, MUTEX)
    r = run(prog, procs)
    assert_consistent(r)
    assert r.gs_live == 0 and r.counters["gs_exited"] == 9


CALLS = """
name: calls
main:
  - repeat: 3
    do:
      - call: nest
  - go: {fn: leaf, n: 10}
functions:
  nest:
    - repeat: 2
      do:
        - go: leaf
        - call: leaf
  leaf:
    - yield
"""


def test_call_repeat_and_orphans(core, tmp_path):
    """main returns while its last 10 children may still run: the run ends anyway (as in Go),
    and the orphaned children are accounted for."""
    _, prog, _ = compile_text(tmp_path, CALLS)
    r = run(prog, 2)
    assert r.counters["gs_created"] == 1 + 6 + 10
    assert_consistent(r)


DEADLOCK = """
name: stuck
channels: {never: 0}
main:
  - go: sender
  - recv: never
  - wait: children
functions:
  sender:
    - send: never
    - send: never
"""


@pytest.mark.parametrize("procs", [1, 3])
def test_deadlock_is_reported_with_a_dump(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, DEADLOCK)
    with pytest.raises(RunError) as e:
        run(prog, procs)
    err = e.value
    assert err.kind == "deadlock"
    assert "all goroutines are asleep - deadlock!" in str(err)
    assert "[chan send]" in err.dump
    assert "sender: send: never" in err.dump
    assert "w.yaml:11" in err.dump                      # the second send's line
    assert "[wait children]" in err.dump


def test_a_failed_run_carries_a_snapshot_not_text(core, tmp_path):
    """The runtime words nothing for people: without run_program's describe the RunError has
    no dump, only the state as it failed, which report.dump words as before."""
    _, prog, _ = compile_text(tmp_path, DEADLOCK)
    with pytest.raises(RunError) as e:
        run(prog, 2, describe=None)
    err = e.value
    assert err.dump == "" and str(err) == err.message == \
        "fatal error: all goroutines are asleep - deadlock!"
    assert err.snapshot.program is prog and not err.snapshot.scheduler
    text = describe(err.snapshot)
    assert "sender: send: never" in text and "[wait children]" in text and "SCHED" not in text


SPIN = """
name: forever
main:
  - loop: 1h
    do: [{work: 1ms}]
"""


def test_watchdog_stops_a_run_past_its_timeout(core, tmp_path):
    _, prog, _ = compile_text(tmp_path, SPIN)
    with pytest.raises(RunError) as e:
        run(prog, 2, timeout=0.3)
    assert e.value.kind == "timeout"
    assert "SCHED" in e.value.dump and "goroutine 1 [running]" in e.value.dump
    assert e.value.snapshot.scheduler                   # the Ps and Ms before the goroutines


TREE = """
name: tree
main:
  - go: {fn: l1, n: 10}
  - wait: children
functions:
  l1: [{go: {fn: l2, n: 10}}, {wait: children}]
  l2: [{go: {fn: l3, n: 10}}, {wait: children}]
  l3: [{go: {fn: l4, n: 10}}, {wait: children}]
  l4: [{go: {fn: leaf, n: 10}}, {wait: children}]
  leaf: [{work: {uniform: [0, 2us]}}]
"""


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_fan_out_tree_of_111k_goroutines(core, tmp_path, procs):
    """Five levels of ten: every level waits for its children, 111,111 goroutines in all."""
    _, prog, _ = compile_text(tmp_path, TREE)
    r = run(prog, procs)
    assert_consistent(r)
    assert r.counters["gs_created"] == r.counters["gs_exited"] == 1 + 10 + 100 + 1000 + 10**4 + 10**5
