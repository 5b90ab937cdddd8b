"""Allocation of a run's state array S (layout.py): the sched words, then every table as a
region whose base is recorded in the H_* header.  Also the TSC calibration and views of the
tables for the Python side (dumps, results)."""
from __future__ import annotations

import math
import os
import time

import numpy as np

from ..workload import ops
from ..workload.ops import (
    D_LOGNORMAL,
    DIST_KIND,
    DIST_P2,
    I_A,
    I_OP,
    SELECT,
    SETPROCS,
    SIGMA_SCALE,
)
from . import layout as L
from . import work
from .osdeps import CLOCK_MONOTONIC
from .policy import NKNOBS
from .histogram import NBUCKETS
from ..workload.loader import GC_FUNCTION

ALIGN = 64            # bytes: every region starts on a cache line


def aligned_zeros(n: int) -> np.ndarray:
    """Zeroed int64 array whose first element sits on a cache-line boundary (numpy gives 16).
    Large arrays come from calloc, so untouched pages cost nothing."""
    raw = np.zeros(n * 8 + ALIGN, dtype=np.uint8)
    off = (-raw.ctypes.data) % ALIGN
    return raw[off:off + n * 8].view(np.int64)


_tsc_q20: int | None = None


def tsc_per_ns_q20() -> int:
    """TSC ticks per ns in 20-bit fixed point, measured once per process against
    CLOCK_MONOTONIC over ~20 ms."""
    global _tsc_q20
    if _tsc_q20 is None:
        from .clock import cputicks_now
        cputicks_now()
        t0, c0 = time.clock_gettime_ns(CLOCK_MONOTONIC), cputicks_now()
        time.sleep(0.02)
        t1, c1 = time.clock_gettime_ns(CLOCK_MONOTONIC), cputicks_now()
        _tsc_q20 = max(1, int((c1 - c0) / (t1 - t0) * (1 << 20)))
    return _tsc_q20


def coprimes(n: int) -> list[int]:
    """stealOrder: [count, the numbers in 1..n coprime with n] for the random walk over Ps."""
    cs = [i for i in range(1, n + 1) if math.gcd(i, n) == 1]
    return [len(cs)] + cs


def _dist_rows(dists: np.ndarray) -> np.ndarray:
    """Program.dists (float ns) as integers: kind, p1, p2 (lognormal sigma scaled)."""
    d = np.asarray(dists, dtype=np.float64).reshape(-1, L.DIST_WORDS)
    out = np.rint(d).astype(np.int64)
    logn = d[:, DIST_KIND] == D_LOGNORMAL
    out[logn, DIST_P2] = np.rint(d[logn, DIST_P2] * SIGMA_SCALE).astype(np.int64)
    return out


def _code(program) -> np.ndarray:
    return np.asarray(program.code, dtype=np.int64).reshape(-1, L.CODE_WORDS)


def timers_per_g(code: np.ndarray) -> int:
    """Timer heap entries one G may hold at once: one for a `sleep`, one per `after:` case of
    a select (its largest); 0 when the program has neither (no timer thread either)."""
    afters = [int((code[i + 1:i + 1 + code[i, I_A], I_A] == ops.CASE_AFTER).sum())
              for i in np.flatnonzero(code[:, I_OP] == SELECT)]
    return max([int((code[:, I_OP] == ops.SLEEP).any()), *afters])


def uses_net(code: np.ndarray) -> bool:
    """Whether Gs wait on the netpoller: `netwait`, or `serve`'s listener."""
    return bool(np.isin(code[:, I_OP], (ops.NETWAIT, ops.SERVE_ACCEPT)).any())


def words_per_g(program) -> int:
    """The int64 words each G table row brings with it: its G row (with its select header),
    frame stack, sudog block (a sudog per case of the largest select, at least one) and timer /
    network heap entries."""
    code = _code(program)
    heaps = L.HEAP_WORDS * (timers_per_g(code) + uses_net(code))
    return (L.GSTRIDE + max(1, int(program.max_depth)) + sudogs_per_g(code) * L.SGSTRIDE
            + heaps)


