"""Locked Ms: runtime.LockOSThread/UnlockOSThread and the scheduler's paths for a G wired to
its M -- proc.go's lockOSThread, unlockOSThread, startlockedm, stoplockedm and mexit, as in
Go 1.10 (a locked G that exits takes its thread with it).

A locked G runs only on its M (G_LOCKEDM), and that M runs only it (M_LOCKEDG).  When the G
stops (parks, yields, is preempted) its M hands its P off and sleeps (stoplockedm), counted
idle-locked for checkdead; whichever M's schedule then picks the G gives it its own P and goes
idle itself (startlockedm).  Partners: the P crosses in m.nextp, written before notewakeup of
the locked M's park note, read after the M's notesleep (mpark).
"""
from .layout import (
    G_LOCKEDM,
    G_STATUS,
    M_EXITED,
    M_LOCKEDEXT,
    M_LOCKEDG,
    M_NEXTP,
    M_P,
    M_PARK,
    S_LOCK,
    S_NMFREED,
    ST_LOCKEDM_HANDOFFS,
    ST_THREADS_EXITED,
    Grunnable,
)
from .atomics import load
from .lock import lock, notewakeup, unlock
from .mem import Sarr, core, count, gx, i64, mx, void
from .proc import checkdead, handoffp, incidlelocked, mpark, releasep, stopm, stopping


@core(void(Sarr, i64, i64))
def lockOSThread(S, mid, gp):
    """`lockthread`: wire gp to this M (nested calls count, as Go 1.10's lockedExt)."""
    m = mx(S, mid)
    S[m + M_LOCKEDEXT] += 1
    S[m + M_LOCKEDG] = gp
    S[gx(S, gp) + G_LOCKEDM] = mid


@core(void(Sarr, i64, i64))
def unlockOSThread(S, mid, gp):
    """`unlockthread`: undo one lockthread; the last one unwires gp and its M.  (The loader
    rejects an unlockthread with no lockthread before it.)"""
    m = mx(S, mid)
    if S[m + M_LOCKEDEXT] == 0 or S[m + M_LOCKEDG] != gp:
        raise RuntimeError("unlockOSThread: not locked")
    S[m + M_LOCKEDEXT] -= 1
    if S[m + M_LOCKEDEXT] == 0:
        S[m + M_LOCKEDG] = 0
        S[gx(S, gp) + G_LOCKEDM] = 0


@core(void(Sarr, i64))
def stoplockedm(S, mid):
    """This M's locked G stopped: hand the P to another M and sleep until someone schedules
    the G again (startlockedm); returns holding the P it was handed (none if the run stops)."""
    m = mx(S, mid)
    gp = S[m + M_LOCKEDG]
    if gp == 0 or S[gx(S, gp) + G_LOCKEDM] != mid:
        raise RuntimeError("stoplockedm: inconsistent locking")
    if S[m + M_P] != 0:
        handoffp(S, mid, releasep(S, mid))
    incidlelocked(S, 1)
    mpark(S, mid)
    if not stopping(S) and load(S, gx(S, gp) + G_STATUS) != Grunnable:
        raise RuntimeError("stoplockedm: not runnable")


@core(void(Sarr, i64, i64))
def startlockedm(S, mid, gp):
    """gp, picked by this M, is locked to another: give it our P straight away and stop."""
    mp = S[gx(S, gp) + G_LOCKEDM]
    if mp == mid:
        raise RuntimeError("startlockedm: locked to me")
    if S[mx(S, mp) + M_NEXTP] != 0:
        raise RuntimeError("startlockedm: m has p")
    incidlelocked(S, -1)        # it runs again: checkdead must not count it idle meanwhile
    S[mx(S, mp) + M_NEXTP] = releasep(S, mid)
    count(S, mid, ST_LOCKEDM_HANDOFFS, 1)
    notewakeup(S, mx(S, mp) + M_PARK)
    stopm(S, mid)


@core(void(Sarr, i64, i64))
def goexit_locked(S, mid, gp):
    """goexit0 of a locked G: unwire it; its M exits (Go 1.10: the G may have put the thread
    in an unusual state) -- mstart sees M_EXITED and calls mexit."""
    m = mx(S, mid)
    S[gx(S, gp) + G_LOCKEDM] = 0
    S[m + M_LOCKEDG] = 0
    S[m + M_LOCKEDEXT] = 0
    S[m + M_EXITED] = 1


@core(void(Sarr, i64))
def mexit(S, mid):
    """The M's thread ends: hand its P off, count it freed (mcount() drops) and check for a
    deadlock, as its leaving may leave no M running."""
    m = mx(S, mid)
    if S[m + M_P] != 0:
        handoffp(S, mid, releasep(S, mid))
    count(S, mid, ST_THREADS_EXITED, 1)
    lock(S, S_LOCK)
    S[S_NMFREED] += 1
    checkdead(S)
    unlock(S, S_LOCK)
