"""Compiling workloads to G programs: layout, operands, dists, max_depth, disassembly."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmpbench.workload import (
    Program,
    WorkloadError,
    compile_case,
    disasm,
    expand_cases,
    load_workload,
    ops,
)
from gmpbench.workload.ops import (
    CALL,
    ENDLOOP,
    GO,
    LOCK,
    LOOP,
    NETWAIT,
    NEXT,
    RECV,
    REPEAT,
    RET,
    SEND,
    SLEEP,
    SYSCALL,
    UNLOCK,
    WAIT_CHILDREN,
    WAIT_GROUP,
    WORK,
    YIELD,
)

REPO = Path(__file__).resolve().parents[1]

SPEC_EXAMPLE = """\
name: ping-pong                 # required, [a-z0-9][a-z0-9-]*
description: Two goroutines bounce a token over unbuffered channels.
procs: [1, 2]                   # GOMAXPROCS values to run (default: [1, number of CPUs])
ops: 100000                     # optional: operations per run, so reports show time per op
timeout: 60s                    # optional: a run exceeding it fails with a state dump (default 120s)
seed: 1                         # optional: seed for sampled durations (default 1)
params: {rounds: [100000]}      # optional: sweep; ${rounds} is substituted, one case per value
channels: {ping: 0, pong: 0}    # name: capacity (0 = unbuffered)
main:                           # the main goroutine; the run ends when it returns (as in Go),
  - go: pinger                  #   even if other goroutines are still running or blocked
  - go: ponger
  - wait: children              # wait for the goroutines this goroutine started
functions:
  pinger:
    - repeat: ${rounds}
      do: [{send: ping}, {recv: pong}]
  ponger:
    - repeat: ${rounds}
      do: [{recv: ping}, {send: pong}]
