"""Channels as Go has them: close, range, select (selectgo) and Go's channel panics.

Exactly-once workloads on real threads at procs 1, 2, 4; selectgo driven directly against a
sequential model of its semantics (hypothesis); the panics and the bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gmpbench.report.dump import describe
from gmpbench.runtime import layout as L
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.threads import RunError, run_program
from gmpbench.workload import WorkloadError

from util import compile_text

ROOT = Path(__file__).resolve().parents[1]


def run(prog, procs, timeout=60.0):
    return run_program(prog, procs, knobs(), timeout=timeout, describe=describe)


def once(ch):
    """Every message sent on the channel was received or is still buffered, once."""
    return ch["sent"] == ch["received"] + ch["buffered"]


# ---- exactly once on real threads ---------------------------------------------------------------

POOL = """
name: pool
params: {workers: 4, jobs: 3000}
channels: {jobs: 16, results: 0, dropped: "${jobs}", done: 0}
groups: [workers]
main:
  - go: {fn: worker, n: "${workers}", group: workers}
  - go: collector
  - repeat: "${jobs}"
    do: [{send: jobs}]
  - close: jobs
  - wait: workers
  - close: results
  - recv: done
functions:
  worker:
    - range: jobs
      do:
        - work: 1us
        - select:
            - send: results
            - default: [{send: dropped}]
  collector:
    - range: results
      do: [{work: 1us}]
    - send: done
"""


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_a_worker_pool_fed_by_a_closed_channel_handles_every_job_once(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, POOL)
    r = run(prog, procs)
    ch = r.channels
    assert ch["jobs"]["received"] == ch["jobs"]["sent"] == 3000 and ch["jobs"]["closed"]
    # each job reported once: through select's send case, or its default
    assert ch["results"]["received"] + ch["dropped"]["sent"] == 3000
    assert ch["results"]["received"] > 0
    assert ch["results"]["sent_sum"] == ch["results"]["received_sum"]
    assert all(once(c) for c in ch.values())
    assert r.counters["selects"] == 3000
    assert r.gs_live <= 1                       # every worker left its range loop (the
                                                # collector may not have returned yet)


FAN_IN = """
name: fan-in
params: {n: 400}
channels: {a: 0, b: 0, c: 4, d: 0}
main:
  - go: pa
  - go: pb
  - go: pc
  - go: pd
  - repeat: "${4 * n}"
    do:
      - select:
          - recv: a
          - recv: b
          - recv: c
            do: [{work: 1us}]
          - recv: d
functions:
  pa: [{repeat: "${n}", do: [{send: a}]}]
  pb: [{repeat: "${n}", do: [{send: b}, {yield}]}]
  pc: [{repeat: "${n}", do: [{send: c}]}]
  pd: [{repeat: "${n}", do: [{work: 2us}, {send: d}]}]
"""


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_a_fan_in_through_select_receives_every_message_once(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, FAN_IN)
    r = run(prog, procs)
    for name, ch in r.channels.items():
        assert ch["received"] == ch["sent"] == 400, name
        assert ch["received_sum"] == ch["sent_sum"] == sum(range(400)), name
    assert r.counters["selects"] == 1600
    assert 0 < r.counters["select_parks"] <= 1600


TIMEOUTS = """
name: timeouts
channels: {c: 0, got: 1000, tmo: 1000, never: 0, fired: 1, late: 1}
main:
  - select:
      - recv: never
      - after: 1ms
        do: [{send: fired}]
  - go: producer
  - repeat: 300
    do:
      - select:
          - recv: c
            do: [{send: got}]
          - after: 30us
            do: [{send: tmo}]
  - select:
      - recv: fired
      - after: 10s
        do: [{send: late}]
functions:
  producer: [{repeat: 100, do: [{sleep: 20us}, {send: c}]}]
