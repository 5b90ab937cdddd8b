"""Results files, statistics and report formats, on made-up results (no core runs)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from synthetic import PING_PONG, results, sample

from gmpbench.bench.prestart import worker_env
from gmpbench.report import (
    ResultsError,
    read_results,
    render_compare,
    render_report,
    write_results,
)
from gmpbench.report.stats import (
    ALPHA,
    compare_values,
    geometric_mean,
    latency_seconds,
    smallest_p,
    summarize,
)
from gmpbench.runtime.histogram import NBUCKETS, hist_max, percentiles
from gmpbench.runtime.stats import hist_bucket

from util import run_cli

GROUP = "ping-pong/rounds=2000/procs=1"


@pytest.fixture
def policies():
    """One group, three policies: baseline, a 2x slower one, an equal one; two groups."""
    return results({
        f"{GROUP}/policy=baseline": sample(0.010, 9, seed=1),
        f"{GROUP}/policy=no-runnext": sample(0.020, 9, seed=2),
        f"{GROUP}/policy=no-steal": sample(0.010, 9, seed=3),
        "ping-pong/rounds=2000/procs=2/policy=baseline": sample(0.012, 9, seed=4),
        "ping-pong/rounds=2000/procs=2/policy=no-runnext": sample(0.024, 9, seed=5),
    }, ops=2000)


def write(tmp_path, res, name="r.json"):
    path = tmp_path / name
    write_results(path, res)
    return str(path)


# --- statistics --------------------------------------------------------------------------------

def test_a_2x_slowdown_is_significant():
    c = compare_values(sample(0.010, 15, seed=1), sample(0.020, 15, seed=2))
    assert c.significant and c.verdict == "slower"
    assert 1.9 < c.ratio < 2.1
    assert c.low < c.ratio < c.high and c.low > 1.5


def test_same_distribution_is_not_significant():
    # the same distribution, many seeds: a 5% test may flag about 1 in 20
    flagged = sum(compare_values(sample(0.01, 15, seed=s), sample(0.01, 15, seed=100 + s))
                  .significant for s in range(40))
    assert flagged <= 6
    c = compare_values(sample(0.01, 15, seed=7), sample(0.01, 15, seed=8))
    assert c.low < 1 < c.high


def test_few_values_cannot_reach_significance():
    assert smallest_p(3, 3) > ALPHA and smallest_p(4, 4) < ALPHA
    c = compare_values([1.0, 1.1, 1.2], [2.0, 2.1, 2.2])
    assert not c.reachable and not c.significant and c.verdict == "too few values to test"


def test_identical_values_are_no_difference():
    c = compare_values([1.0] * 6, [1.0] * 6)
    assert c.p_value == 1.0 and c.ratio == 1.0 and not c.significant


def test_geometric_mean():
    assert geometric_mean([2.0, 0.5]) == pytest.approx(1.0)
    assert geometric_mean([4.0]) == pytest.approx(4.0)
    assert geometric_mean([]) is None


def _hist(samples) -> np.ndarray:
    hist = np.zeros(NBUCKETS, dtype=np.int64)
    for v in samples:
        hist[hist_bucket(int(v))] += 1
    return hist


@pytest.mark.parametrize("dist", ["lognormal", "uniform", "small"])
def test_histogram_percentiles_match_numpy(dist):
    rng = np.random.default_rng(42)
    samples = {"lognormal": rng.lognormal(np.log(2000), 1.5, 20000),
               "uniform": rng.uniform(50, 5e6, 20000),
               "small": rng.integers(0, 64, 5000)}[dist].astype(np.int64)
    hist = _hist(samples)
    qs = [50, 90, 99, 99.9]
    for got, want in zip(percentiles(hist, qs),
                         np.percentile(samples, qs, method="inverted_cdf")):
        assert abs(got - want) <= want / 64 + 1, (got, want)
    assert abs(hist_max(hist) - samples.max()) <= samples.max() / 64 + 1


def test_latency_in_seconds_and_empty():
    got = latency_seconds(_hist([1000] * 10))
    assert set(got) == {"p50", "p90", "p99", "p999", "max"}
    assert got["p50"] == pytest.approx(1e-6, rel=1 / 64)
    assert all(v is None for v in latency_seconds(np.zeros(NBUCKETS, np.int64)).values())


def test_summary_figures(policies):
    s = summarize(policies.cases[f"{GROUP}/policy=no-runnext"])
    assert s.wall_time == pytest.approx(np.median(s.values))
    assert s.time_per_op == pytest.approx(s.wall_time / 2000)
    assert s.counters["threads_max"] == 2
    assert len(s.runs) == 9


# --- results files -----------------------------------------------------------------------------

def test_results_round_trip(tmp_path, policies):
    back = read_results(write(tmp_path, policies))
    assert list(back.cases) == list(policies.cases)
    for name, case in policies.cases.items():
        got = back.cases[name]
        assert got.values == case.values
        assert got.params == case.params and got.procs == case.procs
        assert [r.latency for r in got.runs] == [r.latency for r in case.runs]
        assert [len(p.runs) for p in got.processes] == [3, 3, 3]
        assert got.processes[0].warmups == case.processes[0].warmups
        assert got.processes[0].metadata["hostname"] == "test"
    assert not list(tmp_path.glob(".*tmp")), "the temporary file must be gone"


def test_pyperf_reads_results_files(tmp_path, policies):
    a = write(tmp_path, policies, "a.json")
    slower = results({n: [v * 2 for v in c.values] for n, c in policies.cases.items()})
    b = write(tmp_path, slower, "b.json")
    for cmd in (["stats", a], ["compare_to", a, b], ["show", b], ["metadata", a]):
        out = subprocess.run([sys.executable, "-m", "pyperf", *cmd], check=False, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    assert f"{GROUP}/policy=no-runnext" in out.stdout
    assert "gmpbench_core_hash" in out.stdout


def test_pyperf_benchmark_per_case(tmp_path, policies):
    import pyperf
    suite = pyperf.BenchmarkSuite.load(write(tmp_path, policies))
    assert suite.get_benchmark_names() == list(policies.cases)
    bench = suite.get_benchmark(f"{GROUP}/policy=baseline")
    assert bench.get_unit() == "second"
    assert list(bench.get_values()) == policies.cases[f"{GROUP}/policy=baseline"].values
    assert bench.get_metadata()["gmpbench_policy"] == "baseline"


@pytest.mark.parametrize("content, message", [
    ("{", "not a JSON file"),
    ('{"version": "1.0", "benchmarks": []}', "not a gmpbench results file"),
    ('{"gmpbench": {"format": 99}}', "format 99"),
])
def test_bad_results_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultsError, match=message):
        read_results(path)
    with pytest.raises(ResultsError, match="cannot read"):
        read_results(tmp_path / "missing.json")


# --- formats -----------------------------------------------------------------------------------

class _Checker(HTMLParser):
    """Tags must nest; counts svg elements."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})

    def __init__(self):
        super().__init__()
        self.stack, self.svgs, self.tables = [], 0, 0

    def handle_starttag(self, tag, attrs):
        self.svgs += tag == "svg"
        self.tables += tag == "table"
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()


