"""M and P management: acquirep/releasep, startm/newm/stopm, wakep, handoffp, ready, newproc,
checkdead -- proc.go's functions of the same names.

"Worker thread parking" (DESIGN.md, "Spinning"): a G made runnable is published first (runqput)
and npidle/nmspinning are read after; a spinning M gives up spinning by decrementing nmspinning
first and re-checking every queue after.  Each side needs a StoreLoad barrier between its write
and its read: the submitter's is runqput's sequentially consistent publish (an XCHG, as Go's
atomic.Store; a CAS on runnext), the spinner's its seq_cst decrement.
"""
import numpy as np

from .atomics import cas, cputicks, load, load_relaxed, store, xadd, xchg
from .layout import (
    FATAL_DEADLOCK,
    FATAL_MAXG,
    FATAL_MAXTHREADS,
    G_CHILDREN,
    G_DEPTH,
    G_ELEM,
    G_FUNC,
    G_GOID,
    G_GROUP,
    G_M,
    G_PARENT,
    G_PC,
    G_PREEMPT,
    G_READYTICK,
    G_RNG,
    G_SCHEDLINK,
    G_SP,
    G_STATUS,
    G_TRACKSEQ,
    G_WAITOBJ,
    G_WAITREASON,
    G_WORKLEFT,
    M_CURG,
    M_FASTRAND,
    M_NEXTP,
    M_P,
    M_PARK,
    M_SCHEDLINK,
    M_SPINNING,
    M_WAITLOCKKIND,
    M_WAITLOCKOBJ,
    P_M,
    P_STATUS,
    S_ALLGLEN,
    S_FATAL,
    S_FATALARG,
    S_GCWAITING,
    S_LASTPOLL,
    S_LOCK,
    S_MAINSTARTED,
    S_MAXG,
    S_MAXMCOUNT,
    S_MCOUNT,
    S_NETPOLLWAITERS,
    S_NEWM,
    S_NMFREED,
    S_NMIDLE,
    S_NMIDLELOCKED,
    S_NMSPINNING,
    S_NMSYS,
    S_NPIDLE,
    S_NPROCS,
    S_NTIMERS,
    S_POOLWORD,
    S_RUNQSIZE,
    S_SEED,
    S_STOP,
    S_STOPNOTE,
    S_STOPWAIT,
    S_SYSMONNOTE,
    S_SYSMONWAIT,
    S_TEMPLNOTE,
    S_THREADS_MAX,
    ST_DIRECT_HANDOFFS,
    ST_EAGER_WAKEUPS,
    ST_GLOBAL_PUTS,
    ST_GS_CREATED,
    ST_HANDOFFS,
    ST_SPINNING_TRANSITIONS,
    ST_STARTMS,
    ST_STOPMS,
    ST_WAKEPS,
    WAIT_NONE,
    Gdead,
    Grunnable,
    Grunning,
    Gsyscall,
    Gwaiting,
    Pgcstop,
    Pidle,
    Prunning,
)
from .lock import lock, noteclear, notewakeup, seqwake, unlock
from .mem import Sarr, boolean, core, count, gx, i64, knob, mx, px, void
from .osdeps import futex_wait, futex_wake
from .policy import K_DIRECT_HANDOFF, K_EAGER_WAKEUP, K_SPINNING
from .runq import (
    gfget,
    globrunqput,
    malg,
    mget,
    mput_list,
    newgoid,
    pidleget,
    pidleput,
    runqempty,
    runqput,
)

# ---- status and ownership ----------------------------------------------------------------------

@core(void(Sarr, i64, i64, i64))
def casgstatus(S, gp, old, new):
    """Move gp from status old to new.  There is no GC here, hence no _Gscan bit to race with:
    only the thread that owns the transition changes the status, so a checked release store
    does what proc.go's CAS loop does."""
    g = gx(S, gp)
    if load(S, g + G_STATUS) != old:
        raise RuntimeError("casgstatus: bad incoming status")
    store(S, g + G_STATUS, new)