"""


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_after_fires_when_nothing_else_is_ready_and_only_then(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, TIMEOUTS)
    r = run(prog, procs)
    ch = r.channels
    assert ch["fired"]["sent"] == 1 and ch["late"]["sent"] == 0
    # each of the 300 selects ended once: by a message or by its timer
    assert ch["got"]["sent"] + ch["tmo"]["sent"] == 300
    assert ch["got"]["sent"] == ch["c"]["received"] == 100      # the producer finished
    assert ch["tmo"]["sent"] > 0
    assert r.counters["selects"] == 302


# ---- Go's panics and blocking forever -------------------------------------------------------

PANICS = {
    "[{close: c}, {send: c}]": ("panic: send on closed channel", "main: send: c"),
    "[{close: c}, {close: c}]": ("panic: close of closed channel", "main: close: c"),
    "[{close: n}]": ("panic: close of nil channel", "main: close: n"),
    "[{go: s}, {yield}, {close: c}, {sleep: 1ms}]": ("panic: send on closed channel",
                                                     "s: select"),
}


@pytest.mark.parametrize("body", PANICS)
def test_channel_misuse_panics_as_go_does(core, tmp_path, body):
    _, prog, _ = compile_text(tmp_path, f"""
name: p
channels: {{c: 0, n: nil}}
main: {body}
functions:
  s: [{{select: [{{send: c}}, {{recv: n}}]}}]
""")
    with pytest.raises(RunError) as err:
        run(prog, 1)
    message, where = PANICS[body]
    assert err.value.kind == "panic" and err.value.message == message
    assert "[running]:" in err.value.dump and where in err.value.dump


def test_recv_on_a_closed_channel_returns_at_once_and_a_nil_channel_blocks(core, tmp_path):
    _, prog, _ = compile_text(tmp_path, """
name: p
channels: {c: 2, n: nil}
main: [{send: c}, {close: c}, {recv: c}, {recv: c}, {recv: c},
       {select: [{recv: n}, {send: n}, {default: []}]}, {recv: n}]
