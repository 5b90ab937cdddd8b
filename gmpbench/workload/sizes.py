"""How many goroutines a case may create: the size of its G table and per-G regions.

A run's state (gmpbench.runtime.state) gives every goroutine a row of the G table, a frame stack
and, when the program sleeps or waits on the network, a heap entry; those regions are sized
for the most goroutines a run may hold.  When the program bounds it -- every ``go:`` count and
every ``repeat:`` around it is known once params are substituted -- that bound is the size;
a ``go:`` inside a ``loop:`` (or inside a function such a loop calls) is unbounded, and then the
workload's ``max_goroutines:`` or DEFAULT_MAX_GOROUTINES is the size.  ``serve:`` starts one
goroutine per request (its count); bounded recursion (``go: F`` inside F, ``go: {fn: F, depth:
N}``) a tree counted level by level.
"""
from __future__ import annotations

from .schema import Function, Stmt, Workload, parse_count

DEFAULT_MAX_GOROUTINES = 1 << 20    # G table rows when neither the program nor the file bounds it


def goroutine_bound(wl: Workload, params: dict) -> int | None:
    """The most goroutines one run of this case creates, main (and the ``gc:`` section's system
    goroutine) included; None when unbounded.  (Gs created, an upper bound on the Gs live at
    once: exited Gs' rows are reused.)"""
    made = _Made(wl, params)
    inside_main = made.body(wl.main.body, 0, None)
    system = 1 if wl.gc is not None else 0      # the gc: goroutine takes a row too
    return None if inside_main is None else 1 + system + inside_main


def table_size(bound: int | None, max_goroutines: int | None) -> int:
    """G table rows: the program's bound, capped by the file's max_goroutines when it has one."""
    if bound is None:
        return max_goroutines or DEFAULT_MAX_GOROUTINES
    return min(bound, max_goroutines) if max_goroutines else bound


SATURATED = 1 << 62     # a bounded recursion's tree larger than any table: its count stops here


class _Made:
    """Gs that running a function's statements creates (with their descendants), given the
    running goroutine's depth (bounded recursion: main and a plain ``go:``'s goroutine, and
    serve's handlers, start at 0; ``go: {fn, depth: N}`` at N; ``go: F`` inside F at one less;
    a ``call:`` runs at its caller's)."""

    def __init__(self, wl: Workload, params: dict):
        self.wl, self.params = wl, params
        self.memo: dict[tuple[str, int], int | None] = {}
        self.deep: dict[str, bool] = {}     # function -> its count depends on the depth
        for name in wl.func_order:          # callees first
            self.deep[name] = _depth_dependent(wl.functions[name], self.deep)

    def fn(self, name: str, depth: int) -> int | None:
        depth = depth if self.deep[name] else 0
        key = (name, depth)
        if key not in self.memo:
            self.memo[key] = self._fn(name, depth)
        return self.memo[key]

    def _fn(self, name: str, depth: int) -> int | None:
        """F at depth d: x_0 = A, x_d = A + B * (1 + x_{d-1}), A the Gs its other statements
        create, B how many times it starts itself (A must not depend on the depth: otherwise
        unbounded here, and max_goroutines: sizes the table)."""
        body = self.wl.functions[name].body
        others = self.body(body, depth, name)
        selfs = _self_starts(body, name, self.params)
        if others is None or selfs is None:
            return None
        if selfs and any(self.deep.get(s.target.value) for s in walk_calls(body)):
            return None
        if selfs <= 1:
            return min(others + selfs * depth * (others + 1), SATURATED)
        x = others
        for _ in range(depth):
            x = others + selfs * (1 + x)
            if x >= SATURATED:
                return SATURATED
        return x

    def body(self, body: list[Stmt], depth: int, self_name: str | None) -> int | None:
        total = 0
        for stmt in body:
            n = self.stmt(stmt, depth, self_name)
            if n is None:
                return None
            total += n
        return min(total, SATURATED)

    def stmt(self, stmt: Stmt, depth: int, self_name: str | None) -> int | None:
        """Gs one execution of stmt creates (with their descendants); a ``go:`` of self_name
        (bounded recursion) counts 0 here: _fn counts it."""
        if stmt.kind in ("go", "serve"):
            if stmt.target.value == self_name:
                return 0
            child = 0 if stmt.depth is None else stmt.depth.get(self.params, parse_count)
            each = self.fn(stmt.target.value, child)
            n = 1 if stmt.count is None else stmt.count.get(self.params, parse_count)
            return None if each is None else n * (1 + each)
        if stmt.kind == "call":
            return self.fn(stmt.target.value, depth)
        if stmt.kind == "select":       # one case runs
            counts = [self.body(case.body, depth, self_name) for case in stmt.cases]
            return None if None in counts else max(counts, default=0)
        if not stmt.body:
            return 0
        inner = self.body(stmt.body, depth, self_name)
        if stmt.kind == "repeat" and inner is not None:
            return stmt.count.get(self.params, parse_count) * inner
        return 0 if inner == 0 else None    # a loop (or range) around a `go:`: unbounded


def walk_calls(body: list[Stmt]):
    """The ``call:`` statements of body, at any nesting (repeat/loop/range bodies, select cases)."""
    for stmt in body:
        if stmt.kind == "call":
            yield stmt
        yield from walk_calls(stmt.body)
        for case in stmt.cases:
            yield from walk_calls(case.body)


def _depth_dependent(func: Function, deep: dict[str, bool]) -> bool:
    """Whether func's count depends on the running goroutine's depth: it starts itself, or
    calls a function that does (a ``go:`` starts its goroutine at a depth of its own)."""
    return (_self_starts(func.body, func.name, {}, probe=True) != 0
            or any(deep.get(s.target.value) for s in walk_calls(func.body)))


def _self_starts(body: list[Stmt], name: str, params: dict, probe: bool = False) -> int | None:
    """How many times one execution of body starts ``name`` itself (bounded recursion), with
    the repeats around; None inside a loop/range.  probe: only whether it does (1 or 0)."""
    total = 0
    for stmt in body:
        if stmt.kind == "go" and stmt.target.value == name:
            n = 1 if probe or stmt.count is None else stmt.count.get(params, parse_count)
        elif stmt.kind == "select":
            counts = [_self_starts(case.body, name, params, probe) for case in stmt.cases]
            n = None if None in counts else max(counts, default=0)
        elif stmt.body:
            n = _self_starts(stmt.body, name, params, probe)
            if n and stmt.kind == "repeat" and not probe:
                n *= stmt.count.get(params, parse_count)
            elif n and stmt.kind != "repeat":
                n = 1 if probe else None
        else:
            n = 0
        if n is None:
            return None
        total += n
    return total