# Scheduling latency is sampled as Go (>= 1.17) samples /sched/latencies: one run in
# LATENCY_PERIOD of each G (gTrackingPeriod), so that two time-stamp reads per G switch (~20 ns
# each on a VM) are not paid on every one.  Unlike Go, whose first tracked run is random, a G's
# first run is always sampled: workloads of short-lived Gs keep one sample per G.
LATENCY_PERIOD = 8


@core(boolean(Sarr, i64))
def latency_sampled(S, g):
    """Whether the G at row g's current runnable -> running interval is measured."""
    return S[g + G_TRACKSEQ] % LATENCY_PERIOD == 0


@core(void(Sarr, i64))
def stamp_runnable(S, g):
    """The G at row g became runnable: stamp the time when this interval is sampled (its
    partner: execute, which records the interval and counts the run in G_TRACKSEQ)."""
    if latency_sampled(S, g):
        S[g + G_READYTICK] = cputicks()


@core(void(Sarr, i64, i64))
def dropg(S, mid, gp):
    """Break the link between the M and the G it ran (m.curg, g.m): sysmon's preemptone reads
    m.curg, so it must never name a G that this M no longer runs."""
    store(S, mx(S, mid) + M_CURG, 0)
    S[gx(S, gp) + G_M] = 0


@core(void(Sarr, i64, i64))
def acquirep(S, mid, pid):
    m = mx(S, mid)
    p = px(S, pid)
    if S[m + M_P] != 0:
        raise RuntimeError("acquirep: already in go")
    if S[p + P_M] != 0 or load(S, p + P_STATUS) != Pidle:
        raise RuntimeError("acquirep: invalid p state")
    S[m + M_P] = pid
    S[p + P_M] = mid
    store(S, p + P_STATUS, Prunning)


@core(i64(Sarr, i64))
def releasep(S, mid):
    m = mx(S, mid)
    pid = S[m + M_P]
    if pid == 0:
        raise RuntimeError("releasep: invalid arg")
    p = px(S, pid)
    if S[p + P_M] != mid or load(S, p + P_STATUS) != Prunning:
        raise RuntimeError("releasep: invalid p state")
    S[m + M_P] = 0
    S[p + P_M] = 0
    store(S, p + P_STATUS, Pidle)
    return pid


# ---- the end of a run ---------------------------------------------------------------------------

@core(void(Sarr))
def wake_template(S):
    """Wake the template thread (the Python thread that started the run)."""
    xchg(S, S_TEMPLNOTE, 1)
    futex_wake(S, S_TEMPLNOTE, 1)


@core(void(Sarr, i64, i64))
def fatal(S, code, arg):
    """Stop the run with an error code (the first caller wins) and tell the template thread."""
    if cas(S, S_FATAL, 0, code):
        store(S, S_FATALARG, arg)
    store(S, S_STOP, 1)
    wake_template(S)


@core(boolean(Sarr))
def stopping(S):
    return load_relaxed(S, S_STOP) != 0


@core(void(Sarr))
def checkdead(S):
    """Deadlock check, from the number of running Ms.  sched.lock must be held.

    When no M runs, every G is blocked and nothing can wake them: timers, the network and
    syscalls all keep an M out of the idle list while they are pending."""
    if S[S_MAINSTARTED] == 0 or stopping(S):
        return
    run = S[S_MCOUNT] - S[S_NMFREED] - S[S_NMIDLE] - S[S_NMIDLELOCKED] - S[S_NMSYS]
    if run > 0:
        return
    if run < 0:
        raise RuntimeError("checkdead: inconsistent counts")
    if load(S, S_NTIMERS) > 0 or load(S, S_NETPOLLWAITERS) > 0:
        return      # a timer or the network will ready a G (the timer/emulator threads)
    waiting = 0
    for gp in range(1, load(S, S_ALLGLEN) + 1):
        s = load(S, gx(S, gp) + G_STATUS)
        if s == Gwaiting:
            waiting += 1
        elif s == Grunnable or s == Grunning or s == Gsyscall:
            raise RuntimeError("checkdead: runnable g")
    fatal(S, FATAL_DEADLOCK, waiting)


