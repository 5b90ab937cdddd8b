"""Run queues, free lists and idle lists: proc.go's runqput/runqget/runqgrab/runqsteal, the
global queue (globrunqput/putbatch/get), gfput/gfget, pidleput/pidleget and mput/mget.

Local run queue protocol (DESIGN.md, "Local run queues"): a P's ring is written only by its
owner, at runqtail, which it publishes with a seq_cst store (see runqput).  Any thread may consume from
runqhead with a CAS (the owner in runqget, thieves in runqgrab); a consumer reads the slots it
claims *before* its CAS, and the CAS fails if anyone consumed them meanwhile.  runnext is a
single slot changed only by CAS.  Head and tail are int64 counters that never wrap; a slot is
``counter & (size-1)``.
"""
from .atomics import cas, load, load_relaxed, store, store_relaxed, store_seqcst, xadd
from .layout import (
    G_SCHEDLINK,
    G_STATUS,
    GOID_BATCH,
    M_SCHEDLINK,
    P_GFREE,
    P_GFREECNT,
    P_GOIDCACHE,
    P_GOIDCACHEEND,
    P_LINK,
    P_RUNNEXT,
    P_RUNQHEAD,
    P_RUNQTAIL,
    P_STATUS,
    S_ALLGLEN,
    S_GFLOCK,
    S_GFREE,
    S_GOIDGEN,
    S_LOCK,
    S_MAXG,
    S_MIDLE,
    S_NGFREE,
    S_NMIDLE,
    S_NPIDLE,
    S_NPROCS,
    S_PIDLE,
    S_RUNQHEAD,
    S_RUNQSIZE,
    S_RUNQTAIL,
    ST_GLOBAL_GETS,
    ST_GLOBAL_PUTS,
    ST_LOCAL_PUTS,
    ST_RUNNEXT_PUTS,
    ST_RUNNEXT_STEALS,
    Gdead,
    Prunning,
)
from .lock import lock, unlock
from .mem import Sarr, boolean, core, count, gx, i64, knob, mx, pair, px, rqx, void
from .osdeps import nanosleep
from .policy import (
    K_CENTRALIZED,
    K_GLOBAL_BATCH,
    K_RUNNEXT,
    K_RUNNEXT_BACKOFF_US,
    K_RUNQ_SIZE,
    K_STEAL,
)

# ---- global run queue: putting (sched.lock must be held) -------------------------------------------------

@core(void(Sarr, i64, i64, i64))
def globrunqputbatch(S, ghead, gtail, n):
    S[gx(S, gtail) + G_SCHEDLINK] = 0
    tail = S[S_RUNQTAIL]
    if tail != 0:
        S[gx(S, tail) + G_SCHEDLINK] = ghead
    else:
        S[S_RUNQHEAD] = ghead
    S[S_RUNQTAIL] = gtail
    store_relaxed(S, S_RUNQSIZE, S[S_RUNQSIZE] + n)


@core(void(Sarr, i64))
def globrunqput(S, gp):
    globrunqputbatch(S, gp, gp, 1)


# ---- local run queue ----------------------------------------------------------------------------

@core(boolean(Sarr, i64))
def runqempty(S, pid):
    """True when pid has no G in its queue or runnext; never spuriously true.

    Re-reading the tail guards against a runnext G being kicked into the queue and the queue
    then emptied between our reads of head/tail and runnext."""
    p = px(S, pid)
    while True:
        head = load(S, p + P_RUNQHEAD)
        tail = load(S, p + P_RUNQTAIL)
        runnext = load(S, p + P_RUNNEXT)
        if tail == load(S, p + P_RUNQTAIL):
            return head == tail and runnext == 0


