"""Reports as data: a Document of sections, tables and plot data, built from results.

The text, markdown and html renderers all draw the same Document, so the figures and their
wording are decided once, here.  Two builders:

- ``policy_document``: one section per group (workload x params x procs), one row per policy,
  each compared with the reference policy (``--baseline``, default ``baseline``);
- ``compare_document``: one section per case found in both files, rows OLD and NEW.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import units
from ..engines import GO_POLICY, matching_preset
from .results import Results, ResultsError, pair_cases
from .stats import (
    ALPHA,
    DERIVED_COUNTERS,
    LATENCIES,
    METHODS,
    NOISE_RATIO,
    CaseSummary,
    Comparison,
    compare_cases,
    geometric_mean,
    summarize,
)
from .hosts import machine_warnings, node_of, nodes_differ

# the netpoller's counters, together: calls and their split, Gs delivered and by whom, waits
NETPOLL_COUNTERS = ("netpoll_calls", "netpoll_nonblocking_calls", "netpoll_blocking_calls",
                    "netpoll_gs", "netpoll_gs_nonblocking", "netpoll_gs_blocking",
                    "netpoll_gs_sysmon", "netwaits")
MAIN_COUNTERS = ("schedules", "runnext_puts", "local_puts", "global_puts", "steals",
                 "gs_stolen", "wakeps", "startms", "stopms", "handoffs", "retakes",
                 "preemptions", "syscalls", *NETPOLL_COUNTERS)


@dataclass(frozen=True)
class LatencyKind:
    """A latency figure of the reports: its table and its html CDF plot."""

    field: str                 # the CaseSummary figure; stats.LATENCIES names its histogram
    header: str                # the table's first header
    axis: str                  # the plot's x label
    events: str                # what the plot's y axis counts
    always: bool               # shown even when no row has samples

    @property
    def histogram(self) -> str:
        return LATENCIES[self.field]


LATENCY_KINDS = (
    LatencyKind("sched_latency", "sched latency", "scheduling latency (runnable -> running)",
                "schedules", always=True),
    LatencyKind("netpoll_latency", "netpoll latency (due → running)",
                "netpoll latency (readiness due -> goroutine running)", "readiness deliveries",
                always=False),
    LatencyKind("request_latency", "request latency (arrival → done)",
                "request latency (scheduled arrival -> handler's end)", "requests",
                always=False),
    LatencyKind("safepoint_latency", "time to safepoint (stop requested → stopped)",
                "time to safepoint (stop requested -> every P stopped)", "stop-the-worlds",
                always=False),
    LatencyKind("stw_pause", "stw pause (stopped → started)",
                "stop-the-world pause (world stopped -> started again)", "stop-the-worlds",
                always=False),
)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    title: str = ""
    text_columns: tuple[str, ...] = ("verdict",)     # headers of columns of words, not figures

    def align(self, column: int) -> str:
        """"l" for the first column and for words, "r" for figures."""
        return "l" if column == 0 or self.header[column] in self.text_columns else "r"


@dataclass
class Bar:
    """One ratio with its interval, for the html's ratio plot."""

    label: str
    comparison: Comparison


@dataclass
class LatencyPlot:
    """The data of one latency CDF plot of a section (html)."""

    kind: LatencyKind
    hists: dict                                      # row label -> histogram (ns buckets)


@dataclass
class Section:
    title: str
    tables: list[Table]
    plots: list[LatencyPlot] = field(default_factory=list)


@dataclass
class LoadCurve:
    """serve's latency against achieved throughput over a swept param, one curve per policy:
    policy -> [(throughput req/s, p50 s, p99 s)] in the sweep's order (past saturation the
    achieved throughput may fall back: the curve bends back)."""

    title: str
    points: dict[str, list[tuple[float, float, float]]]


@dataclass
class Document:
    title: str
    notes: list[str]
    sections: list[Section]
    summaries: list[Table]
    bars: list[Bar]
    warnings: list[str] = field(default_factory=list)
    curves: list[LoadCurve] = field(default_factory=list)


def load_curves(summaries: list[CaseSummary]) -> list[LoadCurve]:
    """A curve per workload and procs whose serve cases swept a param (two or more points)."""
    by_key: dict[tuple, dict[str, list]] = {}
    for s in summaries:
        p50, p99 = (s.request_latency or {}).get("p50"), (s.request_latency or {}).get("p99")
        if s.throughput is None or p50 is None or p99 is None:
            continue
        curve = by_key.setdefault((s.workload, s.procs), {})
        curve.setdefault(s.policy, []).append((s.throughput, p50, p99))
    return [LoadCurve(f"{workload} procs={procs}: request latency against throughput",
                      curves)
            for (workload, procs), curves in by_key.items()
            if any(len(points) > 1 for points in curves.values())]


