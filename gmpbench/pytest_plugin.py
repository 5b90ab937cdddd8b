"""gmpbench's pytest plugin (README, "In CI with pytest"), registered through the
``pytest11`` entry point.

The fixture::

    def test_runnext_pays_off(gmpbench):
        r = gmpbench("workloads/ping-pong.yaml", policy="baseline", procs=1, rounds=2000)
        assert r.counters["runnext_puts"] > 0

``gmpbench(path, policy="baseline", procs=1, **params)`` runs one case in this process under
pytest-benchmark's ``benchmark`` fixture (``benchmark.pedantic``, one run per round; so, like
``benchmark``, once per test), records gmpbench's figures in ``benchmark.extra_info["gmpbench"]``
and returns the case's summary (gmpbench.report.stats.CaseSummary): ``.wall_time`` (median, s),
``.time_per_op``, ``.ops_per_second``, ``.sched_latency`` ({p50, p90, p99, p999, max}, s),
``.netpoll_latency`` (the same figures from a readiness's due time to its goroutine running;
None without ``netwait``), ``.counters`` (median per run), ``.cpu_time``, ``.runs``,
``.values``.  Params not given take the workload file's value
(a param with several values must be given).  A run that fails (deadlock, timeout) fails its
test; Ctrl-C during a run stops its threads and then the session, as pytest does on Ctrl-C.

Options:
  --gmpbench-rounds N        measured runs per case (default 5), after --gmpbench-warmup (1)
  --gmpbench-save FILE       save this session's cases as a gmpbench results file
  --gmpbench-compare FILE    compare each case with the same case in a saved gmpbench results
                             file (from --gmpbench-save or ``gmpbench run``), and fail the
                             session on a regression: Mann-Whitney U p < 0.05 (two-sided) *and*
                             median wall time above the saved one by more than the threshold
  --gmpbench-threshold R     the threshold, a fraction (default 0.10 = 10 % slower)
pytest-benchmark's own --benchmark-compare-fail has no significance test; this gate has one.
"""
from __future__ import annotations

import time

import pytest

DEFAULT_ROUNDS = 5
DEFAULT_WARMUP = 1
DEFAULT_THRESHOLD = 0.10


def pytest_addoption(parser):
    group = parser.getgroup("gmpbench", "gmpbench (Go scheduler workbench)")
    group.addoption("--gmpbench-rounds", type=int, default=DEFAULT_ROUNDS, metavar="N",
                    help=f"measured runs per gmpbench case (default {DEFAULT_ROUNDS})")
    group.addoption("--gmpbench-warmup", type=int, default=DEFAULT_WARMUP, metavar="N",
                    help=f"warm-up runs per gmpbench case (default {DEFAULT_WARMUP})")
    group.addoption("--gmpbench-save", metavar="RESULTS.json",
                    help="save the session's gmpbench cases as a results file")
    group.addoption("--gmpbench-compare", metavar="RESULTS.json",
                    help="fail on a significant regression against this saved results file")
    group.addoption("--gmpbench-threshold", type=float, default=DEFAULT_THRESHOLD,
                    metavar="FRACTION", help="regressions smaller than this are tolerated "
                    f"(default {DEFAULT_THRESHOLD})")


class GateRow:
    def __init__(self, name: str, comparison, regression: bool):
        self.name = name
        self.comparison = comparison
        self.regression = regression


