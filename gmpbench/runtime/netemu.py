"""The network emulator: a real thread, outside the scheduler, that makes connections ready at
their due times by writing to their eventfds -- so readiness reaches the netpoller through the
kernel exactly as a packet would.  `netwait: D` arms it (netpoll.net_arm) with now + D."""
from .atomics import load
from .heap import heap_due, heap_pop, heap_sleep
from .layout import G_CONNFD, H_NETHEAP, S_NETHEAPN, S_NETLOCK, S_NETNOTE, S_NETEMUBUF
from .lock import lock, nanotime, set_timerslack, unlock
from .mem import Sarr, core, gx, void
from .netpoll import eventfd_signal
from .osdeps import futex_wait
from .proc import stopping


@core(void(Sarr))
def netemu(S):
    set_timerslack(1)                   # the network, not Go: due times are kept to the µs
    while not stopping(S):
        lock(S, S_NETLOCK)
        now = nanotime()
        while heap_due(S, S[H_NETHEAP], S_NETHEAPN, now):
            conn = heap_pop(S, S[H_NETHEAP], S_NETHEAPN)
            eventfd_signal(S, S_NETEMUBUF, S[gx(S, conn) + G_CONNFD])
        wait = heap_sleep(S, S[H_NETHEAP], S_NETHEAPN, now)
        seq = load(S, S_NETNOTE)
        unlock(S, S_NETLOCK)
        futex_wait(S, S_NETNOTE, seq, wait)