def method_notes(ref: str, comps=()) -> list[str]:
    """The method, with the test of each kind of comparison the report holds."""
    used = dict.fromkeys(c.method for c in comps)
    units = {"paired": "blocks", "processes": "processes", "values": "values"}
    tests = [f"{units[m]}: {METHODS[m]}" for m in used] or [
        f"{units[m]}: {text}" for m, text in METHODS.items()]
    return [
        (f"wall time: median over runs (main runnable -> main returned); ratio: against "
         f"{ref}, above 1 is slower."),
        (f"significance at alpha {ALPHA}, tested on what is independent -- " +
         "; ".join(tests) + "."),
        ("sched latency: runnable -> running, sampled as Go's /sched/latencies is (one run in "
         "eight of each goroutine; the port also always its first); netpoll latency (workloads "
         "with netwait): a readiness's due time -> its goroutine running; the histograms of "
         "all runs merged (bucket error < 1.6%)."),
        "counters and cpu time: median per run.",
    ]


def go_notes(results: Results) -> list[str]:
    """What the rows of policy ``go`` measure, when the results have one."""
    versions = sorted({c.go_version or "?" for c in results.measured() if c.policy == GO_POLICY})
    if not versions:
        return []
    return [
        (f"go: the workload translated to Go and run on the real Go runtime "
         f"({', '.join(versions)}), in fresh processes interleaved with the port's policies."),
        ("go's sched latency comes from runtime/metrics /sched/latencies:seconds, whose buckets "
         "are coarser (up to ~6% wide) than the port's; each is counted at its midpoint."),
        (f"go's threads: /proc/self/task at the end of the run (Go never destroys an M, so it "
         f"is the peak, Ms from the process's earlier runs included); counters Go cannot give "
         f"are shown as {units.NONE}."),
    ]


# --- sections --------------------------------------------------------------------------------

def _main_table(rows: list[tuple[str, CaseSummary]], comps: dict[str, Comparison],
                ref: str | None, nodes: bool = False) -> Table:
    """Wall time and its comparison; an ops/s column when some row's workload sets ops; the
    node that ran each row when ``nodes`` (the cases of the report ran on several)."""
    per_op = any(s.case.ops for _, s in rows)
    header = ["", "runs", "wall time", "±stdev", "time/op", *(["ops/s"] if per_op else []),
              "cpu time", "threads", f"vs {ref}" if ref else "ratio", "interval", "p", "verdict",
              *(["node"] if nodes else [])]
    table = Table(header, [], text_columns=("verdict", "node"))
    for label, s in rows:
        c = comps.get(label)
        table.rows.append([
            label, str(len(s.values)), units.seconds(s.wall_time),
            units.percent(s.stdev, s.mean), units.seconds(s.time_per_op),
            *([units.rate(s.ops_per_second)] if per_op else []),
            units.seconds(s.cpu_time), str(s.threads_max),
            units.ratio(c.ratio) if c else "", units.interval(c.low, c.high) if c else "",
            units.p_value(c.p_value) if c else "",
            (c.verdict + (" (too noisy)" if c.too_noisy else "")) if c else "",
            *([node_of(s.case)] if nodes else []),
        ])
    return table


def _latency_table(rows: list[tuple[str, CaseSummary]], kind: LatencyKind) -> Table:
    names = ("p50", "p90", "p99", "p999", "max")
    header = [kind.header, "p50", "p90", "p99", "p99.9", "max"]
    return Table(header, [[label, *(units.seconds(getattr(s, kind.field)[n]) for n in names)]
                          for label, s in rows])


def _latency_plots(rows: list[tuple[str, CaseSummary]]) -> list[LatencyPlot]:
    """Each latency kind's histograms, for the kinds to show: those always shown, and the
    others when some row has samples."""
    plots = [LatencyPlot(kind, {label: s.case.histogram(kind.histogram) for label, s in rows})
             for kind in LATENCY_KINDS]
    return [p for p in plots if p.kind.always or any(h.sum() for h in p.hists.values())]


def _shown_counters(rows: list[tuple[str, CaseSummary]], names: list[str]) -> list[str]:
    """Of ``names``, those non-zero for some row, and both halves of a derived split whose
    total is (so that the split shows even when one half is zero)."""
    shown = {n for n in names if any(s.counters.get(n) for _, s in rows)}
    for derived, (total, part) in DERIVED_COUNTERS.items():
        if total in shown:
            shown |= {derived, part} & set(names)
    return [n for n in names if n in shown]


