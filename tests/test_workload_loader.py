"""Loading workload files: the grammar, its errors (file, line, field), params, durations."""
from __future__ import annotations

import math
import pickle
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmpbench.workload import (
    WorkloadError,
    compile_case,
    expand_cases,
    format_ns,
    load_workload,
    parse_duration,
)
from gmpbench.workload.durations import check_dist, format_dist, parse_sigma
from gmpbench.workload.ops import D_CONST, D_EXP, D_LOGNORMAL, D_NORMAL, D_UNIFORM

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path, text: str, name: str = "w.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(tmp_path, text: str):
    return load_workload(write(tmp_path, text))


def load_error(tmp_path, text: str) -> WorkloadError:
    path = write(tmp_path, text)
    with pytest.raises(WorkloadError) as info:
        load_workload(path)
    assert info.value.file == str(path)
    return info.value


# --- WorkloadError -----------------------------------------------------------------------------

def test_error_str_with_and_without_line():
    assert str(WorkloadError("w.yaml", 3, "main[0].send", "boom")) == "w.yaml:3: main[0].send: boom"
    assert str(WorkloadError("w.yaml", None, "params.x", "boom")) == "w.yaml: params.x: boom"


def test_error_survives_pickling():
    err = pickle.loads(pickle.dumps(WorkloadError("w.yaml", 3, "f", "m")))
    assert (err.file, err.line, err.field, err.message) == ("w.yaml", 3, "f", "m")


def test_error_message_names_file_line_and_field(tmp_path):
    err = load_error(tmp_path, """
        name: x
        main:
          - send: nope
    """)
    assert str(err) == f"{tmp_path / 'w.yaml'}:3: main[0].send: unknown channel 'nope' " \
                       "(declare it under channels:)"


# --- files that are not workloads --------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(WorkloadError) as info:
        load_workload(tmp_path / "absent.yaml")
    assert info.value.line is None
    assert "no such file" in info.value.message
    assert info.value.file == str(tmp_path / "absent.yaml")


def test_directory_is_not_a_workload(tmp_path):
    with pytest.raises(WorkloadError, match="cannot read"):
        load_workload(tmp_path)


