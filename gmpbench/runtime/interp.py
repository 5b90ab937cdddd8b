"""The G interpreter: runs one goroutine's program on the current M until it blocks, yields, is
preempted or exits, and tells the M which (the WHY_* code) -- the moment where Go's runtime would
mcall into park_m, gosched_m, gopreempt_m or goexit0 on g0.

A G has no stack of its own: its whole state is its row (pc, frame depth) and its frames in
gstk[gp] (repeat counters and return pcs), so switching Gs is returning to the M's loop.
Every statement is a call in Go terms, so each one is a preemption point (the stack-guard check);
`work` is a call-free loop, preemptible inside only with the async_preempt knob.
"""
import numpy as np

from ..workload import ops
from .atomics import load_relaxed
from .chan import chanrecv, chansend
from .layout import (
    G_NETSTATE,
    G_PC,
    G_PREEMPT,
    G_RNG,
    G_SP,
    G_WORKLEFT,
    S_RUNSTART_NS,
    S_STEPS_PER_NS,
    WHY_EXIT,
    WHY_PARK,
    WHY_PREEMPT,
    WHY_STOP,
    WHY_SYSCALL,
    WHY_YIELD,
)
from .lock import nanotime
from .layout import S_NPROCS, S_WORLDSEMA  # issue 13
from .mem import Sarr, codex, core, distx, f64, gx, i64, knob, stkx, void
from .netpoll import netwait_finish, netwait_start
from .policy import K_ASYNC_PREEMPT
from .proc import newproc, stopping
from .sync import child_started, group_add, group_wait, mutex_lock, mutex_unlock, wait_children
from .lockosthread import lockOSThread, unlockOSThread
from .stw import stop_the_world
from .syscall import blocking_call, entersyscall, entersyscallblock, exitsyscall
from .timers import timesleep
from .work import spin

ASYNC_CHUNK = 32       # steps between preemption checks with async_preempt (~100 ns)
STOP_CHUNK = 1 << 18   # steps between checks for the end of the run otherwise (~1 ms)