def gs_that_fit(program) -> int:
    """G table rows whose per-G regions (words_per_g) would fill half this machine's memory:
    a program that creates more Gs one after another (a bound counts every G created) still
    gets a table the kernel lets it map, and no run could hold more live anyway."""
    per_g = 8 * words_per_g(program)
    return max(1, os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2 // per_g)


def new_state(program, procs: int, knobs: np.ndarray, max_threads: int, max_gs: int,
              seed: int, trace_max: int = 0, steps_per_ns: float | None = None) -> np.ndarray:
    """The state of one run of program at GOMAXPROCS=procs; every P starts idle.  trace_max > 0
    turns the execution trace on with buffers of that many events per M (trace.py).
    steps_per_ns is `work`'s rate (default: this machine's calibration, work.steps_per_ns)."""
    maxm = max_threads + 2          # row 0 unused, and room for sysmon
    trace_rows = min(maxm + 1, L.TRACE_MS_MAX) if trace_max > 0 else 0
    caps = np.asarray(program.chan_caps, dtype=np.int64)
    code = np.asarray(program.code, dtype=np.int64).reshape(-1, L.CODE_WORDS)
    dists = _dist_rows(program.dists)
    maxprocs = max_procs(code, procs)
    cop = coprimes(procs)
    depth = max(1, int(program.max_depth))
    sgn = sudogs_per_g(code)
    # --- sizes (issue 16) --- heap entries only for the Gs that may use them (see "State layout")
    timers = (max_gs + 1) * timers_per_g(code)      # a sleep, or a select's afters
    net_gs = max_gs if uses_net(code) else 0
    sizes = [
        (L.H_ALLP, (maxprocs + 1) * L.PSTRIDE),
        (L.H_RUNQ, (maxprocs + 1) * L.RUNQ_MAX),
        (L.H_ALLM, (maxm + 1) * L.MSTRIDE),
        (L.H_ALLG, (max_gs + 1) * L.GSTRIDE),
        (L.H_GSTK, (max_gs + 1) * depth),
        (L.H_CHANS, (len(caps) + 1) * L.CSTRIDE),
        (L.H_CHANBUF, int(np.maximum(caps, 0).sum())),
        (L.H_GROUPS, (len(program.group_names) + 1) * L.WSTRIDE),
        (L.H_MUTEXES, (len(program.mutex_names) + 1) * L.XSTRIDE),
        (L.H_CODE, code.size),
        (L.H_DISTS, dists.size),
        (L.H_MSTATS, (maxm + 1) * L.STSTRIDE),
        (L.H_MLAT, (maxm + 1) * NBUCKETS),
        (L.H_COPRIMES, maxprocs + 1),      # room for any gomaxprocs of the run (procresize)
        (L.H_TIMERS, L.HEAP_WORDS * timers),
        (L.H_NETHEAP, L.HEAP_WORDS * (net_gs + 1)),
        (L.H_MEVENTS, (maxm + 1) * L.EVENTS_WORDS),
        (L.H_MNETLAT, (maxm + 1) * NBUCKETS),
        (L.H_MTRACE, trace_rows * trace_max * L.TRACE_WORDS),
        (L.H_STWLAT, 2 * NBUCKETS),      # issue 13: time-to-safepoint, pause
        (L.H_SUDOGS, (max_gs + 1) * sgn * L.SGSTRIDE),
        (L.H_MREQLAT, (maxm + 1) * NBUCKETS),
    ]
    bases, end = {}, L.SCHED_SIZE
    for h, n in sizes:
        bases[h] = end
        end += -(-max(n, 1) // L.LINE) * L.LINE
    S = aligned_zeros(end)
    for h, b in bases.items():
        S[h] = b
    assert all(S[h] >= L.SCHED_SIZE for h in range(L.H_ALLP, L.H_END)
               if h not in (L.H_GSTKDEPTH, L.H_SUDOGN)), \
        "a table of layout.py has no region in new_state"
    S[L.H_GSTKDEPTH] = depth
    S[L.H_SUDOGN] = sgn
    S[L.H_END] = end
    S[S[L.H_CODE]:S[L.H_CODE] + code.size] = code.ravel()
    S[S[L.H_DISTS]:S[L.H_DISTS] + dists.size] = dists.ravel()
    assert NKNOBS <= L.KNOBS_MAX
    S[L.S_KNOBS:L.S_KNOBS + NKNOBS] = np.asarray(knobs, dtype=np.int64)
    S[S[L.H_COPRIMES]:S[L.H_COPRIMES] + len(cop)] = cop
    offs = np.concatenate([[0], np.cumsum(np.maximum(caps, 0))[:-1]]).astype(np.int64)
    for i, cap in enumerate(caps):             # channels, groups, mutexes: row = index
        c = table(S, L.H_CHANS, L.CSTRIDE, i)
        c[L.C_CAP] = cap
        c[L.C_BUFOFF] = offs[i]
    S[L.S_NPROCS] = procs
    S[L.S_MAXPROCS] = maxprocs
    S[L.S_WORLDSEMA] = len(program.mutex_names)     # the spare mutex row: worldsema
    if GC_FUNCTION in program.func_names:
        S[L.S_GCENTRY] = int(program.func_entry[program.func_names.index(GC_FUNCTION)]) + 1
    S[L.S_MAXMCOUNT] = max_threads
    S[L.S_MAXG] = max_gs
    S[L.S_NS_PER_TSC_Q20] = max(1, round((1 << 40) / tsc_per_ns_q20()))
    S[L.S_SEED] = seed
    rate = work.steps_per_ns() if steps_per_ns is None else float(steps_per_ns)
    S[L.S_STEPS_PER_NS:L.S_STEPS_PER_NS + 1].view(np.float64)[0] = rate
    S[L.S_TRACE_MS] = trace_rows
    S[L.S_TRACE] = trace_max if trace_rows else 0
    for pid in range(procs, 0, -1):          # the pidle list, P 1 at its head
        p = table(S, L.H_ALLP, L.PSTRIDE, pid)
        p[L.P_ID] = pid
        p[L.P_STATUS] = L.Pidle
        p[L.P_LINK] = S[L.S_PIDLE]
        S[L.S_PIDLE] = pid
    S[L.S_NPIDLE] = procs
    for mid in range(1, maxm + 1):
        m = table(S, L.H_ALLM, L.MSTRIDE, mid)
        m[L.M_ID] = mid
        m[L.M_FASTRAND] = (seed * 2654435761 + mid * 40503) | 1
    return S


def sudogs_per_g(code: np.ndarray) -> int:
    """Rows of a G's sudog block: one sudog per case of the largest select of the program, at
    least one.  A G waits in at most one channel operation at a time (it runs one statement; a
    select queues one sudog per case, chan.chansend/chanrecv one), so without `select` one row
    is enough; the select header is a G row's words (layout.py), not a row of this block."""
    selects = code[code[:, I_OP] == SELECT, I_A]
    return max(1, int(selects.max()) if selects.size else 1)


def max_procs(code: np.ndarray, procs: int) -> int:
    """The most Ps the run can have: procs, or a larger `setprocs: N` of the program."""
    return max([procs, *code[code[:, I_OP] == SETPROCS, I_A].tolist()])


def steps_per_ns(S: np.ndarray) -> float:
    """The `work` rate a state was made with."""
    return float(S[L.S_STEPS_PER_NS:L.S_STEPS_PER_NS + 1].view(np.float64)[0])


def table(S: np.ndarray, header: int, stride: int, i: int) -> np.ndarray:
    """A view of row i of the table whose base is S[header]."""
    b = int(S[header]) + i * stride
    return S[b:b + stride]


def rows(S: np.ndarray, header: int, stride: int, n: int) -> np.ndarray:
    """Rows 0..n-1 of a table as a 2-D view."""
    b = int(S[header])
    return S[b:b + n * stride].reshape(n, stride)
