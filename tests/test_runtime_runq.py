"""The local run queue against a sequential oracle (hypothesis) and under real contention."""
import threading
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from gmpbench.runtime import layout as L
from gmpbench.runtime.atomics import xadd
from gmpbench.runtime.lock import lock, unlock
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.runq import (
    globrunqget, globrunqpop, runqempty, runqget, runqput, runqsteal,
)
from gmpbench.runtime.state import new_state

from util import empty_program


class Oracle:
    """Sequential model of proc.go's queues: a ring per P plus runnext, and the global queue."""

    def __init__(self, size, nprocs):
        self.size = size
        self.q = {p: deque() for p in range(1, nprocs + 1)}
        self.next = {p: 0 for p in range(1, nprocs + 1)}
        self.glob = deque()

    def put(self, pid, gp, nxt):
        if nxt:
            gp, self.next[pid] = self.next[pid], gp
            if gp == 0:
                return
        q = self.q[pid]
        if len(q) < self.size:
            q.append(gp)
            return
        batch = [q.popleft() for _ in range(self.size // 2)]
        self.glob.extend(batch + [gp])

    def get(self, pid):
        if self.next[pid]:
            gp, self.next[pid] = self.next[pid], 0
            return gp, 1
        if self.q[pid]:
            return self.q[pid].popleft(), 0
        return 0, 0

    def steal(self, thief, victim, steal_runnext):
        q = self.q[victim]
        n = len(q) - len(q) // 2
        if n == 0:
            if steal_runnext and self.next[victim]:
                gp, self.next[victim] = self.next[victim], 0
                return gp, 1
            return 0, 0
        got = [q.popleft() for _ in range(n)]
        self.q[thief].extend(got[:-1])
        return got[-1], n


def state(size, nprocs=2, max_gs=4096):
    k = knobs("baseline", {"runq_size": size, "runnext_backoff_us": 0})
    return new_state(empty_program(), nprocs, k, max_threads=4, max_gs=max_gs, seed=1)


ops = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(1, 2), st.booleans()),
    st.tuples(st.just("get"), st.integers(1, 2)),
    st.tuples(st.just("steal"), st.integers(1, 2), st.booleans()),
    st.tuples(st.just("glob"), st.integers(1, 2)),
), max_size=400)


@settings(max_examples=150, deadline=None)
@given(size=st.sampled_from([4, 8, 256]), program=ops)
def test_runq_matches_sequential_oracle(size, program):
    S = state(size)
    model = Oracle(size, 2)
    nextg = 1
    for op in program:
        kind, pid = op[0], op[1]
        if kind == "put":
            runqput(S, 1, pid, nextg, op[2])
            model.put(pid, nextg, op[2])
            nextg += 1
        elif kind == "get":
            assert tuple(runqget(S, pid)) == model.get(pid)
        elif kind == "steal":
            victim = 3 - pid
            assert tuple(runqsteal(S, 1, pid, victim, op[2])) == model.steal(pid, victim, op[2])
        else:
            assert S[L.S_RUNQSIZE] == len(model.glob)
            if model.glob and not model.q[pid] and not model.next[pid]:
                got = globrunqget(S, 1, pid, 1)
                assert got == model.glob.popleft()
        for p in (1, 2):
            assert runqempty(S, p) == (not model.q[p] and not model.next[p])
    assert S[L.S_RUNQSIZE] == len(model.glob)
    for gp in model.glob:
        assert globrunqpop(S) == gp


def test_globrunqget_batch_rule():
    """globrunqget takes runqsize/gomaxprocs+1, capped by max and by half a local queue."""
    S = state(8, nprocs=2)
    lock(S, L.S_LOCK)
    for gp in range(1, 22):
        from gmpbench.runtime.runq import globrunqput
        globrunqput(S, gp)
    first = globrunqget(S, 1, 1, 0)      # 21/2+1 = 11, capped at 8/2 = 4
    unlock(S, L.S_LOCK)
    assert first == 1
    assert S[L.S_RUNQSIZE] == 17
    assert [runqget(S, 1)[0] for _ in range(4)] == [2, 3, 4, 0]


# ---- real threads ---------------------------------------------------------------------------------

@njit(nogil=True)
def _owner(S, seen, n, stop):
    for i in range(1, n + 1):
        runqput(S, 1, 1, i, i % 4 == 0)
        if i % 2 == 0:
            gp, _ = runqget(S, 1)
            if gp != 0:
                xadd(seen, gp, 1)
    while True:
        gp, _ = runqget(S, 1)
        if gp == 0:
            break
        xadd(seen, gp, 1)
    xadd(stop, 0, 1)


@njit(nogil=True)
def _thief(S, seen, mid, stop):
    stolen = 0
    while True:
        done = stop[0] != 0
        gp, n = runqsteal(S, mid, mid, 1, True)
        if gp != 0:
            stolen += n
            xadd(seen, gp, 1)
        while True:
            g2, _ = runqget(S, mid)
            if g2 == 0:
                break
            xadd(seen, g2, 1)
        if done and gp == 0:
            return stolen


@pytest.mark.parametrize("size", [256, 16])
def test_runq_under_contention_every_g_once(size):
    """An owner putting and getting while two other threads steal: 10 million Gs (4 million
    with a small ring), each taken exactly once."""
    n = 10_000_000 if size == 256 else 4_000_000
    warm = state(size, nprocs=3, max_gs=100)
    stop = np.zeros(8, np.int64)
    _owner(warm, np.zeros(101, np.int64), 100, stop)    # compile both before the race
    _thief(warm, np.zeros(101, np.int64), 2, stop)
    S = state(size, nprocs=3, max_gs=n)
    seen = np.zeros(n + 1, np.int64)
    stop[:] = 0
    stolen = [0, 0]

    def thief(i):
        stolen[i] = _thief(S, seen, i + 2, stop)

    ts = [threading.Thread(target=thief, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    _owner(S, seen, n, stop)
    for t in ts:
        t.join()
    while S[L.S_RUNQSIZE] > 0:           # what overflowed to the global queue
        seen[globrunqpop(S)] += 1
        S[L.S_RUNQSIZE] -= 1
    assert seen[0] == 0
    assert (seen[1:] == 1).all(), f"lost {(seen[1:] == 0).sum()}, duplicated {(seen[1:] > 1).sum()}"
    assert sum(stolen) > 0
