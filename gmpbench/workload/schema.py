"""The parsed form of a workload file: a tree of statements whose values remember their YAML line.

Values that may contain ``${...}`` are kept raw (:class:`Scalar`) and are only substituted and
type-checked when a case is compiled; literal values are checked once at load time by the same
code, so both paths produce the same messages.

``${name}`` stands for a param.  As an extension, ``${expr}`` may be a small arithmetic expression
over params and numbers (``${batches * width}``) using ``+ - * / // %`` and parentheses, and a
reference inside a longer string is interpolated as text (``"${d}us"``).
"""
from __future__ import annotations

import ast
import operator
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from .durations import check_dist, param_parser

INT64_MAX = 2 ** 63 - 1


class WorkloadError(Exception):
    """A problem with a workload file, located by file, 1-based line (or None) and dotted field."""

    def __init__(self, file, line, field, message):
        super().__init__(file, line, field, message)
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self):
        where = str(self.file if self.file is not None else "<workload>")
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"

    def __reduce__(self):
        return (type(self), (self.file, self.line, self.field, self.message))


@contextmanager
def in_file(source):
    """Fill in the file of any WorkloadError raised inside (errors are raised without one)."""
    try:
        yield
    except WorkloadError as err:
        if err.file is None:
            err.file = str(source)
        raise
    except RecursionError:
        raise WorkloadError(str(source), None, "", "workload is nested too deeply") from None


# --- ${...} references -------------------------------------------------------------------------

_REF_RE = re.compile(r"\$\{([^{}]*)\}")
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_UNOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_EXPR_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
               *_BINOPS, *_UNOPS)


def _parse_ref(text: str) -> ast.Expression:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        tree = None
    if tree is None or not all(_allowed_expr_node(n) for n in ast.walk(tree)):
        raise ValueError(f"malformed param reference '${{{text}}}' "
                         "(expected ${name} or arithmetic like ${a * b})")
    return tree


def _allowed_expr_node(node) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    return isinstance(node, _EXPR_NODES)


def param_refs(raw) -> tuple[str, ...]:
    """Names of the params that ``raw`` refers to, in order of first use; () for a literal."""
    if not isinstance(raw, str) or "${" not in raw:
        return ()
    names: dict[str, None] = {}
    for text in _REF_RE.findall(raw):
        for node in ast.walk(_parse_ref(text)):
            if isinstance(node, ast.Name):
                names[node.id] = None
    if "${" in _REF_RE.sub("", raw):
        raise ValueError(f"unterminated or nested param reference in {raw!r}")
    return tuple(names)


def _number(name: str, value):
    """A param's value as a number for arithmetic (a numeric string from the command line is ok)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    for convert in (int, float):
        try:
            return convert(value)
        except (TypeError, ValueError):
            pass
    raise ValueError(f"param '{name}' = {value!r} is not a number, "
                     "so it can't be used in arithmetic")


def _evaluate(node, params):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, params)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _number(node.id, _param_value(node.id, params))
    if isinstance(node, ast.UnaryOp):
        return _UNOPS[type(node.op)](_evaluate(node.operand, params))
    left, right = _evaluate(node.left, params), _evaluate(node.right, params)
    try:
        return _BINOPS[type(node.op)](left, right)
    except ZeroDivisionError:
        raise ValueError("division by zero") from None


def _param_value(name: str, params):
    if name not in params:
        raise ValueError(f"param '{name}' has no value")
    return params[name]


def _substitute_one(text: str, params):
    name = text.strip()
    if name.isidentifier():
        return _param_value(name, params)
    return _evaluate(_parse_ref(text), params)


def substitute(raw, params):
    """``raw`` with its ``${...}`` replaced: a whole-value reference keeps the param's type."""
    if not param_refs(raw):
        return raw
    whole = _REF_RE.fullmatch(raw)
    if whole:
        return _substitute_one(whole.group(1), params)
    return _REF_RE.sub(lambda m: str(_substitute_one(m.group(1), params)), raw)


# --- value parsers (each takes a substituted Python value, raises ValueError) -------------------

def parse_count(value) -> int:
    """An integer >= 0 (an integral float or a string of digits is accepted too)."""
    number = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            pass
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int):
        raise ValueError(f"expected an integer count, got {value!r}")
    if number < 0:
        raise ValueError(f"count must be >= 0, got {number}")
    if number > INT64_MAX:
        raise ValueError(f"count {number} is too large")
    return number


def parse_positive(value) -> int:
    """An integer >= 1."""
    number = parse_count(value)
    if number < 1:
        raise ValueError(f"must be at least 1, got {number}")
    return number


NIL_CAPACITY = -1   # a channel declared `nil` (runtime layout's CAP_NIL)


def parse_capacity(value) -> int:
    """A channel's capacity: a count, or nil (null) for a nil channel (blocks forever,
    close panics)."""
    if value is None or (isinstance(value, str) and value.strip() == "nil"):
        return NIL_CAPACITY
    return parse_count(value)


_RATE_UNITS = {"": 1.0, "k": 1e3, "M": 1e6}


