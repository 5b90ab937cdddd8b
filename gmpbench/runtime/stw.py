"""Stop-the-world and GOMAXPROCS at run time: proc.go's stopTheWorldWithSema,
startTheWorldWithSema, procresize, gcstopm, preemptall and entersyscall_gcwait.

Who stops the world: a G that runs `stw: D` or `setprocs: N` (the `gc:` section's system
goroutine runs `stw:`), after acquiring worldsema -- a sync.Mutex row of its own here
(S_WORLDSEMA), so a second stopper parks as a G, as on Go's semacquire(&worldsema).  Its M then
works on the stop itself, as Go's does on its system stack.

The stop (DESIGN.md, "Stop the world"): under sched.lock set stopwait = gomaxprocs and
gcwaiting, ask every running G to stop at its next preemption point (preemptall), stop our
own P, CAS every P in _Psyscall to _Pgcstop and take every idle P off the idle list; the rest
stop themselves: an M that reaches schedule or findrunnable with gcwaiting set gives up its P
(gcstopm), handoffp stops the P it was handing off, entersyscall stops its own P.  Each of
those decrements stopwait under sched.lock and the one that reaches zero wakes stopnote
(proc.gcstop_p).  The stopper sleeps on stopnote 100 µs at a time, preempting again each time
(a G may have started after the first preemptall).

Histograms: time-to-safepoint (stop requested -> every P stopped) and pause (stopped -> world
started again), both in ns, in the H_STWLAT region; only the worldsema holder writes them.
"""
from .atomics import cas, load, store, xadd
from .layout import (
    G_SCHEDLINK,
    H_COPRIMES,
    H_STWLAT,
    M_NEXTP,
    M_P,
    M_PARK,
    M_SPINNING,
    P_GFREE,
    P_GFREECNT,
    P_ID,
    P_LINK,
    P_M,
    P_RUNNEXT,
    P_RUNQHEAD,
    P_RUNQTAIL,
    P_STATUS,
    P_SYSCALLTICK,
    S_GCWAITING,
    S_GFLOCK,
    S_GFREE,
    S_LOCK,
    S_MAXPROCS,
    S_NGFREE,
    S_NMSPINNING,
    S_NPIDLE,
    S_NPROCS,
    S_RUNQHEAD,
    S_RUNQSIZE,
    S_RUNQTAIL,
    S_STOPNOTE,
    S_STOPWAIT,
    S_SYSMONNOTE,
    S_SYSMONWAIT,
    ST_NETPOLL_GS_NONBLOCKING,
    ST_PROCRESIZES,
    ST_STW_PAUSES,
    ST_STW_PREEMPTIONS,
    Pdead,
    Pgcstop,
    Pidle,
    Prunning,
    Psyscall,
)
from .lock import lock, nanotime, noteclear, notetsleep, notewakeup, unlock
from .mem import Sarr, core, count, gx, i64, knob, mx, px, rqx, void
from .netpoll import netpoll, netpollinited
from .policy import K_RUNQ_SIZE
from .proc import (
    acquirep,
    gcstop_p,
    injectglist,
    newm,
    releasep,
    stopm,
    stopping,
    wake_note,
    wakep,
)
from .runq import mget, pidleget, pidleput, runqempty
from .histogram import NBUCKETS
from .stats import hist_record
from .sysmon import preemptone
from .trace import EV_STW_START, EV_STW_STOP, EV_STW_STOPPED, trace_event

STOP_RETRY_NS = 100_000     # the stopper re-preempts every 100 µs until every P stopped


# ---- the stopping side -----------------------------------------------------------------------

@core(void(Sarr, i64, i64))
def preemptall(S, mid, mypid):
    """Ask the G running on every other running P to stop at its next preemption point.  The
    stopper's own G is not asked (in Go it is, and yields right after the start)."""
    for pid in range(1, S[S_NPROCS] + 1):
        if pid != mypid and load(S, px(S, pid) + P_STATUS) == Prunning and preemptone(S, pid):
            count(S, mid, ST_STW_PREEMPTIONS, 1)


@core(void(Sarr, i64))
def stop_syscall_and_idle_ps(S, mid):
    """The Ps nobody runs stop at once: those in a syscall (CAS out of _Psyscall, which the
    returning M's exitsyscallfast would otherwise win) and the idle ones.  sched.lock held."""
    for pid in range(1, S[S_NPROCS] + 1):
        p = px(S, pid)
        if load(S, p + P_STATUS) == Psyscall and cas(S, p + P_STATUS, Psyscall, Pgcstop):
            S[p + P_SYSCALLTICK] += 1
            S[S_STOPWAIT] -= 1
    while True:
        pid = pidleget(S)
        if pid == 0:
            break
        store(S, px(S, pid) + P_STATUS, Pgcstop)
        S[S_STOPWAIT] -= 1


