"""The Go engine: policy ``go`` translates a workload to Go, builds it, runs it on the real Go
runtime, and reports it beside the port's policies.

The runs are tiny: these tests check meaning (every goroutine counted, every statement
translated, failures reported), never speed.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from gmpbench.bench.cases import UsageError, load_groups, prepare_case, single_case_params
from gmpbench.bench.measure import run_once
from gmpbench.engines import MATCHING_PRESETS, matching_preset
from gmpbench.engines.golang import build as gobuild
from gmpbench.engines.golang.run import _bucket_of, measure_go
from gmpbench.engines.golang.translate import TRANSLATED, translate
from gmpbench.report import read_results, render_report
from gmpbench.runtime.histogram import bucket_bounds
from gmpbench.runtime.policy import PRESETS
from gmpbench.runtime.threads import RunError
from gmpbench.workload import load_workload
from gmpbench.workload.loader import STATEMENTS

from util import ROOT, SMALL, run_cli

WORKLOADS = ROOT / "workloads"

# every shipped workload at a tiny size

# every statement of the grammar, each distribution, groups, mutexes, calls and loops
EVERYTHING = """
name: everything
seed: 7
channels: {c: 0, b: 2}
groups: [w]
mutexes: [m]
main:
  - go: {fn: worker, n: 3, group: w}
  - go: producer
  - repeat: 4
    do: [{recv: c}]
  - wait: w
  - wait: children
  - loop: 1ms
    do: [{yield}]
functions:
  producer:
    - repeat: 4
      do: [{send: c}, {send: b}, {recv: b}]
  worker:
    - call: step
    - syscall: {dur: 20us, block: true}
    - syscall: {exp: 10us}
    - netwait: {uniform: [10us, 30us]}
    - netwait: 0
    - sleep: {normal: [20us, 5us]}
    - go: leaf
    - wait: children
  step:
    - lock: m
    - work: {lognormal: [2us, 0.5]}
    - unlock: m
  leaf:
    - work: 1us
