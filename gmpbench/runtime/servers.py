"""The loop of the two threads outside the scheduler that serve a heap of (due time, G): the
timer thread (timers.timerproc: `sleep`) and the network emulator (netemu.netemu: `netwait`).
Neither is an M: they hold no P and run no G.  Each takes, under its heap's lock, every entry
that is due, hands it on, and sleeps on its heap's note (a sequence word) until the earliest
entry or a bump by whoever pushed a new earliest one (lock.seqwake)."""
from .atomics import load, xadd
from .chan import fire_after
from .heap import heap_due, heap_pop, heap_sleep
from .layout import (
    G_CONNFD,
    G_SCHEDLINK,
    H_NETHEAP,
    H_TIMERS,
    S_NETEMUBUF,
    S_NETHEAPN,
    S_NETLOCK,
    S_NETNOTE,
    S_NTIMERS,
    S_TIMERHEAPN,
    S_TIMERLOCK,
    S_TIMERNOTE,
)
from .lock import lock, nanotime, seqsleep, unlock
from .mem import Sarr, core, gx, i64, void
from .netpoll import eventfd_signal
from .proc import injectglist, stopping, wake_sysmon

SERVE_TIMERS, SERVE_NETWORK = 0, 1


@core(i64(Sarr, i64, i64, i64))
def hand_on(S, kind, gp, glist):
    """A due entry: a sleeping G joins the list to make runnable (returned); a select's
    `after:` timer (value -sg) readies its G only if it wins the select; a connection's
    readiness is written to its eventfd, as a packet's arrival would be."""
    if kind == SERVE_TIMERS:
        if gp < 0:
            gp = fire_after(S, -gp)
            if gp == 0:
                return glist
        S[gx(S, gp) + G_SCHEDLINK] = glist
        return gp
    eventfd_signal(S, S_NETEMUBUF, S[gx(S, gp) + G_CONNFD])
    return glist


@core(void(Sarr, i64, i64))
def timers_fired(S, glist, n):
    """After the timer lock: make the n expired Gs runnable (injectglist: the global queue and
    startm for idle Ps), then wake sysmon as timerproc's exitsyscall did."""
    injectglist(S, 0, glist)
    if n > 0:
        wake_sysmon(S)
    # Only now are they runnable: until here checkdead must still count them as pending.
    xadd(S, S_NTIMERS, -n)


@core(void(Sarr, i64))
def serve(S, kind):
    """The thread's loop until the end of the run (SERVE_TIMERS or SERVE_NETWORK)."""
    timers = kind == SERVE_TIMERS
    heap = H_TIMERS if timers else H_NETHEAP
    n_word = S_TIMERHEAPN if timers else S_NETHEAPN
    lock_word = S_TIMERLOCK if timers else S_NETLOCK
    note = S_TIMERNOTE if timers else S_NETNOTE
    while not stopping(S):
        lock(S, lock_word)
        now = nanotime()
        glist = 0
        n = 0
        while heap_due(S, S[heap], n_word, now):
            glist = hand_on(S, kind, heap_pop(S, S[heap], n_word), glist)
            n += 1
        wait = heap_sleep(S, S[heap], n_word, now)
        seq = load(S, note)
        unlock(S, lock_word)
        if timers:
            timers_fired(S, glist, n)
        seqsleep(S, note, seq, wait)
