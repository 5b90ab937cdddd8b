"""The pytest plugin: the gmpbench fixture and the regression gate (run inside pytester)."""
from __future__ import annotations

from pathlib import Path

import pytest

# pytester's in-process runs drop the modules they imported, and numpy's and scipy's extension
# modules cannot be imported twice in a process: import what the gate uses before any run.
import scipy.stats  # noqa: F401
from synthetic import PING_PONG, results

from gmpbench.report import read_results, write_results

pytest_plugins = ["pytester"]

WORKLOAD = Path(__file__).resolve().parents[1] / "workloads" / "ping-pong.yaml"

TEST_FILE = f"""
def test_ping_pong(gmpbench, benchmark):
    r = gmpbench({str(WORKLOAD)!r}, policy="baseline", procs=1, rounds=2000)
    assert r.name == {PING_PONG!r}
    assert r.counters["runnext_puts"] > 0
    assert r.wall_time > 0 and r.time_per_op == r.wall_time / 2000
    assert set(r.sched_latency) == {{"p50", "p90", "p99", "p999", "max"}}
    assert r.netpoll_latency == dict.fromkeys(r.sched_latency)    # no netwait: no samples
    assert r.ops_per_second == 2000 / r.wall_time
    assert len(r.runs) == 4
    info = benchmark.extra_info["gmpbench"]
    assert info["name"] == r.name and info["counters"]["schedules"] > 0
    assert info["netpoll_latency"] == r.netpoll_latency
"""


@pytest.fixture
def run(pytester, core):
    pytester.makepyfile(test_bench=TEST_FILE)

    def go(*args):
        return pytester.runpytest("--gmpbench-rounds=4", "--gmpbench-warmup=1",
                                  "--benchmark-disable-gc", "-p", "no:cacheprovider", *args)
    return go


def test_fixture_runs_a_case(run):
    result = run()
    result.assert_outcomes(passed=1)
    assert result.ret == 0


def test_fixture_reports_bad_input(pytester, core):
    pytester.makepyfile(test_bad=f"""
def test_bad(gmpbench):
    gmpbench({str(WORKLOAD)!r}, policy="nope", rounds=10)
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown policy 'nope'*"])


def test_save_then_compare_with_itself_passes(run, pytester):
    saved = pytester.path / "saved.json"
    assert run(f"--gmpbench-save={saved}").ret == 0
    assert list(read_results(saved).cases) == [PING_PONG]
    result = run(f"--gmpbench-compare={saved}", "--gmpbench-threshold=10")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*gmpbench*", f"*{PING_PONG}*ok*"])


def test_gate_fails_on_a_significant_regression(run, pytester):
    fast = pytester.path / "fast.json"
    write_results(fast, results({PING_PONG: [1e-7] * 6}))
    result = run(f"--gmpbench-compare={fast}")
    result.assert_outcomes(passed=1)                # the test passed, the session did not
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"*{PING_PONG}*slower*REGRESSION*"])


def test_gate_passes_when_faster_or_within_threshold(run, pytester):
    slow = pytester.path / "slow.json"
    write_results(slow, results({PING_PONG: [100.0] * 6}))
    result = run(f"--gmpbench-compare={slow}")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"*{PING_PONG}*faster*ok*"])
    fast = pytester.path / "fast.json"
    write_results(fast, results({PING_PONG: [1e-7] * 6}))
    assert run(f"--gmpbench-compare={fast}", "--gmpbench-threshold=1e12").ret == 0


def test_gate_needs_a_readable_file(run, pytester):
    result = run(f"--gmpbench-compare={pytester.path / 'missing.json'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gmpbench-compare*missing.json*"])


def test_fixture_runs_the_go_engine(pytester, go_toolchain):
    pytester.makepyfile(test_go=f"""
def test_go(gmpbench, benchmark):
    r = gmpbench({str(WORKLOAD)!r}, policy="go", procs=2, rounds=500)
    assert r.case.go_version == {go_toolchain!r}
    assert len(r.runs) == 3 and r.counters["gs_created"] == 3
    assert "schedules" not in r.counters
    assert benchmark.extra_info["gmpbench"]["go_version"] == {go_toolchain!r}
""")
    result = pytester.runpytest("--gmpbench-rounds=3", "--gmpbench-warmup=1",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
