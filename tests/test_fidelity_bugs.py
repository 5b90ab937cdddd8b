"""Races of the scheduler core, each forced where it can be: the tests call core functions from
Python threads on a hand-built state (no workload), so the interleaving is the test's."""
import os
import threading

import pytest
from numba import njit

from gmpbench.runtime import layout as L
from gmpbench.runtime.atomics import load
from gmpbench.runtime.lock import lock, unlock
from gmpbench.runtime.mem import gx
from gmpbench.runtime.netpoll import eventfd_open, eventfd_signal, netpollinit
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.proc import checkdead, mput, startm
from gmpbench.runtime.runq import malg, mput_list, pidleget, pidleput, runqput
from gmpbench.runtime.state import table
from gmpbench.runtime.syscall import exitsyscall0
from gmpbench.runtime.sysmon import sysmon_netpoll
from gmpbench.runtime.threads import run_program

from util import bare_state, compile_text


def m_row(S, mid):
    return table(S, L.H_ALLM, L.MSTRIDE, mid)


# ---- 1. the submitter's StoreLoad barrier ------------------------------------------------------

def test_runqput_publishes_the_tail_with_a_seq_cst_store(core):
    """wakep_if_needed's loads of npidle/nmspinning must not pass runqput's publish of the
    tail; on x86 only a seq_cst store (XCHG) or a fence stops that, a release store (MOV) does
    not.  Checked on the compiled code: the race itself is a store-buffer window of a few ns."""
    fresh = njit(runqput.core_sig, nogil=True, _nrt=False)(runqput.py_func)  # not cached
    ir = next(iter(fresh.inspect_llvm().values()))
    stores = [ln for ln in ir.splitlines() if "store atomic" in ln]
    assert any("seq_cst" in ln for ln in stores), stores


NO_RUNNEXT = """
name: handoffs
channels: {c: 0}
main:
  - go: {fn: consumer, n: 4}
  - repeat: 2000
    do: [{send: c}, {work: 2us}]
  - wait: children
functions:
  consumer:
    - repeat: 500
      do: [{recv: c}, {work: 1us}]
"""


@pytest.mark.parametrize("procs", [2, 3])
def test_no_runnext_handoffs_are_never_lost(core, tmp_path, procs):
    """Regression stress for the lost wake-up: without runnext every ready goes to the tail of
    the local queue (the exposed path).  A lost wake-up shows as a run held up behind a long
    statement or as the watchdog firing; 20 runs must all finish, every message received."""
    _, prog, _ = compile_text(tmp_path, NO_RUNNEXT)
    for _ in range(20):
        r = run_program(prog, procs, knobs("no-runnext"), timeout=20.0)
        assert r.channels["c"]["received"] == 2000
        assert r.gs_live == 0


# ---- 2. shutdown wakes each parked M once ------------------------------------------------------

def test_startm_after_stop_all_does_not_wake_an_m_twice(core):
    """An M still running when the run ends (a G in ready -> wakep, sysmon in handoffp, the
    timer thread in injectglist) calls startm after stop_all: it must not find an M that
    stop_all already woke ("notewakeup - double wakeup" would fail a finished run)."""
    S = bare_state(procs=2)
    S[L.S_MCOUNT] = 2
    lock(S, L.S_LOCK)
    mput(S, 1)                          # M1 parked in stopm, on the idle list
    unlock(S, L.S_LOCK)
    pid = pidleget(S)
    core.stop_all(S)
    assert m_row(S, 1)[L.M_PARK] == 1   # woken once by stop_all
    startm(S, 2, pid, False)            # must neither raise nor hand M1 the P
    assert m_row(S, 1)[L.M_NEXTP] == 0


# ---- 3. exitsyscall0 drops the G ---------------------------------------------------------------

