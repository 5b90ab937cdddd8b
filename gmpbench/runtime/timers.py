"""Timers for `sleep: D` (time.Sleep) and select's `after: D` (selectgo.py): one min-heap of
(when, G) under a lock, served by a timer thread; an `after:` timer's value is -sg, its sudog
(chan.fire_after).

How this maps to Go (DESIGN.md, "Timers", which also says what the difference changes in the
figures): in Go 1.9/1.10 timers lived in heaps served by timerproc goroutines that slept in
notetsleepg (entersyscallblock) and readied expired Gs onto their own P's runnext.  Here a
dedicated thread (not an M: it holds no P and runs no G) sleeps on a futex until the earliest
deadline and hands expired Gs to the scheduler with injectglist -- the global queue plus startm
for idle Ps -- as the netpoller does, then wakes sysmon as timerproc's exitsyscall did (the
loop is servers.serve).  A G parks holding the timer lock, released by park_m once it is
_Gwaiting, so the timer thread never readies a running G.
"""
from .atomics import xadd
from .heap import heap_push
from .layout import (
    G_WHEN,
    H_TIMERS,
    HEAP_VALUE,
    S_NTIMERS,
    S_TIMERHEAPN,
    S_TIMERLOCK,
    S_TIMERNOTE,
    UNLOCK_TIMER,
    WAIT_SLEEP,
)
from .lock import lock, nanotime, runtime_timerslack, seqwake
from .mem import Sarr, core, gx, i64, void
from .proc import prepark
from .servers import SERVE_TIMERS, serve


@core(void(Sarr, i64, i64))
def addtimer(S, when, value):
    """Queue a timer (timer lock held): value is a G (`sleep`) or -sg (an `after:` case).
    Counted in S_NTIMERS until the timer thread has handed it on (or deltimer removed it)."""
    xadd(S, S_NTIMERS, 1)
    heap_push(S, S[H_TIMERS], S_TIMERHEAPN, when, value)
    if S[S[H_TIMERS] + HEAP_VALUE] == value:    # the new earliest: the timer thread must know
        seqwake(S, S_TIMERNOTE, 1)


@core(void(Sarr, i64, i64, i64))
def timesleep(S, mid, gp, ns):
    """`sleep: ns`: queue gp's timer and prepare it to park; the timer lock stays held until
    park_m has made gp _Gwaiting."""
    when = nanotime() + ns
    S[gx(S, gp) + G_WHEN] = when
    lock(S, S_TIMERLOCK)
    addtimer(S, when, gp)
    prepark(S, mid, gp, WAIT_SLEEP, 0, UNLOCK_TIMER)


@core(void(Sarr))
def timerproc(S):
    """The timer thread: ready every G whose time has come, then sleep until the next one
    (servers.serve)."""
    runtime_timerslack(S)
    serve(S, SERVE_TIMERS)