"""


def compile_text(tmp_path, text: str, params: dict | None = None) -> Program:
    path = tmp_path / "w.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    wl = load_workload(path)
    return compile_case(wl, expand_cases(wl)[0] if params is None else params)


def compile_error(tmp_path, text: str, params: dict | None = None) -> WorkloadError:
    with pytest.raises(WorkloadError) as info:
        compile_text(tmp_path, text, params)
    assert info.value.file == str(tmp_path / "w.yaml")
    return info.value


def rows(program: Program) -> list[list[int]]:
    return program.code.tolist()


# --- the spec example --------------------------------------------------------------------------

def test_spec_example_program(tmp_path):
    p = compile_text(tmp_path, SPEC_EXAMPLE)
    assert rows(p) == [
        [GO, 4, 1, 0], [GO, 9, 1, 0], [WAIT_CHILDREN, 0, 0, 0], [RET, 0, 0, 0],
        [REPEAT, 100000, 8, 0], [SEND, 0, 0, 0], [RECV, 1, 0, 0], [NEXT, 5, 0, 0], [RET, 0, 0, 0],
        [REPEAT, 100000, 13, 0], [RECV, 0, 0, 0], [SEND, 1, 0, 0], [NEXT, 10, 0, 0],
        [RET, 0, 0, 0],
    ]
    assert p.code.dtype == np.int64 and p.code.shape == (14, 4)
    assert p.dists.shape == (0, 3) and p.dists.dtype == np.float64
    assert p.func_names == ["main", "pinger", "ponger"]
    assert p.func_entry.tolist() == [0, 4, 9]
    assert p.pc_func.tolist() == [0] * 4 + [1] * 5 + [2] * 5
    assert p.pc_line.tolist() == [10, 11, 12, 9, 15, 16, 16, 15, 14, 18, 19, 19, 18, 17]
    assert p.pc_text == ["go: pinger", "go: ponger", "wait: children", "return",
                         "repeat: 100000", "send: ping", "recv: pong", "end repeat: 100000",
                         "return", "repeat: 100000", "recv: ping", "send: pong",
                         "end repeat: 100000", "return"]
    assert p.chan_names == ["ping", "pong"] and p.chan_caps.tolist() == [0, 0]
    assert p.group_names == [] and p.mutex_names == []
    assert p.max_depth == 1
    assert (p.name, p.seed, p.params) == ("ping-pong", 1, {"rounds": 100000})
    assert p.source == str(tmp_path / "w.yaml")


def test_spec_example_disassembly(tmp_path):
    assert disasm(compile_text(tmp_path, SPEC_EXAMPLE)) == [
        " 0  main    GO             pinger (->4) n=1  ; line 10",
        " 1  main    GO             ponger (->9) n=1  ; line 11",
        " 2  main    WAIT_CHILDREN                    ; line 12",
        " 3  main    RET                              ; line 9",
        " 4  pinger  REPEAT         100000 exit->8    ; line 15",
        " 5  pinger  SEND           ping              ; line 16",
        " 6  pinger  RECV           pong              ; line 16",
        " 7  pinger  NEXT           ->5               ; line 15",
        " 8  pinger  RET                              ; line 14",
        " 9  ponger  REPEAT         100000 exit->13   ; line 18",
        "10  ponger  RECV           ping              ; line 19",
        "11  ponger  SEND           pong              ; line 19",
        "12  ponger  NEXT           ->10              ; line 18",
        "13  ponger  RET                              ; line 17",
    ]


def test_rounds_param_is_substituted_per_case(tmp_path):
    text = SPEC_EXAMPLE.replace("[100000]", "[10, 20]")
    path = tmp_path / "w.yaml"
    path.write_text(text)
    wl = load_workload(path)
    programs = [compile_case(wl, case) for case in expand_cases(wl)]
    assert [p.code[4].tolist() for p in programs] == [[REPEAT, 10, 8, 0], [REPEAT, 20, 8, 0]]
    assert [p.params for p in programs] == [{"rounds": 10}, {"rounds": 20}]


# --- layout of each statement ------------------------------------------------------------------

def test_every_statement_compiles_to_its_instruction(tmp_path):
    p = compile_text(tmp_path, """
        name: x
        channels: {a: 0, b: 3}
        mutexes: [m0, m1]
        groups: [g0, g1]
        main:
          - work: 5us
          - go: {fn: f, n: 3, group: g1}
          - go: {fn: f, n: 0}
          - wait: g1
          - send: b
          - recv: a
          - yield
          - syscall: {dur: 1ms, block: true}
          - syscall: 1ms
          - netwait: {exp: 5us}
          - sleep: 0
          - call: f
          - lock: m1
          - unlock: m1
        functions:
          f: []
    """)
    assert rows(p) == [
        [WORK, 0, 0, 0], [GO, 15, 3, 2], [GO, 15, 0, 0], [WAIT_GROUP, 1, 0, 0], [SEND, 1, 0, 0],
        [RECV, 0, 0, 0], [YIELD, 0, 0, 0], [SYSCALL, 1, 1, 0], [SYSCALL, 1, 0, 0],
        [NETWAIT, 2, 0, 0], [SLEEP, 3, 0, 0], [CALL, 15, 0, 0], [LOCK, 1, 0, 0],
        [UNLOCK, 1, 0, 0], [RET, 0, 0, 0], [RET, 0, 0, 0],
    ]
    assert p.dists.tolist() == [[ops.D_CONST, 5e3, 0], [ops.D_CONST, 1e6, 0],
                                [ops.D_EXP, 5e3, 0], [ops.D_CONST, 0, 0]]
    assert p.chan_caps.tolist() == [0, 3]
    assert p.group_names == ["g0", "g1"] and p.mutex_names == ["m0", "m1"]
    assert p.pc_text[:3] == ["work: 5us", "go: {fn: f, n: 3, group: g1}", "go: {fn: f, n: 0}"]
    assert p.pc_text[7:9] == ["syscall: {dur: 1ms, block: true}", "syscall: 1ms"]


def test_repeat_and_loop_layout(tmp_path):
    p = compile_text(tmp_path, """
        name: x
        main:
          - repeat: 3
            do: []
          - loop: 2s
            do:
              - repeat: 2
                do: [yield, yield]
              - loop: 1s
                do: []
          - yield
    """)
    assert rows(p) == [
        [REPEAT, 3, 2, 0], [NEXT, 1, 0, 0],                 # empty body: NEXT jumps to itself
        [LOOP, 0, 10, 0],
        [REPEAT, 2, 7, 0], [YIELD, 0, 0, 0], [YIELD, 0, 0, 0], [NEXT, 4, 0, 0],
        [LOOP, 1, 9, 0], [ENDLOOP, 7, 0, 0],
        [ENDLOOP, 2, 0, 0],
        [YIELD, 0, 0, 0],
        [RET, 0, 0, 0],
    ]
    assert p.pc_line.tolist() == [3, 3, 5, 7, 8, 8, 7, 9, 9, 5, 11, 2]
    assert p.pc_text[2] == "loop: 2s" and p.pc_text[9] == "end loop: 2s"


def test_go_and_call_targets_laid_out_later_are_patched(tmp_path):
    p = compile_text(tmp_path, """
        name: x
        main: [{call: c}, {go: b}]
        functions:
          a: [yield]
          b: [{call: a}]
          c: [{go: b}, {call: a}]
    """)
    entry = dict(zip(p.func_names, p.func_entry.tolist()))
    assert p.func_names == ["main", "a", "b", "c"]
    assert rows(p)[0] == [CALL, entry["c"], 0, 0]
    assert rows(p)[1] == [GO, entry["b"], 1, 0]
    assert rows(p)[entry["c"]] == [GO, entry["b"], 1, 0]
    assert rows(p)[entry["c"] + 1] == [CALL, entry["a"], 0, 0]


def test_unreachable_functions_are_compiled_too(tmp_path):
    p = compile_text(tmp_path, "name: x\nmain: []\nfunctions:\n  orphan: [yield]\n")
    assert p.func_names == ["main", "orphan"]
    assert rows(p) == [[RET, 0, 0, 0], [YIELD, 0, 0, 0], [RET, 0, 0, 0]]
    assert p.pc_line.tolist() == [2, 4, 4]


def test_dists_are_deduplicated(tmp_path):
    p = compile_text(tmp_path, """
        name: x
        params: {d: [5us]}
        main:
          - work: 5us
          - sleep: 5000ns
          - work: ${d}
          - work: {exp: 5us}
          - work: {exp: 0.005ms}
          - work: {uniform: [0, 10us]}
          - work: {normal: [10us, 2us]}
          - work: {lognormal: [5us, 1.0]}
          - work: {lognormal: [5us, 1]}
          - work: {uniform: [1us, 1us]}
    """)
    assert p.dists.tolist() == [
        [ops.D_CONST, 5e3, 0], [ops.D_EXP, 5e3, 0], [ops.D_UNIFORM, 0, 1e4],
        [ops.D_NORMAL, 1e4, 2e3], [ops.D_LOGNORMAL, 5e3, 1.0], [ops.D_UNIFORM, 1e3, 1e3],
    ]
    assert p.code[:10, 1].tolist() == [0, 0, 0, 1, 1, 2, 3, 4, 4, 5]


# --- max_depth ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, functions, depth", [
    ("[]", "{}", 1),
    ("[yield]", "{}", 1),
    ("[{repeat: 1, do: []}]", "{}", 1),
    ("[{repeat: 1, do: [{repeat: 2, do: [yield]}]}]", "{}", 2),
    ("[{loop: 1s, do: [{loop: 1s, do: [yield]}]}]", "{}", 1),            # loops push no frame
    ("[{loop: 1s, do: [{repeat: 2, do: [{loop: 1s, do: []}]}]}]", "{}", 1),
    ("[{call: f}]", "{f: [yield]}", 1),
    ("[{repeat: 2, do: [{call: f}]}]", "{f: [{repeat: 2, do: [yield]}]}", 3),
    ("[{go: f}]", "{f: [{repeat: 1, do: [{repeat: 1, do: [{repeat: 1, do: []}]}]}]}", 3),
    ("[{repeat: 5, do: [{go: f}]}]", "{f: [{call: g}], g: [{call: h}], h: [yield]}", 2),
    ("[]", "{a: [{call: b}, {repeat: 1, do: [{call: b}]}], b: [{call: c}], c: [yield]}", 3),
])
def test_max_depth(tmp_path, body, functions, depth):
    p = compile_text(tmp_path, f"name: x\nmain: {body}\nfunctions: {functions}\n")
    assert p.max_depth == depth


# --- values checked per case -------------------------------------------------------------------

PARAMETRIC = """
    name: x
    params: {n: [2], d: [5us], lo: [1us], cap: [0]}
    channels: {c: '${cap}'}
    main:
      - repeat: ${n}
        do:
          - work: ${d}
          - work: {uniform: ['${lo}', 10us]}
          - go: {fn: f, n: '${n}'}
    functions:
      f: []
