"""The execution trace: recording in the core, merging, Chrome trace JSON, `run --trace`."""
import json

import numpy as np

from gmpbench.report.trace import chrome_trace, stop_reason
from gmpbench.runtime import interp
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.threads import run_program
from gmpbench.runtime.trace import (
    EV_GO_START,
    EV_GO_STOP,
    EV_STEAL,
    EV_SYSCALL_ENTER,
    EV_SYSCALL_EXIT_FAST,
    EV_SYSCALL_EXIT_SLOW,
    STEAL_SHIFT,
    WHY_BITS,
)

from test_cli import PING_PONG, gmpbench
from util import STEALABLE, compile_file, compile_text


def _ping_pong(rounds=1000, procs=1, **kw):
    _, prog, _ = compile_file(PING_PONG, rounds=rounds)
    return prog, run_program(prog, procs, knobs(), **kw)


def test_stop_reason_names_follow_the_interpreter():
    assert stop_reason(interp.WHY_PREEMPT) == "preempt"
    assert stop_reason(interp.WHY_SYSCALL).startswith("syscall")
    assert stop_reason(interp.WHY_PARK | (2 << WHY_BITS)) == "park: chan receive"


def test_ping_pong_trace_alternates_on_p1(core):
    prog, r = _ping_pong(trace=True)
    ev = r.trace
    assert r.trace_dropped == 0
    assert np.all(np.diff(ev["t"]) >= 0)
    starts = ev[ev["kind"] == EV_GO_START]
    stops = ev[ev["kind"] == EV_GO_STOP]
    assert len(starts) == r.counters["schedules"]
    assert len(stops) == len(starts)
    assert set(starts["p"]) == {1}
    # after main parks, pinger and ponger take turns: a G starts twice in a row only when it
    # stopped for another reason than blocking on the channel (a sysmon preemption, which a
    # slow host makes more likely: the pair shares one 10 ms time slice)
    workers = (starts["goid"] != 1) & (stops["goid"] != 1)
    goids, why = starts["goid"][workers], [stop_reason(int(a)) for a in stops["arg"][workers]]
    assert set(goids) == {2, 3}
    again = np.nonzero(goids[1:] == goids[:-1])[0]
    assert all(why[i] == "preempt" for i in again), [why[i] for i in again]
    assert len(again) <= r.counters["preemptions"]
    reasons = {stop_reason(int(a)) for a in stops["arg"]}
    assert "park: chan receive" in reasons and "exit" in reasons
    # on one M, every start is followed by its G's stop
    assert np.all(ev["kind"][0::2] == EV_GO_START) and np.all(ev["kind"][1::2] == EV_GO_STOP)
    assert np.all(ev["goid"][0::2] == ev["goid"][1::2])


def test_no_trace_records_nothing(core):
    _, r = _ping_pong(rounds=100)
    assert r.trace is None and r.trace_dropped == 0


def test_full_buffer_drops_and_counts(core):
    _, r = _ping_pong(rounds=1000, trace=True, trace_max=100)
    assert len(r.trace) == 100                   # one M runs everything at procs 1
    assert r.trace_dropped == 2 * r.counters["schedules"] - 100


def test_syscalls_are_recorded(core):
    _, prog, _ = compile_file("workloads/syscall-heavy.yaml", iters=20)
    r = run_program(prog, 2, knobs(), trace=True)
    kind = r.trace["kind"]
    assert r.trace_dropped == 0
    assert (kind == EV_SYSCALL_ENTER).sum() == r.counters["syscalls"] == 64 * 20
    assert (kind == EV_SYSCALL_EXIT_FAST).sum() == r.counters["syscall_fast_exits"]
    assert (kind == EV_SYSCALL_EXIT_SLOW).sum() == r.counters["syscall_slow_exits"]
    doc = chrome_trace(r.trace, prog, procs=2)
    assert any(e["name"] == "syscall" and e["ph"] == "X" for e in doc["traceEvents"])


def test_steals_are_recorded(core, tmp_path):
    """STEALABLE at procs=2 steals (see its comment)."""
    _, prog, _ = compile_text(tmp_path, STEALABLE)
    r = run_program(prog, 2, knobs(), trace=True)
    steals = r.trace[r.trace["kind"] == EV_STEAL]
    assert r.trace_dropped == 0 and r.counters["steals"] > 0
    assert len(steals) == r.counters["steals"]
    assert (steals["arg"] >> STEAL_SHIFT).sum() == r.counters["gs_stolen"]
    victims = steals["arg"] & ((1 << STEAL_SHIFT) - 1)
    assert set(victims) | set(steals["p"]) <= {1, 2} and np.all(victims != steals["p"])


def test_chrome_json_has_g_intervals_on_each_p(core, tmp_path):
    prog, r = _ping_pong(rounds=200, procs=2, trace=True)
    path = tmp_path / "t.json"
    from gmpbench.report.trace import write_trace
    write_trace(path, r.trace, prog, "ping-pong", procs=2)
    with open(path) as f:
        doc = json.load(f)
    evs = doc["traceEvents"]
    xs = [e for e in evs if e["ph"] == "X" and e["cat"] == "G"]
    assert xs and all(e["dur"] >= 0 for e in xs)
    assert {"main", "pinger", "ponger"} <= {e["name"] for e in xs}
    names = {e["tid"]: e["args"]["name"] for e in evs if e["name"] == "thread_name"}
    assert names[1] == "P0" and names[2] == "P1"
    assert {e["tid"] for e in xs} <= set(names)


def test_cli_run_trace(tmp_path):
    out = gmpbench("run", PING_PONG, "--procs", "1", "--param", "rounds=500", "--trace",
                   "x.json", "-q", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "trace:" in out.stdout
    with open(tmp_path / "x.json") as f:
        doc = json.load(f)
    assert any(e["ph"] == "X" for e in doc["traceEvents"])
    assert not (tmp_path / "results").exists()      # a traced run is not saved unless -o


def test_cli_run_trace_needs_one_case(tmp_path):
    out = gmpbench("run", PING_PONG, "--procs", "1,2", "--param", "rounds=500", "--trace",
                   "x.json", cwd=tmp_path)
    assert out.returncode == 2
    assert "--procs" in out.stderr and not (tmp_path / "x.json").exists()