@core(void(Sarr, i64))
def stopTheWorldWithSema(S, mid):
    """Stop every P; returns once each is in _Pgcstop (or the run is ending).  The caller holds
    worldsema and a P (which it stops first)."""
    mypid = S[mx(S, mid) + M_P]
    lock(S, S_LOCK)
    S[S_STOPWAIT] = S[S_NPROCS]
    store(S, S_GCWAITING, 1)
    preemptall(S, mid, mypid)
    store(S, px(S, mypid) + P_STATUS, Pgcstop)     # only diagnostic: we keep m.p
    S[S_STOPWAIT] -= 1
    stop_syscall_and_idle_ps(S, mid)
    wait = S[S_STOPWAIT] > 0
    unlock(S, S_LOCK)
    # Every P still running stops itself (gcstop_p under sched.lock); the last one wakes us.
    while wait:
        if notetsleep(S, S_STOPNOTE, STOP_RETRY_NS):
            noteclear(S, S_STOPNOTE)
            break
        if stopping(S):
            return
        preemptall(S, mid, mypid)
    check_stopped(S)


@core(void(Sarr))
def check_stopped(S):
    """stopTheWorldWithSema's sanity checks."""
    if stopping(S):
        return
    if S[S_STOPWAIT] != 0:
        raise RuntimeError("stopTheWorld: not stopped (stopwait != 0)")
    for pid in range(1, S[S_NPROCS] + 1):
        if load(S, px(S, pid) + P_STATUS) != Pgcstop:
            raise RuntimeError("stopTheWorld: not stopped (status != _Pgcstop)")


@core(void(Sarr, i64))
def gcstopm(S, mid):
    """Stop the current M for a stop-the-world and park it until the start gives it a P.
    Partner: stopTheWorldWithSema's wait on stopnote."""
    m = mx(S, mid)
    if load(S, S_GCWAITING) == 0:
        raise RuntimeError("gcstopm: not waiting for gc")
    if S[m + M_SPINNING] != 0:
        S[m + M_SPINNING] = 0
        # Fine to just drop nmspinning: startTheWorld wakes Ms as needed.
        if xadd(S, S_NMSPINNING, -1) < 0:
            raise RuntimeError("gcstopm: negative nmspinning")
    pid = releasep(S, mid)
    lock(S, S_LOCK)
    gcstop_p(S, pid)
    unlock(S, S_LOCK)
    stopm(S, mid)


# ---- procresize -------------------------------------------------------------------------------

@core(i64(i64, i64))
def gcd(a, b):
    while b != 0:
        a, b = b, a % b
    return a


@core(void(Sarr, i64))
def steal_order_reset(S, n):
    """stealOrder.reset(n): the numbers in 1..n coprime with n, for findrunnable's walk."""
    cop = S[H_COPRIMES]
    k = 0
    for i in range(1, n + 1):
        if gcd(i, n) == 1:
            k += 1
            S[cop + k] = i
    S[cop] = k


@core(void(Sarr, i64))
def globrunqputhead(S, gp):
    """Put gp at the head of the global queue.  sched.lock must be held."""
    S[gx(S, gp) + G_SCHEDLINK] = S[S_RUNQHEAD]
    S[S_RUNQHEAD] = gp
    if S[S_RUNQTAIL] == 0:
        S[S_RUNQTAIL] = gp
    S[S_RUNQSIZE] += 1


@core(void(Sarr, i64))
def gfpurge(S, pid):
    """Move a dying P's free Gs to the global free list."""
    p = px(S, pid)
    lock(S, S_GFLOCK)
    while S[p + P_GFREE] != 0:
        gp = S[p + P_GFREE]
        S[p + P_GFREE] = S[gx(S, gp) + G_SCHEDLINK]
        S[gx(S, gp) + G_SCHEDLINK] = S[S_GFREE]
        S[S_GFREE] = gp
        S[S_NGFREE] += 1
    S[p + P_GFREECNT] = 0
    unlock(S, S_GFLOCK)


@core(void(Sarr, i64))
def destroy_p(S, pid):
    """A P that procresize removes: its local queue, newest first, then runnext, to the head of
    the global queue (so they keep their order ahead of it), its free Gs to the global list,
    and _Pdead.  The world is stopped: nobody else touches its queue."""
    p = px(S, pid)
    size = knob(S, K_RUNQ_SIZE)
    q = rqx(S, pid)
    while load(S, p + P_RUNQHEAD) != load(S, p + P_RUNQTAIL):
        t = load(S, p + P_RUNQTAIL) - 1
        store(S, p + P_RUNQTAIL, t)
        globrunqputhead(S, S[q + (t & (size - 1))])
    if S[p + P_RUNNEXT] != 0:
        globrunqputhead(S, S[p + P_RUNNEXT])
        store(S, p + P_RUNNEXT, 0)
    gfpurge(S, pid)
    store(S, p + P_STATUS, Pdead)     # the row stays: an M in a syscall may still name it


