"""Compiling one case of a workload (params substituted) into a flat G program.

Layout: ``main`` first (entry pc 0), then every entry of ``functions:`` in file order, each ending
with ``RET``.  Functions that main never reaches are compiled too, so that every case checks every
value of the file.  Jumps to functions laid out later are patched once all entries are known.
"""
from __future__ import annotations

import numpy as np

from . import ops
from .durations import format_dist
from .loader import GC_FUNCTION, check_case, parse_depth, parse_gomaxprocs
from .program import Program
from .schema import (
    Function,
    Stmt,
    Workload,
    in_file,
    parse_bool,
    parse_capacity,
    parse_count,
    parse_positive,
    parse_rate,
    parse_serve_dist,
)
from .sizes import goroutine_bound, table_size

DEFAULT_BACKLOG = 4096   # Linux's somaxconn: arrivals waiting beyond it are dropped

# statements that compile to one instruction whose operand a indexes a names table
_NAMED_OPS = {"send": ops.SEND, "recv": ops.RECV, "lock": ops.LOCK, "unlock": ops.UNLOCK}
_DURATION_OPS = {"work": ops.WORK, "netwait": ops.NETWAIT, "sleep": ops.SLEEP}
GC_FOREVER_NS = float(1 << 62)     # the gc: goroutine's loop: until the run ends


def compile_case(wl: Workload, params: dict) -> Program:
    """The Program of the case of ``wl`` given by ``params`` (one dict from expand_cases)."""
    with in_file(wl.source):
        check_case(wl, params)
        wl.ops_value(params)
        return _Compiler(wl, params).program()


def max_depth(wl: Workload) -> int:
    """Frames a goroutine may need: one per enclosing repeat and per active call (at least 1)."""
    depth: dict[str, int] = {}
    for name in wl.func_order:          # callees first, so depth[callee] is always ready
        depth[name] = _body_depth(wl.functions[name].body, depth)
    return max(1, _body_depth(wl.main.body, depth), *depth.values())


def _body_depth(body: list[Stmt], depth: dict[str, int]) -> int:
    return max((_stmt_depth(stmt, depth) for stmt in body), default=0)


def _stmt_depth(stmt: Stmt, depth: dict[str, int]) -> int:
    if stmt.kind == "repeat":
        return 1 + _body_depth(stmt.body, depth)
    if stmt.kind == "loop":
        return _body_depth(stmt.body, depth)
    if stmt.kind == "call":
        return 1 + depth[stmt.target.value]
    if stmt.kind == "range":
        return _body_depth(stmt.body, depth)
    if stmt.kind == "serve":
        return 2                        # requests left, the next arrival
    if stmt.kind == "select":
        return max(_body_depth(case.body, depth) for case in stmt.cases)
    return 0


