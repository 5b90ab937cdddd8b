"""Stop-the-world, GOMAXPROCS at run time and locked Ms (stw.py, lockosthread.py): every G runs
exactly once across them, a resize loses no queued G, a locked G runs only on its M, checkdead
counts locked Ms as Go does, and bad input is refused with its line."""
import numpy as np
import pytest

from gmpbench.bench.measure import schedtrace_printer
from gmpbench.report.dump import describe
from gmpbench.runtime import layout as L
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.state import new_state, table
from gmpbench.runtime.threads import RunError, run_program
from gmpbench.runtime.trace import EV_GO_START
from gmpbench.workload.schema import WorkloadError

from test_runtime_e2e import assert_consistent
from util import compile_text, empty_program

PROCS = [1, 2, 4]

STW = """
name: stw
gc: {every: 200us, pause: 20us}
groups: [all]
main:
  - go: {fn: worker, n: 16, group: all}
  - repeat: 20
    do: [{stw: 10us}, {work: 5us}]
  - wait: all
functions:
  worker:
    - repeat: 30
      do: [{work: 5us}, yield, {sleep: 10us}]
"""

SETPROCS = """
name: resize
groups: [all]
main:
  - repeat: 4
    do:
      - go: {fn: worker, n: 64, group: all}
      - setprocs: 4
      - go: {fn: worker, n: 64, group: all}
      - setprocs: 1
      - go: {fn: worker, n: 64, group: all}
      - setprocs: 2
  - wait: all
functions:
  worker:
    - work: 2us
    - yield
"""

LOCKED = """
name: locked
channels: {ping: 0, pong: 0}
groups: [all]
main:
  - go: {fn: locked, group: all}
  - go: {fn: other, n: 4, group: all}
  - repeat: 200
    do: [{send: ping}, {recv: pong}]
  - wait: all
functions:
  locked:
    - lockthread
    - repeat: 200
      do: [{recv: ping}, {work: 2us}, yield, {send: pong}]
  other:
    - repeat: 50
      do: [{work: 3us}, yield]
"""


def run(prog, procs, **kw):
    return run_program(prog, procs, knobs(), timeout=60.0, describe=describe, **kw)


def assert_every_g_ran_once(r):
    assert_consistent(r)
    assert r.gs_live == 0
    assert r.counters["gs_exited"] == r.counters["gs_created"]


@pytest.mark.parametrize("procs", PROCS)
def test_every_g_runs_once_across_stop_the_world(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, STW)
    r = run(prog, procs)
    assert_every_g_ran_once(r)
    assert r.counters["gs_created"] == 17              # the gc: goroutine is not counted
    c = r.counters
    assert c["stw_pauses"] >= 20                      # main's, and the gc: section's
    assert int(r.safepoint_latency.sum()) == c["stw_pauses"] == int(r.stw_pause.sum())
    if procs == 1:
        assert c["stw_preemptions"] == 0               # nobody else runs while main stops


@pytest.mark.parametrize("procs", PROCS)
def test_every_g_runs_once_across_resizes(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, SETPROCS)
    r = run(prog, procs)
    assert_every_g_ran_once(r)
    assert r.counters["gs_created"] == 4 * 3 * 64 + 1
    # 4 -> 1 -> 2 each round, and into 4 from procs unless it already is 4
    assert r.counters["procresizes"] == 12 - (procs == 4)
    assert r.counters["stw_pauses"] == r.counters["procresizes"]


@pytest.mark.parametrize("procs", PROCS)
def test_every_g_runs_once_across_locked_handoffs_and_only_on_its_m(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, LOCKED)
    r = run(prog, procs, trace=True)
    assert_every_g_ran_once(r)
    c = r.counters
    assert c["lockedm_handoffs"] >= 200               # every ping wakes the locked M for it
    assert c["threads_exited"] == 1                    # it returned locked: its M went too
    locked_goid = 2                                    # main is 1; `locked` is started first
    starts = r.trace[(r.trace["kind"] == EV_GO_START) & (r.trace["goid"] == locked_goid)]
    assert len(starts) > 200
    assert len(set(starts["m"].tolist())) == 1         # always on its own M


def test_a_resize_moves_every_queued_g_to_the_surviving_ps(core):
    from gmpbench.runtime.proc import gnew
    from gmpbench.runtime.runq import pidleget, runqput
    from gmpbench.runtime.stw import procresize
    S = new_state(empty_program(), 4, knobs(), 8, 4096, 1)
    for _ in range(4):                                 # the world is stopped: no P is idle
        pid = pidleget(S)
        table(S, L.H_ALLP, L.PSTRIDE, pid)[L.P_STATUS] = L.Pgcstop
    table(S, L.H_ALLM, L.MSTRIDE, 1)[L.M_P] = 1        # M 1 (the stopper) keeps P 1
    table(S, L.H_ALLP, L.PSTRIDE, 1)[L.P_M] = 1
    queued = []
    for pid in (1, 2, 3, 4):
        for k in range(30 + pid):
            gp = gnew(S, 1, pid, 0, 0, 0)
            runqput(S, 1, pid, gp, k % 7 == 0)         # some go to runnext
            queued.append(gp)
    procresize(S, 1, 1)
    p1 = table(S, L.H_ALLP, L.PSTRIDE, 1)
    ring = table(S, L.H_RUNQ, L.RUNQ_MAX, 1)
    head, tail = int(p1[L.P_RUNQHEAD]), int(p1[L.P_RUNQTAIL])
    local = [int(ring[i & (L.RUNQ_MAX - 1)]) for i in range(head, tail)]
    local += [int(p1[L.P_RUNNEXT])] if p1[L.P_RUNNEXT] else []
    glob, gp = [], int(S[L.S_RUNQHEAD])
    while gp:
        glob.append(gp)
        gp = int(table(S, L.H_ALLG, L.GSTRIDE, gp)[L.G_SCHEDLINK])
    assert int(S[L.S_RUNQSIZE]) == len(glob)
    assert sorted(local + glob) == sorted(queued)      # none lost, none twice
    assert int(S[L.S_NPROCS]) == 1
    assert [int(table(S, L.H_ALLP, L.PSTRIDE, p)[L.P_STATUS]) for p in (2, 3, 4)] == \
        [L.Pdead] * 3
    assert int(p1[L.P_STATUS]) == L.Prunning


