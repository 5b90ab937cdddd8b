"""Reports as JSON: ``report`` prints spec §5's schema exactly; ``compare`` adds the test."""
from __future__ import annotations

import json

from .results import Results, ResultsError
from .stats import ALPHA, INTERVAL_NAME, TEST_NAME, compare_values, geometric_mean, summarize


def _lines(data) -> list[str]:
    return json.dumps(data, indent=2, allow_nan=False).splitlines()


def report(results: Results) -> list[str]:
    """{"cases": [{"name", "workload", "params", "procs", "policy", "wall_time": {"median",
    "mean", "stdev", "values"}, "time_per_op", "sched_latency": {"p50", "p90", "p99", "p999",
    "max"}, "cpu_time", "counters": {...}}]}, times in seconds."""
    return _lines({"cases": [summarize(case).to_json() for case in results.measured()]})


def compare(old: Results, new: Results) -> list[str]:
    cases, ratios = [], []
    for name, case in new.cases.items():
        if name not in old.cases or not case.runs or not old.cases[name].runs:
            continue
        comp = compare_values(old.cases[name].values, case.values)
        ratios.append(comp.ratio)
        cases.append({"name": name, "old": summarize(old.cases[name]).to_json(),
                      "new": summarize(case).to_json(), "comparison": comp.to_json()})
    if not cases:
        raise ResultsError("the two files have no case in common")
    return _lines({
        "test": TEST_NAME, "alpha": ALPHA, "interval": INTERVAL_NAME,
        "old_core_hash": old.core_hash, "new_core_hash": new.core_hash,
        "cases": cases, "geomean_ratio": geometric_mean(ratios),
        "only_in_old": [n for n in old.cases if n not in new.cases],
        "only_in_new": [n for n in new.cases if n not in old.cases],
    })
