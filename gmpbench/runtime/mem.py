"""Addressing the flat state array S (layout.py), and the decorator every core function uses.

``gx(S, gp)`` is the index in S of G gp's first field, so ``S[gx(S, gp) + G_STATUS]`` is gp's
status; likewise px (P), mx (M), cx (channel), wx (wait group), xx (mutex), stx (an M's
counters), latx (an M's histogram), rqx (a P's ring), stkx (a G's frames), codex (an
instruction), distx (a distribution).  They are one load and a multiply-add; LLVM inlines them.

Every core function is compiled with an explicit signature (``core``): nogil, cached, reference
counting off, and no specialisation on literal arguments (numba would otherwise compile a new
copy of a callee for every distinct constant passed to it).  ``core(sig, inline=True)`` also
inlines it into its callers (DESIGN.md, "The hot path").
"""
import os

from numba import njit, types
from numba.core.caching import CacheImpl, UserProvidedCacheLocator
from numba.core.registry import CPUDispatcher

from . import cache_dir

from .layout import (
    CODE_WORDS,
    CSTRIDE,
    DIST_WORDS,
    GSTRIDE,
    H_ALLG,
    H_ALLM,
    H_ALLP,
    H_CHANS,
    H_CODE,
    H_DISTS,
    H_GROUPS,
    H_GSTK,
    H_GSTKDEPTH,
    H_MLAT,
    H_MNETLAT,
    H_MREQLAT,
    H_MSTATS,
    H_MUTEXES,
    H_RUNQ,
    MSTRIDE,
    PSTRIDE,
    RUNQ_MAX,
    S_KNOBS,
    STSTRIDE,
    WSTRIDE,
    XSTRIDE,
)
from .histogram import NBUCKETS

class CoreCacheLocator(UserProvidedCacheLocator):
    """numba's cache locator for this package's functions only: they cache in
    runtime.cache_dir() (keyed on the core's sources); any other jitted code in the process
    (a pytest user's own) is left to numba's usual locators."""

    _package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(cache_dir(), self.get_suitable_cache_subpath(py_file))

    @classmethod
    def from_function(cls, py_func, py_file):
        if not os.path.abspath(py_file).startswith(cls._package + os.sep):
            return None
        return super(UserProvidedCacheLocator, cls).from_function(py_func, py_file)


if CoreCacheLocator not in CacheImpl._locator_classes:    # before any core function below
    CacheImpl._locator_classes.insert(0, CoreCacheLocator)

Sarr = types.int64[::1]     # the state
i64 = types.int64
f64 = types.float64
boolean = types.boolean
void = types.void
pair = types.UniTuple(types.int64, 2)


class CoreDispatcher(CPUDispatcher):
    """A dispatcher compiled for its declared signature only, and only when first needed.

    numba's default would compile a callee again for every distinct literal its callers pass
    (``count(S, mid, ST_STEALS, 1)`` -> a copy per counter); an eager signature stops that but
    makes every import load every function's machine code from the cache (~10 ms each).  This
    one types every call against the declared signature and compiles (or loads) it lazily, so
    importing the core loads nothing and a run loads the few entry points it calls."""

    def get_call_template(self, args, kws):
        return super().get_call_template(self.core_sig.args, kws)

    def _compile_for_args(self, *args, **kws):
        return self.compile(self.core_sig)


def core(sig, inline=False):
    """Decorator: a nogil, cached core function with the given numba signature.  inline=True
    inlines it into every caller in numba's IR (njit's inline='always'), for the few hot-path
    steps LLVM's inliner leaves as calls."""
    def wrap(fn):
        disp = njit(nogil=True, cache=True, _nrt=False,
                    inline="always" if inline else "never")(fn)
        disp.__class__ = CoreDispatcher
        disp.core_sig = sig
        return disp
    return wrap


@core(i64(Sarr, i64))
def gx(S, gp):
    return S[H_ALLG] + gp * GSTRIDE


@core(i64(Sarr, i64))
def px(S, pid):
    return S[H_ALLP] + pid * PSTRIDE


@core(i64(Sarr, i64))
def mx(S, mid):
    return S[H_ALLM] + mid * MSTRIDE


@core(i64(Sarr, i64))
def cx(S, cid):
    return S[H_CHANS] + cid * CSTRIDE


@core(i64(Sarr, i64))
def wx(S, w):
    return S[H_GROUPS] + w * WSTRIDE


@core(i64(Sarr, i64))
def xx(S, x):
    return S[H_MUTEXES] + x * XSTRIDE


@core(i64(Sarr, i64))
def rqx(S, pid):
    return S[H_RUNQ] + pid * RUNQ_MAX


@core(i64(Sarr, i64))
def stkx(S, gp):
    return S[H_GSTK] + gp * S[H_GSTKDEPTH]


@core(i64(Sarr, i64))
def stx(S, mid):
    return S[H_MSTATS] + mid * STSTRIDE


@core(i64(Sarr, i64))
def latx(S, mid):
    return S[H_MLAT] + mid * NBUCKETS


@core(i64(Sarr, i64))
def netlatx(S, mid):
    return S[H_MNETLAT] + mid * NBUCKETS


@core(i64(Sarr, i64))
def reqlatx(S, mid):
    return S[H_MREQLAT] + mid * NBUCKETS


@core(i64(Sarr, i64))
def codex(S, pc):
    return S[H_CODE] + pc * CODE_WORDS


@core(i64(Sarr, i64))
def distx(S, d):
    return S[H_DISTS] + d * DIST_WORDS


@core(i64(Sarr, i64))
def knob(S, k):
    return S[S_KNOBS + k]


@core(void(Sarr, i64, i64, i64))
def count(S, mid, counter, n):
    """Add n to one of M mid's counters (only mid writes its row)."""
    S[S[H_MSTATS] + mid * STSTRIDE + counter] += n
