"""The M's life: mstart, schedule, findrunnable, execute and what follows a G's stop
(park_m, goschedImpl, goexit0) -- proc.go's scheduling loop, without goroutine stacks.

Go's schedule() never returns: each G switch is a jump.  Here an M runs ``mstart``'s loop: pick a
G (schedule), run it (execute -> the interpreter), then finish the stop the G asked for; the
continuations that run another G at once (park_m's unlock failing) return it to the loop
instead of recursing.
"""
from .atomics import cas, cputicks, load, load_relaxed, store, store_relaxed, xadd, xchg
from .clock import ticks_to_ns
from .interp import (  # run_g and its answers: the WHY_* list interp.py imports too (the protocol)
    WHY_EXIT,
    WHY_PARK,
    WHY_PREEMPT,
    WHY_STOP,
    WHY_SYSCALL,
    WHY_YIELD,
    run_g,
)
from .layout import (
    C_LOCK,
    FATAL_THROW,
    G_GROUP,
    G_LOCKEDM,
    G_M,
    G_PARENT,
    G_PREEMPT,
    G_READYTICK,
    G_TRACKSEQ,
    H_COPRIMES,
    M_CURG,
    M_EXITED,
    M_LOCKEDG,
    M_NEXTP,
    M_P,
    M_PARK,
    M_SCHEDLINK,
    M_SPINNING,
    M_STARTED,
    M_WAITLOCKKIND,
    M_WAITLOCKOBJ,
    P_SCHEDTICK,
    S_DONE,
    S_ENDTICK,
    S_FATAL,
    S_GCENTRY,
    S_GCWAITING,
    S_LASTPOLL,
    S_LOCK,
    S_MAING,
    S_MAINPENDING,
    S_MAINSTARTED,
    S_MCOUNT,
    S_NETNOTE,
    S_NETPOLLWAITERS,
    S_NEWM,
    S_NMSPINNING,
    S_NPIDLE,
    S_NPOOL,
    S_NPROCS,
    S_POOLWORD,
    S_RUNQSIZE,
    S_RUNSTART_NS,
    S_STARTTICK,
    S_STOP,
    S_SYSMONNOTE,
    S_TEMPLNOTE,
    S_TIMERLOCK,
    S_TIMERNOTE,
    ST_CPU_NS,
    ST_FAIRNESS_GETS,
    ST_GLOBAL_PUTS,
    ST_GS_CREATED,
    ST_GS_EXITED,
    ST_GS_STOLEN,
    ST_NETPOLL_GS_BLOCKING,
    ST_NETPOLL_GS_NONBLOCKING,
    ST_PREEMPTIONS,
    ST_SCHEDULES,
    ST_SPINNING_TRANSITIONS,
    ST_STEAL_ATTEMPTS,
    ST_STEALS,
    UNLOCK_CHAN,
    UNLOCK_CHILDREN,
    UNLOCK_GROUP,
    UNLOCK_MUTEX,
    UNLOCK_NETPOLL,
    UNLOCK_SELECT,
    UNLOCK_TIMER,
    W_LOCK,
    X_SEMALOCK,
    Gdead,
    Grunnable,
    Grunning,
    Gwaiting,
)
from .lock import lock, nanotime, notewakeup, runtime_timerslack, seqwake, unlock
from .lockosthread import goexit_locked, mexit, startlockedm, stoplockedm
from .mem import (
    Sarr,
    boolean,
    core,
    count,
    cx,
    gx,
    i64,
    knob,
    latx,
    mx,
    pair,
    px,
    stx,
    void,
    wx,
    xx,
)
from .netemu import netemu
from .netpoll import netpoll, netpoll_commit_park, netpoll_ready, netpollbreak, netpollinit
from .osdeps import (
    CLOCK_THREAD_CPUTIME_ID,
    clock_ns,
    futex_wait,
)
from .policy import (
    K_FAIRNESS_TICK,
    K_INHERIT_TIME,
    K_NETPOLL_IN_FINDRUNNABLE,
    K_SPIN_CAP,
    K_SPINNING,
    K_STEAL,
    K_STEAL_ORDER,
    K_STEAL_ROUNDS,
    K_STEAL_RUNNEXT,
)
from .proc import (
    acquirep,
    casgstatus,
    dropg,
    fastrand,
    fatal,
    gnew,
    injectglist,
    latency_sampled,
    newm,
    releasep,
    resetspinning,
    stamp_runnable,
    stopm,
    stopping,
    wake_note,
    wake_sysmon,
    wake_template,
)
from .runq import (
    globrunqget,
    globrunqput,
    mget,
    pidleget,
    pidleput,
    runqempty,
    runqget,
    runqput,
    runqsteal,
)
from .selectgo import selparkcommit
from .serve import request_done
from .stats import hist_record
from .stw import gcstopm
from .sync import child_exited, children_commit_park, group_done, release_g
from .sysmon import newsysmon, sysmon
from .timers import timerproc
from .trace import EV_GO_START, EV_GO_STOP, EV_STEAL, STEAL_SHIFT, trace_event