def parse_html(lines) -> _Checker:
    checker = _Checker()
    checker.feed("\n".join(lines))
    checker.close()
    assert checker.stack == []
    return checker


def test_text_report(policies):
    text = "\n".join(render_report(policies, "text"))
    assert GROUP in text and "vs baseline" in text
    assert re.search(r"no-runnext .* (1\.9|2\.0)\d\dx .* slower", text)
    assert re.search(r"no-steal .* no significant difference", text)
    # these made-up files have no worker ids: the unit is the process (Welch on its medians)
    assert "Welch t test on the log of each process's median" in text
    assert "geomean" in text and "p99.9" in text and "schedules" in text


def test_markdown_report(policies):
    lines = render_report(policies, "markdown")
    assert lines[0].startswith("# ")
    assert any(line.startswith("| no-runnext |") for line in lines)
    assert any(line.startswith("| :--- | ---: |") for line in lines)


def test_html_report_parses_and_has_plots(policies):
    checker = parse_html(render_report(policies, "html"))
    assert checker.svgs == 1 + 2        # the ratio plot, a latency CDF per group
    assert checker.tables >= 7


def test_json_report_matches_the_spec(policies):
    data = json.loads("\n".join(render_report(policies, "json")))
    assert list(data) == ["cases"] and len(data["cases"]) == 5
    for case in data["cases"]:
        spec = ["name", "workload", "params", "procs", "policy", "wall_time", "time_per_op",
                "sched_latency", "cpu_time", "counters"]
        # the documented keys, then those that apply where they have samples, then memory
        assert list(case) == [*spec, "netpoll_latency", "safepoint_latency", "stw_pause",
                              "max_rss", "bytes_per_g", "gs_max", "gs_limit"]
        assert set(case["wall_time"]) == {"median", "mean", "stdev", "values"}
        assert set(case["sched_latency"]) == {"p50", "p90", "p99", "p999", "max"}
        assert case["workload"] == "ping-pong" and case["params"] == {"rounds": 2000}
        assert case["time_per_op"] == pytest.approx(case["wall_time"]["median"] / 2000)
        assert 0 < case["sched_latency"]["p50"] <= case["sched_latency"]["max"] < 1
        assert {"schedules", "steals", "threads_max"} <= set(case["counters"])