@core(void(Sarr, i64))
def incidlelocked(S, v):
    """Count an M as idle (+1) or running (-1) around retake's CAS, so that the M it retakes
    from cannot see a false deadlock meanwhile."""
    lock(S, S_LOCK)
    S[S_NMIDLELOCKED] += v
    if v > 0:
        checkdead(S)
    unlock(S, S_LOCK)


@core(void(Sarr, i64))
def wake_note(S, note):
    """notewakeup without its double-wakeup check, for notes that more than one party may
    wake (sysmon's: wake_sysmon and the end of the run)."""
    if cas(S, note, 0, 1):
        futex_wake(S, note, 1)


@core(void(Sarr))
def wake_sysmon(S):
    """Wake sysmon from its deep sleep, if it is in one (entersyscall_sysmon)."""
    if load(S, S_SYSMONWAIT) == 0:
        return
    lock(S, S_LOCK)
    if load(S, S_SYSMONWAIT) != 0:
        store(S, S_SYSMONWAIT, 0)
        wake_note(S, S_SYSMONNOTE)
    unlock(S, S_LOCK)


@core(void(Sarr, i64))
def mput(S, mid):
    """Put mid on the idle M list and check for deadlock.  sched.lock must be held."""
    mput_list(S, mid)
    checkdead(S)


# ---- starting and stopping Ms -------------------------------------------------------------------

@core(i64(Sarr, i64, boolean))
def newm(S, pid, spinning):
    """Allocate a new M that will run pid and hand it to a spare OS thread (threads.py; Go too
    has a template thread create threads for locked Ms).  Returns the new M's id, or 0 when
    max_threads is reached (the run fails with a clear error, as Go's checkmcount does)."""
    lock(S, S_LOCK)
    mid = S[S_MCOUNT] + 1
    if mid > S[S_MAXMCOUNT]:
        unlock(S, S_LOCK)
        fatal(S, FATAL_MAXTHREADS, S[S_MAXMCOUNT])
        return 0
    S[S_MCOUNT] = mid
    S[S_THREADS_MAX] = max(S[S_THREADS_MAX], mid - S[S_NMFREED])   # mcount(): live Ms
    m = mx(S, mid)
    S[m + M_NEXTP] = pid
    S[m + M_SPINNING] = 1 if spinning else 0
    S[m + M_SCHEDLINK] = S[S_NEWM]
    S[S_NEWM] = mid
    unlock(S, S_LOCK)
    seqwake(S, S_POOLWORD, 1)           # a spare thread takes it (or the next one started)
    wake_template(S)                    # ... and the template thread replaces the spare
    return mid


@core(void(Sarr, i64, i64, boolean))
def startm(S, mid, pid, spinning):
    """Schedule some M to run pid (an idle P when pid is 0; nothing if there is none).
    With spinning, the caller incremented nmspinning and the started M inherits it."""
    lock(S, S_LOCK)
    if pid == 0:
        pid = pidleget(S)
    # stop_all sets S_STOP and empties the idle M list under sched.lock: once it has, no M is
    # woken here a second time (its note was woken by stop_all) and none is created.
    if pid == 0 or stopping(S):
        unlock(S, S_LOCK)
        if spinning:
            # The caller counted a spinning M that will not exist: undo it.
            if xadd(S, S_NMSPINNING, -1) < 0:
                raise RuntimeError("startm: negative nmspinning")
        return
    nm = mget(S)
    unlock(S, S_LOCK)
    count(S, mid, ST_STARTMS, 1)
    if spinning:
        count(S, mid, ST_SPINNING_TRANSITIONS, 1)
    if nm == 0:
        newm(S, pid, spinning)
        return
    m = mx(S, nm)
    if S[m + M_SPINNING] != 0:
        raise RuntimeError("startm: m is spinning")
    if S[m + M_NEXTP] != 0:
        raise RuntimeError("startm: m has p")
    if spinning and not runqempty(S, pid):
        raise RuntimeError("startm: p has runnable gs")
    S[m + M_SPINNING] = 1 if spinning else 0
    S[m + M_NEXTP] = pid
    notewakeup(S, m + M_PARK)


