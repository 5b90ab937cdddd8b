"""Timers for `sleep: D` (time.Sleep) and select's `after: D` (selectgo.py): one min-heap of (when, G) under a lock, served by a
timer thread.

How this maps to Go (DESIGN.md, "Timers", which also says what the difference changes in the
figures): in Go 1.9/1.10 timers lived in heaps served by timerproc goroutines that slept in
notetsleepg (entersyscallblock) and readied expired Gs onto their own P's runnext.  Here a
dedicated thread (not an M: it holds no P and runs no G) sleeps on a futex until the earliest
deadline and hands expired Gs to the scheduler with injectglist -- the global queue plus startm
for idle Ps -- as the netpoller does, then wakes sysmon as timerproc's exitsyscall did.  A G parks holding the timer
lock, released by park_m once it is _Gwaiting, so the timer thread never readies a running G.
"""
from .atomics import cas, load, xadd
from .chan import selx, sg_g
from .heap import heap_due, heap_pop, heap_push, heap_sleep
from .layout import (
    G_SCHEDLINK,
    G_WHEN,
    H_TIMERS,
    S_NTIMERS,
    S_TIMERHEAPN,
    S_TIMERLOCK,
    S_TIMERNOTE,
    SEL_DONE,
    SEL_PARAM,
    UNLOCK_TIMER,
    WAIT_SLEEP,
)
from .lock import lock, runtime_timerslack, nanotime, unlock
from .mem import Sarr, core, gx, i64, void
from .osdeps import futex_wait, futex_wake
from .proc import injectglist, prepark, stopping, wake_sysmon


@core(void(Sarr, i64, i64, i64))
def timesleep(S, mid, gp, ns):
    """`sleep: ns`: queue gp's timer and prepare it to park; the timer lock stays held until
    park_m has made gp _Gwaiting."""
    when = nanotime() + ns
    S[gx(S, gp) + G_WHEN] = when
    xadd(S, S_NTIMERS, 1)
    lock(S, S_TIMERLOCK)
    heap_push(S, S[H_TIMERS], S_TIMERHEAPN, when, gp)
    if S[S[H_TIMERS] + 1] == gp:        # the new earliest timer: the timer thread must know
        xadd(S, S_TIMERNOTE, 1)
        futex_wake(S, S_TIMERNOTE, 1)
    prepark(S, mid, gp, WAIT_SLEEP, 0, UNLOCK_TIMER)


@core(i64(Sarr, i64))
def fire_after(S, sg):
    """A select's `after:` timer (timer lock held): its G when the timer wins the select
    (SEL_DONE, against the select's channel partners), else 0 -- the select already ended."""
    gp = sg_g(S, sg)
    h = selx(S, gp)
    if not cas(S, h + SEL_DONE, 0, 1):
        return 0
    S[h + SEL_PARAM] = sg
    return gp


@core(void(Sarr))
def timerproc(S):
    """The timer thread: ready every G whose time has come, then sleep until the next one."""
    runtime_timerslack(S)
    while not stopping(S):
        lock(S, S_TIMERLOCK)
        now = nanotime()
        glist = 0
        n = 0
        while heap_due(S, S[H_TIMERS], S_TIMERHEAPN, now):
            gp = heap_pop(S, S[H_TIMERS], S_TIMERHEAPN)
            n += 1
            if gp < 0:
                gp = fire_after(S, -gp)
                if gp == 0:
                    continue
            S[gx(S, gp) + G_SCHEDLINK] = glist
            glist = gp
        wait = heap_sleep(S, S[H_TIMERS], S_TIMERHEAPN, now)
        seq = load(S, S_TIMERNOTE)
        unlock(S, S_TIMERLOCK)
        injectglist(S, 0, glist)
        if n > 0:
            wake_sysmon(S)              # as timerproc's exitsyscall after notetsleepg did
        # Only now are they runnable: until here checkdead must still count them as pending.
        xadd(S, S_NTIMERS, -n)
        if wait > 0:
            futex_wait(S, S_TIMERNOTE, seq, wait)