GOBENCH_LINE = re.compile(r"^Benchmark[^a-z\s]\S*\s+\d+(\s+[-+]?\d+(\.\d+)?([eE][-+]?\d+)?"
                          r"\s+\S+)+$")
GOBENCH_CONFIG = re.compile(r"^[a-z][^\s:A-Z]*:\s.*$")


def test_gobench_lines(policies):
    lines = render_report(policies, "gobench")
    results_lines = [line for line in lines if line.startswith("Benchmark")]
    assert len(results_lines) == 5 * 9
    assert all(GOBENCH_LINE.match(line) for line in results_lines)
    assert all(GOBENCH_CONFIG.match(line) for line in lines if line not in results_lines)
    first = results_lines[0].split()
    assert first[0] == "BenchmarkPingPong/rounds=2000/procs=1/policy=baseline"
    assert first[3] == "ns/op"
    ns = policies.cases[f"{GROUP}/policy=baseline"].values[0] * 1e9 / 2000
    assert float(first[2]) == pytest.approx(ns, abs=0.1)


def test_unknown_baseline_is_an_error(policies):
    with pytest.raises(ResultsError, match="no policy 'nope'"):
        render_report(policies, "text", baseline="nope")


def test_other_baseline(policies):
    text = "\n".join(render_report(policies, "text", baseline="no-runnext"))
    assert "vs no-runnext" in text and "faster" in text


# --- compare -----------------------------------------------------------------------------------

@pytest.fixture
def old_new():
    old = results({PING_PONG: sample(0.01, 9, seed=1),
                   "fan-out/procs=2/policy=baseline": sample(0.05, 9, seed=2),
                   "gone/procs=1/policy=baseline": sample(0.05, 9, seed=3)})
    new = results({PING_PONG: sample(0.02, 9, seed=4),
                   "fan-out/procs=2/policy=baseline": sample(0.05, 9, seed=5),
                   "added/procs=1/policy=baseline": sample(0.05, 9, seed=6)},
                  core_hash="fedcba9876543210")
    return old, new


def test_compare_text(old_new):
    text = "\n".join(render_compare(*old_new, "text"))
    assert re.search(r"new .* (1\.9|2\.0)\d\dx .* slower", text)
    assert "no significant difference" in text
    assert "only in old: gone" in text and "only in new: added" in text
    assert "WARNING: the scheduler core differs" in text
    assert "geomean" in text


def test_compare_json(old_new):
    data = json.loads("\n".join(render_compare(*old_new, "json")))
    by_name = {c["name"]: c for c in data["cases"]}
    assert by_name[PING_PONG]["comparison"]["significant"] is True
    assert by_name["fan-out/procs=2/policy=baseline"]["comparison"]["significant"] is False
    assert data["tests"]["processes"].startswith("Welch t test")
    assert by_name[PING_PONG]["comparison"]["test"] == "processes"
    assert data["geomean_ratio"] == pytest.approx(np.sqrt(2), rel=0.1)


def test_compare_html_and_markdown(old_new):
    assert parse_html(render_compare(*old_new, "html")).svgs == 1 + 2
    assert any("| new |" in line for line in render_compare(*old_new, "markdown"))


def test_compare_without_common_cases():
    a = results({PING_PONG: [1.0, 1.1]})
    b = results({"other/procs=1/policy=baseline": [1.0, 1.1]})
    for fmt in ("text", "json"):
        with pytest.raises(ResultsError, match="no case in common"):
            render_compare(a, b, fmt)


def _cli(*args):
    return run_cli(*args, timeout=120)


def test_cli_compare_and_report(tmp_path, old_new):
    old, new = write(tmp_path, old_new[0], "old.json"), write(tmp_path, old_new[1], "new.json")
    out = _cli("compare", old, new)
    assert out.returncode == 0, out.stderr
    assert "slower" in out.stdout
    md = tmp_path / "report.md"
    out = _cli("report", new, "--format", "markdown", "-o", str(md))
    assert out.returncode == 0 and md.read_text().startswith("# gmpbench report")
    bad = _cli("report", str(tmp_path / "nope.json"))
    assert bad.returncode == 2 and "nope.json" in bad.stderr


