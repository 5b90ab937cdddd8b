"""Channels as chan.go of Go 1.9/1.10 has them: chansend, chanrecv, closechan, and the wait
queues of sudogs that selectgo (selectgo.py) shares.

Every field of a channel is guarded by its lock.  A blocked G waits as a sudog (a row of its own
block of the sudog table, layout's SG_*; its select header SEL_* is in its G row) in recvq or sendq; the partner dequeues the sudog,
carries the value, stores the sudog in the G's SEL_PARAM (g.param) and readies it with
ready(next=true) -- so the partner's P runs it next.  closechan readies every waiter with
SEL_PARAM = 0.  A G that blocks returns PARK to the M with the channel still locked; park_m
unlocks it only after the G is _Gwaiting, so no partner can ready a G that is still running.
A select's sudog is taken only by the waker that wins the G's SEL_DONE (dequeue's CAS), so a
select G is woken once although it waits on every channel of its cases.

Message ids: each value that moves (into a buffer or to a receiver) gets the channel's next id,
and C_SENT/C_SENTSUM count it; the receiver adds it to C_RECVD/C_RECVDSUM -- every message once.
"""
from .atomics import cas
from .layout import (
    C_BUFOFF,
    C_CAP,
    C_CLOSED,
    C_COUNT,
    C_LOCK,
    C_NEXTVAL,
    C_RECVD,
    C_RECVDSUM,
    C_RECVQ,
    C_RECVX,
    C_SENDQ,
    C_SENDX,
    C_SENT,
    C_SENTSUM,
    CAP_NIL,
    G_SCHEDLINK,
    H_CHANBUF,
    H_SUDOGN,
    H_SUDOGS,
    PANIC_CLOSE_CLOSED,
    PANIC_CLOSE_NIL,
    SEL_DONE,
    SEL_PARAM,
    SEL_RESUME,
    SG_CHAN,
    SG_ELEM,
    SG_ISSELECT,
    SG_NEXT,
    SG_PREV,
    SGSTRIDE,
    UNLOCK_CHAN,
    UNLOCK_NONE,
    WAIT_CHANRECV,
    WAIT_CHANRECV_NIL,
    WAIT_CHANSEND,
    WAIT_CHANSEND_NIL,
    WAITQ_FIRST,
    WAITQ_LAST,
)
from .lock import lock, unlock
from .mem import Sarr, core, cx, gx, i64, void
from .proc import prepark, ready

# results of a channel operation
CH_DONE = 0        # completed
CH_PARK = 1        # gp must park (the channel lock stays held until park_m)
CH_CLOSED = 2      # a receive saw the channel closed and empty (Go: v, ok = zero, false)
CH_PANIC = 3       # send on a closed channel: the run fails as Go's panic


# ---- G wait queues of sync.py (groups, semaphores): Gs linked through G_SCHEDLINK ------------

@core(void(Sarr, i64, i64))
def waitq_push(S, q, gp):
    """Append gp to the wait queue (layout.py's WAITQ_*) at S[q]."""
    S[gx(S, gp) + G_SCHEDLINK] = 0
    last = S[q + WAITQ_LAST]
    if last == 0:
        S[q + WAITQ_FIRST] = gp
    else:
        S[gx(S, last) + G_SCHEDLINK] = gp
    S[q + WAITQ_LAST] = gp


@core(i64(Sarr, i64))
def waitq_pop(S, q):
    """Remove and return the first G of the wait queue at S[q] (0 when empty)."""
    gp = S[q + WAITQ_FIRST]
    if gp != 0:
        g = gx(S, gp)
        S[q + WAITQ_FIRST] = S[g + G_SCHEDLINK]
        if S[q + WAITQ_FIRST] == 0:
            S[q + WAITQ_LAST] = 0
        S[g + G_SCHEDLINK] = 0
    return gp


# ---- sudogs -----------------------------------------------------------------------------------

@core(i64(Sarr, i64, i64))
def sudog(S, gp, k):
    """The id of gp's k-th sudog, k = 1..S[H_SUDOGN] (row k - 1 of gp's block).  Never 0 -- the
    nil of wait queue links, SEL_PARAM's "a close woke it" and the timer heap -- because gp >= 1
    (row 0 of the G table is unused) and H_SUDOGN >= 1 (state.sudogs_per_g)."""
    return gp * S[H_SUDOGN] + k - 1


@core(i64(Sarr, i64))
def sgx(S, sg):
    return S[H_SUDOGS] + sg * SGSTRIDE


@core(i64(Sarr, i64))
def sg_g(S, sg):
    """sudog.g: gp's block holds ids gp * H_SUDOGN .. gp * H_SUDOGN + H_SUDOGN - 1 (sudog)."""
    return sg // S[H_SUDOGN]


@core(i64(Sarr, i64))
def selx(S, gp):
    """Index of gp's select header (SEL_* words): its G row, where the header lives (layout.py)."""
    return gx(S, gp)