class _Session:
    """The cases measured in this pytest session, and the regression gate over them."""

    def __init__(self, config):
        from .report.results import ResultsError, read_results
        self.config = config
        self.results = None                      # Results, created with the first case
        self.saved = None
        self.rows: list[GateRow] = []
        path = config.getoption("gmpbench_compare")
        if path:
            try:
                self.saved = read_results(path)
            except ResultsError as err:
                raise pytest.UsageError(f"--gmpbench-compare: {err}") from None

    # -- measuring --------------------------------------------------------------------------
    def measure(self, benchmark, path, policy: str, procs: int, params: dict):
        from .bench.cases import UsageError, prepare_case, single_case_params
        from .engines.golang.build import GoBuildError, GoMissing
        from .workload import WorkloadError, load_workload
        try:
            wl = load_workload(path)
            prepared = prepare_case(wl, single_case_params(wl, params), procs, policy)
        except (WorkloadError, UsageError, GoMissing, GoBuildError) as err:
            pytest.fail(f"gmpbench: {err}", pytrace=False)
        return self._run(benchmark, prepared)

    def _run(self, benchmark, prepared):
        from .bench.measure import make_process, run_once
        from .report.results import Results
        from .report.stats import summarize
        from .runtime import CORE_HASH, load_core
        from .runtime.threads import RunError, RunInterrupted
        if prepared.policy.engine != "go":
            load_core(notify=lambda message: print(f"\ngmpbench: {message}", flush=True))
        get = self.config.getoption
        start = time.monotonic()
        runs = []
        try:
            if prepared.policy.engine == "go":
                warmups = self._run_go(benchmark, prepared, runs)
            else:
                warmups = [run_once(prepared).wall_time for _ in range(get("gmpbench_warmup"))]
                benchmark.pedantic(lambda: runs.append(run_once(prepared)),
                                   rounds=max(1, get("gmpbench_rounds")), iterations=1)
        except RunInterrupted:
            # Ctrl-C stopped the run's threads: stop the session as pytest does on Ctrl-C,
            # not as one failed test followed by the next ones
            raise KeyboardInterrupt from None
        except RunError as err:
            pytest.fail(f"gmpbench: {prepared.case.name}: {err}", pytrace=False)
        case = prepared.case
        case.processes.append(make_process(case, CORE_HASH, runs, warmups,
                                           time.monotonic() - start))
        summary = summarize(case)
        benchmark.extra_info["gmpbench"] = dict(summary.to_json(), core_hash=CORE_HASH)
        if self.results is None:
            self.results = Results(CORE_HASH, info={"command": "pytest"})
        self.results.add_process(case, case.processes[-1])
        return summary

    def _run_go(self, benchmark, prepared, runs: list) -> list[float]:
        """Policy ``go``: one Go process makes the warm-up and measured runs (benchmark's own
        timing is then that process's, once; gmpbench's figures are per run, as always)."""
        from .engines.golang.run import measure_go
        get = self.config.getoption
        got = []
        benchmark.pedantic(lambda: got.append(measure_go(
            prepared, values=max(1, get("gmpbench_rounds")), warmups=get("gmpbench_warmup"))),
            rounds=1, iterations=1)
        prepared.case.go_version = got[0].go_version
        runs.extend(got[0].runs)
        return got[0].warmups

    # -- the end of the session -------------------------------------------------------------
    def gate(self) -> bool:
        """Compare with the saved file; True when some case regressed."""
        from .report.stats import compare_values
        if self.saved is None or self.results is None:
            return False
        threshold = self.config.getoption("gmpbench_threshold")
        for name, case in self.results.cases.items():
            old = self.saved.cases.get(name)
            if old is None or not old.runs:
                continue
            comp = compare_values(old.values, case.values)
            self.rows.append(GateRow(name, comp, comp.significant
                                     and comp.ratio > 1 + threshold))
        return any(row.regression for row in self.rows)

    def save(self) -> str | None:
        from .report.results import write_results
        path = self.config.getoption("gmpbench_save")
        if path and self.results is not None:
            write_results(path, self.results)
            return path
        return None

    def summary_lines(self) -> list[str]:
        from .report import units
        from .report.document import Table
        from .report.stats import ALPHA, TEST_NAME
        from .report.text import table_lines
        threshold = self.config.getoption("gmpbench_threshold")
        lines = [(f"compared with {self.config.getoption('gmpbench_compare')}: a regression "
                  f"is {TEST_NAME} p < {ALPHA} and a median more than {threshold:.0%} slower")]
        if self.saved.core_hash != self.results.core_hash:
            lines.append(f"WARNING: the saved results come from another scheduler core "
                         f"({self.saved.core_hash}, now {self.results.core_hash})")
        table = Table(["case", "ratio", "interval", "p", "verdict", "gate"], [
            [row.name, units.ratio(row.comparison.ratio),
             units.interval(row.comparison.low, row.comparison.high),
             units.p_value(row.comparison.p_value), row.comparison.verdict,
             "REGRESSION" if row.regression else "ok"] for row in self.rows],
            text_columns=("verdict", "gate"))
        missing = [n for n in self.results.cases if n not in self.saved.cases]
        return lines + table_lines(table) + [f"not in the saved file: {n}" for n in missing]


_KEY = pytest.StashKey[_Session]()


def pytest_configure(config):
    config.stash[_KEY] = _Session(config)


@pytest.fixture
def gmpbench(benchmark, request):
    """``gmpbench(path, policy="baseline", procs=1, **params)``: run one case, return its
    figures (see the module's docstring)."""
    session = request.config.stash[_KEY]

    def run_case(path, policy: str = "baseline", procs: int = 1, **params):
        return session.measure(benchmark, path, policy, procs, params)
    return run_case


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(_KEY, None)
    if state is None:
        return
    state.save()
    if state.gate() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    state = config.stash.get(_KEY, None)
    path = config.getoption("gmpbench_save")
    if state is None or state.results is None or not (state.saved or path):
        return
    terminalreporter.write_sep("=", "gmpbench")
    for line in state.summary_lines() if state.saved else []:
        terminalreporter.write_line(line)
    if path:
        terminalreporter.write_line(f"gmpbench results saved to {path}")