# ---- picking a G ------------------------------------------------------------------------------

@core(void(Sarr, i64))
def start_spinning(S, mid):
    S[mx(S, mid) + M_SPINNING] = 1
    xadd(S, S_NMSPINNING, 1)
    count(S, mid, ST_SPINNING_TRANSITIONS, 1)


@core(i64(Sarr, i64, i64))
def steal_work(S, mid, pid):
    """findrunnable's stealing rounds: visit every other P in a random coprime order
    (stealOrder), taking runnext only in the last round.  Returns a G or 0."""
    nprocs = S[S_NPROCS]
    cop = S[H_COPRIMES]
    rounds = knob(S, K_STEAL_ROUNDS)
    if knob(S, K_SPINNING) == 0:
        rounds = 1
    for i in range(rounds):
        if knob(S, K_STEAL_ORDER) == 0:
            r = fastrand(S, mid)
            pos = r % nprocs
            inc = S[cop + 1 + r % S[cop]]
        else:
            pos = 0
            inc = 1
        steal_runnext = i == rounds - 1 and knob(S, K_STEAL_RUNNEXT) != 0
        for _ in range(nprocs):
            if stopping(S) or load(S, S_GCWAITING) != 0:
                return 0
            victim = pos + 1
            pos = (pos + inc) % nprocs
            if victim == pid:
                continue
            count(S, mid, ST_STEAL_ATTEMPTS, 1)
            gp, n = runqsteal(S, mid, pid, victim, steal_runnext)
            if gp != 0:
                count(S, mid, ST_STEALS, 1)
                count(S, mid, ST_GS_STOLEN, n)
                trace_event(S, mid, EV_STEAL, 0, victim | (n << STEAL_SHIFT))
                return gp
    return 0


@core(boolean(Sarr, i64, boolean))
def recheck_runqs(S, mid, was_spinning):
    """After dropping the P and nmspinning: a P with work means a submitter may have counted on
    us; take an idle P back to run it.  True when we got a P.  (Without stealing, other Ps'
    queues are not ours to take from, and looking would only spin.)"""
    if knob(S, K_STEAL) == 0:
        return False
    for victim in range(1, S[S_NPROCS] + 1):
        if not runqempty(S, victim):
            lock(S, S_LOCK)
            pid = pidleget(S)
            unlock(S, S_LOCK)
            if pid == 0:
                return False
            acquirep(S, mid, pid)
            if was_spinning:
                start_spinning(S, mid)
            return True
    return False


@core(i64(Sarr, i64))
def poll_until_ready(S, mid):
    """Before parking an M with Gs waiting on the network and nobody polling (lastpoll != 0):
    block in netpoll instead.  Returns a G to run with the P it found; 0 with no P (the Gs, if
    any, went to the global queue)."""
    if load(S, S_NETPOLLWAITERS) == 0 or xchg(S, S_LASTPOLL, 0) == 0:
        return 0
    glist = netpoll(S, mid, True, ST_NETPOLL_GS_BLOCKING)
    store(S, S_LASTPOLL, nanotime())
    if glist == 0:
        return 0
    lock(S, S_LOCK)
    pid = pidleget(S)
    unlock(S, S_LOCK)
    if pid == 0:
        injectglist(S, mid, glist)
        return 0
    acquirep(S, mid, pid)
    return netpoll_ready(S, mid, glist)