def _counter_table(rows: list[tuple[str, CaseSummary]]) -> Table:
    """Counters (median per run) that _shown_counters keeps, main counters first."""
    names = dict.fromkeys(n for _, s in rows for n in s.counters)
    order = [n for n in MAIN_COUNTERS if n in names] + \
        [n for n in names if n not in MAIN_COUNTERS and n != "cpu_ns"]
    shown = _shown_counters(rows, order)
    return Table(["counters (median per run)", *(label for label, _ in rows)],
                 [[n, *(units.count(s.counters[n]) if n in s.counters else units.NONE
                        for _, s in rows)] for n in shown])


def _memory_table(rows: list[tuple[str, CaseSummary]]) -> Table:
    """Peak RSS of the worker process and bytes per live G at the peak; no rows (not shown)
    when no run measured memory (files written before it)."""
    rows = [(label, s) for label, s in rows if s.max_rss]
    return Table(["memory", "peak RSS", "bytes/G", "Gs at peak", "G table"],
                 [[label, units.size(s.max_rss), units.size(s.bytes_per_g),
                   units.count(s.gs_max), units.count(s.gs_limit or None)]
                  for label, s in rows])


def section(title: str, rows: list[tuple[str, CaseSummary]],
            ref: str | None, nodes: bool = False) -> tuple[Section, dict[str, Comparison]]:
    """A section comparing every row with the row labelled ``ref`` (no comparison if None);
    with ``nodes`` the main table names the node of each row."""
    by_label = dict(rows)
    comps = {} if ref is None else {
        label: compare_cases(by_label[ref].case, s.case)
        for label, s in rows if label != ref}
    plots = _latency_plots(rows)
    tables = [_main_table(rows, comps, ref, nodes), *(_latency_table(rows, p.kind) for p in plots),
              _counter_table(rows), _memory_table(rows)]
    return Section(title, tables, plots), comps


def _geomean_table(first: str, groups: dict[str, list[Comparison]]) -> Table | None:
    rows = []
    for label, comps in groups.items():
        g = geometric_mean([c.ratio for c in comps])
        slower = sum(c.significant and c.ratio > 1 for c in comps)
        faster = sum(c.significant and c.ratio < 1 for c in comps)
        rows.append([label, str(len(comps)), units.ratio(g), str(slower), str(faster)])
    if not rows:
        return None
    return Table([first, "cases", "geomean ratio", "significantly slower",
                  "significantly faster"], rows, "geometric mean of the ratios over cases")


# --- the two reports -------------------------------------------------------------------------

def _reference(cases, wanted: str | None) -> str:
    policies = [case.policy for case in cases]
    for name in (wanted, "baseline"):
        if name in policies:
            return name
    return policies[0]


def _interrupted(results: Results, label: str) -> list[str]:
    if results.info.get("interrupted"):
        return [f"{label} holds an interrupted run: some cases have fewer processes than asked"]
    return []


def policy_document(results: Results, baseline: str | None = None,
                    title: str = "gmpbench report") -> Document:
    """Policies side by side per group; raises ResultsError for an unknown ``baseline``."""
    groups = results.groups()
    if baseline and not any(c.policy == baseline for cases in groups.values() for c in cases):
        known = sorted({c.policy for cases in groups.values() for c in cases})
        raise ResultsError(f"no policy {baseline!r} in the results (policies: "
                           f"{', '.join(known)})")
    sections, bars, by_policy, summaries_all = [], [], {}, []
    nodes = nodes_differ(results.measured())
    for name, cases in groups.items():
        ref = _reference(cases, baseline)
        if baseline and ref != baseline:
            ref = None                          # this group was not run under --baseline
        rows = [(case.policy, summarize(case)) for case in cases]
        summaries_all += [s for _, s in rows]
        sec, comps = section(name, rows, ref, nodes)
        sections.append(sec)
        for policy, comp in comps.items():
            bars.append(Bar(f"{name} {policy}", comp))
            by_policy.setdefault(policy, []).append(comp)
    all_comps = [c for comps in by_policy.values() for c in comps]
    notes = method_notes(baseline or "the baseline policy", all_comps) + \
        measurement_notes(results) + go_notes(results) + [f"core {results.core_hash}"]
    summaries = [_geomean_table("policy", by_policy), fidelity_table(groups)]
    warnings = _interrupted(results, "the file") + noise_warnings(
        [(bar.label, bar.comparison) for bar in bars])
    return Document(title, notes, sections, [t for t in summaries if t], bars, warnings,
                    load_curves(summaries_all))


def noise_warnings(comps: list[tuple[str, Comparison]]) -> list[str]:
    """A warning per comparison whose spread is too large for its verdict to mean anything."""
    return [(f"{label}: too noisy to tell (interval {units.interval(c.low, c.high)} reaches "
             f"{NOISE_RATIO:.0%} either way): \"no significant difference\" means nothing "
             f"here; measure longer (default mode, --rigorous) or on a quieter machine "
             f"(gmpbench doctor)") for label, c in comps if c.too_noisy]


