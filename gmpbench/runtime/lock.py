"""Runtime locks and notes on futex words, in the shape of Go's lock_futex.go.

A *mutex* is one int64 word of S: 0 unlocked, 1 locked, 2 locked with sleepers.  ``lock`` spins
actively (procyield), then passively (osyield), then sleeps in the kernel; ``unlock`` wakes one
sleeper only when the word says there may be one.

A *note* is a one-shot wakeup: ``noteclear`` arms it, ``notesleep`` blocks the calling thread
until ``notewakeup``; exactly one notewakeup per noteclear (a second is a bug and throws).
Both keep their word on its own cache line (the caller's layout guarantees that).
"""
from .atomics import cas, load, pause, store, xadd, xchg
from .layout import FATAL_THROW, S_FATAL
from .mem import Sarr, boolean, core, i64, knob, void
from .osdeps import (
    CLOCK_MONOTONIC,
    PR_SET_TIMERSLACK,
    SYS_PRCTL,
    SYS_SCHED_YIELD,
    clock_ns,
    futex_wait,
    futex_wake,
    syscall6,
)
from .policy import K_TIMER_SLACK_NS

MUTEX_UNLOCKED = 0
MUTEX_LOCKED = 1
MUTEX_SLEEPING = 2
ACTIVE_SPIN = 4        # rounds of procyield before yielding (Go: active_spin)
ACTIVE_SPIN_CNT = 30   # PAUSEs per round (Go: active_spin_cnt)
PASSIVE_SPIN = 1       # rounds of osyield before sleeping (Go: passive_spin)
LOCK_SLEEP_NS = 10_000_000  # a sleeper re-checks this often whether the run has failed

@core(void(i64))
def procyield(cycles):
    for _ in range(cycles):
        pause()


@core(void())
def osyield():
    syscall6(SYS_SCHED_YIELD, 0, 0, 0, 0, 0, 0)


@core(void(i64))
def set_timerslack(ns):
    """Set this thread's timer slack: how late the kernel may end its sleeps and timeouts."""
    syscall6(SYS_PRCTL, PR_SET_TIMERSLACK, ns, 0, 0, 0, 0)


@core(void(Sarr))
def runtime_timerslack(S):
    """A runtime thread's timer slack (every M, sysmon, the timer thread): Go leaves the
    kernel's default (50 µs), which stretches sysmon's 20 µs sleep and every short syscall; the
    knob timer_slack_ns sets it instead."""
    ns = knob(S, K_TIMER_SLACK_NS)
    if ns > 0:
        set_timerslack(ns)


@core(i64())
def nanotime():
    return clock_ns(CLOCK_MONOTONIC)


@core(void(Sarr, i64))
def lock(a, i):
    """Acquire the mutex word a[i]."""
    v = xchg(a, i, MUTEX_LOCKED)
    if v == MUTEX_UNLOCKED:
        return
    # A sleeper may exist: whoever takes the lock from here on keeps the
    # word at `wait` so that its unlock wakes the next sleeper.
    wait = v
    while True:
        for _ in range(ACTIVE_SPIN):
            while load(a, i) == MUTEX_UNLOCKED:
                if cas(a, i, MUTEX_UNLOCKED, wait):
                    return
            procyield(ACTIVE_SPIN_CNT)
        for _ in range(PASSIVE_SPIN):
            while load(a, i) == MUTEX_UNLOCKED:
                if cas(a, i, MUTEX_UNLOCKED, wait):
                    return
            osyield()
        v = xchg(a, i, MUTEX_SLEEPING)
        if v == MUTEX_UNLOCKED:
            return
        wait = MUTEX_SLEEPING
        futex_wait(a, i, MUTEX_SLEEPING, LOCK_SLEEP_NS)
        # A thread that raised while holding the lock never releases it (threads.py then
        # records FATAL_THROW): give up instead of waiting for the join timeout.
        if load(a, S_FATAL) == FATAL_THROW:
            raise RuntimeError("lock: abandoned by a thread that failed")


@core(void(Sarr, i64))
def unlock(a, i):
    """Release the mutex word a[i]; wakes one sleeper if there may be any."""
    v = xchg(a, i, MUTEX_UNLOCKED)
    if v == MUTEX_UNLOCKED:
        raise RuntimeError("unlock of unlocked lock")
    if v == MUTEX_SLEEPING:
        futex_wake(a, i, 1)


@core(void(Sarr, i64, i64))
def seqwake(a, i, n):
    """Bump the sequence word a[i], then wake up to n of its sleepers.  Partner: a sleeper that
    read the sequence before it last looked (seqsleep) -- its futex_wait returns at once when
    the word has moved, so no bump made between its look and its sleep is lost."""
    xadd(a, i, 1)
    futex_wake(a, i, n)


@core(void(Sarr, i64, i64, i64))
def seqsleep(a, i, seq, ns):
    """Sleep on the sequence word a[i] read as seq, at most ns (none when ns <= 0): seqwake's
    partner."""
    if ns > 0:
        futex_wait(a, i, seq, ns)


@core(void(Sarr, i64))
def noteclear(a, i):
    store(a, i, 0)


@core(void(Sarr, i64))
def notewakeup(a, i):
    old = xchg(a, i, 1)
    if old != 0:
        raise RuntimeError("notewakeup - double wakeup")
    futex_wake(a, i, 1)


@core(void(Sarr, i64))
def notesleep(a, i):
    """Block until notewakeup; tolerant of spurious futex returns."""
    while load(a, i) == 0:
        futex_wait(a, i, 0, -1)


@core(boolean(Sarr, i64, i64))
def notetsleep(a, i, ns):
    """Block until notewakeup or ns nanoseconds have passed; True when woken."""
    if ns < 0:
        notesleep(a, i)
        return True
    deadline = nanotime() + ns
    while load(a, i) == 0:
        left = deadline - nanotime()
        if left <= 0:
            return False
        futex_wait(a, i, 0, left)
    return True
