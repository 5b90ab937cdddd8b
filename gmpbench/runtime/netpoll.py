"""The netpoller: real epoll, one eventfd per connection, pollDesc-style readiness
(netpoll_epoll.go and netpoll.go's netpollblock/netpollunblock).

Each G that waits on the network owns a connection (an eventfd, created on its first `netwait`
and kept with its G row).  pollDesc.rg lives in the G row (G_PDRG): 0, PD_READY, PD_WAIT, or the
waiting G.  A G about to park moves rg 0 -> PD_WAIT, and park_m commits PD_WAIT -> G only once
the G is _Gwaiting; netpoll moves rg to PD_READY and readies the G it displaced.  So readiness
that arrives before the G parks is never lost, and a G that finds PD_READY does not park.

Who polls (DESIGN.md, "Netpoller"): findrunnable without blocking before it steals; an M about to
stop blocks in epoll_wait when Gs wait on the network (sched.lastpoll = 0 says one does); sysmon
when nobody polled for 10 ms.  netpollBreak (an eventfd in the epoll set) wakes a blocked poller.
"""
from .atomics import cas, load, xadd, xchg
from .heap import heap_push
from .layout import (
    EVENTS_MAX,
    EVENTS_WORDS,
    FATAL_NOFILE,
    G_CONNFD,
    G_NETDUE,
    G_NETSTATE,
    G_PDRG,
    G_SCHEDLINK,
    G_WAITREASON,
    H_MEVENTS,
    H_NETHEAP,
    HEAP_VALUE,
    M_SCRATCH,
    PD_READY,
    PD_WAIT,
    S_BREAKBUF,
    S_BREAKFD,
    S_EPFD,
    S_NETHEAPN,
    S_NETLOCK,
    S_NETNOTE,
    S_NETPOLLWAITERS,
    ST_NETPOLL_BLOCKING,
    ST_NETPOLL_CALLS,
    ST_NETPOLL_GS,
    ST_NETWAIT_EARLY,
    ST_NETWAITS,
    UNLOCK_NETPOLL,
    WAIT_NETIO,
    WAIT_NONE,
    Grunnable,
    Gwaiting,
)
from .lock import lock, nanotime, seqwake, unlock
from .mem import Sarr, boolean, core, count, gx, i64, mx, netlatx, void
from .osdeps import (
    EFD_CLOEXEC,
    EFD_NONBLOCK,
    EPOLL_CLOEXEC,
    EPOLL_CTL_ADD,
    EPOLLET,
    EPOLLIN,
    SYS_CLOSE,
    SYS_EPOLL_CREATE1,
    SYS_EPOLL_CTL,
    SYS_EPOLL_WAIT,
    SYS_EVENTFD2,
    SYS_READ,
    SYS_WRITE,
    addressof,
    syscall6,
)
from .proc import casgstatus, fatal, injectglist, prepark, stamp_runnable
from .stats import hist_record
from .trace import EV_NETPOLL, trace_event

BREAK = 0        # epoll data of the netpollBreak eventfd (connection ids are G ids, >= 1)


@core(i64(Sarr, i64, i64))
def epoll_add(S, buf, fd):
    """Register fd for edge-triggered input with its connection id (G id) as data; buf: 2
    words of scratch for the packed epoll_event."""
    return syscall6(SYS_EPOLL_CTL, S[S_EPFD], EPOLL_CTL_ADD, fd, addressof(S, buf), 0, 0)


@core(i64(Sarr, i64, i64))
def eventfd_open(S, buf, conn):
    """A non-blocking eventfd in the epoll set, tagged conn; returns it (or -errno)."""
    fd = syscall6(SYS_EVENTFD2, 0, EFD_NONBLOCK | EFD_CLOEXEC, 0, 0, 0, 0)
    if fd < 0:
        return fd
    S[buf] = (EPOLLIN | EPOLLET) | (conn << 32)     # u32 events, then u64 data, packed
    S[buf + 1] = conn >> 32
    err = epoll_add(S, buf, fd)
    if err < 0:
        syscall6(SYS_CLOSE, fd, 0, 0, 0, 0, 0)
        return err
    return fd


@core(void(Sarr, i64, i64))
def eventfd_signal(S, buf, fd):
    """write(2) one to an eventfd: readiness, as a packet's arrival would be."""
    S[buf] = 1
    syscall6(SYS_WRITE, fd, addressof(S, buf), 8, 0, 0, 0)


@core(void(Sarr, i64, i64))
def eventfd_drain(S, buf, fd):
    """read(2) an eventfd back to zero (non-blocking: a spurious call returns EAGAIN)."""
    syscall6(SYS_READ, fd, addressof(S, buf), 8, 0, 0, 0)


@core(boolean(Sarr))
def netpollinit(S):
    """Create the epoll instance and the netpollBreak eventfd (before the run)."""
    ep = syscall6(SYS_EPOLL_CREATE1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0)
    if ep < 0:
        return False
    S[S_EPFD] = ep
    fd = eventfd_open(S, S_BREAKBUF, BREAK)
    if fd < 0:
        return False
    S[S_BREAKFD] = fd
    return True


@core(boolean(Sarr))
def netpollinited(S):
    return S[S_EPFD] != 0


@core(void(Sarr))
def netpollbreak(S):
    """Wake an M blocked in netpoll(block=True)."""
    if netpollinited(S):
        eventfd_signal(S, S_BREAKBUF, S[S_BREAKFD])


