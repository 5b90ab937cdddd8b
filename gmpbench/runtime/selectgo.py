"""The channel statements of the interpreter: send, recv, close, range and select -- select
ported from selectgo of Go 1.9/1.10's select.go.

selectgo: a random poll order (fastrand, as Go's pollorder), a lock order by channel (the
address order of Go's heap sort: channel ids are laid out in address order), every channel
locked once (sellock); pass 1 takes the first ready case in poll order (a waiting partner, the
buffer, or a closed channel), else default; pass 2 queues one sudog per case on every channel
and parks, park_m releasing the locks once the G is _Gwaiting (selparkcommit); the waker wins
the G's SEL_DONE (chan.dequeue's CAS) and sets SEL_PARAM to the sudog it completed; pass 3,
when the G runs again, relocks, dequeues its other sudogs (dequeueSudoG) and runs the winner's
body -- or, woken by a close (SEL_PARAM 0), polls again and sees the closed channel.

`after: D` (`case <-time.After(D)`) is a timer in the timer heap whose value is the negated
sudog; it is queued under the timer lock, taken after every channel lock and released by park_m
with them; the timer thread fires it only by winning SEL_DONE under that lock, and pass 3
removes a timer that did not fire before it clears SEL_DONE -- so no timer outlives its select
(Go's time.After channel would; DESIGN.md's deviations table).
"""
from .atomics import xadd
from .chan import (
    CH_DONE,
    CH_PANIC,
    CH_PARK,
    buf_get,
    buf_put,
    chan_resumed,
    chanrecv,
    chansend,
    closechan,
    dequeue,
    dequeue_sudog,
    enqueue,
    recv_from,
    selx,
    send_to,
    sgx,
    sudog,
    sudog_init,
    wake,
)
from .heap import heap_remove
from .layout import (
    C_CAP,
    C_CLOSED,
    C_COUNT,
    C_LOCK,
    C_RECVQ,
    C_SENDQ,
    CAP_NIL,
    CASE_AFTER,
    CASE_RECV,
    FATAL_PANIC,
    G_PC,
    H_TIMERS,
    PANIC_SEND_CLOSED,
    S_NTIMERS,
    S_TIMERHEAPN,
    S_TIMERLOCK,
    SEL_DONE,
    SEL_PARAM,
    SEL_RESUME,
    SG_KIND,
    SG_LOCKORD,
    SG_POLL,
    ST_SELECT_PARKS,
    ST_SELECTS,
    UNLOCK_SELECT,
    WAIT_SELECT,
)
from .lock import lock, nanotime, unlock
from .mem import Sarr, boolean, codex, core, count, cx, gx, i64, void
from .proc import fastrand, fatal, prepark
from .sampling import sample
from .timers import addtimer
from ..workload import ops
from ..workload.ops import I_A, I_B, I_C, I_OP

STEP_PARK = -1     # chan_step: gp parks (its pc is saved)
STEP_STOP = -2     # chan_step: the run failed (a panic)
NO_CASE = 1 << 40  # lock-order key of a case without a channel (after, nil): last


# ---- the statements ---------------------------------------------------------------------------

@core(i64(Sarr, i64, i64, i64))
def gopanic(S, gp, pc, code):
    """Go's panic in gp at pc: the run fails (exit 1) with Go's message and the dump."""
    S[gx(S, gp) + G_PC] = pc
    fatal(S, FATAL_PANIC, code)
    return STEP_STOP


@core(i64(Sarr, i64, i64, i64), inline=True)
def outcome(S, gp, pc, r):
    """The next pc after a send/recv/range at pc ended with r (chan.CH_*)."""
    if r == CH_DONE:
        return pc + 1
    if r == CH_PARK:
        S[gx(S, gp) + G_PC] = pc + 1        # gopark: resumes after the statement (chan_resume)
        return STEP_PARK
    if r == CH_PANIC:
        return gopanic(S, gp, pc, PANIC_SEND_CLOSED)
    ins = codex(S, pc)
    if S[ins + I_OP] == ops.RANGE:          # closed and drained: leave the loop
        return S[ins + I_B]
    return pc + 1


@core(i64(Sarr, i64, i64, i64), inline=True)
def chan_step(S, mid, gp, pc):
    """Run the channel statement at pc: the next pc, STEP_PARK or STEP_STOP."""
    ins = codex(S, pc)
    op = S[ins + I_OP]
    a = S[ins + I_A]
    if op == ops.SEND:
        return outcome(S, gp, pc, chansend(S, mid, gp, a))
    if op == ops.RECV or op == ops.RANGE:
        return outcome(S, gp, pc, chanrecv(S, mid, gp, a))
    if op == ops.CLOSE:
        code = closechan(S, mid, a)
        if code != 0:
            return gopanic(S, gp, pc, code)
        return pc + 1
    return selectgo(S, mid, gp, pc)


@core(boolean(Sarr, i64), inline=True)
def resuming(S, gp):
    return S[selx(S, gp) + SEL_RESUME] != 0