def test_binary_file(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(WorkloadError, match="UTF-8"):
        load_workload(path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    err = load_error(tmp_path, text)
    assert "empty" in err.message


@pytest.mark.parametrize("text, line", [
    ("name: x\nmain: [\n", 3),                   # unterminated flow list
    ("name: x\nmain:\n  - send: a\n - recv: b\n", 4),   # bad indentation
    ("name: x\n\tmain: []\n", 2),                # a tab
    ("name: 'x\nmain: []\n", 3),                 # unterminated quote
    ("a: 1\n---\nb: 2\n", 2),                    # two documents
])
def test_not_yaml_reports_the_parser_line(tmp_path, text, line):
    err = load_error(tmp_path, text)
    assert err.line == line
    assert err.message.startswith("not valid YAML")


def test_unquoted_param_in_flow_context_gets_a_hint(tmp_path):
    err = load_error(tmp_path, "name: x\nparams: {n: [2]}\nmain:\n  - work: {exp: ${n}us}\n")
    assert err.line == 4
    assert "quote param references" in err.message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path, text):
    err = load_error(tmp_path, text)
    assert err.line == 1
    assert "mapping at the top level" in err.message


# --- the error table: every class of mistake, with its exact line and field ------------------

ERRORS = [
    # top level
    ("name: x\nmain: []\nfoo: 1\n", 3, "foo", "unknown key 'foo'"),
    ("name: x\nmian: []\n", 2, "mian", "did you mean 'main'"),
    ("description: hi\nmain: []\n", 1, "name", "required key is missing"),
    ("name: x\n", 1, "main", "required key is missing"),
    ("name: Ping\nmain: []\n", 1, "name", "bad workload name"),
    ("name: -x\nmain: []\n", 1, "name", "bad workload name"),
    ("name: 12\nmain: []\n", 1, "name", "bad workload name"),
    ("name: x\nmain: []\nname: y\n", 3, "name", "duplicate key 'name'"),
    ("name: x\nmain: {a: 1}\n", 2, "main", "expected a list of statements"),
    ("name: x\ndescription: [a]\nmain: []\n", 2, "description", "expected a single value"),
    ("name: x\nprocs: [1, 0]\nmain: []\n", 2, "procs[1]", "at least 1"),
    ("name: x\nprocs: []\nmain: []\n", 2, "procs", "at least one"),
    ("name: x\nprocs: [2, 2]\nmain: []\n", 2, "procs[1]", "listed twice"),
    ("name: x\nprocs: [1000000]\nmain: []\n", 2, "procs[0]", "at most 256"),
    ("name: x\nprocs: two\nmain: []\n", 2, "procs", "integer"),
    ("name: x\nprocs: [true]\nmain: []\n", 2, "procs[0]", "integer"),
    ("name: x\ntimeout: 0\nmain: []\n", 2, "timeout", "longer than 0"),
    ("name: x\ntimeout: 60\nmain: []\n", 2, "timeout", "needs a unit"),
    ("name: x\ntimeout: {exp: 1s}\nmain: []\n", 2, "timeout", "fixed duration"),
    ("name: x\nseed: -1\nmain: []\n", 2, "seed", ">= 0"),
    ("name: x\nseed: 1.5\nmain: []\n", 2, "seed", "integer"),
    ("name: x\nmax_threads: 0\nmain: []\n", 2, "max_threads", "at least 1"),
    ("name: x\nops: 0\nmain: []\n", 2, "ops", "at least 1"),
    ("name: x\nops: lots\nmain: []\n", 2, "ops", "integer"),
    ("name: x\npolicies: [a]\nmain: []\n", 2, "policies", "expected a mapping"),
    ("name: x\npolicies:\n  a: {b: 1}\nmain: []\n", 3, "policies.a", "single value"),
    ("name: x\npolicies:\n  a:\nmain: []\n", 3, "policies.a", "needs a value"),
    ("name: x\npolicies: {1: 2}\nmain: []\n", 2, "policies", "keys must be names"),
    # declarations
    ("name: x\nchannels: {c: -1}\nmain: []\n", 2, "channels.c", ">= 0"),
    ("name: x\nchannels: {c: 1.5}\nmain: []\n", 2, "channels.c", "integer"),
    ("name: x\nchannels: [c]\nmain: []\n", 2, "channels", "expected a mapping"),
    ("name: x\nchannels: {'a b': 0}\nmain: []\n", 2, "channels.a b", "bad channel name"),
    ("name: x\nmutexes: [m, m]\nmain: []\n", 2, "mutexes[1]", "declared twice"),
    ("name: x\nmutexes: m\nmain: []\n", 2, "mutexes", "expected a list"),
    ("name: x\ngroups: [children]\nmain: []\n", 2, "groups[0]", "reserved"),
    ("name: x\nmain: []\nfunctions:\n  children: []\n", 4, "functions.children", "reserved"),
    ("name: x\nmain: []\nfunctions:\n  main: []\n", 4, "functions.main", "reserved"),
    ("name: x\nmain: []\nfunctions:\n  f: yield\n", 4, "functions.f", "list of statements"),
    ("name: x\nparams: {n: []}\nmain: []\n", 2, "params.n", "at least one value"),
    ("name: x\nparams: {n: [true]}\nmain: []\n", 2, "params.n[0]", "numbers or strings"),
    ("name: x\nparams: {n: [[1]]}\nmain: []\n", 2, "params.n[0]", "single value"),
    ("name: x\nparams: {n-m: [1]}\nmain: []\n", 2, "params.n-m", "bad param name"),
    ("name: x\nparams:\n  n: ['${m}']\n  m: [1]\nmain: []\n", 3, "params.n[0]",
     "can't refer to params"),
    # statements
    ("name: x\nmain:\n  - yeild\n", 3, "main[0]",
     "unknown statement 'yeild' (did you mean 'yield'?)"),
    ("name: x\nmain:\n  - wait\n", 3, "main[0]", "'wait' needs a value"),
    ("name: x\nmain:\n  - 5\n", 3, "main[0]", "unknown statement 5"),
    ("name: x\nmain:\n  - [send, c]\n", 3, "main[0]", "expected a statement"),
    ("name: x\nmain:\n  - {}\n", 3, "main[0]", "empty statement"),
    ("name: x\nmain:\n  - sned: c\n", 3, "main[0].sned", "did you mean 'send'"),
    ("name: x\nchannels: {c: 0}\nmain:\n  - send: c\n    recv: c\n", 4, "main[0]",
     "two statements in one item: 'send' and 'recv'"),
    ("name: x\nmain:\n  - repeat: 3\n", 3, "main[0]", "repeat needs a 'do:'"),
    ("name: x\nmain:\n  - loop: 1s\n", 3, "main[0]", "loop needs a 'do:'"),
    ("name: x\nmain:\n  - do: [yield]\n", 3, "main[0]", "'do' without repeat, loop or range"),
    ("name: x\nmain:\n  - yield:\n    do: []\n", 3, "main[0].do", "'do' belongs to repeat, loop or range"),
    ("name: x\nmain:\n  - repeat: 2\n    do: yield\n", 4, "main[0].do", "list of statements"),
    ("name: x\nmain:\n  - yield: now\n", 3, "main[0].yield", "takes no value"),
    ("name: x\nmain:\n  - repeat: -1\n    do: []\n", 3, "main[0].repeat", ">= 0"),
    ("name: x\nmain:\n  - repeat: 2.5\n    do: []\n", 3, "main[0].repeat", "integer"),
    ("name: x\nmain:\n  - repeat: [1]\n    do: []\n", 3, "main[0].repeat", "single value"),
    ("name: x\nmain:\n  - repeat: 2\n    do:\n      - yield\n      - {send: c}\n", 6,
     "main[0].do[1].send", "unknown channel 'c'"),
    ("name: x\nmain:\n  - send: [c]\n", 3, "main[0].send", "single value"),
    ("name: x\nmain:\n  - send: 5\n", 3, "main[0].send", "expected a name"),
    ("name: x\nchannels: {ch: 0}\nmain:\n  - recv: cj\n", 4, "main[0].recv",
     "unknown channel 'cj' (did you mean 'ch'?)"),
    ("name: x\nmain:\n  - lock: m\n", 3, "main[0].lock", "unknown mutex 'm'"),
    ("name: x\nmain:\n  - wait: g\n", 3, "main[0].wait", "unknown group 'g'"),
    ("name: x\nmain:\n  - call: f\n", 3, "main[0].call", "unknown function 'f'"),
    ("name: x\nmain:\n  - go: main\n", 3, "main[0].go", "can't be called or started"),
    ("name: x\nmain:\n  - call: main\n", 3, "main[0].call", "can't be called or started"),
    ("name: x\nmain:\n  - go: {n: 2}\n", 3, "main[0].go.fn", "go needs fn"),
    ("name: x\nmain:\n  - go: {fn: f, m: 2}\nfunctions: {f: []}\n", 3, "main[0].go.m",
     "unknown key 'm'"),
    ("name: x\nmain:\n  - go: {fn: f, n: -2}\nfunctions: {f: []}\n", 3, "main[0].go.n", ">= 0"),
    ("name: x\nmain:\n  - go:\n      fn: f\n      group: g\nfunctions: {f: []}\n", 5,
     "main[0].go.group", "unknown group 'g'"),
    ("name: x\nmain:\n  - go: '${f}'\nparams: {f: [a]}\n", 3, "main[0].go",
     "names can't use params"),
    ("name: x\nmain:\n  - syscall: {dur: 1ms, block: maybe}\n", 3, "main[0].syscall.block",
     "true or false"),
    ("name: x\nmain:\n  - syscall: {block: true}\n", 3, "main[0].syscall.dur", "needs dur"),
    ("name: x\nmain:\n  - syscall: {dur: 1ms, blokc: true}\n", 3, "main[0].syscall.blokc",
     "did you mean 'block'"),
    # durations
    ("name: x\nmain:\n  - work: -5us\n", 3, "main[0].work", "negative duration"),
    ("name: x\nmain:\n  - work: 5\n", 3, "main[0].work", "needs a unit"),
    ("name: x\nmain:\n  - sleep: 5 parsecs\n", 3, "main[0].sleep", "unknown unit"),
    ("name: x\nmain:\n  - netwait: fast\n", 3, "main[0].netwait", "malformed duration"),
    ("name: x\nmain:\n  - work:\n", 3, "main[0].work", "expected a duration"),
    ("name: x\nmain:\n  - work: [1us]\n", 3, "main[0].work", "expected a duration"),
    ("name: x\nmain:\n  - work: {poisson: 1us}\n", 3, "main[0].work.poisson",
     "unknown distribution 'poisson'"),
    ("name: x\nmain:\n  - work: {exp: 1us, uniform: [1us, 2us]}\n", 3, "main[0].work",
     "exactly one key"),
    ("name: x\nmain:\n  - work: {uniform: [10us, 1us]}\n", 3, "main[0].work.uniform",
     "lo 10us is greater than hi 1us"),
    ("name: x\nmain:\n  - work: {uniform: [1us]}\n", 3, "main[0].work.uniform", "two values"),
    ("name: x\nmain:\n  - work: {uniform: 1us}\n", 3, "main[0].work.uniform", "expected a list"),
    ("name: x\nmain:\n  - work:\n      normal:\n        - 1us\n        - -1us\n", 6,
     "main[0].work.normal[1]", "negative duration"),
    ("name: x\nmain:\n  - work: {lognormal: [5us, 1us]}\n", 3, "main[0].work.lognormal[1]",
     "sigma must be a plain number"),
    ("name: x\nmain:\n  - work: {lognormal: [5us, -1]}\n", 3, "main[0].work.lognormal[1]",
     "sigma must be a plain number"),
    ("name: x\nmain:\n  - work: {exp: {exp: 1us}}\n", 3, "main[0].work.exp", "single value"),
    ("name: x\nmain:\n  - work: {exp: -1ms}\n", 3, "main[0].work.exp", "negative"),
    ("name: x\nmain:\n  - loop: {exp: 1s}\n    do: [yield]\n", 3, "main[0].loop",
     "not a distribution"),
    # params
    ("name: x\nmain:\n  - repeat: ${n}\n    do: []\n", 3, "main[0].repeat", "unknown param 'n'"),
    ("name: x\nparams: {rounds: [1]}\nmain:\n  - repeat: ${round}\n    do: []\n", 4,
     "main[0].repeat", "did you mean 'rounds'"),
    ("name: x\nparams: {a: [1]}\nops: ${b}\nmain: []\n", 3, "ops", "unknown param 'b'"),
    ("name: x\nparams: {a: [1]}\nmain:\n  - work: {uniform: [0, '${hi}']}\n", 4,
     "main[0].work.uniform[1]", "unknown param 'hi'"),
    ("name: x\nparams: {a: [1]}\nchannels: {c: '${cap}'}\nmain: []\n", 3, "channels.c",
     "unknown param 'cap'"),
    ("name: x\nparams: {a: [1]}\nmain:\n  - work: ${a\n", 4, "main[0].work", "unterminated"),
    ("name: x\nparams: {a: [1]}\nmain:\n  - work: ${a ** 2}\n", 4, "main[0].work",
     "malformed param reference"),
    ("name: x\nparams: {a: [1]}\nmain:\n  - work: ${__import__}\n", 4, "main[0].work",
     "unknown param '__import__'"),
    ("name: x\nparams: {a: [1]}\nmain:\n  - work: '${a.real}'\n", 4, "main[0].work",
     "malformed param reference"),
    ("name: x\nparams: {n: [1]}\nseed: ${n}\nmain: []\n", 3, "seed", "params can't be used here"),
    ("name: x\nparams: {n: [1]}\nprocs: ['${n}']\nmain: []\n", 3, "procs[0]",
     "params can't be used here"),
    # YAML oddities
    ("name: x\nmain:\n  - work: !!binary aGVsbG8=\n", 3, "main[0].work", "unsupported value"),
    ("name: x\nmain:\n  - work: !!python/name:os.system ''\n", 3, "main[0].work", "bad value"),
    ("name: x\nmain:\n  - ? [a]\n    : 1\n", 3, "main[0]", "keys must be names"),
    ("name: x\nmain: &m\n  - repeat: 1\n    do: *m\n", 2, "main[0].do", "contain itself"),
]


@pytest.mark.parametrize("text, line, field, message", ERRORS,
                         ids=[f"{i}-{e[2] or 'top'}" for i, e in enumerate(ERRORS)])
def test_error_line_and_field(tmp_path, text, line, field, message):
    err = load_error(tmp_path, text)
    assert (err.line, err.field) == (line, field), str(err)
    assert message in err.message, str(err)


def test_first_error_wins_even_in_nested_functions(tmp_path):
    err = load_error(tmp_path, """
        name: x
        channels: {c: 0}
        main:
          - go: f
        functions:
          f:
            - repeat: 10
              do:
                - send: c
                - loop: 1s
                  do:
                    - recv: d
    """)
    assert (err.line, err.field) == (12, "functions.f[0].do[1].do[0].recv")


def test_yaml_alias_bomb_is_refused(tmp_path):
    # each function is 8 copies of the one before it: 8**8 statements if expanded
    lines = ["name: x", "functions:", "  f0: &s0 [" + ", ".join(["yield"] * 8) + "]"]
    for i in range(1, 8):
        lines.append(f"  f{i}: &s{i} [" + ", ".join([f"{{repeat: 1, do: *s{i - 1}}}"] * 8) + "]")
    lines.append("main: *s7")
    path = tmp_path / "w.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkloadError, match="more than 100000 statements"):
        load_workload(path)


def test_deep_nesting_is_an_error_not_a_crash(tmp_path):
    text = "name: x\nmain: " + "[{repeat: 1, do: " * 300 + "[]" + "}]" * 300 + "\n"
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(WorkloadError):
        load_workload(path)


# --- accepted forms and defaults ---------------------------------------------------------------

def test_defaults(tmp_path):
    wl = load(tmp_path, "name: x\nmain: []\n")
    assert wl.name == "x"
    assert wl.description == ""
    assert wl.procs is None
    assert wl.ops is None and wl.ops_value({}) is None
    assert wl.timeout == 120.0
    assert wl.seed == 1
    assert wl.params == {}
    assert wl.policies == {}
    assert wl.max_threads == 10000
    assert wl.source == str(tmp_path / "w.yaml")
    assert wl.main.body == [] and wl.functions == {}


def test_top_level_fields(tmp_path):
    wl = load(tmp_path, """
        name: all-fields-2
        description: |
          Several lines
          of text.
        procs: 4
        ops: 1000
        timeout: 1.5m
        seed: 7
        max_threads: 64
        policies: {runq_size: 64, fairness_tick: 0, preset: no-steal, spin: false}
        channels: {a: 0, b: 16}
        mutexes: [m1, m2]
        groups: [g]
        main: []
        functions:
          f: []
          g-2: []
    """)
    assert wl.description == "Several lines\nof text."
    assert wl.procs == [4]
    assert wl.ops == 1000 and wl.ops_value({}) == 1000
    assert wl.timeout == 90.0
    assert wl.seed == 7 and wl.max_threads == 64
    assert wl.policies == {"runq_size": 64, "fairness_tick": 0, "preset": "no-steal",
                           "spin": False}
    assert list(wl.channels) == ["a", "b"]
    assert wl.mutexes == ["m1", "m2"] and wl.groups == ["g"]
    assert list(wl.functions) == ["f", "g-2"]


def test_null_sections_are_empty(tmp_path):
    wl = load(tmp_path, "name: x\nchannels:\nfunctions:\nparams:\nprocs:\npolicies:\nmain: []\n")
    assert (wl.channels, wl.functions, wl.params, wl.procs, wl.policies) == ({}, {}, {}, None, {})


def test_every_statement_form(tmp_path):
    wl = load(tmp_path, """
        name: x
        channels: {c: 1}
        mutexes: [m]
        groups: [g]
        main:
          - work: 1us
          - go: f
          - go: {fn: f, n: 3, group: g}
          - wait: children
          - wait: g
          - send: c
          - recv: c
          - yield
          - yield:
          - syscall: 1ms
          - syscall: {dur: 1ms, block: true}
          - syscall: {exp: 1ms}
          - netwait: 2ms
          - sleep: 0
          - repeat: 0
            do: []
          - loop: 1s
            do: [yield]
          - call: f
          - lock: m
          - unlock: m
        functions:
          f: []
    """)
    kinds = [s.kind for s in wl.main.body]
    assert kinds == ["work", "go", "go", "wait", "wait", "send", "recv", "yield", "yield",
                     "syscall", "syscall", "syscall", "netwait", "sleep", "repeat", "loop",
                     "call", "lock", "unlock"]
    assert [s.line for s in wl.main.body][:3] == [6, 7, 8]


def test_unreachable_functions_are_still_checked(tmp_path):
    err = load_error(tmp_path, "name: x\nmain: []\nfunctions:\n  orphan:\n    - send: nowhere\n")
    assert (err.line, err.field) == (5, "functions.orphan[0].send")


# --- go/call cycles ----------------------------------------------------------------------------

def test_direct_cycle(tmp_path):
    err = load_error(tmp_path, """
        name: x
        main:
          - go: a
        functions:
          a:
            - work: 1us
            - call: b
          b:
            - go: a
    """)
    assert err.field == "functions.a"
    assert err.message == "go/call cycle: a -> b -> a"
    assert err.line == 7


def test_self_recursion(tmp_path):
    err = load_error(tmp_path, """
        name: x
        main: []
        functions:
          a:
            - repeat: 3
              do:
                - yield
                - call: a
    """)
    assert (err.line, err.field, err.message) == (8, "functions.a", "go/call cycle: a -> a")


def test_indirect_cycle_through_go_and_call(tmp_path):
    err = load_error(tmp_path, """
        name: x
        main:
          - call: entry
        functions:
          entry:
            - go: b
          b:
            - call: c
          c:
            - repeat: 2
              do: [{go: d}]
          d:
            - go: {fn: b, n: 2}
    """)
    assert err.message == "go/call cycle: b -> c -> d -> b"
    assert (err.line, err.field) == (8, "functions.b")


def test_cycle_is_reported_at_the_first_edge_to_the_next_function(tmp_path):
    err = load_error(tmp_path, """
        name: x
        main: []
        functions:
          a:
            - yield
            - go: b
            - call: b
          b:
            - call: a
    """)
    assert (err.line, err.message) == (6, "go/call cycle: a -> b -> a")


def test_cycle_unreachable_from_main(tmp_path):
    err = load_error(tmp_path, "name: x\nmain: []\nfunctions:\n  p: [{call: q}]\n"
                               "  q: [{call: p}]\n")
    assert (err.line, err.message) == (4, "go/call cycle: p -> q -> p")


def test_diamond_is_not_a_cycle(tmp_path):
    wl = load(tmp_path, """
        name: x
        main: [{go: a}, {call: a}]
        functions:
          a: [{call: b}, {call: c}, {go: b}]
          b: [{call: d}]
          c: [{go: d}, {call: d}]
          d: [yield]
    """)
    order = wl.func_order
    assert sorted(order) == ["a", "b", "c", "d"]
    assert order.index("d") < order.index("b") < order.index("a")
    assert order.index("d") < order.index("c") < order.index("a")


def test_long_call_chain_does_not_hit_python_recursion(tmp_path):
    n = 3000
    funcs = "\n".join(f"  f{i}: [{{call: f{i + 1}}}]" for i in range(n))
    wl = load(tmp_path, f"name: x\nmain: [{{call: f0}}]\nfunctions:\n{funcs}\n  f{n}: [yield]\n")
    assert len(wl.func_order) == n + 1


# --- params and cases --------------------------------------------------------------------------

SWEEP = """
    name: x
    params:
      a: [1, 2]
      b: [x, y, z]
      c: 5us
    main: []
"""


def test_cartesian_product_in_file_order(tmp_path):
    wl = load(tmp_path, SWEEP)
    assert wl.params == {"a": [1, 2], "b": ["x", "y", "z"], "c": ["5us"]}
    cases = expand_cases(wl)
    assert cases == [{"a": a, "b": b, "c": "5us"} for a in (1, 2) for b in "xyz"]
    assert list(cases[0]) == ["a", "b", "c"]


def test_no_params_gives_one_empty_case(tmp_path):
    assert expand_cases(load(tmp_path, "name: x\nmain: []\n")) == [{}]


def test_overrides_replace_a_params_values(tmp_path):
    wl = load(tmp_path, SWEEP)
    assert expand_cases(wl, {"b": ["w"]}) == [{"a": 1, "b": "w", "c": "5us"},
                                              {"a": 2, "b": "w", "c": "5us"}]
    assert expand_cases(wl, {"a": 7, "b": ("p",)}) == [{"a": 7, "b": "p", "c": "5us"}]
    assert wl.params["b"] == ["x", "y", "z"]      # the workload itself is unchanged


def test_string_overrides_that_read_as_numbers_become_numbers(tmp_path):
    wl = load(tmp_path, SWEEP)
    cases = expand_cases(wl, {"a": ["1000", "0.5", "5us", "true", " 7 "], "b": [3]})
    assert [case["a"] for case in cases] == [1000, 0.5, "5us", "true", 7]
    assert cases[0]["b"] == 3


@pytest.mark.parametrize("overrides, field, message", [
    ({"d": [1]}, "params.d", "unknown param 'd'"),
    ({"aa": [1]}, "params.aa", "did you mean 'a'"),
    ({"a": []}, "params.a", "at least one value"),
    ({"a": [None]}, "params.a", "numbers or strings"),
])
def test_bad_overrides(tmp_path, overrides, field, message):
    wl = load(tmp_path, SWEEP)
    with pytest.raises(WorkloadError) as info:
        expand_cases(wl, overrides)
    assert (info.value.file, info.value.line, info.value.field) == (wl.source, None, field)
    assert message in info.value.message


def test_override_of_a_workload_without_params(tmp_path):
    wl = load(tmp_path, "name: x\nmain: []\n")
    with pytest.raises(WorkloadError, match="declares no params"):
        expand_cases(wl, {"rounds": ["1"]})


@pytest.mark.parametrize("ops, params, value", [
    ("${n}", {"n": 10}, 10),
    ("${n}", {"n": "10"}, 10),            # as given on the command line
    ("${n * m}", {"n": 10, "m": 3}, 30),
    ("${n * m}", {"n": "10", "m": "3"}, 30),
    ("${(n + 2) // m}", {"n": 10, "m": 3}, 4),
    ("${n / m}", {"n": 10, "m": 5}, 2),
])
def test_ops_value(tmp_path, ops, params, value):
    wl = load(tmp_path, f"name: x\nparams: {{n: [1], m: [1]}}\nops: {ops}\nmain: []\n")
    assert wl.ops == ops
    assert wl.ops_value(params) == value


@pytest.mark.parametrize("params, message", [
    ({"n": 0, "m": 1}, "${n / m} = 0.0: must be at least 1"),
    ({"n": 10, "m": 3}, "${n / m} = 3.3333333333333335: expected an integer count"),
    ({"n": 1, "m": 0}, "${n / m}: division by zero"),
    ({"n": "many", "m": 1}, "not a number"),
])
def test_bad_ops_value(tmp_path, params, message):
    wl = load(tmp_path, "name: x\nparams: {n: [1], m: [1]}\nops: ${n / m}\nmain: []\n")
    with pytest.raises(WorkloadError) as info:
        wl.ops_value(params)
    assert (info.value.line, info.value.field) == (3, "ops")
    assert message in info.value.message


def test_params_may_stand_for_any_scalar(tmp_path):
    wl = load(tmp_path, """
        name: x
        params: {n: [2], d: [5us], lo: [1], cap: [4], blk: ['true'], s: [0.5]}
        ops: ${n}
        channels: {c: '${cap}'}
        main:
          - repeat: ${n}
            do:
              - work: ${d}
              - sleep: ${lo}ms
              - netwait: {lognormal: [1us, '${s}']}
              - syscall: {dur: 1us, block: '${blk}'}
              - send: c
    """)
    program = compile_case(wl, expand_cases(wl)[0])
    assert program.chan_caps.tolist() == [4]
    assert program.pc_text[1:5] == ["work: 5us", "sleep: 1ms", "netwait: lognormal(1us, 0.5)",
                                    "syscall: {dur: 1us, block: true}"]


# --- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, ns", [
    (0, 0.0), (0.0, 0.0), ("0", 0.0), ("0s", 0.0), ("-0us", 0.0),
    ("250ns", 250.0), ("5us", 5e3), ("5\u00b5s", 5e3), ("5\u03bcs", 5e3), ("1.5ms", 1.5e6),
    ("2s", 2e9), (".5s", 5e8), ("3.s", 3e9), ("1m", 60e9), ("1h", 3600e9), (" 7 us ", 7e3),
])
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text, message", [
    (5, "needs a unit"), (1.5, "needs a unit"), ("5", "needs a unit"), ("-5us", "negative"),
    ("5 sec", "unknown unit"), ("5uS", "unknown unit"), ("us", "malformed"), ("", "malformed"),
    ("1e3us", "malformed"), ("5us5", "malformed"), (True, "expected a duration"),
    (None, "expected a duration"), ([1], "expected a duration"), ("99999999999h", "too large"),
])
def test_parse_duration_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize("ns, text", [
    (0, "0"), (250, "250ns"), (1500, "1.5us"), (5e3, "5us"), (1.5e6, "1.5ms"), (2e9, "2s"),
    (90e9, "90s"), (0.5, "0.5ns"),
])
def test_format_ns(ns, text):
    assert format_ns(ns) == text


