"""The pytest plugin: the gmpbench fixture and the regression gate (run inside pytester)."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

# pytester's in-process runs drop the modules they imported, and numpy's and scipy's extension
# modules cannot be imported twice in a process: import what the gate uses before any run.
import scipy.stats  # noqa: F401
from synthetic import PING_PONG, results

from gmpbench import pytest_plugin
from gmpbench.bench.prestart import worker_env
from gmpbench.report import read_results, write_results
from util import DEADLOCK, FOREVER, default_sigint, run_is_under_way, wait_for

pytest_plugins = ["pytester"]

WORKLOAD = Path(__file__).resolve().parents[1] / "workloads" / "ping-pong.yaml"

TEST_FILE = f"""
import statistics

def test_ping_pong(gmpbench, benchmark):
    r = gmpbench({str(WORKLOAD)!r}, policy="baseline", procs=1, rounds=2000)
    assert r.name == {PING_PONG!r}
    assert r.counters["schedules"] == statistics.median(run.counters["schedules"] for run in r.runs)
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


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ('{"version": "1.0", "benchmarks": []}', "not a gmpbench results file"),   # pyperf's own
])
def test_gate_needs_a_results_file(run, pytester, content, message):
    path = pytester.path / "saved.json"
    if content is not None:
        path.write_text(content)
    result = run(f"--gmpbench-compare={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--gmpbench-compare*saved.json*{message}*"])


# --- the gate on made-up results: its verdict is certain by construction -------------------

class _Config:
    """What the gate reads of pytest's config."""

    def __init__(self, threshold=0.10):
        self.options = {"gmpbench_compare": None, "gmpbench_save": None,
                        "gmpbench_threshold": threshold}
        self.stash = pytest.Stash()

    def getoption(self, name):
        return self.options[name]


# 8 saved values against 8 new ones, every new value above every saved one: the Mann-Whitney
# p is its smallest (2 / C(16, 8) = 0.00016), so the verdict is "slower" whatever the ratio and
# only the threshold decides; the ratio of the medians is exactly the slowdown.
SAVED = [1.0 + 0.001 * i for i in range(8)]


def gate(old: dict, new: dict, core_hash=None, threshold=0.10):
    config = _Config(threshold)
    state = pytest_plugin._Session(config)
    state.saved = results(old)
    state.results = results(new, **({"core_hash": core_hash} if core_hash else {}))
    regressed = state.gate()
    return regressed, state, "\n".join(state.summary_lines())


@pytest.mark.parametrize("slowdown, regression", [(1.05, False), (1.15, True)])
def test_gate_near_its_threshold(slowdown, regression):
    regressed, state, text = gate({PING_PONG: SAVED}, {PING_PONG: [v * slowdown for v in SAVED]})
    (row,) = state.rows
    assert row.comparison.verdict == "slower"                   # significant either way
    assert row.comparison.ratio == pytest.approx(slowdown)
    assert regressed is regression and row.regression is regression
    assert ("REGRESSION" in text) is regression
    assert "a median more than 10% slower" in text


def test_gate_with_too_few_values_never_fails():
    """2 against 2 values cannot reach p < 0.05 (the smallest is 1/3): no verdict, no
    failure, even at twice the time."""
    regressed, state, text = gate({PING_PONG: [1.0, 1.01]}, {PING_PONG: [2.0, 2.02]})
    assert not regressed and state.rows[0].comparison.verdict == "too few values to test"
    assert "too few values to test" in text and "REGRESSION" not in text


def test_gate_warns_about_another_core_and_missing_cases():
    other = "other/procs=1/policy=baseline"
    regressed, state, text = gate({PING_PONG: SAVED},
                                  {PING_PONG: SAVED, other: [9.0] * 8}, core_hash="f" * 16)
    assert not regressed and [r.name for r in state.rows] == [PING_PONG]   # other: no row
    assert f"not in the saved file: {other}" in text
    assert f"WARNING: the saved results come from another scheduler core ({'0123456789abcdef'}" \
        f", now {'f' * 16})" in text
    _, _, same = gate({PING_PONG: SAVED}, {PING_PONG: SAVED})
    assert "WARNING" not in same and "not in the saved file" not in same


class _PytestSession:
    def __init__(self, config, exitstatus):
        self.config, self.exitstatus = config, exitstatus


@pytest.mark.parametrize("before, after", [
    (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED),          # the gate fails the session
    (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERRUPTED),  # but never overrides a status
    (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.USAGE_ERROR),
])
def test_gate_does_not_override_a_failed_session(before, after):
    config = _Config()
    state = pytest_plugin._Session(config)
    state.saved = results({PING_PONG: SAVED})
    state.results = results({PING_PONG: [2 * v for v in SAVED]})
    config.stash[pytest_plugin._KEY] = state
    session = _PytestSession(config, before)
    pytest_plugin.pytest_sessionfinish(session, before)
    assert session.exitstatus == after


# --- failures and Ctrl-C inside the fixture ------------------------------------------------

def test_a_deadlock_fails_its_test_only(pytester, core):
    (pytester.path / "stuck.yaml").write_text(DEADLOCK)
    pytester.makepyfile(test_stuck="""
def test_stuck(gmpbench):
    gmpbench("stuck.yaml")

def test_after():
    pass
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*stuck/procs=1/policy=baseline: fatal error: all goroutines "
                                 "are asleep - deadlock!*", "*recv: never*"])


def test_ctrl_c_stops_the_session(core, tmp_path):
    """SIGINT while the fixture's run is under way: the threads stop (the core's
    RunInterrupted) and pytest stops the session as on any Ctrl-C -- status 2, the next test
    never runs -- rather than failing one test and going on."""
    (tmp_path / "forever.yaml").write_text(FOREVER)
    (tmp_path / "test_forever.py").write_text("""
def test_forever(gmpbench):
    gmpbench("forever.yaml", procs=2)

def test_after(tmp_path):
    open("after-ran", "w").close()
""")
    p = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                          "--gmpbench-warmup=0", "test_forever.py"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         preexec_fn=default_sigint, env=worker_env())   # this checkout's plugin
    try:
        wait_for(run_is_under_way(p.pid), what="the run's Ms to burn CPU")
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "KeyboardInterrupt" in out and "1 failed" not in out
    assert not (tmp_path / "after-ran").exists()


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
