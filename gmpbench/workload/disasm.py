"""A readable listing of a compiled Program, one line per instruction.

    pc  function  OP        operands                 ; line N

Operands are shown with names resolved: channels, groups and mutexes by name, functions by name
with their entry pc, durations as text (``exp(5us)``), jump targets as ``->pc``.
"""
from __future__ import annotations

from . import ops
from .durations import format_dist
from .program import Program


def _pick(names, index: int) -> str:
    """names[index], or a marker for an index out of range (a corrupt program still lists)."""
    return names[index] if 0 <= index < len(names) else f"?{index}"


class _Operands:
    """Renders the operands of one instruction of ``program``."""

    def __init__(self, program: Program):
        self.program = program
        self.entry_names = {int(pc): name
                            for pc, name in zip(program.func_entry, program.func_names)}

    def fn(self, pc: int) -> str:
        return f"{self.entry_names.get(pc, '?')} (->{pc})"

    def dist(self, index: int) -> str:
        dists = self.program.dists
        return format_dist(dists[index]) if 0 <= index < len(dists) else f"?dist{index}"

    def render(self, op: int, a: int, b: int, c: int) -> str:
        p = self.program
        if op in (ops.WORK, ops.NETWAIT, ops.SLEEP, ops.STW):
            return self.dist(a)
        if op in (ops.SEND, ops.RECV):
            return _pick(p.chan_names, a)
        if op in (ops.LOCK, ops.UNLOCK):
            return _pick(p.mutex_names, a)
        if op == ops.WAIT_GROUP:
            return _pick(p.group_names, a)
        if op in (ops.GO, ops.GO_SELF, ops.GO_DEPTH):
            depth = f" depth={c >> 32}" if op == ops.GO_DEPTH else ""
            c &= 0xFFFFFFFF
            group = f" group={_pick(p.group_names, c - 1)}" if c else ""
            return f"{self.fn(a)} n={b}{group}{depth}"
        if op == ops.SERVE_BEGIN:
            return f"gap {self.dist(a)} count={b}"
        if op == ops.SERVE_ACCEPT:
            return f"handler {self.fn(a)} backlog={b} exit->{c}"
        if op == ops.CALL:
            return self.fn(a)
        if op == ops.SYSCALL:
            return self.dist(a) + (" block" if b else "")
        if op == ops.REPEAT:
            return f"{a} exit->{b}"
        if op == ops.LOOP:
            return f"{self.dist(a)} exit->{b}"
        if op in (ops.NEXT, ops.ENDLOOP, ops.JMP):
            return f"->{a}"
        if op in (ops.CLOSE, ops.RANGE):
            return _pick(p.chan_names, a) + (f" exit->{b}" if op == ops.RANGE else "")
        if op == ops.SELECT:
            return f"{a} cases" + (f" default->{b}" if b >= 0 else "") + f" end->{c}"
        if op == ops.CASE:
            what = self.dist(b) if a == ops.CASE_AFTER else _pick(p.chan_names, b)
            return f"{ {ops.CASE_RECV: 'recv', ops.CASE_SEND: 'send'}.get(a, 'after')} {what} ->{c}"
        if op == ops.SETPROCS:
            return str(a)
        return ""      # RET, WAIT_CHILDREN, YIELD, WORLDSEMA, LOCKTHREAD, UNLOCKTHREAD


def disasm(program: Program) -> list[str]:
    """One line per instruction: pc, function, op name, operands, YAML line."""
    operands = _Operands(program)
    rows = []
    words = program.code[:, [ops.I_OP, ops.I_A, ops.I_B, ops.I_C]].tolist()
    for pc, (op, a, b, c) in enumerate(words):
        func = _pick(program.func_names, int(program.pc_func[pc]))
        rows.append((str(pc), func, ops.NAMES.get(op, f"OP{op}"), operands.render(op, a, b, c),
                     f"; line {int(program.pc_line[pc])}"))
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    return [f"{pc:>{widths[0]}}  {func:<{widths[1]}}  {name:<{widths[2]}}  "
            f"{args:<{widths[3]}}  {line}" for pc, func, name, args, line in rows]