@core(void(Sarr, i64))
def stopm(S, mid):
    """Park the current M until startm gives it a P (or the run stops: returns without one)."""
    m = mx(S, mid)
    if S[m + M_P] != 0:
        raise RuntimeError("stopm holding p")
    if S[m + M_SPINNING] != 0:
        raise RuntimeError("stopm spinning")
    count(S, mid, ST_STOPMS, 1)
    lock(S, S_LOCK)
    mput(S, mid)
    unlock(S, S_LOCK)
    mpark(S, mid)


@core(void(Sarr, i64))
def mpark(S, mid):
    """notesleep(&m.park) -- which also wakes for the end of the run -- then take the P the
    waker left in m.nextp (none when the run is stopping)."""
    m = mx(S, mid)
    while load(S, m + M_PARK) == 0:
        if stopping(S):
            return
        futex_wait(S, m + M_PARK, 0, -1)
    noteclear(S, m + M_PARK)
    if stopping(S):
        return
    pid = S[m + M_NEXTP]
    S[m + M_NEXTP] = 0
    acquirep(S, mid, pid)


@core(void(Sarr, i64))
def wakep(S, mid):
    """Try to add one more P to execute Gs: start a spinning M unless one already spins."""
    if not cas(S, S_NMSPINNING, 0, 1):
        return
    count(S, mid, ST_WAKEPS, 1)
    startm(S, mid, 0, True)


@core(void(Sarr, i64))
def wakep_if_needed(S, mid):
    """After making a G runnable: wake an M if a P is idle and nobody spins (ready, newproc).
    The caller's runqput came first and published the G with a seq_cst store or CAS, so these
    loads cannot pass it (partner: findrunnable's nmspinning decrement, then recheck_runqs).
    Without spinning Ms (no-spinning) there is no spinner to wait for: wake an M every time;
    eager_wakeup (rejected approach 3) wakes one every time even with spinners about."""
    if load(S, S_NPIDLE) == 0:
        return
    if knob(S, K_SPINNING) != 0 and load(S, S_NMSPINNING) == 0:
        wakep(S, mid)
    elif knob(S, K_SPINNING) == 0:
        count(S, mid, ST_WAKEPS, 1)
        startm(S, mid, 0, False)
    elif knob(S, K_EAGER_WAKEUP) != 0:
        count(S, mid, ST_WAKEPS, 1)
        count(S, mid, ST_EAGER_WAKEUPS, 1)
        startm(S, mid, 0, False)


@core(boolean(Sarr, i64, i64))
def direct_handoff(S, mid, gp):
    """Rejected approach 2: hand a readied gp, with an idle P, straight to a woken M.
    False when no P is idle (then gp goes the usual way)."""
    if knob(S, K_DIRECT_HANDOFF) == 0 or load(S, S_NPIDLE) == 0:
        return False
    lock(S, S_LOCK)
    pid = pidleget(S)
    unlock(S, S_LOCK)
    if pid == 0:
        return False
    runqput(S, mid, pid, gp, False)     # the P is idle and ours until the M takes it
    count(S, mid, ST_DIRECT_HANDOFFS, 1)
    startm(S, mid, pid, False)
    return True