class _Compiler:
    """Emits the instructions of one case; ``op_<kind>`` compiles one statement."""

    def __init__(self, wl: Workload, params: dict):
        self.wl = wl
        self.params = params
        self.code: list[list[int]] = []
        self.pc_line: list[int] = []
        self.pc_text: list[str] = []
        self.pc_func: list[int] = []
        self.func_id = 0
        self.func_name = "main"
        self.dists: dict[tuple[float, float, float], int] = {}   # row -> index, deduplicated
        self.fixups: list[tuple[int, str]] = []    # (pc, function) whose operand a is its entry
        self.index = {
            "channel": {name: i for i, name in enumerate(wl.channels)},
            "group": {name: i for i, name in enumerate(wl.groups)},
            "mutex": {name: i for i, name in enumerate(wl.mutexes)},
        }

    def program(self) -> Program:
        functions = self.wl.all_functions()
        entries: dict[str, int] = {}
        for func_id, func in enumerate(functions):
            self.func_id = func_id
            self.func_name = func.name
            entries[func.name] = len(self.code)
            self.block(func.body)
            self.emit(ops.RET, line=func.line, text="return")
        if self.wl.gc is not None:
            self.func_id = len(functions)
            entries[GC_FUNCTION] = len(self.code)
            functions = [*functions, self.gc_function()]
        for pc, name in self.fixups:
            self.code[pc][ops.I_A] = entries[name]
        bound = goroutine_bound(self.wl, self.params)     # after the code: values are checked
        return Program(
            name=self.wl.name,
            code=np.array(self.code, dtype=np.int64).reshape(-1, ops.CODE_WORDS),
            dists=np.array(list(self.dists), dtype=np.float64).reshape(-1, ops.DIST_WORDS),
            func_names=[func.name for func in functions],
            func_entry=np.array([entries[func.name] for func in functions], dtype=np.int64),
            pc_func=np.array(self.pc_func, dtype=np.int64),
            pc_line=np.array(self.pc_line, dtype=np.int64),
            pc_text=self.pc_text,
            chan_names=list(self.wl.channels),
            chan_caps=np.array([cap.get(self.params, parse_capacity)
                                for cap in self.wl.channels.values()], dtype=np.int64),
            group_names=list(self.wl.groups),
            mutex_names=list(self.wl.mutexes),
            max_depth=max_depth(self.wl),
            seed=self.wl.seed,
            params=dict(self.params),
            source=self.wl.source,
            gs_bound=bound,
            max_gs=table_size(bound, self.wl.max_goroutines),
        )

    def emit(self, op: int, a: int = 0, b: int = 0, c: int = 0, *, line: int, text: str) -> int:
        row = [0] * ops.CODE_WORDS
        row[ops.I_OP], row[ops.I_A], row[ops.I_B], row[ops.I_C] = op, a, b, c
        self.code.append(row)
        self.pc_line.append(line)
        self.pc_text.append(text)
        self.pc_func.append(self.func_id)
        return len(self.code) - 1

    def block(self, body: list[Stmt]) -> None:
        for stmt in body:
            getattr(self, f"op_{stmt.kind}")(stmt)

    def dist(self, dur) -> tuple[int, str]:
        """The dists index of a duration in this case, and its text."""
        row = dur.row(self.params)
        return self.dists.setdefault(row, len(self.dists)), format_dist(row)

    def call_site(self, op: int, stmt: Stmt, b: int = 0, c: int = 0, *, text: str) -> None:
        """GO/CALL: operand a is the entry of a function, filled in after layout."""
        pc = self.emit(op, 0, b, c, line=stmt.line, text=text)
        self.fixups.append((pc, stmt.target.value))

    # --- one method per statement kind ---------------------------------------------------------

    def op_work(self, stmt: Stmt) -> None:
        index, shown = self.dist(stmt.dur)
        self.emit(_DURATION_OPS[stmt.kind], index, line=stmt.line, text=f"{stmt.kind}: {shown}")

    op_netwait = op_sleep = op_work

    def op_send(self, stmt: Stmt) -> None:
        space = "mutex" if stmt.kind in ("lock", "unlock") else "channel"
        self.emit(_NAMED_OPS[stmt.kind], self.index[space][stmt.target.value],
                  line=stmt.line, text=f"{stmt.kind}: {stmt.target.value}")

    op_recv = op_lock = op_unlock = op_send

    def op_yield(self, stmt: Stmt) -> None:
        self.emit(ops.YIELD, line=stmt.line, text="yield")

    def op_wait(self, stmt: Stmt) -> None:
        name = stmt.target.value
        if name == "children":
            self.emit(ops.WAIT_CHILDREN, line=stmt.line, text="wait: children")
        else:
            self.emit(ops.WAIT_GROUP, self.index["group"][name], line=stmt.line,
                      text=f"wait: {name}")

    def op_go(self, stmt: Stmt) -> None:
        fn = stmt.target.value
        n = 1 if stmt.count is None else stmt.count.get(self.params, parse_count)
        group = 0 if stmt.group is None else self.index["group"][stmt.group.value] + 1
        depth = None if stmt.depth is None else stmt.depth.get(self.params, parse_depth)
        if stmt.count is None and stmt.group is None and depth is None:
            text = f"go: {fn}"
        else:
            extra = "".join([f", n: {n}" if stmt.count is not None else "",
                             f", group: {stmt.group.value}" if stmt.group is not None else "",
                             f", depth: {depth}" if depth is not None else ""])
            text = f"go: {{fn: {fn}{extra}}}"
        if fn == self.func_name:                      # bounded recursion
            self.call_site(ops.GO_SELF, stmt, n, group, text=text)
        elif depth is not None:
            self.call_site(ops.GO_DEPTH, stmt, n, group + (depth << 32), text=text)
        else:
            self.call_site(ops.GO, stmt, n, group, text=text)

    def op_call(self, stmt: Stmt) -> None:
        self.call_site(ops.CALL, stmt, text=f"call: {stmt.target.value}")

    def op_syscall(self, stmt: Stmt) -> None:
        index, shown = self.dist(stmt.dur)
        block = stmt.block is not None and stmt.block.get(self.params, parse_bool)
        text = f"syscall: {{dur: {shown}, block: true}}" if block else f"syscall: {shown}"
        self.emit(ops.SYSCALL, index, int(block), line=stmt.line, text=text)

    def op_repeat(self, stmt: Stmt) -> None:
        n = stmt.count.get(self.params, parse_count)
        top = self.emit(ops.REPEAT, n, line=stmt.line, text=f"repeat: {n}")
        self.block(stmt.body)
        self.emit(ops.NEXT, top + 1, line=stmt.line, text=f"end repeat: {n}")
        self.code[top][ops.I_B] = len(self.code)

    # --- STW / procresize / locked Ms (issue 13) ---

    def op_stw(self, stmt: Stmt) -> None:
        index, shown = self.dist(stmt.dur)
        self.emit(ops.WORLDSEMA, line=stmt.line, text="stw: semacquire(&worldsema)")
        self.emit(ops.STW, index, line=stmt.line, text=f"stw: {shown}")

    def op_setprocs(self, stmt: Stmt) -> None:
        n = stmt.count.get(self.params, parse_gomaxprocs)
        self.emit(ops.WORLDSEMA, line=stmt.line, text="setprocs: semacquire(&worldsema)")
        self.emit(ops.SETPROCS, n, line=stmt.line, text=f"setprocs: {n}")

    def op_lockthread(self, stmt: Stmt) -> None:
        op = ops.LOCKTHREAD if stmt.kind == "lockthread" else ops.UNLOCKTHREAD
        self.emit(op, line=stmt.line, text=stmt.kind)

    op_unlockthread = op_lockthread

    def gc_function(self) -> Function:
        """The gc: section's system goroutine, started beside main by the runtime (as Go's
        forcegchelper is): until the run ends, sleep `every`, then stop the world for `pause`."""
        gc = self.wl.gc
        forever = self.dists.setdefault((float(ops.D_CONST), GC_FOREVER_NS, 0.0), len(self.dists))
        every, every_text = self.dist(gc.every)
        pause, pause_text = self.dist(gc.pause)
        line = gc.line
        top = self.emit(ops.LOOP, forever, line=line, text="gc: loop")
        self.emit(ops.SLEEP, every, line=line, text=f"gc: sleep {every_text}")
        self.emit(ops.WORLDSEMA, line=line, text="gc: semacquire(&worldsema)")
        self.emit(ops.STW, pause, line=line, text=f"gc: stw {pause_text}")
        self.emit(ops.ENDLOOP, top, line=line, text="gc: end loop")
        self.code[top][ops.I_B] = len(self.code)
        self.emit(ops.RET, line=line, text="return")
        return Function(GC_FUNCTION, line, "gc", [])

    def op_loop(self, stmt: Stmt) -> None:
        index, shown = self.dist(stmt.dur)
        top = self.emit(ops.LOOP, index, line=stmt.line, text=f"loop: {shown}")
        self.block(stmt.body)
        self.emit(ops.ENDLOOP, top, line=stmt.line, text=f"end loop: {shown}")
        self.code[top][ops.I_B] = len(self.code)

    # --- select / close / range (issue 14) -----------------------------------------------------

    def op_close(self, stmt: Stmt) -> None:
        self.emit(ops.CLOSE, self.index["channel"][stmt.target.value], line=stmt.line,
                  text=f"close: {stmt.target.value}")

    def op_range(self, stmt: Stmt) -> None:
        name = stmt.target.value
        top = self.emit(ops.RANGE, self.index["channel"][name], line=stmt.line,
                        text=f"range: {name}")
        self.block(stmt.body)
        self.emit(ops.JMP, top, line=stmt.line, text=f"end range: {name}")
        self.code[top][ops.I_B] = len(self.code)

    def op_select(self, stmt: Stmt) -> None:
        """SELECT, a CASE row per case (default excluded), then each body ending in a JMP to
        the end; the rows' body pcs and the end are patched once known."""
        cases = [case for case in stmt.cases if case.kind != "default"]
        top = self.emit(ops.SELECT, len(cases), -1, line=stmt.line,
                        text=f"select: {len(stmt.cases)} cases")
        rows = [self.emit(ops.CASE, *self.case_operands(case), line=case.line,
                          text=self.case_text(case)) for case in cases]
        ends = []
        for case in stmt.cases:
            start = len(self.code)
            if case.kind == "default":
                self.code[top][ops.I_B] = start
            else:
                self.code[rows[cases.index(case)]][ops.I_C] = start
            self.block(case.body)
            ends.append(self.emit(ops.JMP, 0, line=case.line, text="end case"))
        for pc in ends:
            self.code[pc][ops.I_A] = len(self.code)
        self.code[top][ops.I_C] = len(self.code)

    def case_operands(self, case: Stmt) -> tuple[int, int]:
        if case.kind == "after":
            return ops.CASE_AFTER, self.dist(case.dur)[0]
        kind = ops.CASE_RECV if case.kind == "recv" else ops.CASE_SEND
        return kind, self.index["channel"][case.target.value]

    def case_text(self, case: Stmt) -> str:
        if case.kind == "after":
            return f"case after: {self.dist(case.dur)[1]}"
        return f"case {case.kind}: {case.target.value}"

    def op_serve(self, stmt: Stmt) -> None:
        """SERVE_BEGIN (the inter-arrival distribution), SERVE_ACCEPT (the handler), then the
        server waits for its handlers."""
        rate, kind, backlog, n = serve_values(stmt, self.params)
        row = (float(ops.D_EXP if kind == "poisson" else ops.D_CONST), 1e9 / rate, 0.0)
        index = self.dists.setdefault(row, len(self.dists))
        text = f"serve: {{rate: {rate:g}, dist: {kind}, count: {n}, handler: {stmt.target.value}}}"
        self.emit(ops.SERVE_BEGIN, index, n, line=stmt.line, text=text)
        self.call_site(ops.SERVE_ACCEPT, stmt, backlog, len(self.code) + 1, text=text)
        self.emit(ops.WAIT_CHILDREN, line=stmt.line, text="serve: wait for the handlers")


def serve_values(stmt: Stmt, params: dict) -> tuple[float, str, int, int]:
    """rate (requests/s), dist, backlog and count of a serve statement in a case."""
    opts = stmt.serve
    rate = opts["rate"].get(params, parse_rate)
    kind = opts["dist"].get(params, parse_serve_dist) if "dist" in opts else "poisson"
    backlog = opts["backlog"].get(params, parse_positive) if "backlog" in opts else DEFAULT_BACKLOG
    return rate, kind, backlog, stmt.count.get(params, parse_positive)