""")
    with pytest.raises(RunError) as err:
        run(prog, 2)
    assert err.value.kind == "deadlock"
    assert "[chan receive (nil chan)]" in err.value.dump


def test_a_panic_exits_1_with_gos_message(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nchannels: {c: 0}\nmain: [{close: c}, {close: c}]\n")
    out = subprocess.run([sys.executable, "-m", "gmpbench", "run", str(path), "--policy",
                          "baseline", "--procs", "1", "--fast", "-o", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert out.returncode == 1, out.stderr
    assert "panic: close of closed channel" in out.stderr


# ---- bad input --------------------------------------------------------------------------------

BAD = {
    "[{select: [{default: []}, {recv: c}, {default: []}]}]":
        (4, "main[0].select[2]", "at most one default"),
    "[{select: []}]": (4, "main[0].select", "blocks forever"),
    "[{range: nope, do: []}]": (4, "main[0].range", "unknown channel 'nope'"),
    "[{select: [{recv: c, send: c}]}]": (4, "main[0].select[0]", "exactly one of"),
    "[{select: [{after: -1ms}]}]": (4, "main[0].select[0].after", "negative duration"),
    "[{close: c, do: []}]": (4, "main[0].do", "'do' belongs to repeat, loop or range"),
    "[{range: c}]": (4, "main[0]", "range needs a 'do:'"),
}


@pytest.mark.parametrize("body", BAD)
def test_bad_channel_statements_are_located(tmp_path, body):
    line, field, text = BAD[body]
    with pytest.raises(WorkloadError) as err:
        compile_text(tmp_path, f"name: b\nchannels: {{c: 0}}\n\nmain: {body}\n")
    assert err.value.line == line and err.value.field == field and text in err.value.message


def test_bad_input_exits_2_with_file_and_line(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("name: b\nchannels: {c: 0}\nmain:\n  - select: []\n")
    out = subprocess.run([sys.executable, "-m", "gmpbench", "validate", str(path)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert out.returncode == 2
    assert f"{path}:4: main[0].select:" in out.stderr


# ---- selectgo against a sequential model -------------------------------------------------------

class Chan:
    """The model of one channel: capacity, buffered count, closed, waiting senders/receivers."""

    def __init__(self, cap, count, closed, senders, receivers):
        self.cap, self.count, self.closed = cap, count, closed
        self.senders, self.receivers = senders, receivers

    def ready(self, kind):
        """pass 1 of selectgo for a case of this kind on this channel."""
        if self.cap < 0:
            return False
        if kind == L.CASE_RECV:
            return self.senders > 0 or self.count > 0 or self.closed
        return self.closed or self.receivers > 0 or self.count < self.cap

    def state(self):
        return (self.count, self.closed, self.senders, self.receivers)

    def after(self, kind):
        """The state once a ready case of this kind ran (None: it panics)."""
        if kind == L.CASE_SEND:
            if self.closed:
                return None
            if self.receivers:
                return (self.count, False, 0, self.receivers - 1)
            return (self.count + 1, False, 0, 0)
        if self.senders:
            return (self.count, False, self.senders - 1, 0)
        if self.count:
            return (self.count - 1, self.closed, 0, 0)
        return self.state()


@st.composite
def channel(draw):
    cap = draw(st.sampled_from([-1, 0, 1, 3]))
    if cap < 0:
        return Chan(cap, 0, False, 0, 0)
    closed = draw(st.sampled_from([False, False, False, True]))
    count = draw(st.integers(0, cap))
    waiting = 0 if closed else draw(st.sampled_from([0, 0, 1, 2]))
    senders = waiting if count == cap else 0          # senders wait only on a full buffer
    receivers = waiting if count == 0 and not senders else 0
    return Chan(cap, count, closed, senders, receivers)


@st.composite
def select_case(draw, nchans):
    return (draw(st.sampled_from([L.CASE_RECV, L.CASE_SEND])), draw(st.integers(0, nchans - 1)))


class Harness:
    """One compiled select over generated channels, in a state driven from Python: M 1 holds
    P 1, G 1 runs the select, Gs 2.. wait on the channels as partners."""

    def __init__(self, tmp_path, chans, cases, default):
        from gmpbench.runtime import chan as C
        from gmpbench.runtime import selectgo as SG
        from gmpbench.runtime.mem import cx, gx, px
        from gmpbench.runtime.state import new_state
        self.C, self.SG, self.cx, self.gx = C, SG, cx, gx
        names = {f"c{i}": ("nil" if ch.cap < 0 else ch.cap) for i, ch in enumerate(chans)}
        lines = [f"    - {'recv' if k == L.CASE_RECV else 'send'}: c{c}" for k, c in cases]
        if default:
            lines.append("    - default: []")
        text = ("name: m\nchannels: {" + ", ".join(f"{k}: {v}" for k, v in names.items())
                + "}\nmain:\n  - select:\n" + "\n".join(lines) + "\n")
        _, prog, _ = compile_text(tmp_path, text)
        self.prog = prog
        self.S = S = new_state(prog, 1, knobs(), 4, 64, 1)
        S[L.S_PIDLE] = 0
        S[L.S_NPIDLE] = 0
        S[px(S, 1) + L.P_STATUS] = L.Prunning
        S[px(S, 1) + L.P_M] = 1
        S[S[L.H_ALLM] + L.MSTRIDE + L.M_P] = 1
        S[L.S_ALLGLEN] = 60
        S[gx(S, 1) + L.G_STATUS] = L.Grunning
        self.next_g = 2
        for cid, ch in enumerate(chans):
            self.fill(cid, ch)

    def waiter(self):
        gp = self.next_g
        self.next_g += 1
        self.S[self.gx(self.S, gp) + L.G_STATUS] = L.Gwaiting
        return gp

    def fill(self, cid, ch):
        S, c = self.S, self.cx(self.S, cid)
        if ch.cap < 0:
            return
        S[c + L.C_COUNT] = ch.count
        S[c + L.C_SENDX] = ch.count % max(ch.cap, 1)
        S[c + L.C_CLOSED] = int(ch.closed)
        for q, n in ((L.C_SENDQ, ch.senders), (L.C_RECVQ, ch.receivers)):
            for _ in range(n):
                sg = self.C.sudog(S, self.waiter(), 1)
                self.C.sudog_init(S, sg, cid, 0)
                self.C.enqueue(S, c + q, sg)

    def queue_len(self, cid, q):
        S, n = self.S, 0
        sg = S[self.cx(S, cid) + q + L.WAITQ_FIRST]
        while sg:
            n += 1
            sg = S[self.C.sgx(S, sg) + L.SG_NEXT]
        return n

    def state(self, cid):
        S, c = self.S, self.cx(self.S, cid)
        return (int(S[c + L.C_COUNT]), bool(S[c + L.C_CLOSED]),
                self.queue_len(cid, L.C_SENDQ), self.queue_len(cid, L.C_RECVQ))

    def body_of(self, i):
        row = self.prog.code[1 + i]
        return int(row[3])

    def locks_free(self, nchans):
        return all(self.S[self.cx(self.S, cid) + L.C_LOCK] == 0 for cid in range(nchans))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_selectgo_matches_the_sequential_model(core, tmp_path, data):
    nchans = data.draw(st.integers(1, 3))
    chans = data.draw(st.lists(channel(), min_size=nchans, max_size=nchans))
    cases = data.draw(st.lists(select_case(nchans), min_size=1, max_size=4))
    default = data.draw(st.sampled_from([False, False, True]))
    h = Harness(tmp_path, chans, cases, default)
    S = h.S
    before = [h.state(cid) for cid in range(nchans)]
    assert before == [ch.state() for ch in chans]
    pc = h.SG.selectgo(S, 1, 1, 0)
    ready = [i for i, (kind, cid) in enumerate(cases) if chans[cid].ready(kind)]
    event("ready" if ready else "default" if default else "park")
    if ready:
        assert h.locks_free(nchans)
        if pc == h.SG.STEP_STOP:
            assert S[L.S_FATAL] == L.FATAL_PANIC
            assert any(cases[i][0] == L.CASE_SEND and chans[cases[i][1]].closed for i in ready)
            return
        chosen = [i for i in ready if h.body_of(i) == pc]
        assert chosen, "selectgo chose a case that was not ready"
        kind, cid = cases[chosen[0]]
        expect = list(before)
        expect[cid] = chans[cid].after(kind)
        assert [h.state(c) for c in range(nchans)] == expect
        return
    if default:
        assert pc == int(h.prog.code[0][2]) and h.locks_free(nchans)
        assert [h.state(c) for c in range(nchans)] == before
        return
    # pass 2: one sudog per case on its channel, then park; a partner completes one case
    assert pc == h.SG.STEP_PARK
    live = [i for i, (kind, cid) in enumerate(cases) if chans[cid].cap >= 0]
    for i in live:
        kind, cid = cases[i]
        q = L.C_RECVQ if kind == L.CASE_RECV else L.C_SENDQ
        assert h.queue_len(cid, q) >= 1
    S[h.gx(S, 1) + L.G_STATUS] = L.Gwaiting
    h.SG.selparkcommit(S, 1, 0)
    assert h.locks_free(nchans)
    if not live:
        return                                   # only nil channels: blocked forever
    if data.draw(st.booleans()):
        close_wakes_the_select(h, data.draw(st.sampled_from(live)), cases)
        return
    # a partner on a channel where no older waiter stands before the select's sudog; it wakes
    # the first of the select's sudogs of that channel and direction (lock order is stable)
    first = [i for i in live if not (chans[cases[i][1]].receivers if cases[i][0] == L.CASE_RECV
                                     else chans[cases[i][1]].senders)]
    if not first:
        return
    kind, cid = cases[data.draw(st.sampled_from(first))]
    i = cases.index((kind, cid))
    partner = h.waiter()
    S[h.gx(S, partner) + L.G_STATUS] = L.Grunning
    op = h.C.chanrecv if kind == L.CASE_SEND else h.C.chansend
    assert op(S, 1, partner, cid) == h.C.CH_DONE    # the select's sudog was the partner's
    assert S[h.gx(S, 1) + L.G_STATUS] == L.Grunnable
    S[h.gx(S, 1) + L.G_STATUS] = L.Grunning
    event("woken by a partner")
    assert h.SG.chan_resume(S, 1, 1, 1) == h.body_of(i)
    assert h.locks_free(nchans)
    assert [h.state(c) for c in range(nchans)] == before     # the other sudogs dequeued


def close_wakes_the_select(h, i, cases):
    """closechan readies the select with g.param nil: it polls again, sees the closed channel
    and runs a case on it (a receive), or panics (a send on it)."""
    S = h.S
    cid = cases[i][1]
    assert h.C.closechan(S, 1, cid) == 0
    assert S[h.gx(S, 1) + L.G_STATUS] == L.Grunnable
    S[h.gx(S, 1) + L.G_STATUS] = L.Grunning
    event("woken by a close")
    pc = h.SG.chan_resume(S, 1, 1, 1)
    on_it = [j for j, (kind, c) in enumerate(cases) if c == cid]
    if pc == h.SG.STEP_STOP:
        assert any(cases[j][0] == L.CASE_SEND for j in on_it)
        assert S[L.S_FATAL] == L.FATAL_PANIC and S[L.S_FATALARG] == L.PANIC_SEND_CLOSED
    else:
        assert pc in [h.body_of(j) for j in on_it if cases[j][0] == L.CASE_RECV]
    assert h.state(cid)[2:] == (0, 0)           # nobody waits on a closed channel
    assert h.locks_free(len(h.prog.chan_names))


def test_select_polls_its_ready_cases_in_random_order(core, tmp_path):
    ready = Chan(3, 2, False, 0, 0)
    h = Harness(tmp_path, [ready, Chan(3, 1, False, 0, 0)],
                [(L.CASE_RECV, 0), (L.CASE_SEND, 1), (L.CASE_RECV, 1)], False)
    chosen = set()
    for _ in range(60):
        chosen.add(h.SG.selectgo(h.S, 1, 1, 0))
        h.fill(0, ready)
        h.fill(1, Chan(3, 1, False, 0, 0))
    assert chosen == {h.body_of(0), h.body_of(1), h.body_of(2)}


# ---- the Go engine runs the same statements ------------------------------------------------------

@pytest.mark.parametrize("text", [POOL, FAN_IN, TIMEOUTS], ids=["pool", "fan-in", "timeouts"])
def test_go_runs_select_close_and_range_as_the_port(go_toolchain, core, tmp_path, text):
    from gmpbench.bench.cases import prepare_case, single_case_params
    from gmpbench.bench.measure import run_once
    from gmpbench.engines.golang.run import measure_go
    from gmpbench.workload import load_workload
    path = tmp_path / "w.yaml"
    path.write_text(text)
    wl = load_workload(path)
    params = single_case_params(wl, {})
    go = measure_go(prepare_case(wl, params, 2, "go"), values=1, warmups=0)
    port = run_once(prepare_case(wl, params, 2, "baseline"))
    assert go.runs[0].counters["gs_created"] == port.counters["gs_created"]


def test_go_panics_on_send_to_a_closed_channel_too(go_toolchain, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nchannels: {c: 1}\nmain: [{close: c}, {send: c}]\n")
    out = subprocess.run([sys.executable, "-m", "gmpbench", "run", str(path), "--policy", "go",
                          "--procs", "1", "--fast", "-o", str(tmp_path / "r.json")],
                         capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert out.returncode == 1 and "panic: send on closed channel" in out.stderr


# ---- bounded recursion (`go: F` inside F) ------------------------------------------------------

CHAIN = """
name: chain
params: {links: 3000}
groups: [links]
main:
  - go: {fn: link, group: links, depth: "${links - 1}"}
  - wait: links