@core(void(Sarr, i64, i64, i64))
def sudog_init(S, sg, cid, is_select):
    s = sgx(S, sg)
    S[s + SG_NEXT] = 0
    S[s + SG_PREV] = 0
    S[s + SG_ELEM] = 0
    S[s + SG_CHAN] = cid
    S[s + SG_ISSELECT] = is_select


# ---- wait queues of sudogs (C_RECVQ, C_SENDQ: WAITQ_FIRST, WAITQ_LAST) -----------------------

@core(void(Sarr, i64, i64))
def enqueue(S, q, sg):
    s = sgx(S, sg)
    S[s + SG_NEXT] = 0
    last = S[q + WAITQ_LAST]
    S[s + SG_PREV] = last
    if last == 0:
        S[q + WAITQ_FIRST] = sg
    else:
        S[sgx(S, last) + SG_NEXT] = sg
    S[q + WAITQ_LAST] = sg


@core(i64(Sarr, i64))
def dequeue(S, q):
    """The first sudog whose G may be woken (0: none).  A select's sudog is skipped unless this
    caller wins its G's SEL_DONE -- the partner of the CAS is every other waker of that select
    (other channels, closechan, the select's timer); selectgo's pass 3 removes the rest."""
    while True:
        sg = S[q + WAITQ_FIRST]
        if sg == 0:
            return 0
        s = sgx(S, sg)
        y = S[s + SG_NEXT]
        if y == 0:
            S[q + WAITQ_FIRST] = 0
            S[q + WAITQ_LAST] = 0
        else:
            S[sgx(S, y) + SG_PREV] = 0
            S[q + WAITQ_FIRST] = y
            S[s + SG_NEXT] = 0
        if S[s + SG_ISSELECT] != 0 and not cas(S, selx(S, sg_g(S, sg)) + SEL_DONE, 0, 1):
            continue
        return sg


@core(void(Sarr, i64, i64))
def dequeue_sudog(S, q, sg):
    """Unlink sg wherever it is in the queue (dequeueSudoG); nothing when it is not queued."""
    s = sgx(S, sg)
    x = S[s + SG_PREV]
    y = S[s + SG_NEXT]
    S[s + SG_PREV] = 0
    S[s + SG_NEXT] = 0
    if x != 0:
        S[sgx(S, x) + SG_NEXT] = y
        if y != 0:
            S[sgx(S, y) + SG_PREV] = x
        else:
            S[q + WAITQ_LAST] = x
    elif y != 0:
        S[sgx(S, y) + SG_PREV] = 0
        S[q + WAITQ_FIRST] = y
    elif S[q + WAITQ_FIRST] == sg:
        S[q + WAITQ_FIRST] = 0
        S[q + WAITQ_LAST] = 0


@core(i64(Sarr, i64))
def fire_after(S, sg):
    """A select's `after:` timer, popped by the timer thread (timer lock held): its G when the
    timer wins the select (SEL_DONE, against the wakers of dequeue), else 0 -- the select
    already ended."""
    gp = sg_g(S, sg)
    h = selx(S, gp)
    if not cas(S, h + SEL_DONE, 0, 1):
        return 0
    S[h + SEL_PARAM] = sg
    return gp


# ---- moving values (channel lock held) --------------------------------------------------------

@core(i64(Sarr, i64))
def newval(S, c):
    """The id of a value that starts moving now (counted sent)."""
    v = S[c + C_NEXTVAL]
    S[c + C_NEXTVAL] = v + 1
    S[c + C_SENT] += 1
    S[c + C_SENTSUM] += v
    return v


@core(void(Sarr, i64, i64))
def received(S, c, v):
    S[c + C_RECVD] += 1
    S[c + C_RECVDSUM] += v


@core(void(Sarr, i64, i64))
def send_to(S, c, sg):
    """send(): a new value straight to the waiting receiver sg."""
    v = newval(S, c)
    S[sgx(S, sg) + SG_ELEM] = v
    received(S, c, v)


@core(void(Sarr, i64, i64))
def recv_from(S, c, sg):
    """recv(): from the waiting sender sg -- straight when unbuffered; from a full buffer its
    head, the sender's value taking the freed tail slot."""
    cap = S[c + C_CAP]
    if cap == 0:
        received(S, c, newval(S, c))
        return
    slot = S[H_CHANBUF] + S[c + C_BUFOFF] + S[c + C_RECVX]
    received(S, c, S[slot])
    S[slot] = newval(S, c)
    S[c + C_RECVX] = (S[c + C_RECVX] + 1) % cap
    S[c + C_SENDX] = S[c + C_RECVX]


@core(void(Sarr, i64))
def buf_put(S, c):
    S[S[H_CHANBUF] + S[c + C_BUFOFF] + S[c + C_SENDX]] = newval(S, c)
    S[c + C_SENDX] = (S[c + C_SENDX] + 1) % S[c + C_CAP]
    S[c + C_COUNT] += 1


@core(void(Sarr, i64))
def buf_get(S, c):
    received(S, c, S[S[H_CHANBUF] + S[c + C_BUFOFF] + S[c + C_RECVX]])
    S[c + C_RECVX] = (S[c + C_RECVX] + 1) % S[c + C_CAP]
    S[c + C_COUNT] -= 1


