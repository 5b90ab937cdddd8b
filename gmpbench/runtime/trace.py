"""The execution trace: what each M did, when, recorded without locks.

Each M appends to its own buffer (``S_TRACE`` events of TRACE_WORDS words at H_MTRACE, row =
mid) and keeps its count in its mstats row (ST_TRACE_N), so recording is plain stores.  A full
buffer, or an M beyond the TRACE_MS_MAX rows that have one, drops the event and counts it
(ST_TRACE_DROPPED).  With ``S_TRACE`` 0 every recording site costs one load and a branch.

An event is [cputicks, kind | arg << KIND_BITS, goid (0: none), the M's P (0: none)].  What arg
holds depends on the kind (see EV_*).  ``collect`` merges the buffers after the run.
"""
import numpy as np

from .atomics import cputicks
from .clock import ticks_to_ns_py
from .layout import (
    G_FUNC,
    G_GOID,
    G_WAITREASON,
    H_MSTATS,
    H_MTRACE,
    M_P,
    S_MCOUNT,
    S_STARTTICK,
    S_TRACE,
    S_TRACE_MS,
    ST_TRACE_DROPPED,
    ST_TRACE_N,
    STSTRIDE,
    TR_GOID,
    TR_KINDARG,
    TR_P,
    TR_TICKS,
    TRACE_WORDS,
)
from .mem import Sarr, core, count, gx, i64, mx, stx, void

EV_GO_START = 1           # gp starts running on the P (execute); arg: its entry pc (G_FUNC)
EV_GO_STOP = 2            # gp stops (finish); arg: WHY_* | wait reason << WHY_BITS
EV_SYSCALL_ENTER = 3      # arg: 1 for a blocking syscall (entersyscallblock); P: the one left
EV_SYSCALL_EXIT_FAST = 4  # gp runs on at once; P: the one it got back
EV_SYSCALL_EXIT_SLOW = 5  # exitsyscall0; P: the idle P it took, or 0 (gp was queued)
EV_STEAL = 6              # arg: victim P | Gs taken << STEAL_SHIFT; P: the thief
EV_NETPOLL = 7            # arg: Gs the poll made ready
# --- STW / procresize (issue 13) ---
EV_STW_STOP = 8           # the stopper asks the world to stop; arg: gomaxprocs
EV_STW_STOPPED = 9        # every P is stopped
EV_STW_START = 10         # the world runs again; arg: gomaxprocs after (procresize)
KIND_BITS = 8
WHY_BITS = 4
STEAL_SHIFT = 16

TRACE_DTYPE = np.dtype([("t", np.int64), ("m", np.int64), ("kind", np.int64),
                        ("arg", np.int64), ("goid", np.int64), ("p", np.int64)])


@core(void(Sarr, i64, i64, i64, i64))
def trace_record(S, mid, kind, gp, arg):
    """Append one event to M mid's buffer, or count it as dropped.  A G's start carries its
    entry pc, a G's stop its wait reason (meaningful for a park)."""
    n = S[stx(S, mid) + ST_TRACE_N]
    cap = S[S_TRACE]
    if mid >= S[S_TRACE_MS] or n >= cap:
        count(S, mid, ST_TRACE_DROPPED, 1)
        return
    g = gx(S, gp)                           # row 0 (gp == 0) is all zeros
    if kind == EV_GO_START:
        arg = S[g + G_FUNC]
    elif kind == EV_GO_STOP:
        arg |= S[g + G_WAITREASON] << WHY_BITS
    e = S[H_MTRACE] + (mid * cap + n) * TRACE_WORDS
    S[e + TR_TICKS] = cputicks()
    S[e + TR_KINDARG] = kind | (arg << KIND_BITS)
    S[e + TR_GOID] = S[g + G_GOID]
    S[e + TR_P] = S[mx(S, mid) + M_P]
    S[stx(S, mid) + ST_TRACE_N] = n + 1


@core(void(Sarr, i64, i64, i64, i64))
def trace_event(S, mid, kind, gp, arg):
    """Record an event of M mid if tracing is on (see the EV_* kinds for gp and arg)."""
    if S[S_TRACE] != 0:
        trace_record(S, mid, kind, gp, arg)


# ---- the Python side --------------------------------------------------------------------------

def collect(S: np.ndarray) -> tuple[np.ndarray, int]:
    """Every M's events merged and sorted by time (TRACE_DTYPE; t in ns since main became
    runnable), and the number of events dropped."""
    cap = int(S[S_TRACE])
    nm = int(S[S_MCOUNT]) + 1
    st = S[int(S[H_MSTATS]):int(S[H_MSTATS]) + nm * STSTRIDE].reshape(nm, STSTRIDE)
    dropped = int(st[:, ST_TRACE_DROPPED].sum())
    parts = []
    for mid in range(1, min(nm, int(S[S_TRACE_MS]))):
        n = min(int(st[mid, ST_TRACE_N]), cap)
        base = int(S[H_MTRACE]) + mid * cap * TRACE_WORDS
        raw = S[base:base + n * TRACE_WORDS].reshape(n, TRACE_WORDS)
        ev = np.empty(n, dtype=TRACE_DTYPE)
        ev["t"] = raw[:, TR_TICKS]
        ev["m"] = mid
        ev["kind"] = raw[:, TR_KINDARG] & ((1 << KIND_BITS) - 1)
        ev["arg"] = raw[:, TR_KINDARG] >> KIND_BITS
        ev["goid"] = raw[:, TR_GOID]
        ev["p"] = raw[:, TR_P]
        parts.append(ev)
    events = np.concatenate(parts) if parts else np.empty(0, dtype=TRACE_DTYPE)
    events = events[np.argsort(events["t"], kind="stable")]
    ticks = events["t"] - S[S_STARTTICK]
    events["t"] = ticks_to_ns_py(S, ticks)
    return events, dropped