@core(boolean(Sarr, i64))
def may_steal(S, mid):
    """Steal, unless everyone else is idle (then no local queue can have work) or enough Ms
    already spin (2*nmspinning >= busy Ps), which keeps CPU use down at low parallelism."""
    nprocs = S[S_NPROCS]
    if knob(S, K_STEAL) == 0 or load(S, S_NPIDLE) == nprocs - 1:
        return False
    if S[mx(S, mid) + M_SPINNING] != 0 or knob(S, K_SPIN_CAP) == 0:
        return True
    return 2 * load(S, S_NMSPINNING) < nprocs - load(S, S_NPIDLE)


@core(pair(Sarr, i64))
def findrunnable(S, mid):
    """Find a runnable G: local queue, global queue, stealing; otherwise give up the P and park.
    Returns (gp, inheritTime), gp 0 only when the run is stopping.  The conditions here and in
    handoffp must agree: if findrunnable would find a G, handoffp must start an M."""
    m = mx(S, mid)
    while True:
        if stopping(S):
            return 0, 0
        if load(S, S_GCWAITING) != 0:
            gcstopm(S, mid)             # stop for the world; back with a P when it starts
            continue
        pid = S[m + M_P]
        gp, inherit = runqget(S, pid)
        if gp != 0:
            return gp, inherit
        if load_relaxed(S, S_RUNQSIZE) != 0:
            lock(S, S_LOCK)
            gp = globrunqget(S, mid, pid, 0)
            unlock(S, S_LOCK)
            if gp != 0:
                return gp, 0
        # Poll the network before stealing: only an optimisation, so skip it when nobody waits
        # or an M already blocks in netpoll (it will deliver).
        if knob(S, K_NETPOLL_IN_FINDRUNNABLE) != 0 and load(S, S_NETPOLLWAITERS) > 0 and \
                load(S, S_LASTPOLL) != 0:
            gp = netpoll_ready(S, mid, netpoll(S, mid, False, ST_NETPOLL_GS_NONBLOCKING))
            if gp != 0:
                return gp, 0
        if may_steal(S, mid):
            if S[m + M_SPINNING] == 0 and knob(S, K_SPINNING) != 0:
                start_spinning(S, mid)
            gp = steal_work(S, mid, pid)
            if gp != 0:
                return gp, 0
        # Nothing to do: give the P back and park.
        lock(S, S_LOCK)
        if load(S, S_GCWAITING) != 0:  # a stop-the-world wants this P: stop it in gcstopm
            unlock(S, S_LOCK)
            continue
        if S[S_RUNQSIZE] != 0:
            gp = globrunqget(S, mid, pid, 0)
            unlock(S, S_LOCK)
            return gp, 0
        releasep(S, mid)
        pidleput(S, pid)
        unlock(S, S_LOCK)
        # Spinning -> non-spinning: drop nmspinning first, then look at every queue again.
        # The seq_cst decrement is the StoreLoad barrier that pairs with the one between a
        # submitter's runqput and its nmspinning check (DESIGN.md, "Spinning").
        was_spinning = S[m + M_SPINNING] != 0
        if was_spinning:
            S[m + M_SPINNING] = 0
            if xadd(S, S_NMSPINNING, -1) < 0:
                raise RuntimeError("findrunnable: negative nmspinning")
        if recheck_runqs(S, mid, was_spinning):
            continue
        gp = poll_until_ready(S, mid)
        if gp != 0:
            return gp, 0
        if S[m + M_P] != 0:
            continue
        stopm(S, mid)


@core(pair(Sarr, i64))
def schedule(S, mid):
    """One round of the scheduler: the G this M runs next (0 when the run is stopping).
    An M with a locked G runs only it (stoplockedm); a G locked to another M is handed our P
    (startlockedm), and this M looks again once it has a P back."""
    m = mx(S, mid)
    if S[m + M_LOCKEDG] != 0:
        stoplockedm(S, mid)
        return (0, 0) if stopping(S) else (S[m + M_LOCKEDG], 0)
    while True:
        gp, inherit = schedule_one(S, mid)
        if gp == 0 or S[gx(S, gp) + G_LOCKEDM] == 0:
            return gp, inherit
        startlockedm(S, mid, gp)
        if stopping(S):
            return 0, 0