@core(void(Sarr, i64, i64))
def handoffp(S, mid, pid):
    """Hand off pid from an M that is blocking (syscall) or was retaken: start an M for it in
    every situation where findrunnable would find work for it, else make it idle."""
    count(S, mid, ST_HANDOFFS, 1)
    if not runqempty(S, pid) or load_relaxed(S, S_RUNQSIZE) != 0:
        startm(S, mid, pid, False)      # it has work: start it straight away
        return
    # No work: start a spinning M only if nobody is spinning or idle to catch new work.
    if load(S, S_NMSPINNING) + load(S, S_NPIDLE) == 0:
        if knob(S, K_SPINNING) == 0:
            startm(S, mid, pid, False)
            return
        if cas(S, S_NMSPINNING, 0, 1):
            startm(S, mid, pid, True)
            return
    lock(S, S_LOCK)
    if load(S, S_GCWAITING) != 0:
        gcstop_p(S, pid)                # a stop-the-world waits for this P
        unlock(S, S_LOCK)
        return
    if S[S_RUNQSIZE] != 0:
        unlock(S, S_LOCK)
        startm(S, mid, pid, False)
        return
    # The last running P, and nobody polls the network (lastpoll is set from the start, so
    # this holds even when nothing uses the network): start an M that will.
    if load(S, S_NPIDLE) == S[S_NPROCS] - 1 and load(S, S_LASTPOLL) != 0:
        unlock(S, S_LOCK)
        startm(S, mid, pid, False)
        return
    pidleput(S, pid)
    unlock(S, S_LOCK)


@core(void(Sarr, i64))
def resetspinning(S, mid):
    """The M found work and stops spinning; if it was the last spinner and a P is idle, wake
    another spinning M (there may be more work than one M can do)."""
    m = mx(S, mid)
    if S[m + M_SPINNING] == 0:
        raise RuntimeError("resetspinning: not a spinning m")
    S[m + M_SPINNING] = 0
    n = xadd(S, S_NMSPINNING, -1)
    if n < 0:
        raise RuntimeError("findrunnable: negative nmspinning")
    if n == 0 and load(S, S_NPIDLE) > 0:
        wakep(S, mid)


# ---- making Gs runnable -------------------------------------------------------------------------

@core(void(Sarr, i64, i64, boolean))
def ready(S, mid, gp, next):
    """Mark a waiting gp runnable on the current P (in runnext when next) and maybe wake an M."""
    casgstatus(S, gp, Gwaiting, Grunnable)
    g = gx(S, gp)
    stamp_runnable(S, g)
    S[g + G_WAITREASON] = WAIT_NONE
    if direct_handoff(S, mid, gp):
        return
    runqput(S, mid, S[mx(S, mid) + M_P], gp, next)
    wakep_if_needed(S, mid)


@core(i64(i64))
def splitmix(x):
    """A well-mixed non-zero 64-bit seed from x (splitmix64's finalizer)."""
    z = np.uint64(x) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64(z | np.uint64(1))


@core(i64(Sarr, i64, i64, i64, i64, i64))
def gnew(S, mid, pid, entry, parent, group):
    """Allocate and initialise a runnable G that will start at pc entry (not yet queued).
    Returns 0 when the G table is full (the run then fails)."""
    gp = gfget(S, pid)
    if gp == 0:
        gp = malg(S)
        if gp == 0:
            fatal(S, FATAL_MAXG, S[S_MAXG])
            return 0
    g = gx(S, gp)
    goid = newgoid(S, pid)
    S[g + G_GOID] = goid
    S[g + G_PC] = entry
    S[g + G_FUNC] = entry
    S[g + G_SP] = 0
    S[g + G_SCHEDLINK] = 0
    S[g + G_M] = 0
    S[g + G_PREEMPT] = 0
    S[g + G_CHILDREN] = 0
    S[g + G_PARENT] = parent
    S[g + G_GROUP] = group
    S[g + G_WORKLEFT] = 0
    S[g + G_ELEM] = 0
    S[g + G_WAITREASON] = WAIT_NONE
    S[g + G_RNG] = splitmix(S[S_SEED] * 1000003 + goid)
    S[g + G_TRACKSEQ] = 0
    casgstatus(S, gp, Gdead, Grunnable)
    stamp_runnable(S, g)
    count(S, mid, ST_GS_CREATED, 1)
    return gp


