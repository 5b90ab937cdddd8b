"""System calls: entersyscall, entersyscallblock, exitsyscall and its fast paths, exitsyscall0.

A G in a syscall keeps its M, and the M keeps a claim on its P (m.p) while the P sits in
_Psyscall with no M (p.m = 0).  Whoever CASes the P out of _Psyscall owns it: the returning M
(exitsyscallfast) or sysmon's retake (then handoffp gives it to another M).  P_SYSCALLTICK
counts syscalls and retakes, so a returning M can tell whether its P was taken meanwhile and
sysmon can tell a long syscall from a series of short ones.
"""
from .atomics import cas, load, store
from .layout import (
    M_P,
    M_SYSCALLTICK,
    P_M,
    P_STATUS,
    P_SYSCALLTICK,
    S_GCWAITING,
    S_LOCK,
    S_PIDLE,
    S_STOPWAIT,
    ST_SYSCALL_FAST_EXITS,
    ST_SYSCALL_SLOW_EXITS,
    ST_SYSCALLS,
    Grunnable,
    Grunning,
    Gsyscall,
    Pgcstop,
    Prunning,
    Psyscall,
)
from .lock import lock, unlock
from .mem import Sarr, boolean, core, count, gx, i64, knob, mx, px, void
from .osdeps import nanosleep
from .policy import K_SYSCALL_FASTPATH
from .proc import (
    acquirep,
    casgstatus,
    dropg,
    gcstop_p,
    handoffp,
    releasep,
    stamp_runnable,
    stopping,
    wake_sysmon,
)
from .runq import globrunqput, pidleget
from .trace import EV_SYSCALL_ENTER, EV_SYSCALL_EXIT_FAST, EV_SYSCALL_EXIT_SLOW, trace_event

SYSCALL_SLICE_NS = 50_000_000   # a long syscall is made of real sleeps of at most this


@core(void(Sarr, i64, i64))
def entersyscall(S, mid, gp):
    """gp enters a syscall: its P goes to _Psyscall, still claimed by this M (m.p), so sysmon
    may retake it if the call lasts."""
    m = mx(S, mid)
    p = px(S, S[m + M_P])
    count(S, mid, ST_SYSCALLS, 1)
    trace_event(S, mid, EV_SYSCALL_ENTER, gp, 0)
    casgstatus(S, gp, Grunning, Gsyscall)
    wake_sysmon(S)                      # sysmon must watch this P now
    S[m + M_SYSCALLTICK] = S[p + P_SYSCALLTICK]
    S[p + P_M] = 0
    store(S, p + P_STATUS, Psyscall)
    if load(S, S_GCWAITING) != 0:
        entersyscall_gcwait(S, S[m + M_P])


@core(void(Sarr, i64))
def entersyscall_gcwait(S, pid):
    """A stop-the-world began while we ran: stop our P now, unless the stopper's scan of
    _Psyscall Ps (or a retake) already took it -- whoever CASes it out of _Psyscall owns it."""
    p = px(S, pid)
    lock(S, S_LOCK)
    if S[S_STOPWAIT] > 0 and cas(S, p + P_STATUS, Psyscall, Pgcstop):
        S[p + P_SYSCALLTICK] += 1
        gcstop_p(S, pid)
    unlock(S, S_LOCK)


@core(void(Sarr, i64, i64))
def entersyscallblock(S, mid, gp):
    """The same for a call known to block: hand the P off at once."""
    m = mx(S, mid)
    p = px(S, S[m + M_P])
    count(S, mid, ST_SYSCALLS, 1)
    trace_event(S, mid, EV_SYSCALL_ENTER, gp, 1)
    S[m + M_SYSCALLTICK] = S[p + P_SYSCALLTICK]
    S[p + P_SYSCALLTICK] += 1
    casgstatus(S, gp, Grunning, Gsyscall)
    handoffp(S, mid, releasep(S, mid))


@core(void(Sarr, i64))
def blocking_call(S, ns):
    """The system call itself: real nanosleeps adding up to ns (in slices, so that the end of a
    run is never held up for long) -- at least one, so `syscall: 0` is a real nanosleep(0), as
    the Go engine's is (it still sleeps for the thread's timer slack)."""
    while True:
        step = min(ns, SYSCALL_SLICE_NS)
        nanosleep(step)
        ns -= step
        if ns <= 0 or stopping(S):
            return


@core(boolean(Sarr, i64))
def exitsyscallfast(S, mid):
    """Get a P back without the scheduler: our own P if it is still in _Psyscall (nobody
    retook it), else any idle P.  True on success (the M then holds a P)."""
    m = mx(S, mid)
    oldp = S[m + M_P]
    if oldp != 0:
        p = px(S, oldp)
        if load(S, p + P_STATUS) == Psyscall and cas(S, p + P_STATUS, Psyscall, Prunning):
            S[p + P_M] = mid            # exitsyscallfast_reacquired
            if S[m + M_SYSCALLTICK] != S[p + P_SYSCALLTICK]:
                S[p + P_SYSCALLTICK] += 1
            return True
    S[m + M_P] = 0
    if load(S, S_PIDLE) != 0:          # exitsyscallfast_pidle
        lock(S, S_LOCK)
        pid = pidleget(S)
        unlock(S, S_LOCK)
        if pid != 0:
            wake_sysmon(S)
            acquirep(S, mid, pid)
            return True
    return False


@core(void(Sarr, i64))
def give_up_p(S, mid):
    """With the fast path disabled: release a P still in _Psyscall as a retake would."""
    m = mx(S, mid)
    oldp = S[m + M_P]
    if oldp != 0:
        p = px(S, oldp)
        if cas(S, p + P_STATUS, Psyscall, Prunning):
            S[p + P_M] = mid
            S[p + P_SYSCALLTICK] += 1
            handoffp(S, mid, releasep(S, mid))
    S[m + M_P] = 0


@core(boolean(Sarr, i64, i64))
def exitsyscall(S, mid, gp):
    """gp's syscall returned.  True: the M holds a P and gp runs on (the fast path).  False: gp
    went through exitsyscall0 -- it is runnable, and this M holds a P only if it found an idle
    one (then it runs gp next), else gp is on the global queue and the M must stop."""
    if knob(S, K_SYSCALL_FASTPATH) != 0 and exitsyscallfast(S, mid):
        p = px(S, S[mx(S, mid) + M_P])
        S[p + P_SYSCALLTICK] += 1
        casgstatus(S, gp, Gsyscall, Grunning)
        count(S, mid, ST_SYSCALL_FAST_EXITS, 1)
        trace_event(S, mid, EV_SYSCALL_EXIT_FAST, gp, 0)
        return True
    if knob(S, K_SYSCALL_FASTPATH) == 0:
        give_up_p(S, mid)
    exitsyscall0(S, mid, gp)
    return False


@core(void(Sarr, i64, i64))
def exitsyscall0(S, mid, gp):
    """exitsyscall's slow path: gp becomes runnable; take an idle P to run it, or queue it
    globally (the caller then stops this M)."""
    count(S, mid, ST_SYSCALL_SLOW_EXITS, 1)
    casgstatus(S, gp, Gsyscall, Grunnable)
    dropg(S, mid, gp)                   # gp may run on another M before this one runs again
    stamp_runnable(S, gx(S, gp))
    lock(S, S_LOCK)
    pid = pidleget(S)
    if pid == 0:
        globrunqput(S, gp)
    unlock(S, S_LOCK)
    if pid != 0:
        wake_sysmon(S)
        acquirep(S, mid, pid)
    trace_event(S, mid, EV_SYSCALL_EXIT_SLOW, gp, 0)
