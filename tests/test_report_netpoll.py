"""Netpoll latency, the netpoll counters' split and ops/s in results files and reports.

Made-up results (tests/synthetic.py) with netpoll figures added by hand, plus one small run of
workloads/netpoll-heavy.yaml end to end.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from synthetic import results, sample
from test_report import parse_html

from gmpbench.report import read_results, render_report, units, write_results
from gmpbench.report.stats import summarize
from gmpbench.runtime.stats import hist_bucket

from util import ROOT, run_cli

GROUP = "netpoll-heavy/conns=16/procs=1"
BASELINE = f"{GROUP}/policy=baseline"
OTHER = f"{GROUP}/policy=no-spin"
TABLE = "netpoll latency (due → running)"
DUE_TO_RUNNING_NS = 20_000            # every made-up readiness runs its G 20 us after it is due
CALLS = [10, 20, 30]                  # netpoll_calls of the three runs of a process
BLOCKING = [1, 15, 5]                 # of which blocking: non-blocking 9, 5, 25 -> median 9


def no_netpoll(case) -> None:
    """Zero the netpoll counters of ``case`` (synthetic runs draw every counter at random), as
    a port run without netwait has them."""
    for run in case.runs:
        run.counters.update(netpoll_calls=0, netpoll_gs=0, netpoll_blocking_calls=0)


def add_netpoll(case, blocking=BLOCKING) -> None:
    """Give every run of ``case`` netpoll counters and a netpoll-latency histogram."""
    for i, run in enumerate(case.runs):
        k = i % len(CALLS)
        run.counters.update(netpoll_calls=CALLS[k], netpoll_blocking_calls=blocking[k],
                            netpoll_gs=3 * CALLS[k], netwaits=4 * CALLS[k])
        run.netpoll_latency = {hist_bucket(DUE_TO_RUNNING_NS): 100 + i}


@pytest.fixture
def netpoll():
    """A group of two policies; only baseline's runs have netpoll figures."""
    res = results({BASELINE: sample(0.010, 6, seed=1), OTHER: sample(0.012, 6, seed=2)},
                  ops=160)
    add_netpoll(res.cases[BASELINE])
    no_netpoll(res.cases[OTHER])
    return res


def write(tmp_path, res, name="r.json") -> Path:
    path = tmp_path / name
    write_results(path, res)
    return path


def text(res) -> str:
    return "\n".join(render_report(res, "text"))


def table_rows(res, first_header: str) -> list[list[str]]:
    """The rows of the text report's table whose first header is ``first_header``."""
    lines = iter(render_report(res, "text"))
    for line in lines:
        if line.strip().startswith(first_header):
            break
    rows = []
    for line in lines:
        if not line.strip():
            return rows
        rows.append(line.split())
    return rows


# --- the results file ------------------------------------------------------------------------

def test_netpoll_latency_round_trip(tmp_path, netpoll):
    path = write(tmp_path, netpoll)
    runs = json.loads(path.read_text())["gmpbench"]["cases"][0]["processes"][0]["runs"]
    assert runs[0]["netpoll_latency"] == {str(hist_bucket(DUE_TO_RUNNING_NS)): 100}
    back = read_results(path)
    for name, case in netpoll.cases.items():
        got = [r.netpoll_latency for r in back.cases[name].runs]
        assert got == [r.netpoll_latency for r in case.runs]
    assert back.cases[OTHER].runs[0].netpoll_latency == {}
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(path)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert stats.returncode == 0, stats.stderr


def test_a_file_without_netpoll_latency_reads_as_empty(tmp_path, netpoll):
    path = write(tmp_path, netpoll)
    data = json.loads(path.read_text())
    for case in data["gmpbench"]["cases"]:
        for proc in case["processes"]:
            for run in proc["runs"]:
                del run["netpoll_latency"]
    path.write_text(json.dumps(data))
    back = read_results(path)
    assert all(run.netpoll_latency == {} for c in back.cases.values() for run in c.runs)
    assert all(v is None for v in summarize(back.cases[BASELINE]).netpoll_latency.values())
    assert TABLE not in text(back)


# --- reports ---------------------------------------------------------------------------------

def test_netpoll_table_only_with_samples(netpoll):
    rows = table_rows(netpoll, "netpoll latency")
    assert [row[0] for row in rows] == ["baseline", "no-spin"]
    assert float(rows[0][1]) == pytest.approx(20, rel=1 / 64) and rows[0][2] == "µs"
    assert rows[1][1:] == [units.NONE] * 5
    assert TABLE in text(netpoll) and "sched latency" in text(netpoll)
    plain = results({BASELINE: sample(0.010, 6, seed=1)})
    assert TABLE not in text(plain) and "sched latency" in text(plain)