@core(i64(Sarr, i64, i64))
def procresize(S, mid, nprocs):
    """Change the number of Ps to nprocs (1..S_MAXPROCS) with the world stopped and sched.lock
    held.  Keeps the current P if it survives, else takes P 1; every other P with work gets an
    M from the idle list (p.m, maybe 0) and is returned in a list linked through P_LINK; the
    others go idle.  Returns the head of that list (0: none)."""
    old = S[S_NPROCS]
    if nprocs < 1 or nprocs > S[S_MAXPROCS]:
        raise RuntimeError("procresize: invalid arg")
    for pid in range(old + 1, nprocs + 1):          # new Ps (or dead ones coming back)
        p = px(S, pid)
        S[p + P_ID] = pid
        store(S, p + P_STATUS, Pgcstop)
    for pid in range(nprocs + 1, old + 1):
        destroy_p(S, pid)
    m = mx(S, mid)
    mypid = S[m + M_P]
    if mypid != 0 and mypid <= nprocs:
        store(S, px(S, mypid) + P_STATUS, Prunning)   # continue to use the current P
    else:
        if mypid != 0:
            S[px(S, mypid) + P_M] = 0
        S[m + M_P] = 0
        S[px(S, 1) + P_M] = 0
        store(S, px(S, 1) + P_STATUS, Pidle)
        acquirep(S, mid, 1)
    runnable = 0
    for pid in range(nprocs, 0, -1):
        if pid == S[m + M_P]:
            continue
        p = px(S, pid)
        store(S, p + P_STATUS, Pidle)
        if runqempty(S, pid):
            pidleput(S, pid)
        else:
            S[p + P_M] = mget(S)
            S[p + P_LINK] = runnable
            runnable = pid
    steal_order_reset(S, nprocs)
    store(S, S_NPROCS, nprocs)
    if nprocs != old:
        count(S, mid, ST_PROCRESIZES, 1)
    return runnable


# ---- the starting side -------------------------------------------------------------------------

@core(void(Sarr, i64, i64))
def startTheWorldWithSema(S, mid, newprocs):
    """Undo the stop: poll the network, procresize (to newprocs, or gomaxprocs when 0), clear
    gcwaiting, wake sysmon, hand every P with work to an M (its idle one or a new one), and
    wake a spinning M for what is left."""
    if netpollinited(S):
        injectglist(S, mid, netpoll(S, mid, False, ST_NETPOLL_GS_NONBLOCKING))
    lock(S, S_LOCK)
    procs = S[S_NPROCS] if newprocs == 0 else newprocs
    p1 = procresize(S, mid, procs)
    store(S, S_GCWAITING, 0)
    if load(S, S_SYSMONWAIT) != 0:
        store(S, S_SYSMONWAIT, 0)
        wake_note(S, S_SYSMONNOTE)      # the end of the run may have woken it already
    unlock(S, S_LOCK)
    while p1 != 0:
        p = px(S, p1)
        pid = p1
        p1 = S[p + P_LINK]
        nm = S[p + P_M]
        if nm != 0:
            S[p + P_M] = 0
            if S[mx(S, nm) + M_NEXTP] != 0:
                raise RuntimeError("startTheWorld: inconsistent mp->nextp")
            S[mx(S, nm) + M_NEXTP] = pid
            notewakeup(S, mx(S, nm) + M_PARK)
        else:
            newm(S, pid, False)         # an M to run the P
    if load(S, S_NPIDLE) != 0 and load(S, S_NMSPINNING) == 0:
        wakep(S, mid)


@core(void(Sarr, i64, i64, i64))
def stop_the_world(S, mid, hold_ns, newprocs):
    """`stw: D` (newprocs 0: hold the world stopped for hold_ns of the stopper's own work) and
    `setprocs: N` (newprocs N: procresize while stopped).  The caller holds worldsema.
    Records time-to-safepoint and the pause."""
    t0 = nanotime()
    trace_event(S, mid, EV_STW_STOP, 0, S[S_NPROCS])
    stopTheWorldWithSema(S, mid)
    if stopping(S):
        return
    t1 = nanotime()
    trace_event(S, mid, EV_STW_STOPPED, 0, 0)
    hist_record(S, S[H_STWLAT], t1 - t0)
    hold_until = t1 + hold_ns
    while nanotime() < hold_until and not stopping(S):
        pass                                  # the pause: the stopper's work (GC's, say)
    startTheWorldWithSema(S, mid, newprocs)
    trace_event(S, mid, EV_STW_START, 0, S[S_NPROCS])
    hist_record(S, S[H_STWLAT] + NBUCKETS, nanotime() - t1)
    count(S, mid, ST_STW_PAUSES, 1)