@core(pair(Sarr, i64))
def schedule_one(S, mid):
    """Pick a G: stop for the world first; the fairness tick, the local queue, findrunnable."""
    m = mx(S, mid)
    while load(S, S_GCWAITING) != 0:
        gcstopm(S, mid)
        if stopping(S):
            return 0, 0
    pid = S[m + M_P]
    gp = 0
    inherit = 0
    tick = knob(S, K_FAIRNESS_TICK)
    # Every tick-th schedule look at the global queue first, or two Gs that keep readying
    # each other in runnext could starve it.  (The queue's size first: a division by the knob
    # costs ~15 ns, paid only when there is something to take.)
    if tick > 0 and load_relaxed(S, S_RUNQSIZE) > 0 and \
            S[px(S, pid) + P_SCHEDTICK] % tick == 0:
        lock(S, S_LOCK)
        gp = globrunqget(S, mid, pid, 1)
        unlock(S, S_LOCK)
        if gp != 0:
            count(S, mid, ST_FAIRNESS_GETS, 1)
    if gp == 0:
        gp, inherit = runqget(S, pid)
        if gp != 0 and S[m + M_SPINNING] != 0:
            raise RuntimeError("schedule: spinning with local work")
    if gp == 0:
        gp, inherit = findrunnable(S, mid)
        if gp == 0:
            return 0, 0
    if S[m + M_SPINNING] != 0:
        resetspinning(S, mid)
    return gp, inherit


# ---- running it and what follows ----------------------------------------------------------------

@core(i64(Sarr, i64, i64, i64))
def execute(S, mid, gp, inherit):
    """Run gp on this M until it stops; returns the interpreter's WHY_* code.  Without
    inheritTime the G starts a new time slice (schedtick counts slices; sysmon watches it)."""
    m = mx(S, mid)
    g = gx(S, gp)
    casgstatus(S, gp, Grunnable, Grunning)
    store_relaxed(S, g + G_PREEMPT, 0)
    if inherit == 0 or knob(S, K_INHERIT_TIME) == 0:
        p = px(S, S[m + M_P])
        store_relaxed(S, p + P_SCHEDTICK, S[p + P_SCHEDTICK] + 1)
    store(S, m + M_CURG, gp)
    S[g + G_M] = mid
    if latency_sampled(S, g):
        hist_record(S, latx(S, mid), ticks_to_ns(S, cputicks() - S[g + G_READYTICK]))
    S[g + G_TRACKSEQ] += 1
    count(S, mid, ST_SCHEDULES, 1)
    trace_event(S, mid, EV_GO_START, gp, 0)
    return run_g(S, mid, gp)


@core(i64(Sarr, i64, i64))
def park_m(S, mid, gp):
    """gp asked to block: make it _Gwaiting, then release the lock that guarded its wait queue.
    Returns a G to run at once (gp itself, when its wait condition already holds) or 0."""
    m = mx(S, mid)
    casgstatus(S, gp, Grunning, Gwaiting)
    dropg(S, mid, gp)
    kind = S[m + M_WAITLOCKKIND]
    obj = S[m + M_WAITLOCKOBJ]
    S[m + M_WAITLOCKKIND] = 0
    parked = True                       # Go's unlockf result: false when gp need not wait
    if kind == UNLOCK_CHAN:
        unlock(S, cx(S, obj) + C_LOCK)
    elif kind == UNLOCK_GROUP:
        unlock(S, wx(S, obj) + W_LOCK)
    elif kind == UNLOCK_MUTEX:
        unlock(S, xx(S, obj) + X_SEMALOCK)
    elif kind == UNLOCK_TIMER:
        unlock(S, S_TIMERLOCK)
    elif kind == UNLOCK_NETPOLL:
        parked = netpoll_commit_park(S, gp)
    elif kind == UNLOCK_SELECT:
        selparkcommit(S, gp, obj)
    elif kind == UNLOCK_CHILDREN:
        parked = children_commit_park(S, gp)
    if parked:
        return 0
    casgstatus(S, gp, Gwaiting, Grunnable)  # its wait condition already holds: it runs on
    stamp_runnable(S, gx(S, gp))
    return gp