@core(void(Sarr, i64, i64))
def wake(S, mid, sg):
    """goready(sg.g) with g.param = sg, after the channel lock is released."""
    gp = sg_g(S, sg)
    S[selx(S, gp) + SEL_PARAM] = sg
    ready(S, mid, gp, True)


# ---- the operations ---------------------------------------------------------------------------

@core(i64(Sarr, i64, i64, i64, i64, i64), inline=True)
def block_on(S, mid, gp, cid, q, reason):
    """Queue gp's sudog 1 on q and prepare to park holding the channel lock."""
    sg = sudog(S, gp, 1)
    sudog_init(S, sg, cid, 0)
    enqueue(S, q, sg)
    h = selx(S, gp)
    S[h + SEL_PARAM] = 0
    S[h + SEL_RESUME] = 1
    prepark(S, mid, gp, reason, cid, UNLOCK_CHAN)
    return CH_PARK


@core(i64(Sarr, i64, i64, i64))
def chansend(S, mid, gp, cid):
    """`c <- v`: CH_DONE, CH_PARK or CH_PANIC (send on closed channel)."""
    c = cx(S, cid)
    if S[c + C_CAP] == CAP_NIL:
        prepark(S, mid, gp, WAIT_CHANSEND_NIL, cid, UNLOCK_NONE)   # blocks forever
        return CH_PARK
    lock(S, c + C_LOCK)
    if S[c + C_CLOSED] != 0:
        unlock(S, c + C_LOCK)
        return CH_PANIC
    sg = dequeue(S, c + C_RECVQ)
    if sg != 0:
        send_to(S, c, sg)
        unlock(S, c + C_LOCK)
        wake(S, mid, sg)
        return CH_DONE
    if S[c + C_COUNT] < S[c + C_CAP]:
        buf_put(S, c)
        unlock(S, c + C_LOCK)
        return CH_DONE
    return block_on(S, mid, gp, cid, c + C_SENDQ, WAIT_CHANSEND)


@core(i64(Sarr, i64, i64, i64))
def chanrecv(S, mid, gp, cid):
    """`v, ok := <-c`: CH_DONE, CH_CLOSED (closed and drained: at once) or CH_PARK."""
    c = cx(S, cid)
    if S[c + C_CAP] == CAP_NIL:
        prepark(S, mid, gp, WAIT_CHANRECV_NIL, cid, UNLOCK_NONE)   # blocks forever
        return CH_PARK
    lock(S, c + C_LOCK)
    if S[c + C_CLOSED] != 0 and S[c + C_COUNT] == 0:
        unlock(S, c + C_LOCK)
        return CH_CLOSED
    sg = dequeue(S, c + C_SENDQ)
    if sg != 0:
        recv_from(S, c, sg)
        unlock(S, c + C_LOCK)
        wake(S, mid, sg)
        return CH_DONE
    if S[c + C_COUNT] > 0:
        buf_get(S, c)
        unlock(S, c + C_LOCK)
        return CH_DONE
    return block_on(S, mid, gp, cid, c + C_RECVQ, WAIT_CHANRECV)


@core(i64(Sarr, i64, i64))
def chan_resumed(S, gp, is_send):
    """After a blocked send/recv was readied: what completed it (gp.param == nil: a close)."""
    h = selx(S, gp)
    S[h + SEL_RESUME] = 0
    if S[h + SEL_PARAM] != 0:
        S[h + SEL_PARAM] = 0
        return CH_DONE
    return CH_PANIC if is_send else CH_CLOSED


@core(i64(Sarr, i64, i64))
def release_all(S, q, glist):
    """closechan: every G waiting on q joins glist (linked through G_SCHEDLINK), param nil."""
    while True:
        sg = dequeue(S, q)
        if sg == 0:
            return glist
        gp = sg_g(S, sg)
        S[selx(S, gp) + SEL_PARAM] = 0
        S[gx(S, gp) + G_SCHEDLINK] = glist
        glist = gp


@core(i64(Sarr, i64, i64))
def closechan(S, mid, cid):
    """`close(c)`: 0, or the PANIC_* code of Go's panic (close of nil / closed channel)."""
    c = cx(S, cid)
    if S[c + C_CAP] == CAP_NIL:
        return PANIC_CLOSE_NIL
    lock(S, c + C_LOCK)
    if S[c + C_CLOSED] != 0:
        unlock(S, c + C_LOCK)
        return PANIC_CLOSE_CLOSED
    S[c + C_CLOSED] = 1
    glist = release_all(S, c + C_RECVQ, 0)    # readers get zero values, ok false
    glist = release_all(S, c + C_SENDQ, glist)   # writers will panic
    unlock(S, c + C_LOCK)
    while glist != 0:                              # Ready all Gs now that the lock is dropped
        gp = glist
        glist = S[gx(S, gp) + G_SCHEDLINK]
        S[gx(S, gp) + G_SCHEDLINK] = 0
        ready(S, mid, gp, True)
    return 0
