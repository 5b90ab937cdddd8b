"""sysmon: the system monitor thread -- retake of Ps blocked in syscalls, preemption of Gs that
run too long, deep sleep while every P is idle (proc.go's sysmon, retake, preemptone).

sysmon runs on an M of its own without a P (counted in sched.nmsys so checkdead ignores it).
It sleeps 20 µs between rounds, doubling after 50 rounds without a retake up to 10 ms.  Per P
it keeps the sysmontick snapshot (P_SM_*): a P whose schedtick (syscalltick) has not moved since
the previous round has been running one G (been in one syscall) for the whole interval.  Why
that syscall rule can lock sysmon into its 10 ms sleep, and the sysretake knob: DESIGN.md,
"sysmon".
"""
from .atomics import cas, load, load_relaxed, store
from .layout import (
    G_PREEMPT,
    M_CURG,
    P_M,
    P_SCHEDTICK,
    P_SM_SCHEDTICK,
    P_SM_SCHEDWHEN,
    P_SM_SYSCALLTICK,
    P_SM_SYSCALLWHEN,
    P_STATUS,
    P_SYSCALLTICK,
    S_GCWAITING,
    S_LASTPOLL,
    S_LOCK,
    S_MCOUNT,
    S_NMSPINNING,
    S_NMSYS,
    S_NPIDLE,
    S_NPROCS,
    S_SYSMONNOTE,
    S_SYSMONWAIT,
    S_THREADS_MAX,
    ST_NETPOLL_GS_SYSMON,
    ST_RETAKES,
    Pidle,
    Prunning,
    Psyscall,
)
from .lock import lock, nanotime, noteclear, notetsleep, runtime_timerslack, unlock
from .mem import Sarr, boolean, core, count, gx, i64, knob, mx, px, void
from .netpoll import netpoll, netpollinited
from .osdeps import nanosleep
from .policy import K_PREEMPT_MS, K_RETAKE_AFTER_US, K_SYSRETAKE
from .proc import handoffp, incidlelocked, injectglist, stopping
from .runq import runqempty

SYSMON_MIN_DELAY_US = 20
SYSMON_MAX_DELAY_US = 10_000
SYSMON_IDLE_ROUNDS = 50          # ~1 ms of 20 µs rounds before the sleep starts doubling
SYSMON_DEEP_SLEEP_NS = 60_000_000_000  # Go: forcegcperiod/2 (stop_all wakes it at the end)
SYSCALL_RETAKE_GRACE_NS = 10_000_000
SYSMON_NETPOLL_NS = 10_000_000     # poll the network if nobody has for this long


@core(i64(Sarr))
def newsysmon(S):
    """Allocate sysmon's M (before main starts); returns its id."""
    lock(S, S_LOCK)
    mid = S[S_MCOUNT] + 1
    S[S_MCOUNT] = mid
    S[S_NMSYS] += 1
    S[S_THREADS_MAX] = max(S[S_THREADS_MAX], mid)
    unlock(S, S_LOCK)
    return mid


@core(boolean(Sarr, i64))
def preemptone(S, pid):
    """Ask the G running on pid to stop at its next preemption point (best effort)."""
    m = S[px(S, pid) + P_M]
    if m == 0:
        return False
    gp = load(S, mx(S, m) + M_CURG)
    if gp == 0:
        return False
    store(S, gx(S, gp) + G_PREEMPT, 1)
    return True


@core(boolean(Sarr, i64, i64, i64, boolean))
def retake_syscall(S, mid, pid, now, sysretake):
    """Retake pid if it has been in one syscall for a whole sysmon tick (or, with sysretake,
    its time slice is over) -- unless nothing else wants it: its queue is empty, other Ms spin
    or Ps idle, and it has waited under 10 ms."""
    p = px(S, pid)
    t = S[p + P_SYSCALLTICK]
    if not sysretake and S[p + P_SM_SYSCALLTICK] != t:
        S[p + P_SM_SYSCALLTICK] = t
        S[p + P_SM_SYSCALLWHEN] = now
        return False
    after = knob(S, K_RETAKE_AFTER_US) * 1000
    if after > 0 and S[p + P_SM_SYSCALLWHEN] == 0:
        # A P's first syscall: its syscalltick is still the snapshot's initial 0, so proc.go
        # (and the default here) retakes at once; the knob counts from now instead.
        S[p + P_SM_SYSCALLWHEN] = now
        return False
    if now - S[p + P_SM_SYSCALLWHEN] < after:
        return False
    if runqempty(S, pid) and load(S, S_NMSPINNING) + load(S, S_NPIDLE) > 0 and \
            S[p + P_SM_SYSCALLWHEN] + SYSCALL_RETAKE_GRACE_NS > now:
        return False
    # Count ourselves running before the CAS, so the M we retake from cannot return, go
    # idle and report a deadlock in between.
    incidlelocked(S, -1)
    took = cas(S, p + P_STATUS, Psyscall, Pidle)
    if took:
        count(S, mid, ST_RETAKES, 1)
        S[p + P_SYSCALLTICK] += 1
        handoffp(S, mid, pid)
    incidlelocked(S, 1)
    return took