@core(i64(Sarr, i64, i64, i64), inline=True)
def chan_resume(S, mid, gp, pc):
    """gp was readied in the channel statement before pc: finish it (its pc, or STEP_*)."""
    at = pc - 1
    op = S[codex(S, at) + I_OP]
    if op == ops.SELECT:
        return select_resume(S, mid, gp, at)
    return outcome(S, gp, at, chan_resumed(S, gp, op == ops.SEND))


# ---- selectgo ---------------------------------------------------------------------------------

@core(i64(Sarr, i64, i64))
def case_row(S, selpc, i):
    return codex(S, selpc + 1 + i)


@core(boolean(Sarr, i64))
def has_chan(S, row):
    """A case on a channel that is not nil (Go's caseRecv/caseSend, not caseNil)."""
    return S[row + I_A] != CASE_AFTER and S[cx(S, S[row + I_B]) + C_CAP] != CAP_NIL


@core(i64(Sarr, i64))
def lock_key(S, row):
    return S[row + I_B] if has_chan(S, row) else NO_CASE


@core(i64(Sarr, i64, i64, i64))
def order_at(S, gp, i, word):
    """pollorder[i] (word SG_POLL) or lockorder[i] (SG_LOCKORD): a case index."""
    return S[sgx(S, sudog(S, gp, i + 1)) + word]


@core(void(Sarr, i64, i64, i64, i64))
def set_order(S, gp, i, word, v):
    S[sgx(S, sudog(S, gp, i + 1)) + word] = v


@core(void(Sarr, i64, i64, i64, i64))
def make_orders(S, mid, gp, selpc, n):
    """pollorder: a random permutation (Go's shuffle with fastrandn); lockorder: the cases
    sorted by channel (an insertion sort: the same order as Go's heap sort for distinct
    channels; cases without a channel last)."""
    for i in range(n):
        j = fastrand(S, mid) % (i + 1)
        set_order(S, gp, i, SG_POLL, order_at(S, gp, j, SG_POLL))
        set_order(S, gp, j, SG_POLL, i)
    for i in range(n):
        key = lock_key(S, case_row(S, selpc, i))
        j = i
        while j > 0 and lock_key(S, case_row(S, selpc, order_at(S, gp, j - 1, SG_LOCKORD))) > key:
            set_order(S, gp, j, SG_LOCKORD, order_at(S, gp, j - 1, SG_LOCKORD))
            j -= 1
        set_order(S, gp, j, SG_LOCKORD, i)


@core(void(Sarr, i64, i64, i64))
def sellock(S, gp, selpc, n):
    """Lock every channel of the select once, in lock order."""
    last = -1
    for i in range(n):
        row = case_row(S, selpc, order_at(S, gp, i, SG_LOCKORD))
        if has_chan(S, row) and S[row + I_B] != last:
            last = S[row + I_B]
            lock(S, cx(S, last) + C_LOCK)


@core(void(Sarr, i64, i64, i64))
def selunlock(S, gp, selpc, n):
    """Unlock them in reverse lock order, each once."""
    for i in range(n - 1, -1, -1):
        row = case_row(S, selpc, order_at(S, gp, i, SG_LOCKORD))
        if not has_chan(S, row):
            continue
        if i > 0:
            prev = case_row(S, selpc, order_at(S, gp, i - 1, SG_LOCKORD))
            if has_chan(S, prev) and S[prev + I_B] == S[row + I_B]:
                continue                    # unlocked on the next iteration
        unlock(S, cx(S, S[row + I_B]) + C_LOCK)


@core(boolean(Sarr, i64))
def has_after(S, selpc):
    n = S[codex(S, selpc) + I_A]
    for i in range(n):
        if S[case_row(S, selpc, i) + I_A] == CASE_AFTER:
            return True
    return False


@core(void(Sarr, i64, i64))
def selparkcommit(S, gp, selpc):
    """park_m's unlock for a select (gp is _Gwaiting now): its channels, then the timer lock."""
    n = S[codex(S, selpc) + I_A]
    selunlock(S, gp, selpc, n)
    if has_after(S, selpc):
        unlock(S, S_TIMERLOCK)


@core(i64(Sarr, i64, i64, i64))
def selectgo(S, mid, gp, selpc):
    """`select`: the pc of the chosen case's body, STEP_PARK or STEP_STOP."""
    count(S, mid, ST_SELECTS, 1)
    n = S[codex(S, selpc) + I_A]
    make_orders(S, mid, gp, selpc, n)
    sellock(S, gp, selpc, n)
    return select_poll(S, mid, gp, selpc, n)