# --- memory (issue 16) -------------------------------------------------------------------------

def _with_memory(res, max_rss=500 << 20, rss_base=100 << 20, gs=1_000_001):
    for case in res.cases.values():
        for run in case.runs:
            run.max_rss, run.rss_base, run.gs_max, run.gs_limit = max_rss, rss_base, gs, gs
    return res


def test_memory_is_saved_read_and_reported(policies, tmp_path):
    res = read_results(write(tmp_path, _with_memory(policies)))
    run = next(iter(res.cases.values())).runs[0]
    assert (run.max_rss, run.rss_base, run.gs_max, run.gs_limit) == \
        (500 << 20, 100 << 20, 1_000_001, 1_000_001)
    assert run.bytes_per_g == pytest.approx((400 << 20) / 1_000_001)
    case = json.loads("\n".join(render_report(res, "json")))["cases"][0]
    assert case["max_rss"] == 500 << 20 and case["bytes_per_g"] == pytest.approx(419.4, abs=0.1)
    text = "\n".join(render_report(res, "text"))
    assert "peak RSS" in text and "500.0 MiB" in text and "419 B" in text


def test_files_without_memory_read_as_unknown(policies, tmp_path):
    path = write(tmp_path, _with_memory(policies))
    data = json.loads(open(path).read())
    for case in data["gmpbench"]["cases"]:
        for proc in case["processes"]:
            for run in proc["runs"]:
                for key in ("max_rss", "rss_base", "gs_max", "gs_limit"):
                    del run[key]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    res = read_results(old)
    assert next(iter(res.cases.values())).runs[0].bytes_per_g is None
    assert "peak RSS" not in "\n".join(render_report(res, "text"))   # no memory table
    case = json.loads("\n".join(render_report(res, "json")))["cases"][0]
    assert case["max_rss"] == 0 and case["bytes_per_g"] is None


# --- the reference policy: --baseline and its fallback -------------------------------------

@pytest.fixture
def two_groups():
    """procs=1 has a baseline policy, procs=2 has not (no-steal is 2x no-runnext there)."""
    return results({"w/procs=1/policy=baseline": sample(0.01, 9, seed=1),
                    "w/procs=1/policy=no-runnext": sample(0.02, 9, seed=2),
                    "w/procs=2/policy=no-runnext": sample(0.01, 9, seed=3),
                    "w/procs=2/policy=no-steal": sample(0.02, 9, seed=4)})


def group_text(res, group, **kw) -> str:
    """The text report's section of ``group``: its header line to the next blank line."""
    lines = render_report(res, "text", **kw)
    start = lines.index(group)
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].strip())
    return "\n".join(lines[start:end])


def test_reference_falls_back_to_the_first_policy(two_groups):
    one, two = (group_text(two_groups, f"w/procs={n}") for n in (1, 2))
    assert "vs baseline" in one and re.search(r"no-runnext .* (1\.9|2\.0)\d\dx .* slower", one)
    assert "vs no-runnext" in two and re.search(r"no-steal .* (1\.9|2\.0)\d\dx .* slower", two)


def test_baseline_option_compares_only_groups_that_ran_it(two_groups):
    one, two = (group_text(two_groups, f"w/procs={n}", baseline="no-steal") for n in (1, 2))
    assert " vs " not in one and "slower" not in one and "faster" not in one
    assert "vs no-steal" in two and re.search(r"no-runnext .* 0\.(49|50)\dx .* faster", two)


# --- the results file: read-time checks, atomic writes -------------------------------------

def _tamper(data, what):
    bench = data["benchmarks"][0]
    case = data["gmpbench"]["cases"][0]
    if what == "pyperf run":
        bench["runs"].pop()
    elif what == "value":
        bench["runs"][0]["values"].pop()
    elif what == "blocks":
        case["processes"][0]["blocks"] = case["processes"][0]["blocks"][:-1]
    elif what == "positions":
        case["processes"][0]["positions"] = []


