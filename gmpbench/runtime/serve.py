"""`serve`: open-loop load, net/http's shape -- a server goroutine accepting arrivals on a
listening connection and starting one goroutine per request.

Arrivals keep their own schedule (Poisson or constant inter-arrival times drawn from the server
G's stream): the schedule never waits for the server, so a request's latency runs from its
*scheduled* arrival to its handler's end (no coordinated omission).  The listener is the server
G's connection: the network emulator makes it ready at the next scheduled arrival, the server
parks on the netpoller until then (netwait), and on waking accepts every arrival that is due --
more than `backlog` of them waiting means the surplus is dropped, as a full listen queue
refuses connections; one accepted after the next request's scheduled arrival is counted late.

Frames (gstk) of a serving G: [requests left, the next scheduled arrival (ns)], pushed by
SERVE_BEGIN and popped when the last request is accepted; the handler's scheduled arrival is
its REQ_ARRIVAL word, set before the handler G is published.
"""
from .chan import selx
from .layout import (
    G_DEPTH,
    G_NETSTATE,
    G_PC,
    G_SP,
    M_P,
    REQ_ARRIVAL,
    ST_REQ_DROPPED,
    ST_REQ_LATE,
)
from .lock import nanotime
from .mem import Sarr, codex, core, count, gx, i64, mx, reqlatx, stkx, void
from .netpoll import netwait_finish, netwait_start
from .proc import gnew, publish
from .sampling import sample
from .stats import hist_record
from .sync import child_started
from ..workload.ops import I_A, I_B, I_C

SERVE_PARK = -1    # as selectgo.STEP_PARK
SERVE_STOP = -2


@core(i64(Sarr, i64, i64, i64))
def serve_begin(S, gp, dist, n):
    """SERVE_BEGIN: push [n, the first arrival: one inter-arrival time from now]."""
    g = gx(S, gp)
    top = stkx(S, gp) + S[g + G_SP]
    S[top] = n
    S[top + 1] = nanotime() + sample(S, g, dist)
    S[g + G_SP] += 2
    return 0


@core(i64(Sarr, i64, i64, i64, i64))
def start_handler(S, mid, gp, entry, arrival):
    """`go handler()` for a request due at arrival; 0 when the G table is full."""
    child_started(S, gp)
    h = gnew(S, mid, S[mx(S, mid) + M_P], entry, gp, 0)
    if h == 0:
        return 0
    S[gx(S, h) + G_DEPTH] = 0
    S[selx(S, h) + REQ_ARRIVAL] = arrival     # before publish: its M reads it at goexit
    publish(S, mid, h)
    return h


@core(i64(Sarr, i64, i64, i64))
def accept_due(S, mid, gp, pc):
    """Accept every arrival due by now; returns the requests still to come, or -1 when the
    run failed (the G table is full)."""
    g = gx(S, gp)
    ins = codex(S, pc)
    dist = S[codex(S, pc - 1) + I_A]
    top = stkx(S, gp) + S[g + G_SP] - 2
    now = nanotime()
    waiting = 0
    while S[top] > 0 and S[top + 1] <= now:
        arrival = S[top + 1]
        S[top + 1] = arrival + sample(S, g, dist)
        S[top] -= 1
        waiting += 1
        if waiting > S[ins + I_B]:
            count(S, mid, ST_REQ_DROPPED, 1)      # the listen queue was full
            continue
        if S[top + 1] <= now:
            count(S, mid, ST_REQ_LATE, 1)         # accepted after the next one was due
        if start_handler(S, mid, gp, S[ins + I_A], arrival) == 0:
            return -1
    return S[top]


@core(i64(Sarr, i64, i64, i64))
def serve_accept(S, mid, gp, pc):
    """SERVE_ACCEPT at pc: the next pc, SERVE_PARK (parked on the listener) or SERVE_STOP."""
    g = gx(S, gp)
    while True:
        if S[g + G_NETSTATE] != 0:
            netwait_finish(S, mid, gp)            # the listener was ready: accept
        left = accept_due(S, mid, gp, pc)
        if left < 0:
            S[g + G_PC] = pc
            return SERVE_STOP
        if left == 0:
            S[g + G_SP] -= 2
            return S[codex(S, pc) + I_C]
        wait = S[stkx(S, gp) + S[g + G_SP] - 1] - nanotime()
        if netwait_start(S, mid, gp, max(wait, 0)):
            S[g + G_PC] = pc                      # resumes here: netwait_finish, accept
            return SERVE_PARK


@core(void(Sarr, i64, i64))
def request_done(S, mid, gp):
    """goexit of gp: a handler records its request's latency, scheduled arrival -> now, in
    its M's histogram."""
    h = selx(S, gp) + REQ_ARRIVAL
    if S[h] != 0:
        hist_record(S, reqlatx(S, mid), max(nanotime() - S[h], 0))
        S[h] = 0