@core(boolean(Sarr, i64, i64, i64, i64, i64))
def runqputslow(S, mid, pid, gp, h, t):
    """Move the older half of a full local queue plus gp to the global queue.
    Executed only by the owner P; False when a consumer raced us (retry the fast path)."""
    size = knob(S, K_RUNQ_SIZE)
    n = (t - h) // 2
    if n != size // 2:
        raise RuntimeError("runqputslow: queue is not full")
    q = rqx(S, pid)
    # Claim the batch first: once the CAS succeeds only we (the owner) may touch those slots,
    # so reading them afterwards is safe.
    if not cas(S, px(S, pid) + P_RUNQHEAD, h, h + n):   # cas-release: commits the consume
        return False
    first = S[q + (h & (size - 1))]
    prev = first
    for i in range(1, n):
        g = S[q + ((h + i) & (size - 1))]
        S[gx(S, prev) + G_SCHEDLINK] = g
        prev = g
    S[gx(S, prev) + G_SCHEDLINK] = gp
    lock(S, S_LOCK)
    globrunqputbatch(S, first, gp, n + 1)
    unlock(S, S_LOCK)
    count(S, mid, ST_GLOBAL_PUTS, n + 1)
    return True


@core(void(Sarr, i64, i64, i64, boolean))
def runqput(S, mid, pid, gp, next):
    """Put gp on pid's local queue: in runnext when next (kicking the old runnext to the tail),
    else at the tail; a full queue moves half of itself and gp to the global queue.
    Executed only by the owner P.  With the centralized policy there are no local queues:
    every G goes to the global queue."""
    if knob(S, K_CENTRALIZED) != 0:
        lock(S, S_LOCK)
        globrunqput(S, gp)
        unlock(S, S_LOCK)
        count(S, mid, ST_GLOBAL_PUTS, 1)
        return
    p = px(S, pid)
    if next and knob(S, K_RUNNEXT) != 0:
        while True:
            old = load(S, p + P_RUNNEXT)
            if cas(S, p + P_RUNNEXT, old, gp):
                break
        count(S, mid, ST_RUNNEXT_PUTS, 1)
        if old == 0:
            return
        gp = old  # the previous runnext goes to the tail of the queue
    size = knob(S, K_RUNQ_SIZE)
    q = rqx(S, pid)
    while True:
        h = load(S, p + P_RUNQHEAD)             # load-acquire: synchronize with consumers
        t = load_relaxed(S, p + P_RUNQTAIL)     # only we write it
        if t - h < size:
            S[q + (t & (size - 1))] = gp
            # Publish the slot to consumers with a seq_cst store (Go's atomic.Store is an XCHG):
            # the caller's wakep_if_needed then reads npidle/nmspinning, and a release store
            # could still sit in the store buffer while those loads pass it -- a spinner giving
            # up (findrunnable: decrement, then recheck_runqs) would miss this G.
            store_seqcst(S, p + P_RUNQTAIL, t + 1)
            count(S, mid, ST_LOCAL_PUTS, 1)
            return
        if runqputslow(S, mid, pid, gp, h, t):
            return
        # a consumer took some Gs meanwhile: the queue is no longer full, retry


@core(pair(Sarr, i64))
def runqget(S, pid):
    """Take the next G of pid's local queue: runnext first (then it inherits the time slice).
    Returns (gp, inheritTime); gp 0 when empty.  Executed only by the owner P."""
    p = px(S, pid)
    while True:
        nxt = load(S, p + P_RUNNEXT)
        if nxt == 0:
            break
        if cas(S, p + P_RUNNEXT, nxt, 0):
            return nxt, 1
    size = knob(S, K_RUNQ_SIZE)
    q = rqx(S, pid)
    while True:
        h = load(S, p + P_RUNQHEAD)             # load-acquire: synchronize with other consumers
        t = load_relaxed(S, p + P_RUNQTAIL)
        if t == h:
            return 0, 0
        gp = S[q + (h & (size - 1))]
        if cas(S, p + P_RUNQHEAD, h, h + 1):    # cas-release: commits the consume
            return gp, 0