@core(i64(Sarr, i64, i64, i64, i64, i64))
def newproc(S, mid, entry, parent, group, depth):
    """`go f()`: a new G on the current P's runnext; returns its id (0: the run failed).
    depth: its bounded-recursion budget (G_DEPTH), set before the G is published."""
    pid = S[mx(S, mid) + M_P]
    gp = gnew(S, mid, pid, entry, parent, group)
    if gp == 0:
        return 0
    S[gx(S, gp) + G_DEPTH] = depth
    publish(S, mid, gp)
    return gp


@core(void(Sarr, i64, i64))
def publish(S, mid, gp):
    """newproc's second half: a new, initialised G into the current P's runnext (or straight
    to an idle P) -- after this, other Ms may run it."""
    if direct_handoff(S, mid, gp):
        return
    runqput(S, mid, S[mx(S, mid) + M_P], gp, True)
    wakep_if_needed(S, mid)


@core(i64(Sarr, i64))
def fastrand(S, mid):
    """The M's xorshift (fastrand): steal order, select's poll order."""
    m = mx(S, mid)
    x = np.uint64(S[m + M_FASTRAND])
    x ^= x << np.uint64(13)
    x ^= x >> np.uint64(7)
    x ^= x << np.uint64(17)
    S[m + M_FASTRAND] = np.int64(x)
    return np.int64(x >> np.uint64(1))


@core(void(Sarr, i64, i64, i64, i64, i64))
def prepark(S, mid, gp, reason, obj, unlock_kind):
    """Record why gp is about to park and which lock park_m must release once it is
    _Gwaiting (gopark's waitunlockf/waitlock)."""
    g = gx(S, gp)
    S[g + G_WAITREASON] = reason
    S[g + G_WAITOBJ] = obj
    m = mx(S, mid)
    S[m + M_WAITLOCKKIND] = unlock_kind
    S[m + M_WAITLOCKOBJ] = obj


@core(void(Sarr, i64, i64))
def injectglist(S, mid, glist):
    """Make a list of waiting Gs (linked through G_SCHEDLINK) runnable on the global queue and
    start an M for each idle P that can take one.  Called by threads without a P (timers,
    the netpoller, sysmon)."""
    if glist == 0:
        return
    n = 0
    lock(S, S_LOCK)
    while glist != 0:
        gp = glist
        g = gx(S, gp)
        glist = S[g + G_SCHEDLINK]
        casgstatus(S, gp, Gwaiting, Grunnable)
        stamp_runnable(S, g)
        S[g + G_WAITREASON] = WAIT_NONE
        globrunqput(S, gp)
        n += 1
    unlock(S, S_LOCK)
    count(S, mid, ST_GLOBAL_PUTS, n)
    while n > 0 and load(S, S_NPIDLE) != 0:
        startm(S, mid, 0, False)
        n -= 1


# --- STW / procresize / locked Ms (issue 13) ---------------------------------------------------

@core(void(Sarr, i64))
def gcstop_p(S, pid):
    """A P stops for a stop-the-world: _Pgcstop, one fewer to wait for, and the last one wakes
    the stopper (stopTheWorldWithSema's notetsleep on stopnote).  sched.lock must be held: the
    stopper set stopwait under it and reads it under it."""
    store(S, px(S, pid) + P_STATUS, Pgcstop)
    S[S_STOPWAIT] -= 1
    if S[S_STOPWAIT] == 0:
        notewakeup(S, S_STOPNOTE)
    elif S[S_STOPWAIT] < 0:
        raise RuntimeError("stopTheWorld: negative stopwait")
