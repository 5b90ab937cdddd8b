"""How many goroutines a case may create: the size of its G table and per-G regions.

A run's state (gmpbench.runtime.state) gives every goroutine a row of the G table, a frame stack
and, when the program sleeps or waits on the network, a heap entry; those regions are sized
for the most goroutines a run may hold.  When the program bounds it -- every ``go:`` count and
every ``repeat:`` around it is known once params are substituted -- that bound is the size;
a ``go:`` inside a ``loop:`` (or inside a function such a loop calls) is unbounded, and then the
workload's ``max_goroutines:`` or DEFAULT_MAX_GOROUTINES is the size.
"""
from __future__ import annotations

from .schema import Stmt, Workload, parse_count

DEFAULT_MAX_GOROUTINES = 1 << 20    # G table rows when neither the program nor the file bounds it


def goroutine_bound(wl: Workload, params: dict) -> int | None:
    """The most goroutines one run of this case creates, main (and the ``gc:`` section's system
    goroutine) included; None when unbounded.  (Gs created, an upper bound on the Gs live at
    once: exited Gs' rows are reused.)"""
    made: dict[str, int | None] = {}
    for name in wl.func_order:          # callees first: made[callee] is always ready
        made[name] = _body(wl.functions[name].body, made, params)
    inside_main = _body(wl.main.body, made, params)
    system = 1 if wl.gc is not None else 0      # the gc: goroutine takes a row too
    return None if inside_main is None else 1 + system + inside_main


def table_size(bound: int | None, max_goroutines: int | None) -> int:
    """G table rows: the program's bound, capped by the file's max_goroutines when it has one."""
    if bound is None:
        return max_goroutines or DEFAULT_MAX_GOROUTINES
    return min(bound, max_goroutines) if max_goroutines else bound


def _body(body: list[Stmt], made: dict, params: dict) -> int | None:
    total = 0
    for stmt in body:
        n = _stmt(stmt, made, params)
        if n is None:
            return None
        total += n
    return total


def _stmt(stmt: Stmt, made: dict, params: dict) -> int | None:
    """Gs one execution of stmt creates (with their descendants)."""
    if stmt.kind == "go":
        each = made[stmt.target.value]
        n = 1 if stmt.count is None else stmt.count.get(params, parse_count)
        return None if each is None else n * (1 + each)
    if stmt.kind == "call":
        return made[stmt.target.value]
    if not stmt.body:
        return 0
    inner = _body(stmt.body, made, params)
    if stmt.kind == "repeat" and inner is not None:
        return stmt.count.get(params, parse_count) * inner
    return 0 if inner == 0 else None    # a loop (or another block) around a `go:`: unbounded
