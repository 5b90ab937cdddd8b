"""Sampled durations: every G draws from its own xorshift64* stream (G_RNG), so a run's
durations depend only on the seed and the goroutine ids.  Used by the interpreter and by
select's `after:` cases."""
import numpy as np

from ..workload import ops
from .layout import G_RNG
from .mem import Sarr, core, distx, f64, i64


@core(f64(Sarr, i64))
def rand01(S, g):
    """Uniform in (0, 1) from the G's xorshift64* state."""
    x = np.uint64(S[g + G_RNG])
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    S[g + G_RNG] = np.int64(x)
    r = x * np.uint64(2685821657736338717)
    return (np.float64(r >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@core(f64(Sarr, i64))
def std_normal(S, g):
    u1 = rand01(S, g)
    u2 = rand01(S, g)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@core(i64(Sarr, i64, i64), inline=True)
def sample(S, g, d):
    """A duration in ns drawn from distribution d with the G's own random stream.  A constant
    (most statements' durations) is read in line; the others are drawn by sample_random."""
    dx = distx(S, d)
    if S[dx + ops.DIST_KIND] == ops.D_CONST:
        return max(S[dx + ops.DIST_P1], 0)
    return sample_random(S, g, dx)


@core(i64(Sarr, i64, i64))
def sample_random(S, g, dx):
    """A draw from the random distribution at S[dx] (its kind, p1, p2)."""
    kind = S[dx + ops.DIST_KIND]
    p1 = np.float64(S[dx + ops.DIST_P1])
    p2 = np.float64(S[dx + ops.DIST_P2])
    if kind == ops.D_EXP:
        v = -p1 * np.log(rand01(S, g))
    elif kind == ops.D_UNIFORM:
        v = p1 + (p2 - p1) * rand01(S, g)
    elif kind == ops.D_NORMAL:
        v = p1 + p2 * std_normal(S, g)
    else:
        v = p1 * np.exp(p2 / ops.SIGMA_SCALE * std_normal(S, g))
    if v <= 0.0:
        return 0
    return np.int64(v)
