"""Reading a workload file: YAML nodes -> a checked :class:`~.schema.Workload`.

The file is composed (not constructed) with PyYAML so that every value keeps its line.  Each
parse method takes a node and the dotted field path that names it in messages
(``functions.pinger[0].do[1].send``).  Checks that need no param values happen here: keys, types,
literal values, names of params/functions/channels/groups/mutexes, and the go/call cycle check.
"""
from __future__ import annotations

import difflib
import itertools
import re
from typing import NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .durations import DISTRIBUTIONS, param_parser, parse_duration
from .ops import D_CONST
from .schema import (
    Dur,
    Function,
    GcSection,
    Name,
    Scalar,
    Stmt,
    Workload,
    WorkloadError,
    in_file,
    param_refs,
    parse_bool,
    parse_capacity,
    parse_rate,
    parse_serve_dist,
    parse_count,
    parse_positive,
)

TOP_KEYS = ("name", "description", "procs", "ops", "timeout", "seed", "params", "channels",
            "mutexes", "groups", "policies", "max_threads", "main", "functions")
REQUIRED_KEYS = ("name", "main")
GO_KEYS = ("fn", "n", "group", "depth")
# --- select / close / range (issue 14): their statements join STATEMENTS below
CHAN_STATEMENTS = ("close", "range", "select", "serve")
SERVE_KEYS = ("rate", "dist", "count", "handler", "backlog")
SELECT_CASES = ("recv", "send", "after")      # a select case: one of these, with an optional do:
SELECT_DEFAULT = "default"
STATEMENTS = ("work", "go", "wait", "send", "recv", "yield", "syscall", "netwait", "sleep",
              "repeat", "loop", "call", "lock", "unlock") + CHAN_STATEMENTS
BLOCK_STATEMENTS = ("repeat", "loop", "range")     # the ones that take `do:`
# --- STW / procresize / locked Ms (issue 13) ---
TOP_KEYS += ("gc",)
STATEMENTS += ("stw", "setprocs", "lockthread", "unlockthread")
BARE_STATEMENTS = ("yield", "lockthread", "unlockthread")   # written as a bare word
GC_KEYS = ("every", "pause")
MAX_GOMAXPROCS = 256       # Go 1.9's _MaxGomaxprocs: the range of `setprocs:`
GC_FUNCTION = "runtime.gc"  # the gc: section's system goroutine (not a name a file can use)
SYSCALL_KEYS = ("dur", "block")

# which declared namespace a statement's target (and go's group) refers to
TARGET_SPACE = {"go": "function", "call": "function", "send": "channel", "recv": "channel",
                "close": "channel", "range": "channel", "serve": "function",
                "lock": "mutex", "unlock": "mutex", "wait": "group"}
DECLARED_UNDER = {"function": "functions:", "channel": "channels:", "mutex": "mutexes:",
                  "group": "groups:"}

WORKLOAD_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
PARAM_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED = {"function": ("children", "main"), "group": ("children",)}
MAX_STATEMENTS = 100_000   # guards against YAML alias bombs; real workloads have a few dozen
MAX_NESTING = 64
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_THREADS = 10_000
MAX_PROCS = 256           # GOMAXPROCS at most: Go 1.9's _MaxGomaxprocs


def load_workload(path) -> Workload:
    """Read, parse and check the workload file at ``path``; raises WorkloadError."""
    source = str(path)
    with in_file(source):
        root = _compose(_read(source))
        return _Builder(source).workload(root)


def _read(source: str) -> str:
    try:
        with open(source, encoding="utf-8") as stream:
            return stream.read()
    except FileNotFoundError:
        raise WorkloadError(source, None, "", "no such file") from None
    except UnicodeDecodeError as err:
        raise WorkloadError(source, None, "", f"not a UTF-8 text file ({err.reason})") from None
    except OSError as err:
        raise WorkloadError(source, None, "", f"cannot read: {err.strerror or err}") from None