@core(void(Sarr, i64, i64))
def gosched(S, mid, gp):
    """goschedImpl (Gosched and preemption): gp goes to the tail of the global queue."""
    casgstatus(S, gp, Grunning, Grunnable)
    dropg(S, mid, gp)
    stamp_runnable(S, gx(S, gp))
    lock(S, S_LOCK)
    globrunqput(S, gp)
    unlock(S, S_LOCK)
    count(S, mid, ST_GLOBAL_PUTS, 1)


@core(void(Sarr, i64, i64))
def goexit0(S, mid, gp):
    """gp returned: account for it with its parent and group, then free it.  When main returns
    the run is over (as in Go, whatever the other goroutines are doing)."""
    casgstatus(S, gp, Grunning, Gdead)
    dropg(S, mid, gp)
    count(S, mid, ST_GS_EXITED, 1)
    if gp == S[S_MAING]:
        S[S_ENDTICK] = cputicks()
        store(S, S_DONE, 1)
        store(S, S_STOP, 1)
        wake_template(S)
        return
    g = gx(S, gp)
    request_done(S, mid, gp)                # a serve handler: its request's latency
    if S[g + G_PARENT] != 0:
        child_exited(S, mid, S[g + G_PARENT])
    if S[g + G_GROUP] != 0:
        group_done(S, mid, S[g + G_GROUP] - 1)
    if S[g + G_LOCKEDM] != 0:
        goexit_locked(S, mid, gp)       # and mstart's loop ends in mexit
    release_g(S, S[mx(S, mid) + M_P], gp)


@core(pair(Sarr, i64, i64, i64))
def finish(S, mid, gp, why):
    """Complete the stop gp asked for; returns (next G to run at once or 0, inheritTime)."""
    trace_event(S, mid, EV_GO_STOP, gp, why)
    if why == WHY_PARK:
        return park_m(S, mid, gp), 1
    if why == WHY_EXIT:
        goexit0(S, mid, gp)
    elif why == WHY_YIELD:
        gosched(S, mid, gp)
    elif why == WHY_PREEMPT:
        count(S, mid, ST_PREEMPTIONS, 1)
        gosched(S, mid, gp)                 # gopreempt_m
    elif why == WHY_SYSCALL:
        # exitsyscall0: with an idle P the M runs gp at once, in a new time slice;
        # without one gp waits on the global queue and the M stops -- a locked M until
        # another M's schedule picks gp and hands it a P (startlockedm).
        if S[mx(S, mid) + M_P] != 0:
            return gp, 0
        if S[mx(S, mid) + M_LOCKEDG] != 0:
            stoplockedm(S, mid)
            return (0, 0) if stopping(S) else (gp, 0)
        stopm(S, mid)
    return 0, 0


# ---- the M ---------------------------------------------------------------------------------------

@core(void(Sarr, i64, i64))
def runtime_main(S, mid, pid):
    """On the first M, like m0 in Go: create main on our P, so that main runs as soon as it is
    runnable -- the run's clock starts here, with no thread wake-up inside it."""
    gp = gnew(S, mid, pid, 0, 0, 0)
    S[S_MAING] = gp
    runqput(S, mid, pid, gp, False)
    if S[S_GCENTRY] != 0:
        # The gc: section's goroutine, queued after main: a system goroutine, like Go's
        # forcegchelper, so not counted in gs_created (nor, never exiting, in gs_live).
        runqput(S, mid, pid, gnew(S, mid, pid, S[S_GCENTRY] - 1, 0, 0), False)
        count(S, mid, ST_GS_CREATED, -1)
    S[S_STARTTICK] = S[gx(S, gp) + G_READYTICK]
    S[S_RUNSTART_NS] = nanotime()
    store(S, S_LASTPOLL, S[S_RUNSTART_NS])
    store(S, S_MAINSTARTED, 1)
    wake_sysmon(S)