functions:
  link:
    - go: {fn: link, group: links}
"""


@pytest.mark.parametrize("procs", [1, 2])
def test_a_chain_of_goroutines_ends_after_its_depth(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, CHAIN)
    r = run(prog, procs)
    assert r.counters["gs_created"] == 3000 + 1
    assert r.gs_live == 0


def test_a_tree_by_bounded_recursion_has_two_to_the_depth_leaves(core, tmp_path):
    _, prog, _ = compile_text(tmp_path, """
name: tree
main:
  - go: {fn: node, depth: 9}
  - wait: children
functions:
  node:
    - go: {fn: node, n: 2}
    - wait: children
""")
    assert run(prog, 2).counters["gs_created"] == 1 + (2 ** 10 - 1)     # depths 9..0, main


@pytest.mark.parametrize("text, line, field, message", [
    ("main: [{go: a}]\nfunctions:\n  a: [{go: b}]\n  b: [{go: a}]\n", 4, "functions.a",
     "go/call cycle: a -> b -> a"),
    ("main: [{go: a}]\nfunctions:\n  a: [{call: a}]\n", 4, "functions.a", "go/call cycle"),
    ("main: [{go: a}]\nfunctions:\n  a: [{go: {fn: a, depth: 3}}]\n", 4,
     "functions.a[0].go.depth", "depth is given where it is first started"),
    ("main: [{go: {fn: a, depth: -1}}]\nfunctions:\n  a: []\n", 2, "main[0].go.depth",
     "count must be >= 0"),
])
def test_only_self_starts_may_recurse(tmp_path, text, line, field, message):
    with pytest.raises(WorkloadError) as err:
        compile_text(tmp_path, "name: r\n" + text)
    assert (err.value.line, err.value.field) == (line, field) and message in err.value.message


# ---- serve: open-loop load ---------------------------------------------------------------------

SERVE = """
name: srv
params: {rate: 20k, requests: 2000}
main:
  - serve: {rate: "${rate}", count: "${requests}", handler: handle, backlog: 64}
