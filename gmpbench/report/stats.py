"""Statistics of results: summaries of a case, and the comparison of two sets of wall times.

Method (named in every report):
- the figure of a case is the median wall time over all its runs (pyperf's median);
- a ratio is median(new) / median(old): above 1 is slower;
- its interval is a percentile bootstrap of the ratio of medians (each side resampled with
  replacement, RESAMPLES times, fixed seed so reports are reproducible);
- significance is the two-sided Mann-Whitney U test at ALPHA.  With n and m values the smallest
  p-value it can give is 2 / C(n+m, n); when that exceeds ALPHA the test cannot reach
  significance, and the report says so instead of "not significant".
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from .results import Case

ALPHA = 0.05
CONFIDENCE = 0.95
RESAMPLES = 2000
TEST_NAME = "Mann-Whitney U, two-sided"
INTERVAL_NAME = f"{CONFIDENCE:.0%} bootstrap interval of the ratio of medians"
LATENCY_QUANTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
# CaseSummary's latency figures -> the run histogram (RunFigures field) each one summarizes
LATENCIES = {"sched_latency": "latency", "netpoll_latency": "netpoll_latency"}
# counters computed per run from two others: name -> (total, the part subtracted from it)
DERIVED_COUNTERS = {"netpoll_nonblocking_calls": ("netpoll_calls", "netpoll_blocking_calls")}


def median(values) -> float:
    return float(statistics.median(values))


def run_counters(run) -> dict[str, int]:
    """A run's counters, plus each derived counter whose two inputs the run has."""
    counters = dict(run.counters)
    for name, (total, part) in DERIVED_COUNTERS.items():
        if total in counters and part in counters:
            counters[name] = counters[total] - counters[part]
    return counters


def median_counters(runs) -> dict[str, float]:
    """Each counter's median over runs (an int when it is one), derived counters included."""
    per_run = [run_counters(run) for run in runs]
    names = dict.fromkeys(name for counters in per_run for name in counters)
    out = {}
    for name in names:
        m = median([counters.get(name, 0) for counters in per_run])
        out[name] = int(m) if m == int(m) else m
    return out


def latency_seconds(hist: np.ndarray) -> dict[str, float | None]:
    """p50/p90/p99/p999/max of a latency histogram (ns buckets), in seconds; None if empty."""
    from ..runtime.stats import hist_max, percentiles
    figures = dict(zip(LATENCY_QUANTILES, percentiles(hist, list(LATENCY_QUANTILES.values()))))
    figures["max"] = hist_max(hist)
    return {k: (None if math.isnan(v) else v / 1e9) for k, v in figures.items()}


@dataclass
class CaseSummary:
    """The figures of one case; what the pytest fixture returns and reports show."""

    case: Case
    wall_time: float                    # s, median over runs
    mean: float
    stdev: float | None                 # None with a single value
    time_per_op: float | None           # s
    sched_latency: dict                 # p50, p90, p99, p999, max: s (None when no samples)
    netpoll_latency: dict               # the same, of readiness due -> G running (netwait)
    cpu_time: float                     # s, median over runs
    threads_max: int                    # most over runs
    counters: dict                      # median over runs

    name = property(lambda self: self.case.name)
    workload = property(lambda self: self.case.workload)
    params = property(lambda self: self.case.params)
    procs = property(lambda self: self.case.procs)
    policy = property(lambda self: self.case.policy)
    runs = property(lambda self: self.case.runs)
    values = property(lambda self: self.case.values)

    @property
    def ops_per_second(self) -> float | None:
        """Throughput: ops / median wall time (None when the workload sets no ``ops``)."""
        return self.case.ops / self.wall_time if self.case.ops and self.wall_time else None

    def to_json(self) -> dict:
        """The case object of ``report --format json``: spec §5's keys, then netpoll_latency."""
        return {"name": self.name, "workload": self.workload, "params": self.params,
                "procs": self.procs, "policy": self.policy,
                "wall_time": {"median": self.wall_time, "mean": self.mean,
                              "stdev": self.stdev, "values": self.values},
                "time_per_op": self.time_per_op, "sched_latency": self.sched_latency,
                "cpu_time": self.cpu_time, "counters": self.counters,
                "netpoll_latency": self.netpoll_latency,
                **({"go_version": self.case.go_version} if self.case.go_version else {})}


def summarize(case: Case) -> CaseSummary:
    values = case.values
    runs = case.runs
    wall = median(values)
    return CaseSummary(
        case=case, wall_time=wall, mean=statistics.fmean(values),
        stdev=statistics.stdev(values) if len(values) > 1 else None,
        time_per_op=wall / case.ops if case.ops else None,
        **{name: latency_seconds(case.histogram(hist)) for name, hist in LATENCIES.items()},
        cpu_time=median([run.cpu_time for run in runs]),
        threads_max=max(run.threads_max for run in runs),
        counters=median_counters(runs),
    )


# --- two sets of values ----------------------------------------------------------------------

@dataclass
class Comparison:
    """new against old: old is the baseline policy, or the OLD file of ``compare``."""

    ratio: float                 # median(new) / median(old)
    low: float                   # interval of the ratio
    high: float
    p_value: float
    reachable: bool              # can the test reach ALPHA with this many values?
    n_old: int
    n_new: int

    @property
    def significant(self) -> bool:
        return self.reachable and self.p_value < ALPHA

    @property
    def verdict(self) -> str:
        if not self.reachable:
            return "too few values to test"
        if not self.significant:
            return "no significant difference"
        return "slower" if self.ratio > 1 else "faster"

    def to_json(self) -> dict:
        return {"ratio": self.ratio, "interval": [self.low, self.high],
                "p_value": self.p_value, "significant": self.significant,
                "test_can_reach_significance": self.reachable, "verdict": self.verdict}


def smallest_p(n: int, m: int) -> float:
    """The smallest two-sided p-value of the exact Mann-Whitney U test for samples n and m."""
    return min(1.0, 2.0 / math.comb(n + m, n))


def mann_whitney_p(old, new) -> float:
    from scipy.stats import mannwhitneyu
    if len(set(old) | set(new)) == 1:          # every value equal: no evidence of a difference
        return 1.0
    p = float(mannwhitneyu(old, new, alternative="two-sided").pvalue)
    return 1.0 if math.isnan(p) else p


def bootstrap_ratio(old, new, *, resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    a, b = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    med_a = np.median(a[rng.integers(0, len(a), (resamples, len(a)))], axis=1)
    med_b = np.median(b[rng.integers(0, len(b), (resamples, len(b)))], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(med_b / med_a, [tail, 100 - tail])
    return float(low), float(high)


def compare_values(old, new) -> Comparison:
    old, new = list(old), list(new)
    low, high = bootstrap_ratio(old, new)
    return Comparison(median(new) / median(old), low, high, mann_whitney_p(old, new),
                      smallest_p(len(old), len(new)) <= ALPHA, len(old), len(new))


def geometric_mean(ratios) -> float | None:
    ratios = [r for r in ratios if r > 0]
    if not ratios:
        return None
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))