@core(i64(Sarr, i64, i64, i64, i64, boolean))
def runqgrab(S, mid, victim, thief, batch_head, steal_runnext):
    """Copy half (or, with steal=1, one) of victim's queue into thief's ring starting at
    batch_head; with steal_runnext an empty queue gives up its runnext.  Returns the count.
    Can be executed by any P."""
    vp = px(S, victim)
    size = knob(S, K_RUNQ_SIZE)
    vq = rqx(S, victim)
    tq = rqx(S, thief)
    while True:
        h = load(S, vp + P_RUNQHEAD)            # load-acquire: synchronize with other consumers
        t = load(S, vp + P_RUNQTAIL)            # load-acquire: synchronize with the producer
        n = t - h
        n = n - n // 2
        if knob(S, K_STEAL) == 1 and n > 1:
            n = 1
        if n == 0:
            if not steal_runnext:
                return 0
            nxt = load(S, vp + P_RUNNEXT)
            if nxt == 0:
                return 0
            if load(S, vp + P_STATUS) == Prunning:
                # The victim's G may have just readied nxt and be about to block; give the
                # victim a moment to schedule it rather than thrash it between Ps.
                backoff = knob(S, K_RUNNEXT_BACKOFF_US)
                if backoff > 0:
                    nanosleep(backoff * 1000)
            if not cas(S, vp + P_RUNNEXT, nxt, 0):
                continue
            S[tq + (batch_head & (size - 1))] = nxt
            count(S, mid, ST_RUNNEXT_STEALS, 1)
            return 1
        if n > size // 2:                       # inconsistent read of h and t: retry
            continue
        for i in range(n):
            S[tq + ((batch_head + i) & (size - 1))] = S[vq + ((h + i) & (size - 1))]
        if cas(S, vp + P_RUNQHEAD, h, h + n):   # cas-release: commits the consume
            return n


@core(pair(Sarr, i64, i64, i64, boolean))
def runqsteal(S, mid, pid, victim, steal_runnext):
    """Steal from victim into pid's queue.  Returns (gp, n): one stolen G, not queued, to run
    now (0 if nothing was stolen) and how many Gs were taken in all."""
    p = px(S, pid)
    t = load_relaxed(S, p + P_RUNQTAIL)
    n = runqgrab(S, mid, victim, pid, t, steal_runnext)
    if n == 0:
        return 0, 0
    size = knob(S, K_RUNQ_SIZE)
    gp = S[rqx(S, pid) + ((t + n - 1) & (size - 1))]
    if n == 1:
        return gp, 1
    h = load(S, p + P_RUNQHEAD)                 # load-acquire: synchronize with consumers
    if t - h + n - 1 >= size:
        raise RuntimeError("runqsteal: runq overflow")
    store_seqcst(S, p + P_RUNQTAIL, t + n - 1)  # publish the stolen Gs (as runqput)
    return gp, n


# ---- global run queue: getting (sched.lock must be held)

@core(i64(Sarr))
def globrunqpop(S):
    """Unlink and return the head of the global queue (it must not be empty)."""
    gp = S[S_RUNQHEAD]
    S[S_RUNQHEAD] = S[gx(S, gp) + G_SCHEDLINK]
    if S[S_RUNQHEAD] == 0:
        S[S_RUNQTAIL] = 0
    return gp


@core(i64(Sarr, i64, i64, i64))
def globrunqget(S, mid, pid, max_n):
    """Take a batch from the global queue: one G to return, the rest onto pid's local queue
    (which is empty, or max_n is 1).  Batch rule: runqsize/gomaxprocs + 1, at most max_n (when
    > 0) and at most half a local queue."""
    size = S[S_RUNQSIZE]
    if size == 0:
        return 0
    n = size // S[S_NPROCS] + 1
    if knob(S, K_GLOBAL_BATCH) == 0 or knob(S, K_CENTRALIZED) != 0:
        n = 1
    if n > size:
        n = size
    if max_n > 0 and n > max_n:
        n = max_n
    half = knob(S, K_RUNQ_SIZE) // 2
    if n > half:
        n = half
    store_relaxed(S, S_RUNQSIZE, size - n)
    count(S, mid, ST_GLOBAL_GETS, n)
    gp = globrunqpop(S)
    for _ in range(n - 1):
        runqput(S, mid, pid, globrunqpop(S), False)
    return gp


# ---- idle P and M lists (sched.lock must be held) -----------------------------------------------

