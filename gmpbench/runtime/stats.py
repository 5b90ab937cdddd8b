"""Figures recorded inside the core without locks: per-M counters and latency histograms.

Each M writes only its own rows (mem.stx, mem.latx); the rows are summed after the Ms are
joined, so the hot path pays a plain increment.  Latencies go into a log-linear (HDR-style)
histogram: values below 2**SUB_BITS ns have a bucket each, above that every power of two is cut
into 2**SUB_BITS buckets, so a bucket's width is at most 1/2**SUB_BITS of its value (1.6 %).
"""
import numpy as np
from numba import njit

from .atomics import bitlen

SUB_BITS = 6
SUB = 1 << SUB_BITS
MAX_BITS = 44                       # values are clamped below 2**44 ns (4.9 hours)
NBUCKETS = (MAX_BITS - SUB_BITS + 1) * SUB


@njit(nogil=True, cache=True, _nrt=False)
def hist_bucket(v):
    if v < SUB:
        return max(v, 0)
    if v >= (1 << MAX_BITS):
        v = (1 << MAX_BITS) - 1
    e = bitlen(v) - 1               # v in [2**e, 2**(e+1)), e >= SUB_BITS
    shift = e - SUB_BITS
    return (shift + 1) * SUB + ((v >> shift) - SUB)


@njit(nogil=True, cache=True, _nrt=False)
def hist_record(a, base, v):
    """Count v in the histogram a[base : base + NBUCKETS]."""
    a[base + hist_bucket(v)] += 1


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