def parse_rate(value) -> float:
    """Requests per second: a number above 0, or text such as "10k" or "1.5M"."""
    number = value
    if isinstance(value, str):
        text = value.strip()
        unit = text[-1:] if text[-1:] in ("k", "M") else ""
        try:
            number = float(text[:len(text) - len(unit)]) * _RATE_UNITS[unit]
        except ValueError:
            raise ValueError(f"expected a rate in requests/s like 5000 or 10k, got {value!r}") \
                from None
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ValueError(f"expected a rate in requests/s like 5000 or 10k, got {value!r}")
    if not number > 0 or number > 1e9:
        raise ValueError(f"rate must be above 0 and at most 1e9 requests/s, got {value!r}")
    return float(number)


SERVE_DISTS = ("poisson", "constant")


def parse_serve_dist(value) -> str:
    if value not in SERVE_DISTS:
        raise ValueError(f"dist is poisson (exponential gaps) or constant, got {value!r}")
    return value


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"expected true or false, got {value!r}")


# --- the tree ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scalar:
    """One YAML scalar that may refer to params; parsed per case by :meth:`get`."""

    raw: object
    line: int | None
    field: str
    refs: tuple[str, ...] = ()

    def get(self, params, parse):
        """Substitute ``params`` and parse; problems become a WorkloadError at this value."""
        try:
            value = substitute(self.raw, params)
        except ValueError as err:
            raise WorkloadError(None, self.line, self.field, f"{self.raw}: {err}") from None
        try:
            return parse(value)
        except ValueError as err:
            shown = f"{self.raw} = {value!r}: " if self.refs else ""
            raise WorkloadError(None, self.line, self.field, shown + str(err)) from None


@dataclass(frozen=True)
class Dur:
    """A duration: a constant (one arg) or a distribution (kind from ops.D_*, one or two args)."""

    kind: int
    args: tuple[Scalar, ...]
    line: int | None
    field: str

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(name for arg in self.args for name in arg.refs)

    def row(self, params) -> tuple[float, float, float]:
        """The ``Program.dists`` row for this case."""
        values = [arg.get(params, param_parser(self.kind, i)) for i, arg in enumerate(self.args)]
        values += [0.0] * (2 - len(values))
        try:
            return check_dist(self.kind, *values)
        except ValueError as err:
            raise WorkloadError(None, self.line, self.field, str(err)) from None


@dataclass(frozen=True)
class Name:
    """A reference to a declared function, channel, group or mutex."""

    value: str
    line: int | None
    field: str


@dataclass
class Stmt:
    """One statement.  Which optional parts are set depends on ``kind`` (see the loader)."""

    kind: str                      # "work", "go", ... (the YAML key)
    line: int                      # 1-based line of the statement
    field: str                     # dotted path, e.g. "functions.pinger[0]"
    target: Name | None = None     # go/call: function; send/recv: channel; lock/unlock: mutex;
                                   # wait: group or "children"
    count: Scalar | None = None    # repeat: N; go: n
    dur: Dur | None = None         # work/syscall/netwait/sleep/loop
    block: Scalar | None = None    # syscall: block
    group: Name | None = None      # go: group
    body: list[Stmt] = field(default_factory=list)   # repeat/loop/range: do; a select case's do
    depth: Scalar | None = None    # go: depth (bounded recursion, issue 14)
    serve: dict | None = None      # serve: rate, dist, backlog (Scalars); target is the handler
    cases: list[Stmt] = field(default_factory=list)  # select: its cases, kinds recv/send/after/
                                                     # default (issue 14)


@dataclass
class Function:
    """A statement list: ``main`` or one entry of ``functions:``."""

    name: str
    line: int                      # line of the key (``main:`` / ``pinger:``)
    field: str                     # "main" or "functions.pinger"
    body: list[Stmt]


@dataclass
class GcSection:
    """The top-level ``gc:``: a stop-the-world of ``pause`` every ``every`` (issue 13)."""

    every: Dur
    pause: Dur
    line: int


@dataclass
class Workload:
    """A loaded and validated workload file; compile one case of it with ``compile_case``."""

    name: str
    description: str
    source: str
    procs: list[int] | None        # None: the default [1, os.cpu_count()]
    ops: int | str | None          # as written; see ops_value()
    timeout: float                 # seconds
    seed: int
    params: dict[str, list]        # sweep values, in file order
    policies: dict[str, object]    # raw knob -> value, checked by the runtime's policy module
    max_threads: int
    channels: dict[str, Scalar]    # name -> capacity, in file order
    mutexes: list[str]
    groups: list[str]
    main: Function
    functions: dict[str, Function]  # in file order
    func_order: list[str] = field(default_factory=list)  # callees before callers (acyclic)
    ops_scalar: Scalar | None = None
    gc: GcSection | None = None    # periodic stop-the-world pauses (a GC stand-in)

    def ops_value(self, params) -> int | None:
        """``ops`` with params substituted (an int >= 1), or None when the file has none."""
        if self.ops_scalar is None:
            return None
        with in_file(self.source):
            return self.ops_scalar.get(params, parse_positive)

    def all_functions(self) -> list[Function]:
        """``main`` first, then ``functions:`` in file order: the layout order of the program."""
        return [self.main, *self.functions.values()]