@core(void(Sarr, i64))
def pidleput(S, pid):
    if not runqempty(S, pid):
        raise RuntimeError("pidleput: P has non-empty run queue")
    S[px(S, pid) + P_LINK] = S[S_PIDLE]
    S[S_PIDLE] = pid
    xadd(S, S_NPIDLE, 1)


@core(i64(Sarr))
def pidleget(S):
    pid = S[S_PIDLE]
    if pid != 0:
        S[S_PIDLE] = S[px(S, pid) + P_LINK]
        xadd(S, S_NPIDLE, -1)
    return pid


@core(void(Sarr, i64))
def mput_list(S, mid):
    """Put mid on sched.midle (checkdead is the caller's business, see proc.mput)."""
    S[mx(S, mid) + M_SCHEDLINK] = S[S_MIDLE]
    S[S_MIDLE] = mid
    S[S_NMIDLE] += 1


@core(i64(Sarr))
def mget(S):
    mid = S[S_MIDLE]
    if mid != 0:
        S[S_MIDLE] = S[mx(S, mid) + M_SCHEDLINK]
        S[S_NMIDLE] -= 1
    return mid


# ---- G free lists and allocation -----------------------------------------------------------------

@core(void(Sarr, i64, i64))
def gfput(S, pid, gp):
    """Put a dead G on pid's free list; past 64 move a batch to the global list."""
    if load(S, gx(S, gp) + G_STATUS) != Gdead:
        raise RuntimeError("gfput: bad status (not Gdead)")
    p = px(S, pid)
    S[gx(S, gp) + G_SCHEDLINK] = S[p + P_GFREE]
    S[p + P_GFREE] = gp
    S[p + P_GFREECNT] += 1
    if S[p + P_GFREECNT] >= 64:
        lock(S, S_GFLOCK)
        while S[p + P_GFREECNT] >= 32:
            S[p + P_GFREECNT] -= 1
            g = S[p + P_GFREE]
            S[p + P_GFREE] = S[gx(S, g) + G_SCHEDLINK]
            S[gx(S, g) + G_SCHEDLINK] = S[S_GFREE]
            S[S_GFREE] = g
            store_relaxed(S, S_NGFREE, S[S_NGFREE] + 1)
        unlock(S, S_GFLOCK)


@core(i64(Sarr, i64))
def gfget(S, pid):
    """A dead G from pid's free list, refilled from the global list in batches of 32; 0 if none."""
    p = px(S, pid)
    if S[p + P_GFREE] == 0 and load_relaxed(S, S_NGFREE) > 0:
        lock(S, S_GFLOCK)
        while S[p + P_GFREECNT] < 32 and S[S_GFREE] != 0:
            g = S[S_GFREE]
            S[S_GFREE] = S[gx(S, g) + G_SCHEDLINK]
            store_relaxed(S, S_NGFREE, S[S_NGFREE] - 1)
            S[gx(S, g) + G_SCHEDLINK] = S[p + P_GFREE]
            S[p + P_GFREE] = g
            S[p + P_GFREECNT] += 1
        unlock(S, S_GFLOCK)
    gp = S[p + P_GFREE]
    if gp != 0:
        S[p + P_GFREE] = S[gx(S, gp) + G_SCHEDLINK]
        S[p + P_GFREECNT] -= 1
    return gp


@core(i64(Sarr))
def malg(S):
    """A fresh G row (Gdead); 0 when the table is full (the caller reports it)."""
    gp = xadd(S, S_ALLGLEN, 1)
    if gp > S[S_MAXG]:
        xadd(S, S_ALLGLEN, -1)
        return 0
    store(S, gx(S, gp) + G_STATUS, Gdead)
    return gp


@core(i64(Sarr, i64))
def newgoid(S, pid):
    """The next goid, from pid's cached batch (refilled from sched.goidgen)."""
    p = px(S, pid)
    if S[p + P_GOIDCACHE] == S[p + P_GOIDCACHEEND]:
        end = xadd(S, S_GOIDGEN, GOID_BATCH)
        S[p + P_GOIDCACHE] = end - GOID_BATCH + 1
        S[p + P_GOIDCACHEEND] = end + 1
    goid = S[p + P_GOIDCACHE]
    S[p + P_GOIDCACHE] += 1
    return goid
