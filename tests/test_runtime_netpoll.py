"""The netpoller end to end: real epoll and eventfds, readiness from the emulator thread."""
import pytest

from gmpbench.runtime.policy import knobs
from gmpbench.runtime.histogram import bucket_bounds
from gmpbench.runtime.threads import run_program

from util import compile_file, compile_text


def run(prog, procs, **kw):
    return run_program(prog, procs, knobs(), timeout=60.0, **kw)


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_every_netwait_completes_once(core, procs):
    wl, prog, case = compile_file("workloads/netpoll-heavy.yaml", conns=64, requests=50)
    r = run(prog, procs)
    c = r.counters
    assert c["netwaits"] == wl.ops_value(case) == 64 * 50
    assert c["gs_exited"] == c["gs_created"] == 64 + 1
    # Each readiness reached its G once: through a poller, or found before the G parked.
    assert c["netpoll_gs"] <= c["netwaits"]
    assert c["netpoll_gs"] == (c["netpoll_gs_nonblocking"] + c["netpoll_gs_blocking"]
                               + c["netpoll_gs_sysmon"])
    assert c["netwait_ready_early"] == 0              # never earlier than its due time
    assert int(r.netpoll_latency.sum()) == c["netwaits"]


IDLE = """
name: idle-wait
main:
  - go: {fn: conn, n: 4}
  - wait: children
functions:
  conn:
    - netwait: 500ms
"""


def test_idle_ms_block_in_epoll_wait(core, tmp_path):
    """Everything waits 500 ms on the network: an M blocks in epoll_wait, nobody spins.
    Counted, not timed: Ms spinning or polling through the 500 ms would make thousands of
    steal attempts and polls; blocked, they make a handful whatever the host's load."""
    _, prog, _ = compile_text(tmp_path, IDLE)
    r = run(prog, 2)
    c = r.counters
    assert r.wall_time >= 0.5                         # a netwait never ends early
    assert c["netpoll_blocking_calls"] >= 1 and c["netpoll_gs_blocking"] >= 1
    assert c["steal_attempts"] < 100 and c["netpoll_calls"] < 50 and c["schedules"] < 20


BUSY = """
name: busy-poll
groups: [conns]
main:
  - go: {fn: conn, n: 8, group: conns}
  - go: hog
  - wait: conns
functions:
  hog:                          # 300 ms of work, preemptible between statements
    - repeat: 3000
      do: [{work: 100us}]
  conn:
    - netwait: 1ms
"""


def test_sysmon_polls_when_every_p_is_busy(core, tmp_path):
    """At procs=1 a hog keeps the P busy (preempted every 10 ms, it is always the only G to
    run); only sysmon's 10 ms netpoll can deliver the connections' readiness.  They did not
    wait for the hog: main returns with the hog still running (gs_live), unless the host keeps
    sysmon off the cores for the hog's whole 300 ms."""
    _, prog, _ = compile_text(tmp_path, BUSY)
    r = run(prog, 1)
    assert r.counters["netwaits"] == 8
    assert r.counters["netpoll_gs_sysmon"] >= 1
    assert r.gs_live == 1 and r.counters["gs_exited"] == 1 + 8


NETWAITS = """
name: slow-net
main:
  - go: {fn: conn, n: 4}
  - wait: children
functions:
  conn:
    - repeat: 10
      do: [{netwait: 20ms}]
"""


def test_latency_is_measured_from_due_time(core, tmp_path):
    """A conn waits 10 x 20 ms back to back, so its 10 latencies (due -> running) fit in what
    the run's wall time leaves beside its 200 ms of waiting: sum <= wall - 200 ms.  That holds
    however slow the host (a stall lengthens the wall time as much as the latencies).
    Measured from the wait's start instead, each latency would be >= 20 ms and the sum >= 200
    ms per conn, over the bound unless the host stalled the run by as much again."""
    _, prog, _ = compile_text(tmp_path, NETWAITS)
    r = run(prog, 2)
    hist = r.netpoll_latency
    assert int(hist.sum()) == r.counters["netwaits"] == 4 * 10
    low, _ = bucket_bounds()
    total = float((hist * low).sum()) / 1e9             # a lower bound of the latencies' sum
    assert 0 <= total <= 4 * (r.wall_time - 10 * 0.020) + 1e-3
