"""Waiting for goroutines and sync.Mutex: `wait: children`, wait groups, `lock`/`unlock`.

Children (DESIGN.md, "Waiting for children").  G_CHILDREN of a G is one atomic word:
``live_children * CHILD_ONE | CHILD_WAITING | CHILD_ORPHAN``.  A parent about to wait sets
CHILD_WAITING only after it is _Gwaiting (in park_m, like gopark's unlock function), and only if
children are still live; the child whose exit takes the count to zero sees the flag and readies
the parent -- exactly one of the two notices the other.  A parent that exits with live children
marks itself CHILD_ORPHAN instead of freeing its row, and the last child frees it, so a late
child never decrements a recycled G.

Wait groups (sync.WaitGroup): the count is atomic; waiters queue under the group's lock and
re-check the count under it, and the Done that reaches zero takes the same lock to wake them.

Mutexes (sync.Mutex): X_STATE is ``locked | waiters * 2``.  Lock spins briefly while that can
pay (sync_runtime_canSpin), then queues under the semaphore lock; Unlock with waiters hands the
mutex straight to the first of them (the state stays locked).
"""
from .atomics import cas, load, store, xadd
from .chan import waitq_pop, waitq_push
from .layout import (
    G_CHILDREN,
    M_P,
    S_NMSPINNING,
    S_NPIDLE,
    S_NPROCS,
    UNLOCK_CHILDREN,
    UNLOCK_GROUP,
    UNLOCK_MUTEX,
    W_COUNT,
    W_LOCK,
    W_WAITQ,
    WAIT_CHILDREN,
    WAIT_GROUP,
    WAIT_MUTEX,
    X_SEMAQ,
    X_SEMALOCK,
    X_STATE,
)
from .lock import ACTIVE_SPIN, ACTIVE_SPIN_CNT, lock, procyield, unlock
from .mem import Sarr, boolean, core, gx, i64, mx, void, wx, xx
from .proc import prepark, ready
from .runq import gfput, runqempty

CHILD_WAITING = 1
CHILD_ORPHAN = 2
CHILD_ONE = 4


# ---- children -----------------------------------------------------------------------------------

@core(void(Sarr, i64))
def child_started(S, parent):
    xadd(S, gx(S, parent) + G_CHILDREN, CHILD_ONE)


@core(boolean(Sarr, i64))
def children_done(S, gp):
    return load(S, gx(S, gp) + G_CHILDREN) < CHILD_ONE


@core(boolean(Sarr, i64, i64))
def wait_children(S, mid, gp):
    """`wait: children`.  True when gp must park."""
    if children_done(S, gp):
        return False
    prepark(S, mid, gp, WAIT_CHILDREN, gp, UNLOCK_CHILDREN)
    return True


@core(boolean(Sarr, i64))
def children_commit_park(S, gp):
    """park_m's second half for `wait: children` (gp is already _Gwaiting): announce the wait.
    False when the last child exited meanwhile -- then gp runs again at once."""
    w = gx(S, gp) + G_CHILDREN
    while True:
        v = load(S, w)
        if v < CHILD_ONE:
            return False
        if cas(S, w, v, v | CHILD_WAITING):
            return True


@core(void(Sarr, i64, i64))
def child_exited(S, mid, parent):
    """A child of parent returned: the last one wakes a waiting parent or frees an exited one."""
    w = gx(S, parent) + G_CHILDREN
    v = xadd(S, w, -CHILD_ONE)
    if v == CHILD_WAITING:
        store(S, w, 0)
        ready(S, mid, parent, True)
    elif v == CHILD_ORPHAN:
        store(S, w, 0)
        gfput(S, S[mx(S, mid) + M_P], parent)


@core(void(Sarr, i64, i64))
def release_g(S, pid, gp):
    """Free a dead G's row, unless live children still count on it (they free it)."""
    w = gx(S, gp) + G_CHILDREN
    while True:
        v = load(S, w)
        if v < CHILD_ONE:
            gfput(S, pid, gp)
            return
        if cas(S, w, v, v | CHILD_ORPHAN):
            return


# ---- wait groups --------------------------------------------------------------------------------

@core(void(Sarr, i64, i64))
def group_add(S, w, delta):
    xadd(S, wx(S, w) + W_COUNT, delta)


@core(void(Sarr, i64, i64))
def group_done(S, mid, w):
    row = wx(S, w)
    v = xadd(S, row + W_COUNT, -1)
    if v < 0:
        raise RuntimeError("sync: negative WaitGroup counter")
    if v != 0:
        return
    lock(S, row + W_LOCK)
    while True:
        gp = waitq_pop(S, row + W_WAITQ)
        if gp == 0:
            break
        ready(S, mid, gp, True)
    unlock(S, row + W_LOCK)


@core(boolean(Sarr, i64, i64, i64))
def group_wait(S, mid, gp, w):
    """`wait: W`.  True when gp must park (the group lock stays held until park_m)."""
    row = wx(S, w)
    if load(S, row + W_COUNT) == 0:
        return False
    lock(S, row + W_LOCK)
    if load(S, row + W_COUNT) == 0:
        unlock(S, row + W_LOCK)
        return False
    waitq_push(S, row + W_WAITQ, gp)
    prepark(S, mid, gp, WAIT_GROUP, w, UNLOCK_GROUP)
    return True


# ---- sync.Mutex -----------------------------------------------------------------------------------

@core(boolean(Sarr, i64, i64))
def can_spin(S, mid, i):
    """sync_runtime_canSpin: spin a few times, only with other running Ps and no local work."""
    if i >= ACTIVE_SPIN or S[S_NPROCS] <= load(S, S_NPIDLE) + load(S, S_NMSPINNING) + 1:
        return False
    return runqempty(S, S[mx(S, mid) + M_P])


@core(boolean(Sarr, i64, i64, i64))
def mutex_lock(S, mid, gp, x):
    """`lock: M`.  True when gp must park; it then owns the mutex when readied."""
    row = xx(S, x)
    if cas(S, row + X_STATE, 0, 1):
        return False
    i = 0
    while can_spin(S, mid, i):
        procyield(ACTIVE_SPIN_CNT)
        if cas(S, row + X_STATE, 0, 1):
            return False
        i += 1
    lock(S, row + X_SEMALOCK)
    while True:
        v = load(S, row + X_STATE)
        if v & 1 == 0:
            if cas(S, row + X_STATE, v, v | 1):
                unlock(S, row + X_SEMALOCK)
                return False
        elif cas(S, row + X_STATE, v, v + 2):
            break
    waitq_push(S, row + X_SEMAQ, gp)
    prepark(S, mid, gp, WAIT_MUTEX, x, UNLOCK_MUTEX)
    return True


@core(void(Sarr, i64, i64))
def mutex_unlock(S, mid, x):
    """`unlock: M`: release, or hand the mutex to the first waiter."""
    row = xx(S, x)
    if cas(S, row + X_STATE, 1, 0):
        return
    if load(S, row + X_STATE) & 1 == 0:
        raise RuntimeError("sync: unlock of unlocked mutex")
    lock(S, row + X_SEMALOCK)
    gp = waitq_pop(S, row + X_SEMAQ)
    xadd(S, row + X_STATE, -2)        # one waiter fewer; the locked bit passes to gp
    unlock(S, row + X_SEMALOCK)
    ready(S, mid, gp, True)