functions:
  handle: [{work: 5us}]
"""


@pytest.mark.parametrize("procs", [1, 2])
def test_serve_handles_or_drops_every_request_once(core, tmp_path, procs):
    _, prog, _ = compile_text(tmp_path, SERVE)
    r = run(prog, procs)
    c = r.counters
    assert c["requests"] + c["requests_dropped"] == 2000
    assert c["requests"] == int(r.request_latency.sum())
    assert c["gs_created"] == 1 + c["requests"]
    # open loop: 2000 arrivals at 20k/s take ~100 ms whatever the server does
    assert r.wall_time > 0.05


def test_an_overloaded_server_drops_beyond_its_backlog_and_its_latency_grows(core, tmp_path):
    _, prog, _ = compile_text(tmp_path, SERVE.replace("5us", "200us"), rate="50k")
    r = run(prog, 1)
    assert r.counters["requests_dropped"] > 0 and r.counters["requests_late"] > 0
    from gmpbench.runtime.histogram import percentiles
    light = run(compile_text(tmp_path, SERVE, rate="2k", requests=200)[1], 1)
    assert percentiles(r.request_latency, [0.5])[0] > 10 * percentiles(light.request_latency,
                                                                       [0.5])[0]


@pytest.mark.parametrize("text, field, message", [
    ("{rate: 0, count: 10, handler: h}", "main[0].serve.rate", "rate must be above 0"),
    ("{rate: -5k, count: 10, handler: h}", "main[0].serve.rate", "rate must be above 0"),
    ("{rate: 1k, count: 10, handler: nope}", "main[0].serve.handler", "unknown function 'nope'"),
    ("{rate: 1k, count: 10}", "main[0].serve.handler", "serve needs handler:"),
    ("{rate: 1k, count: 10, handler: h, dist: gamma}", "main[0].serve.dist", "poisson"),
])
def test_bad_serve_statements_are_located(tmp_path, text, field, message):
    with pytest.raises(WorkloadError) as err:
        compile_text(tmp_path, f"name: s\nmain:\n  - serve: {text}\nfunctions:\n  h: []\n")
    assert err.value.line == 3 and err.value.field == field and message in err.value.message
