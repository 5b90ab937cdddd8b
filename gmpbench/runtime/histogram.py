"""The latency histogram's buckets, and reading a histogram back: numpy only, so that reports
never import numba (the core records into these buckets in stats.py).

A log-linear (HDR-style) histogram: values below 2**SUB_BITS ns have a bucket each, above that
every power of two is cut into 2**SUB_BITS buckets, so a bucket's width is at most
1/2**SUB_BITS of its value (1.6 %).
"""
import numpy as np

SUB_BITS = 6
SUB = 1 << SUB_BITS
MAX_BITS = 44                       # values are clamped below 2**44 ns (4.9 hours)
NBUCKETS = (MAX_BITS - SUB_BITS + 1) * SUB


def bucket_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper (exclusive) value of every bucket, in ns."""
    idx = np.arange(NBUCKETS, dtype=np.int64)
    shift = np.maximum(idx // SUB - 1, 0)
    mant = np.where(idx < SUB, idx, idx % SUB + SUB)
    lo = mant << shift
    hi = (mant + 1) << shift
    return lo, hi


def percentiles(hist: np.ndarray, qs) -> list[float]:
    """Percentiles (0..100) of a histogram, each the midpoint of the bucket that holds it.

    NaN for an empty histogram."""
    total = int(hist.sum())
    if total == 0:
        return [float("nan") for _ in qs]
    lo, hi = bucket_bounds()
    cum = np.cumsum(hist)
    out = []
    for q in qs:
        rank = max(1, int(np.ceil(q / 100.0 * total)))
        b = int(np.searchsorted(cum, rank))
        out.append(float(lo[b] + (hi[b] - 1 - lo[b]) / 2.0))
    return out


def hist_max(hist: np.ndarray) -> float:
    nz = np.nonzero(hist)[0]
    if len(nz) == 0:
        return float("nan")
    _, hi = bucket_bounds()
    return float(hi[nz[-1]] - 1)