@core(i64(Sarr, i64))
def netpollunblock(S, conn):
    """Readiness on conn: mark it PD_READY; returns the G that waited for it (or 0)."""
    rg = gx(S, conn) + G_PDRG
    while True:
        old = load(S, rg)
        if old == PD_READY:
            return 0
        if cas(S, rg, old, PD_READY):
            return old if old > 0 else 0


@core(i64(Sarr, i64, boolean, i64))
def netpoll(S, mid, block, counter):
    """Poll the network (blocking until something is ready when block); returns the Gs made
    ready, linked through G_SCHEDLINK, still _Gwaiting.  counter names the poller (findrunnable
    non-blocking, findrunnable blocking, sysmon) for the split of netpoll_gs."""
    buf = S[H_MEVENTS] + mid * EVENTS_WORDS
    n = syscall6(SYS_EPOLL_WAIT, S[S_EPFD], addressof(S, buf), EVENTS_MAX, -1 if block else 0,
                 0, 0)
    count(S, mid, ST_NETPOLL_CALLS, 1)
    if block:
        count(S, mid, ST_NETPOLL_BLOCKING, 1)
    glist = 0
    ready = 0
    for k in range(max(n, 0)):
        b = 12 * k + 4                      # the event's data, after its u32 events
        conn = (S[buf + b // 8] >> (8 * (b % 8))) & 0xFFFFFFFF
        if conn == BREAK:
            eventfd_drain(S, mx(S, mid) + M_SCRATCH, S[S_BREAKFD])
            continue
        gp = netpollunblock(S, conn)
        if gp != 0:
            xadd(S, S_NETPOLLWAITERS, -1)
            S[gx(S, gp) + G_SCHEDLINK] = glist
            glist = gp
            count(S, mid, ST_NETPOLL_GS, 1)
            count(S, mid, counter, 1)
            ready += 1
    if ready > 0:
        trace_event(S, mid, EV_NETPOLL, 0, ready)
    return glist


@core(i64(Sarr, i64, i64))
def netpoll_ready(S, mid, glist):
    """Take the first G of a netpoll list to run now (made _Grunnable) and inject the rest.
    Returns the first G (0 for an empty list)."""
    if glist == 0:
        return 0
    g = gx(S, glist)
    injectglist(S, mid, S[g + G_SCHEDLINK])
    casgstatus(S, glist, Gwaiting, Grunnable)
    stamp_runnable(S, g)
    S[g + G_WAITREASON] = WAIT_NONE
    return glist


# ---- the G side: `netwait` ------------------------------------------------------------------------

@core(void(Sarr, i64, i64))
def net_arm(S, due, conn):
    """Ask the network emulator (netemu.py) to make conn ready at due."""
    lock(S, S_NETLOCK)
    heap_push(S, S[H_NETHEAP], S_NETHEAPN, due, conn)
    earliest = S[S[H_NETHEAP] + HEAP_VALUE] == conn
    unlock(S, S_NETLOCK)
    if earliest:                        # the emulator sleeps until the old earliest: wake it
        seqwake(S, S_NETNOTE, 1)


@core(boolean(Sarr, i64, i64, i64))
def netwait_start(S, mid, gp, ns):
    """Start a `netwait`: arm the connection (the emulator makes it ready ns from now) and try
    to block on it.  True when gp must park; False when readiness was already there."""
    g = gx(S, gp)
    if S[g + G_CONNFD] == 0:
        fd = eventfd_open(S, mx(S, mid) + M_SCRATCH, gp)
        if fd < 0:          # the open-file limit (EMFILE) or epoll_ctl: the run stops and gp
            fatal(S, FATAL_NOFILE, -fd)     # stays parked (reported blocked; threads.py names
            S[g + G_NETSTATE] = 1           # the limit), never armed, so nothing readies it
            cas(S, g + G_PDRG, 0, PD_WAIT)
            prepark(S, mid, gp, WAIT_NETIO, gp, UNLOCK_NETPOLL)
            return True
        S[g + G_CONNFD] = fd
    due = nanotime() + ns
    S[g + G_NETDUE] = due
    S[g + G_NETSTATE] = 1
    net_arm(S, due, gp)
    # netpollblock: 0 -> PD_WAIT, unless readiness came first.
    rg = g + G_PDRG
    while True:
        old = load(S, rg)
        if old == PD_READY:
            return False
        if cas(S, rg, 0, PD_WAIT):
            prepark(S, mid, gp, WAIT_NETIO, gp, UNLOCK_NETPOLL)
            return True


@core(boolean(Sarr, i64))
def netpoll_commit_park(S, gp):
    """park_m's second half for `netwait` (gp is _Gwaiting): PD_WAIT -> gp.  False when
    readiness arrived meanwhile -- then gp runs again at once."""
    if cas(S, gx(S, gp) + G_PDRG, PD_WAIT, gp):
        xadd(S, S_NETPOLLWAITERS, 1)
        return True
    return False


@core(void(Sarr, i64, i64))
def netwait_finish(S, mid, gp):
    """The connection is ready: consume the readiness, read the eventfd (conn.Read), and record
    the latency from the due time to now."""
    g = gx(S, gp)
    xchg(S, g + G_PDRG, 0)
    eventfd_drain(S, mx(S, mid) + M_SCRATCH, S[g + G_CONNFD])
    late = nanotime() - S[g + G_NETDUE]
    if late < 0:
        count(S, mid, ST_NETWAIT_EARLY, 1)
    hist_record(S, netlatx(S, mid), max(late, 0))
    count(S, mid, ST_NETWAITS, 1)
    S[g + G_NETSTATE] = 0