@core(f64(Sarr, i64))
def rand01(S, g):
    """Uniform in (0, 1) from the G's xorshift64* state."""
    x = np.uint64(S[g + G_RNG])
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    S[g + G_RNG] = np.int64(x)
    r = x * np.uint64(2685821657736338717)
    return (np.float64(r >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@core(f64(Sarr, i64))
def std_normal(S, g):
    u1 = rand01(S, g)
    u2 = rand01(S, g)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@core(i64(Sarr, i64, i64))
def sample(S, g, d):
    """A duration in ns drawn from distribution d with the G's own random stream."""
    dx = distx(S, d)
    kind = S[dx]
    p1 = np.float64(S[dx + 1])
    p2 = np.float64(S[dx + 2])
    if kind == ops.D_CONST:
        v = p1
    elif kind == ops.D_EXP:
        v = -p1 * np.log(rand01(S, g))
    elif kind == ops.D_UNIFORM:
        v = p1 + (p2 - p1) * rand01(S, g)
    elif kind == ops.D_NORMAL:
        v = p1 + p2 * std_normal(S, g)
    else:
        v = p1 * np.exp(p2 / ops.SIGMA_SCALE * std_normal(S, g))
    if v <= 0.0:
        return 0
    return np.int64(v)


@core(i64(Sarr, i64))
def work_steps(S, ns):
    """`work: ns` as xorshift64 steps at the run's rate: work.steps_for's rounding exactly (the
    same float64 product), so the Go engine runs the same number of steps."""
    rate = S[S_STEPS_PER_NS:S_STEPS_PER_NS + 1].view(np.float64)[0]
    return np.int64(np.float64(ns) * rate + 0.5)


@core(i64(Sarr, i64, i64))
def burn(S, g, steps):
    """Run `steps` steps of `work` (work.spin, state in the G's row).  Go 1.9/1.10 cannot stop
    a call-free loop, so it runs to its end, looking only for the end of the run every
    STOP_CHUNK steps; with async_preempt (Go >= 1.14) it also stops for a preemption request.
    Returns the steps left (0: done)."""
    async_preempt = knob(S, K_ASYNC_PREEMPT) != 0
    chunk = ASYNC_CHUNK if async_preempt else STOP_CHUNK
    x = S[g + G_RNG]
    while steps > 0:
        n = min(steps, chunk)
        x = spin(n, x)
        steps -= n
        if steps > 0 and (stopping(S) or
                          (async_preempt and load_relaxed(S, g + G_PREEMPT) != 0)):
            break
    S[g + G_RNG] = x
    return steps


NOT_BLOCKING, DONE, MUST_PARK = 0, 1, 2     # may_block's answers


@core(i64(Sarr, i64, i64, i64, i64))
def may_block(S, mid, gp, op, a):
    """The statements that may block, the only list of them: MUST_PARK when gp must park (the
    operation completes when it is readied), DONE when it completed, NOT_BLOCKING for any other
    statement (run_g interprets it)."""
    if op == ops.SEND:
        parks = chansend(S, mid, gp, a)
    elif op == ops.RECV:
        parks = chanrecv(S, mid, gp, a)
    elif op == ops.WAIT_CHILDREN:
        parks = wait_children(S, mid, gp)
    elif op == ops.WAIT_GROUP:
        parks = group_wait(S, mid, gp, a)
    elif op == ops.LOCK:
        parks = mutex_lock(S, mid, gp, a)
    elif op == ops.WORLDSEMA:
        parks = mutex_lock(S, mid, gp, S[S_WORLDSEMA])   # semacquire(&worldsema)
    else:
        return NOT_BLOCKING
    return MUST_PARK if parks else DONE


@core(void(Sarr, i64, i64, i64, i64))
def run_stw(S, mid, g, op, a):
    """`stw: D` and `setprocs: N` (runtime.GOMAXPROCS), with worldsema held: stop the world,
    hold it / procresize, start it, release worldsema.  GOMAXPROCS(n) with n the current
    gomaxprocs changes nothing and stops nothing."""
    if op == ops.STW:
        stop_the_world(S, mid, sample(S, g, a), 0)
    elif a != S[S_NPROCS]:
        stop_the_world(S, mid, 0, a)
    mutex_unlock(S, mid, S[S_WORLDSEMA])


@core(i64(Sarr, i64, i64))
def run_g(S, mid, gp):
    """Interpret gp from its saved pc; returns a WHY_* code with the pc saved in the row."""
    g = gx(S, gp)
    stk = stkx(S, gp)
    pc = S[g + G_PC]
    while True:
        if load_relaxed(S, g + G_PREEMPT) != 0:
            S[g + G_PC] = pc
            return WHY_PREEMPT
        if stopping(S):
            S[g + G_PC] = pc
            return WHY_STOP
        ins = codex(S, pc)
        op = S[ins]
        a = S[ins + 1]
        blocking = may_block(S, mid, gp, op, a)
        if blocking != NOT_BLOCKING:
            pc += 1
            if blocking == MUST_PARK:
                S[g + G_PC] = pc                # gopark: resumes after the statement
                return WHY_PARK
        elif op == ops.NEXT:
            sp = S[g + G_SP] - 1
            left = S[stk + sp] - 1
            if left > 0:
                S[stk + sp] = left
                pc = a
            else:
                S[g + G_SP] = sp
                pc += 1
        elif op == ops.WORK:
            left = S[g + G_WORKLEFT]
            if left == 0:
                left = work_steps(S, sample(S, g, a))
            if left > 0:
                left = burn(S, g, left)
            S[g + G_WORKLEFT] = left
            if left == 0:
                pc += 1
        elif op == ops.GO:
            n = S[ins + 2]
            group = S[ins + 3]
            for _ in range(n):
                child_started(S, gp)
                if group > 0:
                    group_add(S, group - 1, 1)
                if newproc(S, mid, a, gp, group) == 0:
                    S[g + G_PC] = pc
                    return WHY_STOP
            pc += 1
        elif op == ops.REPEAT:
            if a == 0:
                pc = S[ins + 2]
            else:
                S[stk + S[g + G_SP]] = a
                S[g + G_SP] += 1
                pc += 1
        elif op == ops.RET:
            sp = S[g + G_SP]
            if sp == 0:
                S[g + G_PC] = pc
                return WHY_EXIT
            S[g + G_SP] = sp - 1
            pc = S[stk + sp - 1]
        elif op == ops.CALL:
            S[stk + S[g + G_SP]] = pc + 1
            S[g + G_SP] += 1
            pc = a
        elif op == ops.YIELD:
            S[g + G_PC] = pc + 1
            return WHY_YIELD
        elif op == ops.LOOP:
            if nanotime() - S[S_RUNSTART_NS] >= S[distx(S, a) + 1]:
                pc = S[ins + 2]
            else:
                pc += 1
        elif op == ops.ENDLOOP:
            pc = a
        elif op == ops.UNLOCK:
            mutex_unlock(S, mid, a)
            pc += 1
        elif op == ops.SYSCALL:
            ns = sample(S, g, a)
            if S[ins + 2] != 0:
                entersyscallblock(S, mid, gp)
            else:
                entersyscall(S, mid, gp)
            blocking_call(S, ns)
            pc += 1
            if not exitsyscall(S, mid, gp):
                S[g + G_PC] = pc
                return WHY_SYSCALL
        elif op == ops.NETWAIT:
            if S[g + G_NETSTATE] == 0 and netwait_start(S, mid, gp, sample(S, g, a)):
                S[g + G_PC] = pc                # resumes here, ready: netwait_finish
                return WHY_PARK
            netwait_finish(S, mid, gp)
            pc += 1
        elif op == ops.SLEEP:
            pc += 1
            ns = sample(S, g, a)
            if ns > 0:
                timesleep(S, mid, gp, ns)
                S[g + G_PC] = pc
                return WHY_PARK
        elif op == ops.STW or op == ops.SETPROCS:
            run_stw(S, mid, g, op, a)
            pc += 1
        elif op == ops.LOCKTHREAD:
            lockOSThread(S, mid, gp)
            pc += 1
        elif op == ops.UNLOCKTHREAD:
            unlockOSThread(S, mid, gp)
            pc += 1
        else:
            raise RuntimeError("run_g: an opcode ops.py does not define")
