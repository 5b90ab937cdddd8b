"""Reports as JSON: ``report`` prints the documented schema (README, "Reading results"),
plus a case's netpoll, time-to-safepoint and stop-the-world pause latencies; ``compare`` adds
the test."""
from __future__ import annotations

import json

from .results import Results, pair_cases
from .stats import ALPHA, METHODS, compare_cases, geometric_mean, summarize


def _lines(data) -> list[str]:
    return json.dumps(data, indent=2, allow_nan=False).splitlines()


def report(results: Results) -> list[str]:
    """{"cases": [{"name", "workload", "params", "procs", "policy", "wall_time": {"median",
    "mean", "stdev", "values"}, "time_per_op", "sched_latency": {"p50", "p90", "p99", "p999",
    "max"}, "cpu_time", "counters": {...}, "netpoll_latency": {"p50", ..., "max"},
    "safepoint_latency": {...}, "stw_pause": {...}}]}, times in seconds; the documented keys,
    then the latencies that apply where a workload has samples (their figures None without);
    cases that served requests (`serve`) add "request_latency" (shaped like sched_latency) and
    "throughput" (requests/s); cases run on a cluster add "host"."""
    from .document import fidelity_rows
    fidelity = [{"group": name, "port_policy": policy, "wall_time_ratio": wall,
                 "threads_ratio": threads}
                for name, policy, wall, threads in fidelity_rows(results.groups())]
    out = {"cases": [summarize(case).to_json() for case in results.measured()]}
    if fidelity:
        out["fidelity"] = {"cases": fidelity,
                           "geomean_wall_time_ratio": geometric_mean(
                               [f["wall_time_ratio"] for f in fidelity]),
                           "geomean_threads_ratio": geometric_mean(
                               [f["threads_ratio"] for f in fidelity])}
    return _lines(out)


def compare(old: Results, new: Results) -> list[str]:
    names, only_old, only_new = pair_cases(old, new)
    cases, ratios = [], []
    for name in names:
        comp = compare_cases(old.cases[name], new.cases[name])
        ratios.append(comp.ratio)
        cases.append({"name": name, "old": summarize(old.cases[name]).to_json(),
                      "new": summarize(new.cases[name]).to_json(), "comparison": comp.to_json()})
    return _lines({
        "tests": METHODS, "alpha": ALPHA,
        "old_core_hash": old.core_hash, "new_core_hash": new.core_hash,
        "cases": cases, "geomean_ratio": geometric_mean(ratios),
        "only_in_old": only_old, "only_in_new": only_new,
    })