def test_checkdead_counts_a_locked_main_as_go_does(core, tmp_path):
    _, prog, _ = compile_text(tmp_path, """
name: locked-deadlock
channels: {never: 0}
main:
  - lockthread
  - go: helper
  - recv: never
functions:
  helper:
    - work: 10us
""")
    with pytest.raises(RunError) as err:
        run(prog, 2)
    assert err.value.kind == "deadlock"
    assert "all goroutines are asleep - deadlock!" in str(err.value)
    assert "chan receive" in err.value.dump


@pytest.mark.parametrize("stmt, line, message", [
    ("- setprocs: 0", 4, "GOMAXPROCS must be in 1..256"),
    ("- setprocs: 1000", 4, "GOMAXPROCS must be in 1..256"),
    ("- unlockthread", 4, "unlockthread without a lockthread"),
    ("- stw: -5us", 4, "negative duration"),
])
def test_bad_input_names_the_line(tmp_path, stmt, line, message):
    with pytest.raises(WorkloadError) as err:
        compile_text(tmp_path, f"name: bad\nmain:\n  - work: 1us\n  {stmt}\n")
    assert err.value.line == line
    assert message in str(err.value)


def test_a_negative_gc_pause_names_the_line(tmp_path):
    with pytest.raises(WorkloadError) as err:
        compile_text(tmp_path, "name: bad\ngc: {every: 1ms,\n     pause: -1us}\nmain: [yield]\n")
    assert err.value.line == 3 and "negative duration" in str(err.value)


def test_an_unlock_in_a_loop_that_outruns_its_locks_is_refused(tmp_path):
    with pytest.raises(WorkloadError) as err:
        compile_text(tmp_path, """name: bad
main:
  - lockthread
  - repeat: 2
    do: [unlockthread]
""")
    assert err.value.line == 4


def test_a_called_function_unlocks_its_callers_lock(tmp_path):
    compile_text(tmp_path, """name: ok
main:
  - lockthread
  - call: release
functions:
  release: [unlockthread]
""")


def test_the_trace_shows_pauses_and_resizes(core, tmp_path):
    from gmpbench.report.trace import STW_TID, chrome_trace
    _, prog, _ = compile_text(tmp_path, SETPROCS)
    r = run(prog, 2, trace=True)
    doc = chrome_trace(r.trace, prog, procs=2)
    pauses = [e for e in doc["traceEvents"] if e.get("name") == "stop-the-world"]
    resizes = [e for e in doc["traceEvents"] if e.get("name", "").startswith("procresize")]
    assert len(pauses) == r.counters["stw_pauses"] and all(e["tid"] == STW_TID for e in pauses)
    assert len(resizes) == r.counters["procresizes"] == 12
    assert resizes[0]["name"] == "procresize 2 -> 4"
    named = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert {"P3", "stop-the-world"} <= named          # a P that only the resize created


GO_ROW = """
name: stw-go
gc: {every: 500us, pause: 10us}
main:
  - go: {fn: pinned, n: 2}
  - setprocs: 3
  - repeat: 5
    do: [{stw: 10us}, {work: 20us}]
  - setprocs: 3
  - setprocs: 1
  - wait: children
functions:
  pinned:
    - lockthread
    - lockthread
    - work: 50us
    - unlockthread
    - sleep: 1ms
"""


@pytest.mark.parametrize("procs", [1, 2])
def test_the_go_row_runs_the_same_statements(go_toolchain, core, tmp_path, procs):
    from gmpbench.bench.cases import prepare_case, single_case_params
    from gmpbench.engines.golang.run import measure_go
    from gmpbench.workload import load_workload
    from gmpbench.bench.measure import run_once
    path = tmp_path / "w.yaml"
    path.write_text(GO_ROW)
    wl = load_workload(path)
    go = measure_go(prepare_case(wl, single_case_params(wl, {}), procs, "go"), values=2,
                    warmups=1)
    port = run_once(prepare_case(wl, single_case_params(wl, {}), procs, "baseline"))
    assert port.counters["threads_exited"] == 2 and port.counters["procresizes"] == 2
    for run in go.runs:                         # each run starts again at procs
        assert run.counters["gs_created"] == port.counters["gs_created"] == 3
        assert run.counters["procresizes"] == 2
        # one ReadMemStats per stw:, and one per round of the gc: goroutine
        assert sum(run.safepoint_latency.values()) == run.counters["stw_pauses"] >= 5
        assert run.stw_pause == {}                         # not measurable in Go
        assert "threads_exited" not in run.counters and "lockedm_handoffs" not in run.counters


def test_schedtrace_shows_the_new_gomaxprocs(core, tmp_path):
    import io
    _, prog, _ = compile_text(tmp_path, """
name: grow
main:
  - setprocs: 3
  - sleep: 60ms
""")
    out = io.StringIO()
    run(prog, 1, schedtrace=schedtrace_printer(0.01, out))
    lines = out.getvalue().splitlines()
    assert lines and "gomaxprocs=3" in lines[-1]
    assert lines[-1].endswith("[0 0 0]")                # a run queue figure per P