@pytest.mark.parametrize("what, message", [
    ("pyperf run", f"case {PING_PONG}: 2 pyperf runs but 3 processes"),
    ("value", f"case {PING_PONG}: values and runs differ in number"),
    ("blocks", f"case {PING_PONG}: blocks and runs differ in number"),
    ("positions", f"case {PING_PONG}: positions and runs differ in number"),
])
def test_inconsistent_results_files_are_refused(tmp_path, what, message):
    res = results({PING_PONG: sample(0.01, 9, seed=1)})
    for proc in res.cases[PING_PONG].processes:
        proc.blocks, proc.positions = list(range(3)), [0, 1, 0]
    data = json.loads(open(write(tmp_path, res)).read())
    _tamper(data, what)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsError) as err:
        read_results(path)
    assert str(err.value) == f"{path}: {message}"
    out = _cli("report", str(path))
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_a_failed_write_keeps_the_old_file(tmp_path, policies):
    """`report -o` onto an existing file, in a process that may not write more than 4 kB: the
    write fails (EFBIG) half-way, the old file stays as it was, no temporary file is left."""
    import resource
    import signal

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    src = write(tmp_path, policies)
    out = tmp_path / "report.html"
    out.write_text("old report\n")
    run = subprocess.run([sys.executable, "-m", "gmpbench", "report", src, "--format", "html",
                          "-o", str(out)], capture_output=True, text=True, timeout=120,
                         check=False, preexec_fn=small_files, env=worker_env())
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "File too large" in run.stderr
    assert out.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "report.html"]


# --- the command line: -o formats, warnings, a closed pipe ---------------------------------

def test_report_output_files(tmp_path, policies):
    src = write(tmp_path, policies)
    html, gobench = tmp_path / "r.html", tmp_path / "r.txt"
    for fmt, path in (("html", html), ("gobench", gobench)):
        out = _cli("report", src, "--format", fmt, "-o", str(path))
        assert out.returncode == 0 and out.stdout == "" and f"wrote {path}" in out.stderr
    assert parse_html(html.read_text().splitlines()).svgs == 1 + 2
    lines = gobench.read_text().splitlines()
    assert lines == render_report(policies, "gobench")
    assert sum(bool(GOBENCH_LINE.match(line)) for line in lines) == 5 * 9


def test_compare_warnings(tmp_path):
    old = results({PING_PONG: sample(0.01, 9, seed=1)})
    new = results({PING_PONG: sample(0.01, 9, seed=2)}, core_hash="fedcba9876543210",
                  workload_hash="0000000000000000")
    new.info["interrupted"] = True
    paths = write(tmp_path, old, "old.json"), write(tmp_path, new, "new.json")
    out = _cli("compare", *paths, "--format", "json")
    assert out.returncode == 0
    warnings = [line for line in out.stderr.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 3
    assert "the scheduler core differs (core 0123456789abcdef vs fedcba9876543210)" in warnings[0]
    assert "workload file(s) changed between the runs: ping-pong" in warnings[1]
    assert "new holds an interrupted run" in warnings[2]
    text = "\n".join(render_compare(old, new, "text"))    # text shows them in the report
    assert all(w[len("WARNING: "):] in text for w in warnings)
    assert "WARNING" not in "\n".join(render_compare(old, old, "text"))


def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`gmpbench report x.json --format gobench | head -1`: more output than a pipe holds, the
    reader gone after one line: exit 0, nothing on stderr."""
    many = results({f"w/i={i}/procs=1/policy=baseline": sample(0.01, 60, seed=i)
                    for i in range(40)})
    src = write(tmp_path, many)
    p = subprocess.Popen([sys.executable, "-m", "gmpbench", "report", src, "--format", "gobench"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=worker_env())
    first = p.stdout.readline()
    p.stdout.close()                                # as `head -1` exits
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0, err
    assert first.strip() and err == ""


def test_a_swept_serve_workload_gets_a_latency_against_load_plot():
    from types import SimpleNamespace

    from gmpbench.report.document import load_curves
    from gmpbench.report.html import load_plot

    def summary(policy, rate, thr, p50, p99, procs=2):
        return SimpleNamespace(workload="serve", procs=procs, policy=policy, throughput=thr,
                               request_latency={"p50": p50, "p99": p99}, params={"rate": rate})
    rows = [summary("baseline", r, t, a, b) for r, t, a, b in
            [(1, 1000.0, 1e-4, 1e-3), (2, 1900.0, 2e-4, 5e-3), (4, 2100.0, 0.1, 0.5)]]
    rows += [summary("go", 1, 990.0, 1e-4, 2e-3), summary("baseline", 1, 1.0, 1.0, 1.0, procs=1)]
    (curve,) = load_curves(rows)        # procs=1 has a single point: no curve
    assert [p[0] for p in curve.points["baseline"]] == [1000.0, 1900.0, 2100.0]
    assert "<svg" in load_plot(curve)
    assert load_curves([summary("go", 1, None, 1.0, 1.0)]) == []
