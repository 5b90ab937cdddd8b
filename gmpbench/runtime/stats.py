"""Figures recorded inside the core without locks: per-M counters and latency histograms.

Each M writes only its own rows (mem.stx, mem.latx); the rows are summed after the Ms are
joined, so the hot path pays a plain increment.  Latencies go into histogram.py's log-linear
buckets; reading them back (percentiles) is histogram.py's, without numba.
"""
from .atomics import bitlen
from .histogram import MAX_BITS, SUB, SUB_BITS
from .mem import Sarr, core, i64, void


@core(i64(i64))
def hist_bucket(v):
    if v < SUB:
        return max(v, 0)
    if v >= (1 << MAX_BITS):
        v = (1 << MAX_BITS) - 1
    e = bitlen(v) - 1               # v in [2**e, 2**(e+1)), e >= SUB_BITS
    shift = e - SUB_BITS
    return (shift + 1) * SUB + ((v >> shift) - SUB)


@core(void(Sarr, i64, i64))
def hist_record(a, base, v):
    """Count v in the histogram a[base : base + NBUCKETS]."""
    a[base + hist_bucket(v)] += 1
