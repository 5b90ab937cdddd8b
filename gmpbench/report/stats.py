"""Statistics of results: summaries of a case, and the comparison of two sets of wall times.

Method (named in every report):
- the figure of a case is the median wall time over all its runs (pyperf's median);
- values from one worker process are not independent (they share its memory layout and its
  minute of host noise), so comparisons test on what is: ``compare_cases`` picks, by what the
  results hold,

  * ``paired`` -- both cases ran alternately in the same worker processes (the runner's
    default): the unit is the block, one run of each policy back to back in a counterbalanced
    order, and its log ratio log(new/old).  The process's own offset cancels in it.  The
    estimate is the mean over processes of each process's mean log ratio.  Its variance comes
    from the blocks (pooled variance about their process's mean, N-P degrees of freedom) unless
    a one-way ANOVA F test says the process means differ more than that lets expect
    (HETEROGENEITY_ALPHA): then from the process means (their variance / P, P-1 degrees of
    freedom), so that a policy whose effect changes from process to process cannot pass its
    consistency within each process off as evidence.  Two-sided t test; the ratio is
    exp(estimate) and the interval exp(estimate +- t * se).
  * ``processes`` -- cases measured in different processes (two files, policy go against the
    port, files written before pairing): the unit is the process, the log of its median; Welch's
    t test on those, ratio and interval as above.
  * ``values`` -- fewer than two processes a side: the two-sided Mann-Whitney U test on the
    values (as gmpbench did before), the ratio of medians and a percentile bootstrap interval.
    With n and m values the smallest p-value it can give is 2 / C(n+m, n); when that exceeds
    ALPHA the test cannot reach significance, and the report says so instead of "not
    significant".  ``compare_values`` (the pytest plugin's regression gate, whose values come
    from one process) is this test.
- a ratio above 1 is slower.
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
LATENCIES = {"sched_latency": "latency", "netpoll_latency": "netpoll_latency",
             "request_latency": "request_latency",
             "safepoint_latency": "safepoint_latency", "stw_pause": "stw_pause"}
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
    from ..runtime.histogram import hist_max, percentiles
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
    request_latency: dict               # the same, of a request's arrival -> its end (serve)
    safepoint_latency: dict             # the same, of stop requested -> world stopped (stw)
    stw_pause: dict                     # the same, of world stopped -> world started
    cpu_time: float                     # s, median over runs
    threads_max: int                    # most over runs
    counters: dict                      # median over runs
    throughput: float | None = None     # serve: requests handled / s, median over runs

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
        """The case object of ``report --format json``: the documented keys, then
        netpoll_latency, safepoint_latency and stw_pause, and for serve cases request_latency and
        throughput."""
        return {"name": self.name, "workload": self.workload, "params": self.params,
                "procs": self.procs, "policy": self.policy,
                "wall_time": {"median": self.wall_time, "mean": self.mean,
                              "stdev": self.stdev, "values": self.values},
                "time_per_op": self.time_per_op, "sched_latency": self.sched_latency,
                "cpu_time": self.cpu_time, "counters": self.counters,
                "netpoll_latency": self.netpoll_latency,
                "safepoint_latency": self.safepoint_latency, "stw_pause": self.stw_pause,
                **({"request_latency": self.request_latency, "throughput": self.throughput}
                   if self.throughput is not None else {}),
                **({"go_version": self.case.go_version} if self.case.go_version else {}),
                **({"host": self.case.host} if self.case.host else {})}


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
        throughput=throughput(runs),
    )


def throughput(runs) -> float | None:
    """serve's achieved throughput: requests handled per second of the run, median over runs
    (None when no run served requests)."""
    rates = [run.counters["requests"] / run.wall_time for run in runs
             if run.counters.get("requests") and run.wall_time > 0]
    return median(rates) if rates else None


# --- two sets of values ----------------------------------------------------------------------

PAIRED, PROCESSES, VALUES = "paired", "processes", "values"
# the paired test pools the blocks of all processes unless their process means differ more than
# the blocks let expect (F test at this level); then the unit is the process
HETEROGENEITY_ALPHA = 0.15
METHODS = {
    PAIRED: ("paired t test on the log ratios of alternating runs (blocks) in the same worker "
             "processes, on the process means instead when they differ more than the blocks "
             f"let expect (F test, {HETEROGENEITY_ALPHA}); ratio and interval: exp(mean log "
             "ratio) and its 95% t interval"),
    PROCESSES: ("Welch t test on the log of each process's median (values of one process are "
                "not independent); ratio and interval: exp(difference of the means) and its "
                "95% t interval"),
    VALUES: (f"{TEST_NAME} test on the values (fewer than two processes a side); ratio of "
             f"medians, {INTERVAL_NAME}"),
}
# a verdict that cannot tell a change this large (either way) from noise is flagged
NOISE_RATIO = 0.10


@dataclass
class Comparison:
    """new against old: old is the baseline policy, or the OLD file of ``compare``."""

    ratio: float                 # new / old (see ``method``)
    low: float                   # interval of the ratio
    high: float
    p_value: float
    reachable: bool              # can the test reach ALPHA with this many values?
    n_old: int                   # values
    n_new: int
    method: str = VALUES         # PAIRED, PROCESSES or VALUES (METHODS says what each is)
    units: int = 0               # what the test counted: blocks (paired), processes, values

    @property
    def too_noisy(self) -> bool:
        """Not significant, and the interval reaches both NOISE_RATIO faster and slower: the
        measurement cannot tell a change of that size from noise, so "no difference" says
        nothing."""
        return (self.reachable and not self.significant and
                self.low < 1 - NOISE_RATIO and self.high > 1 + NOISE_RATIO)

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
                "test_can_reach_significance": self.reachable, "verdict": self.verdict,
                "test": self.method, "units": self.units, "too_noisy": self.too_noisy}


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


def _t_result(estimate: float, var: float, df: float, n_old: int, n_new: int, method: str,
              units: int) -> Comparison:
    """A Comparison from a log-ratio estimate, its variance and degrees of freedom."""
    from scipy.stats import t as student
    ratio = math.exp(estimate)
    if not (df >= 1 and var >= 0 and math.isfinite(var)):
        return Comparison(ratio, ratio, ratio, 1.0, False, n_old, n_new, method, units)
    se = math.sqrt(var)
    if se == 0:
        p = 1.0 if estimate == 0 else 0.0
        return Comparison(ratio, ratio, ratio, p, True, n_old, n_new, method, units)
    p = float(2 * student.sf(abs(estimate) / se, df))
    q = float(student.ppf(1 - (1 - CONFIDENCE) / 2, df))
    return Comparison(ratio, math.exp(estimate - q * se), math.exp(estimate + q * se), p, True,
                      n_old, n_new, method, units)


def paired_test(blocks: list[list[float]], n_old: int = 0, n_new: int = 0) -> Comparison:
    """The paired test on log ratios grouped by process (``blocks[i]``: the log ratios of
    process i's blocks): see the module's docstring."""
    from scipy.stats import f as fisher
    groups = [np.asarray(g, dtype=float) for g in blocks if len(g)]
    n_proc, n = len(groups), sum(len(g) for g in groups)
    means = np.array([g.mean() for g in groups]) if groups else np.zeros(0)
    estimate = float(means.mean()) if n_proc else 0.0
    between = (float(means.var(ddof=1)) / n_proc, n_proc - 1) if n_proc >= 2 else None
    within = None
    if n > n_proc:
        ss = sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / (n - n_proc)
        within = (ss * sum(1 / len(g) for g in groups) / n_proc ** 2, n - n_proc)
    if within is not None and between is not None:
        # do the processes disagree more than their blocks do? (one-way ANOVA F test)
        ratio = between[0] / within[0] if within[0] > 0 else (math.inf if between[0] else 1.0)
        heterogeneous = fisher.sf(ratio, between[1], within[1]) < HETEROGENEITY_ALPHA
        var, df = between if heterogeneous else within
    elif within is not None or between is not None:
        var, df = within or between
    else:
        var, df = math.nan, 0
    return _t_result(estimate, var, df, n_old, n_new, PAIRED, n)


def process_test(old: list[float], new: list[float], n_old: int = 0,
                 n_new: int = 0) -> Comparison:
    """Welch's t test on the logs of per-process medians ``old`` and ``new``."""
    a, b = np.log(np.asarray(old, dtype=float)), np.log(np.asarray(new, dtype=float))
    estimate = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    var = float(va + vb)
    if var > 0:
        df = var ** 2 / ((va ** 2 / (len(a) - 1) if va else 0) +
                         (vb ** 2 / (len(b) - 1) if vb else 0))
    else:
        df = len(a) + len(b) - 2
    return _t_result(estimate, var, df, n_old, n_new, PROCESSES, len(a) + len(b))


def paired_blocks(old: Case, new: Case) -> list[list[float]]:
    """Per worker process shared by the two cases, the log ratio log(new/old) of each block in
    which both ran; [] when they share none (or their files predate pairing)."""
    def by_block(case):
        out = {}
        for proc in case.processes:
            if proc.paired:
                for block, run in zip(proc.blocks, proc.runs):
                    out.setdefault(proc.worker, {})[block] = max(run.wall_time, 1e-12)
        return out
    a, b = by_block(old), by_block(new)
    pairs = []
    for worker in a.keys() & b.keys():
        shared = sorted(a[worker].keys() & b[worker].keys())
        if shared:
            pairs.append([math.log(b[worker][k] / a[worker][k]) for k in shared])
    return pairs


def compare_cases(old: Case, new: Case) -> Comparison:
    """new against old, on the statistical unit their results allow (module docstring)."""
    n_old, n_new = len(old.values), len(new.values)
    blocks = paired_blocks(old, new)
    if blocks and sum(map(len, blocks)) >= 2:
        return paired_test(blocks, n_old, n_new)
    po = [median([r.wall_time for r in p.runs]) for p in old.processes if p.runs]
    pn = [median([r.wall_time for r in p.runs]) for p in new.processes if p.runs]
    if len(po) >= 2 and len(pn) >= 2:
        return process_test(po, pn, n_old, n_new)
    return compare_values(old.values, new.values)


def geometric_mean(ratios) -> float | None:
    ratios = [r for r in ratios if r > 0]
    if not ratios:
        return None
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))