def _compose(text: str):
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = "; ".join(p for p in (err.context, err.problem) if p) or str(err)
        if mark and "${" in _text_line(text, mark.line):
            problem += " (inside [...] or {...}, quote param references: '${n}')"
        raise WorkloadError(None, mark.line + 1 if mark else None, "",
                            f"not valid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise WorkloadError(None, None, "", f"not valid YAML: {err}") from None
    if root is None:
        raise WorkloadError(None, None, "", "the file is empty (a workload needs name: and main:)")
    return root


def _text_line(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def _line(node) -> int:
    return node.start_mark.line + 1


def _join(base: str, key) -> str:
    return f"{base}.{key}" if base else str(key)


def _fail(node, field: str, message: str) -> NoReturn:
    raise WorkloadError(None, _line(node) if node is not None else None, field, message)


def _suggest(word, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _known_params(names) -> str:
    return f"params: {', '.join(names)}" if names else "the workload declares no params:"


def _kind_of(node) -> str:
    return {MappingNode: "a mapping", SequenceNode: "a list"}.get(type(node), "a single value")


class _Builder:
    """Turns the composed YAML tree into a Workload.  One instance per file."""

    def __init__(self, source: str):
        self.source = source
        self.constructor = SafeConstructor()
        self.param_names: dict[str, None] = {}
        self.statements = 0
        self.open_lists: set[int] = set()   # ids of statement lists being parsed (alias loops)

    # --- YAML node access ----------------------------------------------------------------------

    def value(self, node, field: str):
        """The Python value of a scalar node (str, int, float, bool or None)."""
        if not isinstance(node, ScalarNode):
            _fail(node, field, f"expected a single value, got {_kind_of(node)}")
        try:
            value = self.constructor.construct_object(node)
        except yaml.YAMLError as err:
            _fail(node, field, f"bad value: {getattr(err, 'problem', None) or err}")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            _fail(node, field, f"unsupported value {node.value!r} (quote it to make it a string)")
        return value

    def mapping(self, node, field: str, what: str = "a mapping") -> dict:
        """key -> (key node, value node), in file order; keys must be distinct strings."""
        if not isinstance(node, MappingNode):
            _fail(node, field, f"expected {what}, got {_kind_of(node)}")
        entries: dict = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, field) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                _fail(key_node, field, f"keys must be names, got {key_node.value!r}"
                      if isinstance(key_node, ScalarNode) else "keys must be names")
            if key in entries:
                _fail(key_node, _join(field, key), f"duplicate key '{key}'")
            entries[key] = (key_node, value_node)
        return entries

    def check_keys(self, entries: dict, field: str, known) -> None:
        for key, (key_node, _) in entries.items():
            if key not in known:
                _fail(key_node, _join(field, key), f"unknown key '{key}'{_suggest(key, known)}")

    def sequence(self, node, field: str, what: str = "a list") -> list:
        if not isinstance(node, SequenceNode):
            _fail(node, field, f"expected {what}, got {_kind_of(node)}")
        return list(node.value)

    # --- typed values --------------------------------------------------------------------------

    def scalar(self, node, field: str, parse) -> Scalar:
        """A value that may use params; a literal one is checked with ``parse`` right away."""
        raw = self.value(node, field)
        try:
            refs = param_refs(raw)
        except ValueError as err:
            _fail(node, field, str(err))
        for name in refs:
            if name not in self.param_names:
                _fail(node, field, f"unknown param '{name}' ({_known_params(self.param_names)})"
                      f"{_suggest(name, self.param_names)}")
        result = Scalar(raw, _line(node), field, refs)
        if not refs:
            result.get({}, parse)
        return result

    def literal(self, node, field: str, parse):
        """A value that must be written out (params are not allowed here)."""
        raw = self.value(node, field)
        if isinstance(raw, str) and "${" in raw:
            _fail(node, field, "params can't be used here")
        return Scalar(raw, _line(node), field).get({}, parse)

    def name(self, node, field: str) -> Name:
        raw = self.value(node, field)
        if not isinstance(raw, str) or not raw:
            _fail(node, field, f"expected a name, got {raw!r}")
        if "${" in raw:
            _fail(node, field, "names can't use params")
        return Name(raw, _line(node), field)

    def declared_name(self, node, field: str, what: str) -> str:
        name = self.name(node, field).value
        if not IDENT_RE.fullmatch(name):
            _fail(node, field, f"bad {what} name '{name}' (letters, digits, _ and -)")
        if name in RESERVED.get(what, ()):
            _fail(node, field, f"'{name}' is reserved and can't name a {what}")
        return name

    def duration(self, node, field: str) -> Dur:
        """``5us`` or a distribution mapping such as ``{uniform: [0, 10us]}``."""
        if isinstance(node, ScalarNode):
            return Dur(D_CONST, (self.scalar(node, field, parse_duration),), _line(node), field)
        entries = self.mapping(node, field, "a duration like 5us or {exp: 5us}")
        if len(entries) != 1:
            _fail(node, field,
                  "a distribution has exactly one key: exp, uniform, normal or lognormal")
        (key, (key_node, value_node)), = entries.items()
        if key not in DISTRIBUTIONS:
            _fail(key_node, _join(field, key), f"unknown distribution '{key}' (exp, uniform, "
                  f"normal or lognormal){_suggest(key, DISTRIBUTIONS)}")
        kind, arg_names = DISTRIBUTIONS[key]
        dist_field = _join(field, key)
        dur = Dur(kind, self.dist_args(value_node, dist_field, kind, key, arg_names),
                  _line(node), dist_field)
        if not dur.refs:
            dur.row({})
        return dur

    def dist_args(self, node, field: str, kind: int, key: str, arg_names) -> tuple[Scalar, ...]:
        if len(arg_names) == 1:
            return (self.scalar(node, field, param_parser(kind, 0)),)
        shape = f"[{', '.join(arg_names)}]"
        items = self.sequence(node, field, f"a list {shape}")
        if len(items) != 2:
            _fail(node, field, f"{key} takes two values {shape}, got {len(items)}")
        return tuple(self.scalar(item, f"{field}[{i}]", param_parser(kind, i))
                     for i, item in enumerate(items))

    # --- the top level -------------------------------------------------------------------------

    def workload(self, root) -> Workload:
        top = self.mapping(root, "", "a mapping at the top level (name:, main:, ...)")
        self.check_keys(top, "", TOP_KEYS)
        for key in REQUIRED_KEYS:
            if key not in top:
                _fail(root, key, "required key is missing")
        params = self.optional(top, "params", self.params, {})
        self.param_names = dict.fromkeys(params)
        ops = self.optional(top, "ops", lambda n, f: self.scalar(n, f, parse_positive), None)
        wl = Workload(
            name=self.literal(top["name"][1], "name", _workload_name),
            description=self.optional(top, "description", self.description, ""),
            source=self.source,
            procs=self.optional(top, "procs", self.procs, None),
            ops=None if ops is None else ops.raw,
            timeout=self.optional(top, "timeout", self.timeout, DEFAULT_TIMEOUT),
            seed=self.optional(top, "seed", lambda n, f: self.literal(n, f, parse_count), 1),
            params=params,
            policies=self.optional(top, "policies", self.policies, {}),
            max_threads=self.optional(top, "max_threads",
                                      lambda n, f: self.literal(n, f, parse_positive),
                                      DEFAULT_MAX_THREADS),
            channels=self.optional(top, "channels", self.channels, {}),
            mutexes=self.optional(top, "mutexes", self.name_list, []),
            groups=self.optional(top, "groups", self.name_list, []),
            main=self.function("main", top["main"], "main"),
            functions=self.optional(top, "functions", self.functions, {}),
            ops_scalar=ops,
        )
        wl.gc = self.optional(top, "gc", self.gc, None)
        _check_names(wl)
        wl.func_order = _call_order(wl)
        _check_thread_locks(wl)
        return wl

    def optional(self, top: dict, key: str, parse, default):
        """Parse ``top[key]`` with ``parse(node, field)``; absent or null gives ``default``."""
        if key not in top:
            return default
        node = top[key][1]
        if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return default
        return parse(node, key)

    def description(self, node, field: str) -> str:
        text = self.value(node, field)
        if not isinstance(text, str):
            _fail(node, field, f"expected text, got {text!r}")
        return text.strip()

    def one_or_many(self, node, field: str, what: str) -> list[tuple]:
        """A single value or a non-empty list of them, as (node, field) pairs."""
        if isinstance(node, ScalarNode):
            return [(node, field)]
        items = self.sequence(node, field)
        if not items:
            _fail(node, field, f"needs at least one {what}")
        return [(item, f"{field}[{i}]") for i, item in enumerate(items)]

    def procs(self, node, field: str) -> list[int]:
        procs = []
        for item, item_field in self.one_or_many(node, field, "GOMAXPROCS value"):
            value = self.literal(item, item_field, parse_positive)
            if value > MAX_PROCS:
                _fail(item, item_field, f"{value} is more than {MAX_PROCS} Ps "
                                        f"(GOMAXPROCS is at most {MAX_PROCS}, Go's _MaxGomaxprocs)")
            if value in procs:
                _fail(item, item_field, f"{value} is listed twice")
            procs.append(value)
        return procs

    def timeout(self, node, field: str) -> float:
        if not isinstance(node, ScalarNode):
            _fail(node, field, "expected a fixed duration like 60s")
        ns = self.literal(node, field, parse_duration)
        if ns <= 0:
            _fail(node, field, "must be longer than 0")
        return ns / 1e9

    def params(self, node, field: str) -> dict[str, list]:
        return {key: self.param_values(value_node, _join(field, key), key, key_node)
                for key, (key_node, value_node) in self.mapping(node, field).items()}

    def param_values(self, node, field: str, key: str, key_node) -> list:
        if not PARAM_NAME_RE.fullmatch(key):
            _fail(key_node, field, f"bad param name '{key}' (letters, digits and _)")
        values = []
        for item, item_field in self.one_or_many(node, field, "value"):
            try:
                values.append(check_param_value(self.value(item, item_field)))
            except ValueError as err:
                _fail(item, item_field, str(err))
        return values

    def policies(self, node, field: str) -> dict:
        knobs = {}
        for key, (_, value_node) in self.mapping(node, field).items():
            value = self.value(value_node, _join(field, key))
            if value is None:
                _fail(value_node, _join(field, key), "needs a value")
            knobs[key] = value
        return knobs

    def channels(self, node, field: str) -> dict[str, Scalar]:
        return {self.declared_name(key_node, _join(field, key), "channel"):
                self.scalar(value_node, _join(field, key), parse_capacity)
                for key, (key_node, value_node) in self.mapping(node, field).items()}

    def name_list(self, node, field: str) -> list[str]:
        what = "mutex" if field == "mutexes" else "group"
        names: list[str] = []
        for i, item in enumerate(self.sequence(node, field)):
            name = self.declared_name(item, f"{field}[{i}]", what)
            if name in names:
                _fail(item, f"{field}[{i}]", f"{what} '{name}' is declared twice")
            names.append(name)
        return names

    def functions(self, node, field: str) -> dict[str, Function]:
        return {self.declared_name(key_node, _join(field, key), "function"):
                self.function(key, (key_node, value_node), _join(field, key))
                for key, (key_node, value_node) in self.mapping(node, field).items()}

    def function(self, name: str, entry, field: str) -> Function:
        key_node, body_node = entry
        return Function(name, _line(key_node), field, self.body(body_node, field, 0))

    # --- statements ----------------------------------------------------------------------------

    def body(self, node, field: str, depth: int) -> list[Stmt]:
        if depth > MAX_NESTING:
            _fail(node, field, f"statements nested more than {MAX_NESTING} deep")
        items = self.sequence(node, field, "a list of statements")
        if id(node) in self.open_lists:
            _fail(node, field, "a YAML alias makes this list contain itself")
        self.open_lists.add(id(node))
        try:
            return [self.statement(item, f"{field}[{i}]", depth) for i, item in enumerate(items)]
        finally:
            self.open_lists.discard(id(node))

    def statement(self, node, field: str, depth: int) -> Stmt:
        self.statements += 1
        if self.statements > MAX_STATEMENTS:
            _fail(node, field, f"more than {MAX_STATEMENTS} statements")
        if isinstance(node, ScalarNode):
            return self.bare_statement(node, field)
        entries = self.mapping(node, field, "a statement such as {send: ping} or yield")
        self.check_keys(entries, field, STATEMENTS + ("do",))
        kind = self.statement_kind(node, field, entries)
        value_node = entries[kind][1]
        parts = getattr(self, f"stmt_{kind}")(value_node, _join(field, kind))
        stmt = Stmt(kind, _line(node), field, **parts)
        if kind in BLOCK_STATEMENTS:
            stmt.body = self.body(entries["do"][1], _join(field, "do"), depth + 1)
        return stmt

    def bare_statement(self, node, field: str) -> Stmt:
        word = self.value(node, field)
        if word in BARE_STATEMENTS:
            return Stmt(word, _line(node), field)
        if word in STATEMENTS:
            _fail(node, field, f"'{word}' needs a value, e.g. {{{word}: ...}}")
        _fail(node, field, f"unknown statement {word!r}{_suggest(word, STATEMENTS)}")

    def statement_kind(self, node, field: str, entries: dict) -> str:
        kinds = [key for key in entries if key in STATEMENTS]
        if not kinds:
            _fail(node, field, "'do' without repeat, loop or range" if entries
                  else "empty statement")
        if len(kinds) > 1:
            _fail(node, field, f"two statements in one item: '{kinds[0]}' and '{kinds[1]}' "
                  "(write each as its own list item)")
        kind = kinds[0]
        if kind in BLOCK_STATEMENTS and "do" not in entries:
            _fail(node, field, f"{kind} needs a 'do:' list of statements")
        if kind not in BLOCK_STATEMENTS and "do" in entries:
            _fail(node, _join(field, "do"), f"'do' belongs to repeat, loop or range, not {kind}")
        return kind

    # One method per statement: value node, field -> the Stmt parts it sets.

    def stmt_work(self, node, field):
        return {"dur": self.duration(node, field)}

    stmt_netwait = stmt_sleep = stmt_work

    def stmt_loop(self, node, field):
        dur = self.duration(node, field)
        if dur.kind != D_CONST:
            _fail(node, field, "loop takes a fixed duration (the time since the start of the run "
                  "at which it stops), not a distribution")
        return {"dur": dur}

    def stmt_repeat(self, node, field):
        return {"count": self.scalar(node, field, parse_count)}

    def stmt_send(self, node, field):
        return {"target": self.name(node, field)}

    stmt_recv = stmt_call = stmt_lock = stmt_unlock = stmt_wait = stmt_send
    stmt_close = stmt_range = stmt_send

    def stmt_select(self, node, field):
        """A list of cases {recv: C, do: [...]}, {send: C, ...}, {after: D, ...} and at most
        one {default: [...]}; kept as Stmts of those kinds in ``cases``."""
        cases = [self.select_case(item, f"{field}[{i}]")
                 for i, item in enumerate(self.sequence(node, field, "a list of cases"))]
        defaults = [case for case in cases if case.kind == SELECT_DEFAULT]
        if len(defaults) > 1:
            raise WorkloadError(None, defaults[1].line, defaults[1].field,
                                "a select has at most one default (this is the second)")
        if not cases:
            _fail(node, field, "a select with no cases and no default blocks forever (Go's "
                  "`select {}`: with nothing else to run, fatal error: all goroutines are "
                  "asleep - deadlock!)")
        return {"cases": cases}

    def select_case(self, node, field):
        entries = self.mapping(node, field, "a case such as {recv: C, do: [...]}")
        self.check_keys(entries, field, SELECT_CASES + (SELECT_DEFAULT, "do"))
        kinds = [key for key in entries if key != "do"]
        if len(kinds) != 1:
            _fail(node, field, "a case has exactly one of recv, send, after or default"
                  + (f" (got {', '.join(kinds)})" if kinds else ""))
        kind = kinds[0]
        key_node, value_node = entries[kind]
        if kind == SELECT_DEFAULT:
            if "do" in entries:
                _fail(node, _join(field, "do"), "default takes its statements itself: "
                      "{default: [...]}")
            return Stmt(kind, _line(node), field,
                        body=self.body(value_node, _join(field, kind), 1))
        parts = (self.stmt_after(value_node, _join(field, kind)) if kind == "after"
                 else self.stmt_send(value_node, _join(field, kind)))
        stmt = Stmt(kind, _line(node), field, **parts)
        if "do" in entries:
            stmt.body = self.body(entries["do"][1], _join(field, "do"), 1)
        return stmt

    def stmt_serve(self, node, field):
        """{rate: R, dist: poisson|constant, count: N, handler: F, backlog: B}."""
        entries = self.mapping(node, field, "a mapping {rate: R, count: N, handler: F}")
        self.check_keys(entries, field, SERVE_KEYS)
        for key in ("rate", "count", "handler"):
            if key not in entries:
                _fail(node, _join(field, key), f"serve needs {key}:")
        options = {key: self.scalar(entries[key][1], _join(field, key), parse)
                   for key, parse in (("rate", parse_rate), ("dist", parse_serve_dist),
                                      ("backlog", parse_positive)) if key in entries}
        return {"target": self.name(entries["handler"][1], _join(field, "handler")),
                "count": self.scalar(entries["count"][1], _join(field, "count"), parse_positive),
                "serve": options}

    def stmt_after(self, node, field):
        return {"dur": self.duration(node, field)}

    def stmt_yield(self, node, field):
        if not (isinstance(node, ScalarNode) and self.value(node, field) is None):
            kind = field.rsplit(".", 1)[-1]
            _fail(node, field, f"{kind} takes no value (write '- {kind}')")
        return {}

    stmt_lockthread = stmt_unlockthread = stmt_yield

    def stmt_stw(self, node, field):
        return {"dur": self.duration(node, field)}

    def stmt_setprocs(self, node, field):
        return {"count": self.scalar(node, field, parse_gomaxprocs)}

    def gc(self, node, field: str) -> GcSection:
        """The top-level ``gc: {every: D, pause: D}``: periodic stop-the-world pauses."""
        entries = self.mapping(node, field, "a mapping {every: D, pause: D}")
        self.check_keys(entries, field, GC_KEYS)
        for key in GC_KEYS:
            if key not in entries:
                _fail(node, _join(field, key), f"gc needs {key}: a duration")
        return GcSection(*(self.duration(entries[key][1], _join(field, key)) for key in GC_KEYS),
                         line=_line(node))

    def stmt_go(self, node, field):
        if not isinstance(node, MappingNode):
            return {"target": self.name(node, field)}
        entries = self.mapping(node, field)
        self.check_keys(entries, field, GO_KEYS)
        if "fn" not in entries:
            _fail(node, _join(field, "fn"), "go needs fn: the function to start")
        parts = {"target": self.name(entries["fn"][1], _join(field, "fn"))}
        if "n" in entries:
            parts["count"] = self.scalar(entries["n"][1], _join(field, "n"), parse_count)
        if "group" in entries:
            parts["group"] = self.name(entries["group"][1], _join(field, "group"))
        if "depth" in entries:
            parts["depth"] = self.scalar(entries["depth"][1], _join(field, "depth"), parse_depth)
        return parts

    def stmt_syscall(self, node, field):
        if not isinstance(node, MappingNode) or not set(SYSCALL_KEYS) & {
                key_node.value for key_node, _ in node.value}:
            return {"dur": self.duration(node, field)}
        entries = self.mapping(node, field)
        self.check_keys(entries, field, SYSCALL_KEYS)
        if "dur" not in entries:
            _fail(node, _join(field, "dur"), "syscall needs dur: its duration")
        parts = {"dur": self.duration(entries["dur"][1], _join(field, "dur"))}
        if "block" in entries:
            parts["block"] = self.scalar(entries["block"][1], _join(field, "block"), parse_bool)
        return parts


def parse_gomaxprocs(value) -> int:
    """`setprocs: N`: 1 <= N <= MAX_GOMAXPROCS."""
    number = parse_count(value)
    if not 1 <= number <= MAX_GOMAXPROCS:
        raise ValueError(f"GOMAXPROCS must be in 1..{MAX_GOMAXPROCS}, got {number}")
    return number


def _workload_name(value) -> str:
    if not isinstance(value, str) or not WORKLOAD_NAME_RE.fullmatch(value):
        raise ValueError(f"bad workload name {value!r} (lowercase letters, digits and -, "
                         "starting with a letter or digit)")
    return value


def check_param_value(value):
    """A param value must be a number or a string (a duration such as "5us", say)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"param values must be numbers or strings, got {value!r}")
    if isinstance(value, str) and "${" in value:
        raise ValueError("param values can't refer to params")
    return value


# --- checks across the whole file --------------------------------------------------------------

def walk(body):
    """Every statement of ``body``, nested ones included (select cases too), in program order."""
    for stmt in body:
        yield stmt
        yield from walk(stmt.cases)
        yield from walk(stmt.body)


def _check_names(wl: Workload) -> None:
    declared = {"function": wl.functions, "channel": wl.channels, "mutex": wl.mutexes,
                "group": wl.groups}
    for func in wl.all_functions():
        for stmt in walk(func.body):
            if stmt.target is not None and not (stmt.kind == "wait"
                                                and stmt.target.value == "children"):
                _check_declared(stmt.target, TARGET_SPACE[stmt.kind], declared)
            if stmt.group is not None:
                _check_declared(stmt.group, "group", declared)


def _check_declared(name: Name, space: str, declared: dict) -> None:
    if name.value in declared[space]:
        return
    if space == "function" and name.value == "main":
        hint = " (main is the main goroutine: it can't be called or started)"
    else:
        hint = (_suggest(name.value, declared[space])
                or f" (declare it under {DECLARED_UNDER[space]})")
    raise WorkloadError(None, name.line, name.field, f"unknown {space} '{name.value}'{hint}")


def _edges(func: Function) -> dict[str, int]:
    """Functions that ``func`` starts or calls -> line of the first statement doing so.  A
    `go: F` inside F is bounded recursion, not an edge: it starts F only while the goroutine's
    depth is above 0, with one less, so it ends after `depth` levels."""
    edges: dict[str, int] = {}
    for stmt in walk(func.body):
        if stmt.kind == "go" and stmt.target.value == func.name:
            if stmt.depth is not None:
                raise WorkloadError(None, stmt.depth.line, stmt.depth.field,
                                    f"'{func.name}' starting itself takes its own depth minus "
                                    "one: depth is given where it is first started")
            continue
        if stmt.kind in ("go", "call", "serve"):
            edges.setdefault(stmt.target.value, stmt.line)
    return edges


MAX_DEPTH = 1 << 31


def parse_depth(value) -> int:
    """A bounded recursion's depth: a count below 2**31."""
    depth = parse_count(value)
    if depth >= MAX_DEPTH:
        raise ValueError(f"depth {depth} is too large (at most {MAX_DEPTH - 1})")
    return depth


def _call_order(wl: Workload) -> list[str]:
    """The functions with callees before callers; a go/call cycle is a WorkloadError."""
    edges = {name: _edges(func) for name, func in wl.functions.items()}
    done: dict[str, bool] = {}      # name -> finished (False while on the DFS path)
    order: list[str] = []
    for root in edges:
        if root in done:
            continue
        path, stack = [root], [iter(edges[root])]
        done[root] = False
        while stack:
            callee = next(stack[-1], None)
            if callee is None:
                stack.pop()
                order.append(path.pop())
                done[order[-1]] = True
            elif callee not in done:
                done[callee] = False
                path.append(callee)
                stack.append(iter(edges[callee]))
            elif not done[callee]:
                _cycle_error(wl, path[path.index(callee):] + [callee], edges)
    return order


def _cycle_error(wl: Workload, cycle: list[str], edges) -> None:
    first = wl.functions[cycle[0]]
    raise WorkloadError(None, edges[cycle[0]][cycle[1]], first.field,
                        "go/call cycle: " + " -> ".join(cycle))


def _check_thread_locks(wl: Workload) -> None:
    """`unlockthread` must follow a `lockthread` of the same goroutine: main and every function
    a `go:` starts begin unlocked; a `call:` goes on with the caller's count.  A repeat/loop
    body may not unlock more than it locks (a later iteration would unlock nothing)."""
    summaries: dict[str, tuple[int, int, Stmt | None]] = {}
    for name in wl.func_order:          # callees first
        summaries[name] = _lock_summary(wl.functions[name].body, summaries)
    started = {s.target.value for f in wl.all_functions() for s in walk(f.body) if s.kind == "go"}
    for name, (need, _, culprit) in [("main", _lock_summary(wl.main.body, summaries)),
                                     *((n, summaries[n]) for n in wl.functions if n in started)]:
        if need > 0:
            raise WorkloadError(None, culprit.line, culprit.field,
                                "unlockthread without a lockthread before it in this goroutine "
                                "(runtime.UnlockOSThread of an unlocked thread)")


def _lock_summary(body: list[Stmt], summaries: dict) -> tuple[int, int, Stmt | None]:
    """(locks the body needs held on entry, its net change -- a lower bound in loops --, the
    statement where it first unlocks more than it locked)."""
    held, need, culprit = 0, 0, None
    for stmt in body:
        if stmt.kind in BLOCK_STATEMENTS:
            inner_need, net, _ = _lock_summary(stmt.body, summaries)
            if net < 0:
                raise WorkloadError(None, stmt.line, stmt.field, f"this {stmt.kind} body "
                                    "unlocks the thread more often than it locks it")
            step_need, step = inner_need, 0
        elif stmt.kind == "call":
            step_need, step, _ = summaries[stmt.target.value]
        else:
            step = {"lockthread": 1, "unlockthread": -1}.get(stmt.kind, 0)
            step_need = 1 if step < 0 else 0
        if step_need - held > need:
            need, culprit = step_need - held, stmt
        held += step
    return need, held, culprit


# --- cases -------------------------------------------------------------------------------------

def expand_cases(wl: Workload, overrides: dict | None = None) -> list[dict]:
    """One dict of param values per case: the cartesian product of the params, in file order.

    ``overrides`` replaces the value list of a param (e.g. from ``--param``); naming a param the
    workload does not declare is a WorkloadError.  A string override that reads as a number in
    YAML ("1000", "0.5") becomes that number, as it would be if written in the file.
    """
    values = dict(wl.params)
    with in_file(wl.source):
        for key, given in (overrides or {}).items():
            values[key] = _override_values(wl, key, given)
    return [dict(zip(values, combo)) for combo in itertools.product(*values.values())]


def _override_values(wl: Workload, key: str, given) -> list:
    field = _join("params", key)
    if key not in wl.params:
        raise WorkloadError(None, None, field, f"unknown param '{key}' "
                            f"({_known_params(wl.params)}){_suggest(key, wl.params)}")
    items = list(given) if isinstance(given, (list, tuple)) else [given]
    if not items:
        raise WorkloadError(None, None, field, "needs at least one value")
    try:
        return [check_param_value(_as_yaml_number(item)) for item in items]
    except ValueError as err:
        raise WorkloadError(None, None, field, str(err)) from None


def _as_yaml_number(value):
    if not isinstance(value, str):
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return parsed if isinstance(parsed, (int, float)) and not isinstance(parsed, bool) else value


def check_case(wl: Workload, params: dict) -> None:
    """``params`` must give a value to each param of the workload, and to nothing else."""
    for key, value in params.items():
        if key not in wl.params:
            raise WorkloadError(None, None, _join("params", key), f"unknown param '{key}'")
        try:
            check_param_value(value)
        except ValueError as err:
            raise WorkloadError(None, None, _join("params", key), str(err)) from None
    for key in wl.params:
        if key not in params:
            raise WorkloadError(None, None, _join("params", key), "no value given for this param")
