"""The network emulator: a real thread, outside the scheduler, that makes connections ready at
their due times by writing to their eventfds -- so readiness reaches the netpoller through the
kernel exactly as a packet would.  `netwait: D` arms it (netpoll.net_arm) with now + D."""
from .lock import set_timerslack
from .mem import Sarr, core, void
from .servers import SERVE_NETWORK, serve


@core(void(Sarr))
def netemu(S):
    set_timerslack(1)                   # the network, not Go: due times are kept to the µs
    serve(S, SERVE_NETWORK)