@core(boolean(Sarr, i64, i64))
def preempt_long(S, pid, now):
    """Preempt the G on pid if it has run for a whole time slice (forcePreemptNS); True when
    the slice is over.  The snapshot moves only while sysmon looks at the P, so a slice counts
    from the first round that saw it."""
    p = px(S, pid)
    t = load_relaxed(S, p + P_SCHEDTICK)
    if S[p + P_SM_SCHEDTICK] != t:
        S[p + P_SM_SCHEDTICK] = t
        S[p + P_SM_SCHEDWHEN] = now
        return False
    slice_ns = knob(S, K_PREEMPT_MS) * 1_000_000
    if slice_ns > 0 and S[p + P_SM_SCHEDWHEN] + slice_ns <= now:
        preemptone(S, pid)
        return True
    return False


@core(i64(Sarr, i64, i64))
def retake(S, mid, now):
    """One sysmon round over every P; returns how many Ps were retaken from syscalls.
    With the sysretake knob (Go >= 1.14) the time slice is also watched in _Psyscall, and a P
    whose slice is over is retaken even though its syscalltick moved: Ms that take the P back
    from each other on exitsyscall's fast path change that tick at every exit."""
    n = 0
    for pid in range(1, S[S_NPROCS] + 1):
        s = load(S, px(S, pid) + P_STATUS)
        sysretake = False
        if s == Prunning or (s == Psyscall and knob(S, K_SYSRETAKE) != 0):
            sysretake = preempt_long(S, pid, now)
        if s == Psyscall and retake_syscall(S, mid, pid, now, sysretake):
            n += 1
    return n


@core(boolean(Sarr))
def sysmon_deep_sleep(S):
    """Every P is idle, or the world is stopping (startTheWorld wakes us): sleep until a
    syscall or its exit wakes us (wake_sysmon), or SYSMON_DEEP_SLEEP_NS pass.  True when it slept."""
    lock(S, S_LOCK)
    slept = (load(S, S_NPIDLE) == S[S_NPROCS] or load(S, S_GCWAITING) != 0) and \
        not stopping(S)
    if slept:
        store(S, S_SYSMONWAIT, 1)
        unlock(S, S_LOCK)
        notetsleep(S, S_SYSMONNOTE, SYSMON_DEEP_SLEEP_NS)
        lock(S, S_LOCK)
        store(S, S_SYSMONWAIT, 0)
        noteclear(S, S_SYSMONNOTE)
    unlock(S, S_LOCK)
    return slept


@core(void(Sarr, i64, i64))
def sysmon_netpoll(S, mid, now):
    """Poll the network if nobody has for 10 ms (every P busy, say): the Gs go to the global
    queue.  sysmon counts as a running M from before netpoll, which takes the Gs it finds off
    the netpoll waiter count, until injectglist has made them runnable: in between they are
    neither waiting on the network nor runnable, and the last M parking meanwhile must not
    see a deadlock (checkdead, partner of this incidlelocked pair)."""
    last = load(S, S_LASTPOLL)
    if not netpollinited(S) or last == 0 or last + SYSMON_NETPOLL_NS >= now:
        return
    cas(S, S_LASTPOLL, last, now)
    incidlelocked(S, -1)
    injectglist(S, mid, netpoll(S, mid, False, ST_NETPOLL_GS_SYSMON))
    incidlelocked(S, 1)


@core(void(Sarr, i64))
def sysmon(S, mid):
    runtime_timerslack(S)
    idle = 0
    delay = SYSMON_MIN_DELAY_US
    while not stopping(S):
        if idle == 0:
            delay = SYSMON_MIN_DELAY_US
        elif idle > SYSMON_IDLE_ROUNDS:
            delay = min(2 * delay, SYSMON_MAX_DELAY_US)
        nanosleep(delay * 1000)
        if (load(S, S_NPIDLE) == S[S_NPROCS] or load(S, S_GCWAITING) != 0) and \
                sysmon_deep_sleep(S):
            idle = 0                    # and on to this round's netpoll and retake, as Go
            delay = SYSMON_MIN_DELAY_US
        now = nanotime()
        sysmon_netpoll(S, mid, now)
        if retake(S, mid, now) != 0:
            idle = 0
        else:
            idle += 1
