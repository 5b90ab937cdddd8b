"""System calls made from nogil code: futex, sched_yield, nanosleep, prctl, clock_gettime.

They are emitted as a raw ``syscall`` instruction (inline asm) or as calls to libc symbols declared
by name, never as ctypes/cffi function pointers: a pointer is baked into the machine code as an
address, and numba refuses to cache such functions (DESIGN.md, "Compilation cache").  Linux x86-64
only.  Each raw syscall returns the kernel's result: >= 0, or -errno.
"""
import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# LLVM aborts on inline asm unless the native asm parser is registered.
llvm.initialize_native_asmparser()

SYS_SCHED_YIELD = 24
SYS_NANOSLEEP = 35
SYS_FUTEX = 202
SYS_EPOLL_WAIT = 232
SYS_EPOLL_CTL = 233
SYS_EPOLL_CREATE1 = 291
SYS_EVENTFD2 = 290
SYS_PRCTL = 157
SYS_CLOSE = 3
SYS_READ = 0
SYS_WRITE = 1

FUTEX_WAIT_PRIVATE = 128
FUTEX_WAKE_PRIVATE = 129
PR_SET_TIMERSLACK = 29
CLOCK_MONOTONIC = 1
CLOCK_THREAD_CPUTIME_ID = 3
EINTR = 4
EAGAIN = 11
ETIMEDOUT = 110

_I64 = ir.IntType(64)
_CONSTRAINTS = "={rax},{rax},{rdi},{rsi},{rdx},{r10},{r8},{r9},~{rcx},~{r11},~{memory}"


def _raw_syscall(builder, nr, a1, a2, a3, a4, a5, a6):
    fnty = ir.FunctionType(_I64, [_I64] * 7)
    return builder.asm(fnty, "syscall", _CONSTRAINTS, [nr, a1, a2, a3, a4, a5, a6],
                       side_effect=True)


def _i64(context, builder, val, ty):
    return context.cast(builder, val, ty, types.int64)


@intrinsic
def syscall6(typingctx, nr, a1, a2, a3, a4, a5, a6):
    """A raw system call with six integer arguments."""
    sig = types.int64(nr, a1, a2, a3, a4, a5, a6)

    def codegen(context, builder, sig, args):
        vals = [_i64(context, builder, v, t) for v, t in zip(args, sig.args)]
        return _raw_syscall(builder, *vals)
    return sig, codegen


@intrinsic
def futex_wait(typingctx, a, i, val, timeout_ns):
    """futex(FUTEX_WAIT_PRIVATE) on the low 32 bits of a[i] while it equals val.

    timeout_ns < 0 waits without a deadline.  Returns 0 or -errno (EAGAIN: the word had changed,
    ETIMEDOUT, EINTR).  Waits are spurious-wakeup prone: callers loop.
    """
    sig = types.int64(a, i, val, timeout_ns)

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], arr, [args[1]],
                                       wraparound=False)
        v = _i64(context, builder, args[2], sig.args[2])
        t = _i64(context, builder, args[3], sig.args[3])
        ts = cgutils.alloca_once(builder, ir.ArrayType(_I64, 2))
        sec = builder.sdiv(t, _I64(1_000_000_000))
        nsec = builder.srem(t, _I64(1_000_000_000))
        builder.store(sec, builder.gep(ts, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), 0)]))
        builder.store(nsec, builder.gep(ts, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), 1)]))
        tsp = builder.select(builder.icmp_signed("<", t, _I64(0)), _I64(0),
                             builder.ptrtoint(ts, _I64))
        val32 = builder.and_(v, _I64(0xFFFFFFFF))
        return _raw_syscall(builder, _I64(SYS_FUTEX), builder.ptrtoint(ptr, _I64),
                            _I64(FUTEX_WAIT_PRIVATE), val32, tsp, _I64(0), _I64(0))
    return sig, codegen


@intrinsic
def futex_wake(typingctx, a, i, n):
    """futex(FUTEX_WAKE_PRIVATE): wake up to n threads waiting on a[i]; returns how many woke."""
    sig = types.int64(a, i, n)

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], arr, [args[1]],
                                       wraparound=False)
        cnt = _i64(context, builder, args[2], sig.args[2])
        return _raw_syscall(builder, _I64(SYS_FUTEX), builder.ptrtoint(ptr, _I64),
                            _I64(FUTEX_WAKE_PRIVATE), cnt, _I64(0), _I64(0), _I64(0))
    return sig, codegen


@intrinsic
def nanosleep(typingctx, ns):
    """A real blocking nanosleep(2) of ns nanoseconds (one call; returns 0 or -errno)."""
    sig = types.int64(ns)

    def codegen(context, builder, sig, args):
        t = _i64(context, builder, args[0], sig.args[0])
        ts = cgutils.alloca_once(builder, ir.ArrayType(_I64, 2))
        zero = ir.Constant(ir.IntType(32), 0)
        builder.store(builder.sdiv(t, _I64(1_000_000_000)), builder.gep(ts, [zero, zero]))
        builder.store(builder.srem(t, _I64(1_000_000_000)),
                      builder.gep(ts, [zero, ir.Constant(ir.IntType(32), 1)]))
        return _raw_syscall(builder, _I64(SYS_NANOSLEEP), builder.ptrtoint(ts, _I64), _I64(0),
                            _I64(0), _I64(0), _I64(0), _I64(0))
    return sig, codegen


@intrinsic
def clock_ns(typingctx, clock_id):
    """clock_gettime(clock_id) in nanoseconds, through libc (the vDSO for MONOTONIC)."""
    sig = types.int64(clock_id)

    def codegen(context, builder, sig, args):
        cid = builder.trunc(_i64(context, builder, args[0], sig.args[0]), ir.IntType(32))
        ts = cgutils.alloca_once(builder, ir.ArrayType(_I64, 2))
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(32), _I64.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        zero = ir.Constant(ir.IntType(32), 0)
        p0 = builder.gep(ts, [zero, zero])
        builder.call(fn, [cid, p0])
        sec = builder.load(p0)
        nsec = builder.load(builder.gep(ts, [zero, ir.Constant(ir.IntType(32), 1)]))
        return builder.add(builder.mul(sec, _I64(1_000_000_000)), nsec)
    return sig, codegen


@intrinsic
def addressof(typingctx, a, i):
    """The address of a[i], for system calls that read or fill a buffer in S."""
    sig = types.int64(a, i)

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], arr, [args[1]],
                                       wraparound=False)
        return builder.ptrtoint(ptr, _I64)
    return sig, codegen


EFD_NONBLOCK = 0o4000
EFD_CLOEXEC = 0o2000000
EPOLL_CLOEXEC = 0o2000000
EPOLL_CTL_ADD = 1
EPOLLIN = 0x1
EPOLLET = 1 << 31
