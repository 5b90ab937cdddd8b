"""Atomic operations on elements of int64 arrays, emitted as LLVM atomics.

Every operation takes a 1-D int64 array and an index (pass a row view, e.g. ``allp[pid]``, for a
2-D table).  Orderings follow Go's runtime/internal/atomic on amd64: ``load`` is an acquire load,
``store`` a release store (a plain MOV: a later load may pass it), ``store_seqcst`` Go's own
atomic.Store (an XCHG), and the read-modify-write operations (``cas``, ``xadd``, ``xchg``) are
sequentially consistent, so each of them is also a full (StoreLoad) barrier -- the property the
spinning protocol relies on (see DESIGN.md, "Spinning").  ``load_relaxed`` is for counters and
hints where any recent value will do; a plain ``a[i]`` read may be hoisted out of a loop by LLVM,
so every read that waits for another thread must use one of these.

Also here: ``pause`` (x86 PAUSE, the body of procyield) and ``cputicks`` (rdtsc).
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _ptr(context, builder, aryty, ary, idx):
    arr = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, arr, [idx], wraparound=False)


def _check(aryty, idxty):
    if not isinstance(aryty, types.Array) or aryty.ndim != 1 or aryty.dtype != types.int64:
        raise TypeError("atomics need a 1-D int64 array")
    if not isinstance(idxty, types.Integer):
        raise TypeError("atomics need an integer index")


def _load(ordering, doc):
    @intrinsic
    def load_op(typingctx, a, i):
        _check(a, i)

        def codegen(context, builder, sig, args):
            ptr = _ptr(context, builder, sig.args[0], args[0], args[1])
            return builder.load_atomic(ptr, ordering, 8)
        return types.int64(a, i), codegen
    load_op.__doc__ = doc
    return load_op


def _store(ordering, doc):
    @intrinsic
    def store_op(typingctx, a, i, v):
        _check(a, i)

        def codegen(context, builder, sig, args):
            ptr = _ptr(context, builder, sig.args[0], args[0], args[1])
            val = context.cast(builder, args[2], sig.args[2], types.int64)
            builder.store_atomic(val, ptr, ordering, 8)
            return context.get_dummy_value()
        return types.void(a, i, v), codegen
    store_op.__doc__ = doc
    return store_op


load = _load("acquire", "Load-acquire of a[i].")
load_relaxed = _load("monotonic", "Monotonic (relaxed) load of a[i]: never hoisted, no ordering.")
store = _store("release", "Store-release of v into a[i].")
store_relaxed = _store("monotonic", "Monotonic store: for counters read by other threads.")
store_seqcst = _store("seq_cst", "Sequentially consistent store (an XCHG on x86, like Go's "
                      "atomic.Store): later loads cannot pass it (a StoreLoad barrier).")


@intrinsic
def cas(typingctx, a, i, old, new):
    """Compare-and-swap a[i] from old to new (seq_cst); True when it swapped."""
    _check(a, i)

    def codegen(context, builder, sig, args):
        ptr = _ptr(context, builder, sig.args[0], args[0], args[1])
        o = context.cast(builder, args[2], sig.args[2], types.int64)
        n = context.cast(builder, args[3], sig.args[3], types.int64)
        res = builder.cmpxchg(ptr, o, n, "seq_cst", "seq_cst")
        ok = builder.extract_value(res, 1)
        return ok
    return types.boolean(a, i, old, new), codegen


def _rmw(op, new_value, doc):
    """A seq_cst read-modify-write returning the new value (Go's Xadd) or the old one."""
    @intrinsic
    def rmw_op(typingctx, a, i, v):
        _check(a, i)

        def codegen(context, builder, sig, args):
            ptr = _ptr(context, builder, sig.args[0], args[0], args[1])
            val = context.cast(builder, args[2], sig.args[2], types.int64)
            old = builder.atomic_rmw(op, ptr, val, "seq_cst")
            return builder.add(old, val) if new_value else old
        return types.int64(a, i, v), codegen
    rmw_op.__doc__ = doc
    return rmw_op


xadd = _rmw("add", True,
            "Atomically add delta to a[i] (seq_cst); returns the NEW value, as Go's Xadd does.")
xchg = _rmw("xchg", False, "Atomically store v into a[i] (seq_cst); returns the old value.")


@intrinsic
def pause(typingctx):
    """One x86 PAUSE: tells the core this is a spin-wait."""
    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.VoidType(), [])
        builder.asm(fnty, "pause", "~{memory}", [], side_effect=True)
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def cputicks(typingctx):
    """The time-stamp counter (rdtsc); in ns: clock.ticks_to_ns (factor calibrated in state.py)."""
    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter")
        return builder.call(fn, [])
    return types.int64(), codegen


@intrinsic
def bitlen(typingctx, v):
    """Number of significant bits of a non-negative int64 (0 for 0): 64 - clz(v)."""
    sig = types.int64(v)

    def codegen(context, builder, sig, args):
        x = context.cast(builder, args[0], sig.args[0], types.int64)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)]),
            "llvm.ctlz.i64")
        clz = builder.call(fn, [x, ir.Constant(ir.IntType(1), 0)])
        return builder.sub(ir.Constant(ir.IntType(64), 64), clz)
    return sig, codegen