def test_exitsyscall0_drops_m_curg(core):
    """With no idle P the G goes to the global queue and its M stops: m.curg must not still
    name it (sysmon's preemptone would flag it, maybe running elsewhere, through this M)."""
    S = bare_state(procs=1)
    pidleget(S)                         # the only P is busy elsewhere
    gp = malg(S)
    S[gx(S, gp) + L.G_STATUS] = L.Gsyscall
    mid = 1
    m_row(S, mid)[L.M_CURG] = gp
    S[gx(S, gp) + L.G_M] = mid
    exitsyscall0(S, mid, gp)
    assert S[L.S_RUNQSIZE] == 1         # queued globally: the M will stop
    assert m_row(S, mid)[L.M_CURG] == 0
    assert S[gx(S, gp) + L.G_M] == 0


# ---- 4. sysmon's netpoll and checkdead ---------------------------------------------------------

@njit(nogil=True)
def _park_last_m_repeatedly(S):
    """The last running M parking, over and over: mput's checkdead under sched.lock."""
    while load(S, L.S_DONE) == 0:
        lock(S, L.S_LOCK)
        checkdead(S)
        unlock(S, L.S_LOCK)


def _arm(S, gp, fd, idle_mid):
    """gp waits on the network, the P is idle, idle_mid is parked, nobody polled for long."""
    lock(S, L.S_LOCK)
    S[L.S_RUNQHEAD] = S[L.S_RUNQTAIL] = S[L.S_RUNQSIZE] = 0
    g = S[gx(S, gp):gx(S, gp) + L.GSTRIDE]
    g[L.G_STATUS] = L.Gwaiting
    g[L.G_PDRG] = gp
    S[L.S_NETPOLLWAITERS] = 1
    S[L.S_LASTPOLL] = 1
    if S[L.S_PIDLE] == 0:
        pidleput(S, 1)
    if S[L.S_NMIDLE] == 0:
        m = m_row(S, idle_mid)
        m[L.M_PARK] = 0
        m[L.M_NEXTP] = 0
        mput_list(S, idle_mid)
    unlock(S, L.S_LOCK)
    eventfd_signal(S, L.S_NETEMUBUF, fd)


def test_sysmon_netpoll_never_shows_a_false_deadlock(core):
    """sysmon's netpoll takes a G off the waiter count while it is still _Gwaiting; if the
    last running M parks before sysmon counts itself running, checkdead sees no running M, no
    waiter and a waiting G: "all goroutines are asleep".  Forced: one thread runs checkdead
    in a loop while sysmon's netpoll delivers a G, 3000 times."""
    S = bare_state(procs=1)
    assert netpollinit(S)
    sysmon_mid, idle_mid = 1, 2
    S[L.S_MCOUNT] = 2
    S[L.S_NMSYS] = 1
    S[L.S_MAINSTARTED] = 1
    gp = malg(S)
    fd = eventfd_open(S, L.S_BREAKBUF, gp)
    assert fd > 0
    hammer = threading.Thread(target=_park_last_m_repeatedly, args=(S,), daemon=True)
    hammer.start()
    try:
        for _ in range(3000):
            _arm(S, gp, fd, idle_mid)
            sysmon_netpoll(S, sysmon_mid, 1 << 60)
            assert S[L.S_FATAL] == L.FATAL_NONE, "false deadlock"
    finally:
        S[L.S_DONE] = 1
        hammer.join(5)
    for f in (fd, int(S[L.S_BREAKFD]), int(S[L.S_EPFD])):
        os.close(f)


# ---- a lock held by a thread that failed -------------------------------------------------------

def test_a_lock_abandoned_by_a_failed_thread_does_not_hang_its_waiters(core):
    """A RuntimeError raised inside the core while holding a lock leaves the lock word set;
    a thread waiting for it must leave once the run has failed, not wait for the join timeout."""
    S = bare_state(procs=1)
    lock(S, L.S_LOCK)                   # taken by a thread that then raised
    outcome = []

    def waiter():
        try:
            lock(S, L.S_LOCK)
            outcome.append("locked")
        except RuntimeError as e:
            outcome.append(str(e))
    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    t.join(0.2)
    assert t.is_alive()                 # really waiting
    core.fatal_from_outside(S, L.FATAL_THROW, 0)
    core.stop_all(S)
    t.join(2.0)
    assert not t.is_alive()
    assert outcome and "abandoned" in outcome[0]
