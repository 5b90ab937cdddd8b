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
from ..workload.ops import I_A, I_B, I_C, I_OP
from .atomics import load_relaxed
from .layout import (
    G_DEPTH,
    G_NETSTATE,
    G_PC,
    G_PREEMPT,
    G_RNG,
    G_SP,
    G_WORKLEFT,
    S_NPROCS,
    S_RUNSTART_NS,
    S_STEPS_PER_NS,
    S_WORLDSEMA,
    WHY_EXIT,
    WHY_PARK,
    WHY_PREEMPT,
    WHY_STOP,
    WHY_SYSCALL,
    WHY_YIELD,
)
from .lock import nanotime
from .lockosthread import lockOSThread, unlockOSThread
from .mem import Sarr, codex, core, distx, f64, gx, i64, knob, pair, stkx, void
from .netpoll import netwait_finish, netwait_start
from .policy import K_ASYNC_PREEMPT
from .proc import newproc, stopping
from .sampling import sample
from .selectgo import STEP_PARK, chan_resume, chan_step, resuming
from .serve import SERVE_PARK, serve_accept, serve_begin
from .stw import stop_the_world
from .sync import child_started, group_add, group_wait, mutex_lock, mutex_unlock, wait_children
from .syscall import blocking_call, entersyscall, entersyscallblock, exitsyscall
from .timers import timesleep
from .work import spin

ASYNC_CHUNK = 32       # steps between preemption checks with async_preempt (~100 ns)
STOP_CHUNK = 1 << 18   # steps between checks for the end of the run otherwise (~1 ms)


@core(i64(Sarr, i64), inline=True)
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


@core(i64(Sarr, i64, i64, i64, i64), inline=True)
def may_block(S, mid, gp, op, a):
    """The sync statements that may block, the only list of them (the channel statements are
    selectgo.chan_step's): MUST_PARK when gp must park (the operation completes when it is
    readied), DONE when it completed, NOT_BLOCKING for any other statement (run_g interprets
    it)."""
    if op == ops.WAIT_CHILDREN:
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


@core(pair(Sarr, i64, i64, i64))
def go_operands(S, g, op, c):
    """(group + 1, the child's depth) of a GO*; depth -1: a GO_SELF at depth 0 starts
    nothing (bounded recursion's base case)."""
    if op == ops.GO:
        return c, 0
    if op == ops.GO_DEPTH:
        return c & 0xFFFFFFFF, c >> 32
    return c, S[g + G_DEPTH] - 1


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
    if resuming(S, gp):                     # readied in a channel statement: complete it
        pc = chan_resume(S, mid, gp, pc)
        if pc < 0:
            return WHY_PARK if pc == STEP_PARK else WHY_STOP
    while True:
        if load_relaxed(S, g + G_PREEMPT) != 0:
            S[g + G_PC] = pc
            return WHY_PREEMPT
        if stopping(S):
            S[g + G_PC] = pc
            return WHY_STOP
        ins = codex(S, pc)
        op = S[ins + I_OP]
        a = S[ins + I_A]
        blocking = may_block(S, mid, gp, op, a)
        if blocking != NOT_BLOCKING:
            pc += 1
            if blocking == MUST_PARK:
                S[g + G_PC] = pc                # gopark: resumes after the statement
                return WHY_PARK
        elif op == ops.SEND or op == ops.RECV or ops.CLOSE <= op <= ops.CASE:
            if op == ops.JMP:
                pc = a
                continue
            pc = chan_step(S, mid, gp, pc)
            if pc < 0:
                return WHY_PARK if pc == STEP_PARK else WHY_STOP
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
        elif op == ops.GO or op == ops.GO_SELF or op == ops.GO_DEPTH:
            group, depth = go_operands(S, g, op, S[ins + I_C])
            n = S[ins + I_B] if depth >= 0 else 0
            for _ in range(n):
                child_started(S, gp)
                if group > 0:
                    group_add(S, group - 1, 1)
                if newproc(S, mid, a, gp, group, depth) == 0:
                    S[g + G_PC] = pc
                    return WHY_STOP
            pc += 1
        elif op == ops.REPEAT:
            if a == 0:
                pc = S[ins + I_B]
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
            if nanotime() - S[S_RUNSTART_NS] >= S[distx(S, a) + ops.DIST_P1]:
                pc = S[ins + I_B]
            else:
                pc += 1
        elif op == ops.ENDLOOP:
            pc = a
        elif op == ops.UNLOCK:
            mutex_unlock(S, mid, a)
            pc += 1
        elif op == ops.SYSCALL:
            ns = sample(S, g, a)
            if S[ins + I_B] != 0:
                entersyscallblock(S, mid, gp)
            else:
                entersyscall(S, mid, gp)
            blocking_call(S, ns)
            pc += 1
            if not exitsyscall(S, mid, gp):
                S[g + G_PC] = pc
                return WHY_SYSCALL
        elif op == ops.SERVE_BEGIN:
            serve_begin(S, gp, a, S[ins + I_B])
            pc += 1
        elif op == ops.SERVE_ACCEPT:
            pc = serve_accept(S, mid, gp, pc)
            if pc < 0:
                return WHY_PARK if pc == SERVE_PARK else WHY_STOP
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