@core(i64(Sarr, i64, i64, i64, i64, i64))
def take_case(S, mid, gp, selpc, n, row):
    """Pass 1 on one case (channels locked): its body pc when ready, -1 when not, STEP_STOP
    for a send on a closed channel."""
    c = cx(S, S[row + I_B])
    if S[row + I_A] == CASE_RECV:
        sg = dequeue(S, c + C_SENDQ)
        if sg != 0:
            recv_from(S, c, sg)
            selunlock(S, gp, selpc, n)
            wake(S, mid, sg)
            return S[row + I_C]
        if S[c + C_COUNT] > 0:
            buf_get(S, c)
        elif S[c + C_CLOSED] == 0:
            return -1
        selunlock(S, gp, selpc, n)          # bufrecv / rclose
        return S[row + I_C]
    if S[c + C_CLOSED] != 0:
        selunlock(S, gp, selpc, n)          # sclose
        return gopanic(S, gp, selpc, PANIC_SEND_CLOSED)
    sg = dequeue(S, c + C_RECVQ)
    if sg != 0:
        send_to(S, c, sg)
        selunlock(S, gp, selpc, n)
        wake(S, mid, sg)
        return S[row + I_C]
    if S[c + C_COUNT] < S[c + C_CAP]:
        buf_put(S, c)
        selunlock(S, gp, selpc, n)
        return S[row + I_C]
    return -1


@core(i64(Sarr, i64, i64, i64, i64))
def select_poll(S, mid, gp, selpc, n):
    """Passes 1 and 2 (the loop: label of selectgo), with every channel locked."""
    for i in range(n):
        row = case_row(S, selpc, order_at(S, gp, i, SG_POLL))
        if has_chan(S, row):
            pc = take_case(S, mid, gp, selpc, n, row)
            if pc != -1:
                return pc
    dflt = S[codex(S, selpc) + I_B]
    if dflt >= 0:
        selunlock(S, gp, selpc, n)
        return dflt
    select_enqueue(S, mid, gp, selpc, n)
    S[gx(S, gp) + G_PC] = selpc + 1
    return STEP_PARK


@core(void(Sarr, i64, i64, i64, i64))
def select_enqueue(S, mid, gp, selpc, n):
    """Pass 2: a sudog per case on every channel (and the after timers), then park."""
    g = gx(S, gp)
    timers = has_after(S, selpc)
    if timers:
        lock(S, S_TIMERLOCK)                # after every channel lock; released by park_m
    for i in range(n):
        k = order_at(S, gp, i, SG_LOCKORD)
        row = case_row(S, selpc, k)
        sg = sudog(S, gp, k + 1)
        sudog_init(S, sg, S[row + I_B], 1)
        S[sgx(S, sg) + SG_KIND] = S[row + I_A]
        if S[row + I_A] == CASE_AFTER:
            add_after(S, g, sg, S[row + I_B])
        elif has_chan(S, row):
            c = cx(S, S[row + I_B])
            enqueue(S, c + (C_RECVQ if S[row + I_A] == CASE_RECV else C_SENDQ), sg)
    h = selx(S, gp)
    S[h + SEL_PARAM] = 0
    S[h + SEL_DONE] = 0
    S[h + SEL_RESUME] = 1
    count(S, mid, ST_SELECT_PARKS, 1)
    prepark(S, mid, gp, WAIT_SELECT, selpc, UNLOCK_SELECT)


@core(void(Sarr, i64, i64, i64))
def add_after(S, g, sg, dist):
    """time.After(D) for one case: a timer whose value is -sg (timer lock held)."""
    addtimer(S, nanotime() + sample(S, g, dist), -sg)


@core(i64(Sarr, i64, i64, i64))
def select_resume(S, mid, gp, selpc):
    """Pass 3: gp was woken; relock, drop the sudogs that did not fire, run the winner."""
    n = S[codex(S, selpc) + I_A]
    h = selx(S, gp)
    S[h + SEL_RESUME] = 0
    sellock(S, gp, selpc, n)
    if has_after(S, selpc):
        drop_timers(S, gp, selpc, n)        # before SEL_DONE is cleared: none may fire after
    S[h + SEL_DONE] = 0
    won = S[h + SEL_PARAM]
    S[h + SEL_PARAM] = 0
    body = -1
    for i in range(n):
        k = order_at(S, gp, i, SG_LOCKORD)
        row = case_row(S, selpc, k)
        sg = sudog(S, gp, k + 1)
        if sg == won:
            body = S[row + I_C]
        elif S[row + I_A] != CASE_AFTER and has_chan(S, row):
            c = cx(S, S[row + I_B])
            dequeue_sudog(S, c + (C_RECVQ if S[row + I_A] == CASE_RECV else C_SENDQ), sg)
    if body < 0:
        # Woken by a close: poll again and see the closed channel (Go: goto loop).
        return select_poll(S, mid, gp, selpc, n)
    selunlock(S, gp, selpc, n)
    return body


@core(void(Sarr, i64, i64, i64))
def drop_timers(S, gp, selpc, n):
    """deltimer for every after case whose timer is still queued."""
    lock(S, S_TIMERLOCK)
    for k in range(n):
        if S[case_row(S, selpc, k) + I_A] == CASE_AFTER:
            if heap_remove(S, S[H_TIMERS], S_TIMERHEAPN, -sudog(S, gp, k + 1)):
                xadd(S, S_NTIMERS, -1)
    unlock(S, S_TIMERLOCK)