def test_json_has_netpoll_latency(netpoll):
    cases = {c["name"]: c for c in json.loads("\n".join(render_report(netpoll, "json")))["cases"]}
    got = cases[BASELINE]["netpoll_latency"]
    assert set(got) == {"p50", "p90", "p99", "p999", "max"}
    assert got["p50"] == pytest.approx(DUE_TO_RUNNING_NS / 1e9, rel=1 / 64)
    assert cases[OTHER]["netpoll_latency"] == dict.fromkeys(got)


def test_html_plots_the_netpoll_cdf(netpoll):
    assert parse_html(render_report(netpoll, "html")).svgs == 1 + 2   # ratios, sched, netpoll
    plain = results({BASELINE: sample(0.010, 6, seed=1), OTHER: sample(0.01, 6, seed=2)})
    assert parse_html(render_report(plain, "html")).svgs == 1 + 1


def test_nonblocking_calls_are_a_median_of_differences(netpoll):
    counters = summarize(netpoll.cases[BASELINE]).counters
    assert counters["netpoll_nonblocking_calls"] == 9          # not median 20 - median 5
    rows = {row[0]: row[1:] for row in table_rows(netpoll, "counters")}
    assert rows["netpoll_calls"] == ["20", "0"]
    assert rows["netpoll_nonblocking_calls"] == ["9", "0"]
    assert rows["netpoll_blocking_calls"] == ["5", "0"]


def test_netpoll_counters_are_together_in_order(netpoll):
    want = ["netpoll_calls", "netpoll_nonblocking_calls", "netpoll_blocking_calls", "netpoll_gs",
            "netpoll_gs_nonblocking", "netpoll_gs_blocking", "netpoll_gs_sysmon", "netwaits"]
    for run in netpoll.cases[BASELINE].runs:
        run.counters.update(netpoll_gs_nonblocking=1, netpoll_gs_blocking=1,
                            netpoll_gs_sysmon=1, netwait_ready_early=1)
    names = [row[0] for row in table_rows(netpoll, "counters")]
    start = names.index("netpoll_calls")
    assert names[start:start + len(want)] == want
    assert names.index("netwait_ready_early") > start + len(want) - 1


def test_split_shows_when_one_half_is_zero(netpoll):
    case = netpoll.cases[BASELINE]
    add_netpoll(case, blocking=[0, 0, 0])
    rows = {row[0]: row[1:] for row in table_rows(netpoll, "counters")}
    assert rows["netpoll_nonblocking_calls"] == ["20", "0"]
    assert rows["netpoll_blocking_calls"] == ["0", "0"]
    no_netpoll(case)
    names = [row[0] for row in table_rows(netpoll, "counters")]
    assert not {"netpoll_calls", "netpoll_nonblocking_calls", "netpoll_blocking_calls"} & \
        set(names)


def test_ops_per_second(netpoll):
    s = summarize(netpoll.cases[BASELINE])
    assert s.ops_per_second == pytest.approx(160 / np.median(s.values))
    assert np.median(s.values) == pytest.approx(0.010198, abs=1e-6)    # sample(0.010, seed 1)
    lines = render_report(netpoll, "text")
    head = next(line for line in lines if "wall time" in line and "ops/s" in line)
    row = next(line for line in lines if line.strip().startswith("baseline "))
    assert "15.7k" in row.split()                   # 160 ops / 10.198 ms, written by hand
    assert head.index("ops/s") < head.index("cpu time")
    plain = results({BASELINE: sample(0.010, 6, seed=1)})
    assert summarize(plain.cases[BASELINE]).ops_per_second is None
    assert "ops/s" not in text(plain)


def test_rate_units():
    assert units.rate(16000.0) == "16k" and units.rate(1234567.0) == "1.23M"
    assert units.rate(12.5) == "12.5" and units.rate(None) == units.NONE
    assert units.rate(999.9) == "1k" and units.rate(0.25) == "0.25"


# --- end to end ------------------------------------------------------------------------------

def test_netpoll_heavy_end_to_end(tmp_path):
    out = tmp_path / "np.json"
    run = run_cli("run", ROOT / "workloads" / "netpoll-heavy.yaml", "--param", "conns=16",
                  "--param", "requests=10", "--procs", "1", "-p", "1", "-n", "1", "--quiet",
                  "-o", out)
    assert run.returncode == 0, run.stderr
    report = run_cli("report", out, "--format", "json", timeout=60)
    assert report.returncode == 0, report.stderr
    (case,) = json.loads(report.stdout)["cases"]
    latency = case["netpoll_latency"]
    assert latency["p50"] is not None and 0 < latency["p50"] <= latency["max"]
    assert case["counters"]["netpoll_nonblocking_calls"] == \
        case["counters"]["netpoll_calls"] - case["counters"]["netpoll_blocking_calls"]