"""


def go_case(path, policy="go", procs=1, **params):
    wl = load_workload(path)
    return prepare_case(wl, single_case_params(wl, params), procs, policy)


def write(tmp_path, text, name="w.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


gmpbench = run_cli


def test_every_statement_has_a_translation():
    assert set(TRANSLATED) == set(STATEMENTS)


def test_the_generated_source_names_each_statement_and_its_line(tmp_path):
    wl = load_workload(write(tmp_path, EVERYTHING))
    source = translate(wl, {})
    for text in ["go: n=3: line 8", "syscall (block: true", "lock: line 30"]:
        assert text in source, text
    assert "g.exp(10000.0)" in source and "g.lognormal(2000.0, 0.5)" in source


@pytest.mark.parametrize("procs", [1, 2])
@pytest.mark.parametrize("name", SMALL)
def test_shipped_workloads_create_the_same_goroutines_in_both_engines(go_toolchain, core, name,
                                                                        procs):
    path = WORKLOADS / f"{name}.yaml"
    go = measure_go(go_case(path, procs=procs, **SMALL[name]), values=1, warmups=0)
    port = run_once(go_case(path, policy="baseline", procs=procs, **SMALL[name]))
    (run,) = go.runs
    assert go.go_version == go_toolchain
    assert run.counters["gs_created"] == port.counters["gs_created"]
    # serve's listener waits as often as the server catches up: a count that depends on timing
    same = ("syscalls",) if name == "serve" else ("syscalls", "netwaits")
    for counter in same:
        assert run.counters.get(counter, 0) == port.counters.get(counter, 0), counter
    assert run.wall_time > 0 and run.cpu_time > 0 and run.threads_max >= procs + 1
    if port.counters["schedules"] >= 100:
        # Go 1.19 times one transition in 8 per goroutine, and a syscall exit onto its P none:
        # a tiny syscall-bound run may have no sample at all.
        assert sum(run.latency.values()) > 0        # /sched/latencies had samples
    assert run.max_rss > 0 and run.rss_base > 0 and run.gs_max == run.counters["gs_created"]
    assert port.max_rss >= port.rss_base > 0 and 0 < port.gs_max <= port.gs_limit


@pytest.mark.parametrize("procs", [1, 2])
def test_every_statement_runs_on_go_as_on_the_port(go_toolchain, core, tmp_path, procs):
    path = write(tmp_path, EVERYTHING)
    go = measure_go(go_case(path, procs=procs), values=2, warmups=1)
    port = run_once(go_case(path, policy="baseline", procs=procs))
    assert len(go.warmups) == 1 and len(go.runs) == 2
    for run in go.runs:
        for counter in ("gs_created", "syscalls", "netwaits"):
            assert run.counters[counter] == port.counters[counter], counter
        assert run.counters["gs_created"] == 1 + 1 + 3 + 3
        assert run.counters["netwaits"] == 6
        assert sum(run.netpoll_latency.values()) == 6      # one sample per netwait
        assert "schedules" not in run.counters             # Go cannot give it: absent, not 0


def test_a_build_is_cached(go_toolchain, tmp_path):
    source = translate(load_workload(WORKLOADS / "ping-pong.yaml"), {"rounds": 3})
    binary = gobuild.build(source)
    stamp = binary.stat().st_mtime_ns
    assert gobuild.is_built(source) and gobuild.build(source) == binary
    assert binary.stat().st_mtime_ns == stamp
    assert (binary.parent / "workload.go").read_text() == source


def test_go_reports_its_own_deadlock(go_toolchain, tmp_path):
    path = write(tmp_path, "name: stuck\nchannels: {c: 0}\nmain:\n  - recv: c\n")
    with pytest.raises(RunError) as err:
        measure_go(go_case(path), values=1, warmups=0)
    assert err.value.kind == "deadlock"
    assert "goroutine" in err.value.dump           # Go's dump of the blocked goroutines


def test_the_watchdog_stops_a_wedged_go_run_with_its_dump(go_toolchain, tmp_path):
    path = write(tmp_path, "name: wedged\ntimeout: 1s\nmain:\n  - loop: 60s\n"
                           "    do: [{work: 100us}]\n")
    with pytest.raises(RunError) as err:
        measure_go(go_case(path), values=1, warmups=0)
    assert err.value.kind == "timeout"
    assert "goroutine 1" in err.value.dump and "SIGQUIT" in err.value.dump


def test_go_takes_no_knobs():
    with pytest.raises(UsageError, match="takes no"):
        load_groups([WORKLOADS / "ping-pong.yaml"], ["go,runnext=0"])
    r = gmpbench("run", WORKLOADS / "ping-pong.yaml", "--policy", "baseline,go,runnext=0")
    assert r.returncode == 2 and "takes no" in r.stderr


def test_go_missing_is_bad_input_naming_the_package(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(Path.home())}
    r = gmpbench("run", WORKLOADS / "ping-pong.yaml", "--policy", "go", env=env)
    assert r.returncode == 2, r.stderr
    assert "golang-go" in r.stderr
    r = gmpbench("policies", env=env)
    assert "unavailable" in r.stdout and "golang-go" in r.stdout


def test_a_build_failure_shows_the_compiler_and_the_file(go_toolchain, tmp_path, monkeypatch):
    from gmpbench import cli
    from gmpbench.engines.golang import translate as tr
    monkeypatch.setattr(tr, "translate", lambda wl, params: "package main\nfunc broken( {\n")
    status = cli.main(["run", str(WORKLOADS / "ping-pong.yaml"), "--policy", "go", "-q",
                       "-o", str(tmp_path / "r.json")])
    assert status == 1


def test_build_failure_message(go_toolchain):
    with pytest.raises(gobuild.GoBuildError) as err:
        gobuild.build("package main\nfunc broken( {\n")
    text = str(err.value)
    assert "workload.go" in text and "syntax error" in text
    assert Path(str(err.value.path)).exists()


def test_go_latency_buckets_land_in_the_port_buckets_at_their_midpoint():
    lows, highs = bucket_bounds()
    b = _bucket_of(1.0e-6, 1.1e-6)                 # 1.05 µs
    assert lows[b] <= 1050 < highs[b]
    assert _bucket_of(-math.inf, 0.0) == 0
    assert lows[_bucket_of(2.0, math.inf)] <= 2e9 < highs[_bucket_of(2.0, math.inf)]


def test_run_with_go_reports_it_like_a_policy(go_toolchain, tmp_path):
    out = tmp_path / "r.json"
    r = gmpbench("run", WORKLOADS / "ping-pong.yaml", "--policy", "baseline,go1.14,go", "--procs", "1",
                 "--param", "rounds=500", "-p", "2", "-n", "2", "-w", "0", "-o", out)
    assert r.returncode == 0, r.stderr
    results = read_results(out)
    go = results.cases["ping-pong/rounds=500/procs=1/policy=go"]
    assert go.go_version == go_toolchain and go.knobs == {} and len(go.values) == 4
    text = "\n".join(render_report(results, "text"))
    assert "fidelity: the port against the real Go runtime" in text
    counters = [line.split() for line in text.splitlines() if line.strip().startswith("schedules")]
    assert counters == [["schedules", counters[0][1], counters[0][2], "–"]]
    data = json.loads("\n".join(render_report(results, "json")))
    (case,) = [c for c in data["cases"] if c["policy"] == "go"]
    assert case["go_version"] == go_toolchain and "schedules" not in case["counters"]
    (fid,) = data["fidelity"]["cases"]
    assert fid["port_policy"] == matching_preset(go_toolchain) == "go1.14"   # Go 1.19
    port = [c for c in data["cases"] if c["policy"] == "go1.14"][0]
    assert fid["wall_time_ratio"] == pytest.approx(port["wall_time"]["median"] /
                                                   case["wall_time"]["median"])
    del results.cases["ping-pong/rounds=500/procs=1/policy=go1.14"]
    (fid,) = json.loads("\n".join(render_report(results, "json")))["fidelity"]["cases"]
    assert fid["port_policy"] == "baseline"                         # the fallback
    assert "BenchmarkPingPong/rounds=500/procs=1/policy=go" in \
        "\n".join(render_report(results, "gobench"))
    assert subprocess.run([sys.executable, "-m", "pyperf", "stats", str(out)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("version, preset", [
    ("go1.9.7", "baseline"), ("go1.13", "baseline"), ("go1.14", "go1.14"),
    ("go1.19.8", "go1.14"), ("go1.22rc1", "go1.14"), ("devel +abc", "baseline"), (None, "baseline")])
def test_the_go_row_is_set_beside_the_preset_matching_its_version(version, preset):
    assert matching_preset(version) == preset
    assert {name for _, name in MATCHING_PRESETS} <= set(PRESETS)


def test_the_docs_table_names_every_statement():
    doc = (ROOT / "docs" / "go-engine.md").read_text()
    table = doc[doc.index("| statement | Go |"):doc.index("Channels, wait groups")]
    documented = {cell.strip("` ").split(":")[0].split(" ")[0]
                  for row in table.splitlines()[2:] if row.startswith("|")
                  for cell in row.split("|")[1].split("/")}
    assert documented == set(STATEMENTS)


def test_disasm_prints_the_go_program():
    r = gmpbench("disasm", WORKLOADS / "ping-pong.yaml", "--param", "rounds=7", "--go")
    assert r.returncode == 0, r.stderr
    assert "package main" in r.stdout and "i1 < 7" in r.stdout


def test_a_statement_without_a_go_form_is_bad_input_at_its_line(tmp_path, monkeypatch):
    from gmpbench.engines.golang.translate import _Translator
    from gmpbench.workload import WorkloadError
    monkeypatch.delattr(_Translator, "st_yield")      # as a statement added to the grammar
    path = write(tmp_path, "name: y\nmain:\n  - yield\n")
    with pytest.raises(WorkloadError) as err:
        translate(load_workload(path), {})
    assert str(err.value).startswith(f"{path}:3: main[0]: 'yield' has no translation to Go")