@given(st.floats(min_value=0, max_value=1e15, allow_nan=False))
def test_format_then_parse_round_trips(ns):
    assert math.isclose(parse_duration(format_ns(ns)), ns, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("row, text", [
    ((D_CONST, 5e3, 0), "5us"), ((D_EXP, 5e3, 0), "exp(5us)"),
    ((D_UNIFORM, 0, 1e4), "uniform(0, 10us)"), ((D_NORMAL, 1e4, 2e3), "normal(10us, 2us)"),
    ((D_LOGNORMAL, 5e3, 1.0), "lognormal(5us, 1)"), ((D_LOGNORMAL, 5e3, 0.0), "lognormal(5us, 0)"),
    ((D_NORMAL, 1e4, 0.0), "normal(10us, 0)"), ((D_CONST, 1e-20, 0), "0ns"),
])
def test_format_dist(row, text):
    assert format_dist(row) == text


def test_dist_checks():
    assert check_dist(D_UNIFORM, 1.0, 1.0) == (float(D_UNIFORM), 1.0, 1.0)
    with pytest.raises(ValueError, match="greater than"):
        check_dist(D_UNIFORM, 2.0, 1.0)
    assert parse_sigma("0.25") == 0.25 and parse_sigma(0) == 0.0
    for bad in (-1, "x", True, float("inf"), None):
        with pytest.raises(ValueError):
            parse_sigma(bad)


# --- the shipped workloads ---------------------------------------------------------------------

def test_ping_pong_file_is_the_spec_example():
    wl = load_workload(REPO / "workloads" / "ping-pong.yaml")
    assert wl.name == "ping-pong"
    assert wl.procs == [1, 2]
    assert wl.params == {"rounds": [100000]}
    assert wl.ops == "${rounds}" and wl.ops_value({"rounds": 100000}) == 100000
    assert {name: cap.raw for name, cap in wl.channels.items()} == {"ping": 0, "pong": 0}
    assert [s.target.value for s in wl.main.body] == ["pinger", "ponger", "children"]
    assert list(wl.functions) == ["pinger", "ponger"]
    assert wl.description


def test_fan_out_file():
    wl = load_workload(REPO / "workloads" / "fan-out.yaml")
    assert wl.name == "fan-out"
    assert wl.procs == [1, 2, 4]
    (case,) = expand_cases(wl)
    assert wl.ops_value(case) >= 100_000
    assert wl.ops_value({"batches": 10, "width": 7}) == 70
    assert len(wl.description) > 80


# --- robustness: any text gives a Workload or a WorkloadError ---------------------------------

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(
    ["yield", "5us", "-1ms", "${n}", "${m}", "children", "f", "c", "g", "m", "main", "0",
     "{exp: 1us}", "do"]))
_keys = st.sampled_from(["name", "main", "functions", "channels", "groups", "mutexes", "params",
                         "n", "send", "recv", "go", "call", "repeat", "loop", "do", "work",
                         "wait", "syscall", "fn", "exp", "uniform", "f", "c", "yield", "dur"])
_yamlish = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)), max_leaves=25)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=_yamlish)
def test_random_documents_never_crash(tmp_path, body):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "params": {"n": [1]}, "main": body,
                                    "functions": {"f": body}, "channels": {"c": 0}}))
    try:
        wl = load_workload(path)
        for case in expand_cases(wl):
            compile_case(wl, case)
    except WorkloadError as err:
        assert err.file == str(path) and err.message


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("ab:- \n[]{}&*!'\"#\t,${}5us")), max_size=60))
def test_random_text_never_crashes(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_workload(path)
    except WorkloadError as err:
        assert err.file == str(path)