@core(void(Sarr, i64))
def mstart(S, mid):
    """The body of an M's thread: start with the P newm gave it, then schedule until the run
    ends.  Records the thread's CPU time."""
    m = mx(S, mid)
    runtime_timerslack(S)
    cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID)
    store(S, m + M_STARTED, 1)
    pid = S[m + M_NEXTP]
    S[m + M_NEXTP] = 0
    acquirep(S, mid, pid)
    if load(S, S_MAINPENDING) != 0 and cas(S, S_MAINPENDING, 1, 0):
        runtime_main(S, mid, pid)
    while not stopping(S):
        gp, inherit = schedule(S, mid)
        while gp != 0:
            why = execute(S, mid, gp, inherit)
            if why == WHY_STOP:
                break
            gp, inherit = finish(S, mid, gp, why)
        if S[m + M_EXITED] != 0:        # a locked G exited on this M: the thread goes too
            mexit(S, mid)
            break
    S[stx(S, mid) + ST_CPU_NS] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0
    store(S, m + M_STARTED, 2)


@core(void(Sarr))
def spare_thread(S):
    """A spare OS thread (threads.py): waits until newm has an M for it, then becomes that M.
    Returns when the run stops without needing it."""
    lock(S, S_LOCK)
    while True:
        mid = S[S_NEWM]
        if mid != 0:
            S[S_NEWM] = S[mx(S, mid) + M_SCHEDLINK]
            unlock(S, S_LOCK)
            mstart(S, mid)
            return
        if stopping(S):
            unlock(S, S_LOCK)
            return
        S[S_NPOOL] += 1
        seq = load(S, S_POOLWORD)
        unlock(S, S_LOCK)
        futex_wait(S, S_POOLWORD, seq, -1)  # newm bumps the word after pushing, then wakes
        lock(S, S_LOCK)
        S[S_NPOOL] -= 1


# ---- entry points for the template thread (threads.py) -------------------------------------------

@core(void(Sarr))
def start_main(S):
    """Start the run: an M for an idle P, which creates main itself (runtime_main)."""
    lock(S, S_LOCK)
    pid = pidleget(S)
    unlock(S, S_LOCK)
    store(S, S_MAINPENDING, 1)
    newm(S, pid, False)


@core(void(Sarr, i64))
def template_wait(S, timeout_ns):
    """Sleep until an M asks for something (a thread, the end of the run) or timeout_ns pass."""
    if load(S, S_TEMPLNOTE) == 0:
        futex_wait(S, S_TEMPLNOTE, 0, timeout_ns)
    store(S, S_TEMPLNOTE, 0)


@core(void(Sarr))
def stop_all(S):
    """End the run: every M leaves its loop (parked ones are woken), spare threads return.

    Each parked M is woken exactly once: under sched.lock the run is marked stopping and the
    idle M list emptied, so an M still running (a G in ready -> wakep, sysmon in handoffp, the
    timer thread in injectglist) cannot mget one and wake it again -- startm checks S_STOP
    under the same lock.  After a throw, the dead thread may hold sched.lock: then every M's
    note is woken without it (a second wakeup can only add to the failure already reported)."""
    store(S, S_STOP, 1)
    if load(S, S_FATAL) == FATAL_THROW:
        for mid in range(1, load(S, S_MCOUNT) + 1):
            wake_note(S, mx(S, mid) + M_PARK)
    else:
        lock(S, S_LOCK)
        mid = mget(S)
        while mid != 0:
            notewakeup(S, mx(S, mid) + M_PARK)
            mid = mget(S)
        unlock(S, S_LOCK)
        for mid in range(1, load(S, S_MCOUNT) + 1):     # locked Ms park off the idle list
            if S[mx(S, mid) + M_LOCKEDG] != 0:
                wake_note(S, mx(S, mid) + M_PARK)
    wake_note(S, S_SYSMONNOTE)
    netpollbreak(S)
    seqwake(S, S_NETNOTE, 1)
    seqwake(S, S_POOLWORD, 1 << 30)
    seqwake(S, S_TIMERNOTE, 1)


@core(void(Sarr, i64, i64))
def fatal_from_outside(S, code, arg):
    fatal(S, code, arg)


# What the Python side calls: compiled (or loaded) up front by runtime.load_core, before any
# thread starts, so no M ever waits for the compiler.
ENTRY_POINTS = (spare_thread, start_main, template_wait, stop_all, fatal_from_outside,
                sysmon, newsysmon, timerproc, netpollinit, netemu)
