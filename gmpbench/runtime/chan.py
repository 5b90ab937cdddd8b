"""Channels with Go's blocking semantics (chan.go's chansend/chanrecv, without close or select).

Every field of a channel is guarded by its lock.  A blocked G waits in recvq or sendq (linked
through G_SCHEDLINK, the sudog collapsed into the G) and is released by its partner, who copies
the value and readies it with ready(next=true) -- so the partner's P runs it next.  A G that
blocks returns PARK to the M with the channel still locked; park_m unlocks it only after the G
is _Gwaiting, so no partner can ready a G that is still running.
"""
from .layout import (
    C_BUFOFF,
    C_CAP,
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
    G_ELEM,
    G_SCHEDLINK,
    H_CHANBUF,
    UNLOCK_CHAN,
    WAIT_CHANRECV,
    WAIT_CHANSEND,
    WAITQ_FIRST,
    WAITQ_LAST,
)
from .lock import lock, unlock
from .mem import Sarr, boolean, core, cx, gx, i64, void
from .proc import prepark, ready


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


@core(void(Sarr, i64, i64))
def received(S, c, v):
    S[c + C_RECVD] += 1
    S[c + C_RECVDSUM] += v


@core(boolean(Sarr, i64, i64, i64))
def chansend(S, mid, gp, cid):
    """`c <- v` with a fresh message id as v.  True when gp must park."""
    c = cx(S, cid)
    lock(S, c + C_LOCK)
    v = S[c + C_NEXTVAL]
    S[c + C_NEXTVAL] = v + 1
    S[c + C_SENT] += 1
    S[c + C_SENTSUM] += v
    rg = waitq_pop(S, c + C_RECVQ)
    if rg != 0:
        # A receiver waits: hand it the value directly.
        S[gx(S, rg) + G_ELEM] = v
        received(S, c, v)
        unlock(S, c + C_LOCK)
        ready(S, mid, rg, True)
        return False
    cap = S[c + C_CAP]
    if S[c + C_COUNT] < cap:
        S[S[H_CHANBUF] + S[c + C_BUFOFF] + S[c + C_SENDX]] = v
        S[c + C_SENDX] = (S[c + C_SENDX] + 1) % cap
        S[c + C_COUNT] += 1
        unlock(S, c + C_LOCK)
        return False
    S[gx(S, gp) + G_ELEM] = v
    waitq_push(S, c + C_SENDQ, gp)
    prepark(S, mid, gp, WAIT_CHANSEND, cid, UNLOCK_CHAN)
    return True


@core(boolean(Sarr, i64, i64, i64))
def chanrecv(S, mid, gp, cid):
    """`<-c`.  True when gp must park (its partner will fill G_ELEM)."""
    c = cx(S, cid)
    lock(S, c + C_LOCK)
    buf = S[H_CHANBUF] + S[c + C_BUFOFF]
    sg = waitq_pop(S, c + C_SENDQ)
    if sg != 0:
        cap = S[c + C_CAP]
        if cap == 0:
            v = S[gx(S, sg) + G_ELEM]           # unbuffered: straight from the sender
        else:
            # Full buffer: take its head; the sender's value takes the freed tail slot.
            slot = buf + S[c + C_RECVX]
            v = S[slot]
            S[slot] = S[gx(S, sg) + G_ELEM]
            S[c + C_RECVX] = (S[c + C_RECVX] + 1) % cap
            S[c + C_SENDX] = S[c + C_RECVX]
        received(S, c, v)
        unlock(S, c + C_LOCK)
        S[gx(S, gp) + G_ELEM] = v
        ready(S, mid, sg, True)
        return False
    if S[c + C_COUNT] > 0:
        v = S[buf + S[c + C_RECVX]]
        S[c + C_RECVX] = (S[c + C_RECVX] + 1) % S[c + C_CAP]
        S[c + C_COUNT] -= 1
        received(S, c, v)
        unlock(S, c + C_LOCK)
        S[gx(S, gp) + G_ELEM] = v
        return False
    waitq_push(S, c + C_RECVQ, gp)
    prepark(S, mid, gp, WAIT_CHANRECV, cid, UNLOCK_CHAN)
    return True