def measurement_notes(results: Results) -> list[str]:
    """How the results were measured: the order of the policies, calibration."""
    procs = [p for case in results.measured() for p in case.processes]
    if not any(p.paired for p in procs):
        return []
    notes = ["order: the port policies of a case alternate run by run in each worker process, "
             "in blocks ordered ABBA (seeded random permutation, then its reverse)"
             + (f", seed {results.info['order']['seed']}" if results.info.get("order") else "")
             + "; policy go runs in processes of its own, interleaved with the port's."]
    settings = results.info.get("settings") or {}
    calibrated = sum(p.calibrated for p in procs)
    if settings.get("min_time"):
        notes.append(f"calibration: each worker process measures at least "
                     f"{settings['values']} blocks, and more until it has spent "
                     f"{settings['min_time']:g}s per policy on them (at most "
                     f"{settings.get('max_values')}); {calibrated} of {len(procs)} "
                     f"case-processes took more values.")
    return notes


def fidelity_rows(groups: dict[str, list]) -> list[tuple[str, str, float, float]]:
    """(group, port policy, wall time port/go, threads port/go) for every group run under go
    and a port policy: the preset matching the Go version (``matching_preset``) when it ran,
    else baseline.  How close the port is to the real runtime on each case."""
    rows = []
    for name, cases in groups.items():
        by_policy = {case.policy: (case, summarize(case)) for case in cases}
        if GO_POLICY not in by_policy:
            continue
        go_case, go = by_policy[GO_POLICY]
        matched = matching_preset(go_case.go_version)
        policy = matched if matched in by_policy else "baseline"
        if policy in by_policy and go.wall_time > 0 and go.threads_max > 0:
            port = by_policy[policy][1]
            rows.append((name, policy, port.wall_time / go.wall_time,
                         port.threads_max / go.threads_max))
    return rows


def fidelity_table(groups: dict[str, list]) -> Table | None:
    rows = fidelity_rows(groups)
    if not rows:
        return None
    table = Table(["case", "port policy", "wall time port/go", "threads port/go"],
                  [[name, policy, units.ratio(wall), units.ratio(threads)]
                   for name, policy, wall, threads in rows],
                  "fidelity: the port against the real Go runtime (port policy: the preset "
                  "matching Go's version where it ran, else baseline; 1.000x: the same)")
    table.rows.append(["geometric mean", "", units.ratio(geometric_mean([r[2] for r in rows])),
                       units.ratio(geometric_mean([r[3] for r in rows]))])
    return table


def comparison_warnings(old: Results, new: Results) -> list[str]:
    """What makes OLD and NEW hard to compare: another core, changed workload files, cases run
    on different kinds of machine, or interrupted runs."""
    names, _, _ = pair_cases(old, new)
    warnings = []
    if old.core_hash != new.core_hash:
        warnings.append(f"the scheduler core differs (core {old.core_hash} vs "
                        f"{new.core_hash}): differences may come from the core, not the "
                        "policies")
    changed = sorted({new.cases[n].workload for n in names
                      if old.cases[n].workload_hash != new.cases[n].workload_hash})
    if changed:
        warnings.append(f"workload file(s) changed between the runs: {', '.join(changed)}: "
                        "the same case names may not measure the same thing")
    return warnings + machine_warnings(old, new, names) + _interrupted(old, "old") + \
        _interrupted(new, "new")


def compare_document(old: Results, new: Results, title: str = "gmpbench compare") -> Document:
    old_label, new_label = "old", "new"
    names, only_old, only_new = pair_cases(old, new)
    sections, bars, comps = [], [], []
    nodes = nodes_differ([r.cases[n] for r in (old, new) for n in names])
    for name in names:
        rows = [(old_label, summarize(old.cases[name])), (new_label, summarize(new.cases[name]))]
        sec, comp = section(name, rows, old_label, nodes)
        sections.append(sec)
        bars.append(Bar(name, comp[new_label]))
        comps.append(comp[new_label])
    notes = [*method_notes(old_label, comps),
             f"{old_label}: core {old.core_hash}; {new_label}: core {new.core_hash}"]
    notes += [f"only in {old_label}: {', '.join(only_old)}"] if only_old else []
    notes += [f"only in {new_label}: {', '.join(only_new)}"] if only_new else []
    summary = _geomean_table("", {f"{new_label} vs {old_label}": comps})
    warnings = comparison_warnings(old, new) + noise_warnings(
        [(bar.label, bar.comparison) for bar in bars])
    return Document(title, notes, sections, [summary] if summary else [], bars, warnings)