"""


@pytest.mark.parametrize("case, line, field, message", [
    ({"n": -1}, 5, "main[0].repeat", "${n} = -1: count must be >= 0"),
    ({"n": "lots"}, 5, "main[0].repeat", "${n} = 'lots': expected an integer count"),
    ({"n": 1.5}, 5, "main[0].repeat", "expected an integer count"),
    ({"d": "5"}, 7, "main[0].do[0].work", "${d} = '5': duration '5' needs a unit"),
    ({"d": 3}, 7, "main[0].do[0].work", "needs a unit"),
    ({"d": "-1ms"}, 7, "main[0].do[0].work", "negative duration"),
    ({"lo": "20us"}, 8, "main[0].do[1].work.uniform", "lo 20us is greater than hi 10us"),
    ({"cap": -3}, 3, "channels.c", "${cap} = -3: count must be >= 0"),
])
def test_bad_param_values_are_reported_where_they_are_used(tmp_path, case, line, field, message):
    params = {"n": 2, "d": "5us", "lo": "1us", "cap": 0, **case}
    err = compile_error(tmp_path, PARAMETRIC, params)
    assert (err.line, err.field) == (line, field), str(err)
    assert message in err.message, str(err)


def test_numeric_strings_from_the_command_line_work(tmp_path):
    p = compile_text(tmp_path, PARAMETRIC, {"n": "3", "d": "0", "lo": "0", "cap": "2"})
    assert p.code[0].tolist()[:2] == [REPEAT, 3]
    assert p.code[3].tolist()[:3] == [GO, 6, 3]
    assert p.chan_caps.tolist() == [2]


@pytest.mark.parametrize("params, field, message", [
    ({"n": 2, "d": "5us", "lo": "1us"}, "params.cap", "no value given"),
    ({"n": 2, "d": "5us", "lo": "1us", "cap": 0, "z": 1}, "params.z", "unknown param 'z'"),
    ({"n": True, "d": "5us", "lo": "1us", "cap": 0}, "params.n", "numbers or strings"),
])
def test_compile_case_checks_the_param_dict(tmp_path, params, field, message):
    err = compile_error(tmp_path, PARAMETRIC, params)
    assert (err.line, err.field) == (None, field)
    assert message in err.message


def test_bad_ops_value_fails_compilation(tmp_path):
    err = compile_error(tmp_path, "name: x\nparams: {n: [0]}\nops: ${n}\nmain: []\n")
    assert (err.line, err.field) == (3, "ops")


def test_compilation_is_deterministic_and_leaves_the_workload_alone(tmp_path):
    path = REPO / "workloads" / "fan-out.yaml"
    wl = load_workload(path)
    case = expand_cases(wl)[0]
    first, second = compile_case(wl, case), compile_case(wl, case)
    assert rows(first) == rows(second)
    assert first.dists.tolist() == second.dists.tolist()
    assert disasm(first) == disasm(second)
    assert wl.params == {"batches": [1000], "width": [100]}


# --- the shipped workloads ---------------------------------------------------------------------

def test_ping_pong_compiles():
    wl = load_workload(REPO / "workloads" / "ping-pong.yaml")
    (case,) = expand_cases(wl)
    p = compile_case(wl, case)
    assert [ops.NAMES[op] for op in p.code[:, 0]] == [
        "GO", "GO", "WAIT_CHILDREN", "RET", "REPEAT", "SEND", "RECV", "NEXT", "RET",
        "REPEAT", "RECV", "SEND", "NEXT", "RET"]
    assert p.code[4, 1] == 100000


def test_fan_out_starts_ops_goroutines():
    wl = load_workload(REPO / "workloads" / "fan-out.yaml")
    (case,) = expand_cases(wl)
    p = compile_case(wl, case)
    # main: repeat batches { go child x width; wait children }
    assert [ops.NAMES[op] for op in p.code[:, 0]] == [
        "REPEAT", "GO", "WAIT_CHILDREN", "NEXT", "RET", "WORK", "RET"]
    started = int(p.code[0, 1]) * int(p.code[1, 2])
    assert started == wl.ops_value(case) >= 100_000
    assert p.dists.tolist() == [[ops.D_UNIFORM, 0.0, 10e3]]
    assert "uniform(0, 10us)" in disasm(p)[5]


# --- disassembly -------------------------------------------------------------------------------

def test_disasm_resolves_names(tmp_path):
    p = compile_text(tmp_path, """
        name: x
        channels: {jobs: 4}
        mutexes: [mu]
        groups: [wg]
        main:
          - go: {fn: worker, n: 8, group: wg}
          - wait: wg
          - loop: 1.5ms
            do: [{syscall: {dur: {exp: 5us}, block: true}}]
        functions:
          worker:
            - lock: mu
            - netwait: {lognormal: [5us, 0.5]}
            - recv: jobs
            - unlock: mu
    """)
    text = disasm(p)
    assert len(text) == len(p.code)
    assert text[0].split() == ["0", "main", "GO", "worker", "(->6)", "n=8", "group=wg", ";",
                               "line", "6"]
    assert text[1].split()[2:4] == ["WAIT_GROUP", "wg"]
    assert text[2].split()[2:5] == ["LOOP", "1.5ms", "exit->5"]
    assert text[3].split()[2:5] == ["SYSCALL", "exp(5us)", "block"]
    assert text[4].split()[2:4] == ["ENDLOOP", "->2"]
    assert text[6].split()[1:4] == ["worker", "LOCK", "mu"]
    assert text[7].split()[2:5] == ["NETWAIT", "lognormal(5us,", "0.5)"]
    assert text[8].split()[2:4] == ["RECV", "jobs"]
    assert all(line.endswith(f"; line {n}") for line, n in zip(text, p.pc_line))


def test_disasm_survives_a_corrupt_program(tmp_path):
    p = compile_text(tmp_path, "name: x\nchannels: {c: 0}\nmain: [{send: c}, {work: 1us}]\n")
    p.code[0, 1] = 9
    p.code[1, 1] = 9
    text = disasm(p)
    assert "?9" in text[0] and "?dist9" in text[1]


# --- random programs: structural invariants ----------------------------------------------------

FUNCS = ["f0", "f1", "f2", "f3"]
DURATIONS = st.sampled_from(["0", "250ns", "5us", {"exp": "5us"}, {"uniform": ["0", "10us"]},
                             {"normal": ["1us", "1us"]}, {"lognormal": ["1us", 0.5]}])


def _leaf(callees):
    simple = [
        st.just("yield"), st.just({"yield": None}),
        st.sampled_from([{"send": "c0"}, {"recv": "c1"}, {"lock": "m0"}, {"unlock": "m0"},
                         {"wait": "children"}, {"wait": "g0"}]),
        st.builds(lambda kind, d: {kind: d} if kind else {"syscall": {"dur": d, "block": True}},
                  st.sampled_from(["work", "sleep", "netwait", "syscall", None]), DURATIONS),
    ]
    if callees:
        names = st.sampled_from(callees)
        simple += [names.map(lambda f: {"call": f}), names.map(lambda f: {"go": f}),
                   st.builds(lambda f, n: {"go": {"fn": f, "n": n, "group": "g0"}}, names,
                             st.integers(0, 3))]
    return st.one_of(simple)


def _bodies(callees):
    return st.recursive(
        st.lists(_leaf(callees), max_size=3),
        lambda inner: st.lists(st.one_of(
            _leaf(callees),
            st.builds(lambda n, body: {"repeat": n, "do": body}, st.integers(0, 4), inner),
            st.builds(lambda body: {"loop": "1ms", "do": body}, inner)), max_size=4),
        max_leaves=12)


# f_i may start or call only f_j with j > i, so the go/call graph is acyclic
_MAIN_BODIES = _bodies(FUNCS)
_FUNC_BODIES = [_bodies(FUNCS[i + 1:]) for i in range(len(FUNCS))]


@st.composite
def workloads(draw):
    functions = {name: draw(bodies) for name, bodies in zip(FUNCS, _FUNC_BODIES)}
    return {"name": "random", "channels": {"c0": 0, "c1": 2}, "mutexes": ["m0"],
            "groups": ["g0"], "main": draw(_MAIN_BODIES), "functions": functions}


def _oracle_depth(body, functions) -> int:
    def one(stmt):
        if not isinstance(stmt, dict):
            return 0
        if "repeat" in stmt:
            return 1 + _oracle_depth(stmt["do"], functions)
        if "loop" in stmt:
            return _oracle_depth(stmt["do"], functions)
        if "call" in stmt:
            return 1 + _oracle_depth(functions[stmt["call"]], functions)
        return 0
    return max((one(stmt) for stmt in body), default=0)


def _oracle_size(body) -> int:
    """Instructions a body compiles to: one per statement, plus NEXT/ENDLOOP for blocks."""
    return sum(1 + (1 + _oracle_size(s["do"]) if isinstance(s, dict) and "do" in s else 0)
               for s in body)


JUMPS = {REPEAT: 2, NEXT: 1, LOOP: 2, ENDLOOP: 1, GO: 1, CALL: 1}    # op -> operand holding a pc
DIST_OPS = (WORK, SYSCALL, NETWAIT, SLEEP, LOOP)


def check_structure(p: Program) -> None:
    code = rows(p)
    n = len(code)
    assert len(p.pc_line) == len(p.pc_text) == len(p.pc_func) == n
    assert p.func_entry[0] == 0 and p.func_names[0] == "main"
    bounds = list(p.func_entry.tolist()) + [n]
    for fid in range(len(p.func_names)):
        start, end = bounds[fid], bounds[fid + 1]
        assert start < end
        assert p.pc_func[start:end].tolist() == [fid] * (end - start)
        assert code[end - 1][0] == RET
        assert all(code[pc][0] != RET for pc in range(start, end - 1))
        _check_blocks(code, start, end)
    for op, a, b, c in code:
        if op in JUMPS:
            assert 0 <= (a, b)[JUMPS[op] - 1] < n
        if op in (GO, CALL):
            assert a in p.func_entry.tolist()
        if op in DIST_OPS:
            assert 0 <= a < len(p.dists)
        if op in (SEND, RECV):
            assert 0 <= a < len(p.chan_names)
        if op == GO:
            assert b >= 0 and 0 <= c <= len(p.group_names)


def _check_blocks(code, start: int, end: int) -> None:
    """REPEAT/NEXT and LOOP/ENDLOOP nest properly and point at each other."""
    open_blocks: list[int] = []
    for pc in range(start, end):
        op, a, _, _ = code[pc]
        if op in (REPEAT, LOOP):
            open_blocks.append(pc)
        elif op in (NEXT, ENDLOOP):
            top = open_blocks.pop()
            opener = code[top]
            assert opener[0] == (REPEAT if op == NEXT else LOOP)
            assert a == (top + 1 if op == NEXT else top)
            assert opener[2] == pc + 1
    assert open_blocks == []


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=workloads())
def test_random_programs_are_well_formed(tmp_path, doc):
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    wl = load_workload(path)
    p = compile_case(wl, {})
    check_structure(p)
    bodies = [doc["main"], *doc["functions"].values()]
    assert len(p.code) == sum(_oracle_size(body) + 1 for body in bodies)
    assert p.max_depth == max(1, *(_oracle_depth(body, doc["functions"]) for body in bodies))
    assert len(disasm(p)) == len(p.code)
