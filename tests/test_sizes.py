"""Go's sizes (issue 16): G tables sized from the program, a million goroutines exactly once,
peak RSS in the results, and the open-file limit for a crowd of connections."""
from __future__ import annotations

import subprocess
import sys

import pytest

from gmpbench.report.results import RunFigures
from gmpbench.runtime.policy import parse_policy
from gmpbench.runtime.state import words_per_g
from gmpbench.runtime.threads import RunError, run_program
from gmpbench.workload.schema import WorkloadError
from gmpbench.workload.sizes import DEFAULT_MAX_GOROUTINES

from util import ROOT, compile_file, compile_text

BASE = parse_policy("baseline")[1]

NESTED = """
name: nested
params: {n: [3]}
main:
  - repeat: 4
    do:
      - go: {fn: parent, n: '${n}'}
      - call: helper
  - wait: children
functions:
  helper:
    - go: leaf
  parent:
    - repeat: 2
      do: [{go: leaf}, {call: helper}]
    - wait: children
  leaf: [{yield}]
"""

LOOPING = """
name: looping
{extra}
main:
  - loop: 20ms
    do:
      - go: leaf
      - repeat: 5
        do: [{{yield}}]
  - wait: children
functions:
  leaf:
    - sleep: 50ms
"""


def test_the_bound_multiplies_go_counts_by_repeats_and_calls(tmp_path):
    _, prog, _ = compile_text(tmp_path, NESTED, n=3)
    # main + 4 x (3 parents x (1 + 2 x (leaf + helper's leaf)) + helper's leaf)
    assert prog.gs_bound == prog.max_gs == 1 + 4 * (3 * (1 + 2 * 2) + 1)


def test_the_gc_sections_goroutine_has_a_row_of_its_own(tmp_path):
    text = NESTED.replace("params:", "gc: {every: 1ms, pause: 10us}\nparams:")
    _, prog, _ = compile_text(tmp_path, text, n=3)
    assert prog.gs_bound == prog.max_gs == 2 + 4 * (3 * (1 + 2 * 2) + 1)   # main, gc, the rest
    result = run_program(prog, 2, BASE, max_gs=prog.max_gs)
    assert result.counters["gs_created"] == prog.gs_bound - 1     # the gc G is not counted
    assert result.gs_max <= result.gs_limit == prog.max_gs


def test_a_go_in_a_loop_is_unbounded_and_max_goroutines_sizes_it(tmp_path):
    _, prog, _ = compile_text(tmp_path, LOOPING.format(extra=""))
    assert prog.gs_bound is None and prog.max_gs == DEFAULT_MAX_GOROUTINES
    _, prog, _ = compile_text(tmp_path, LOOPING.format(extra="max_goroutines: 5000"))
    assert prog.max_gs == 5000
    _, prog, _ = compile_text(tmp_path, NESTED.replace("params:", "max_goroutines: 7\nparams:"))
    assert prog.gs_bound == 65 and prog.max_gs == 7           # it caps a bounded program too


TREE = """
name: tree
params: {depth: [4]}
channels: {c: 0}
main:
  - go: {fn: node, depth: "${depth}"}
  - select:
      - recv: c
        do: [{go: leaf}]
      - default: [{go: {fn: leaf, n: 3}}]
  - wait: children
functions:
  node:
    - go: {fn: node, n: 2}
    - wait: children
  leaf: [{yield}]
"""


def test_serve_and_bounded_recursion_count_the_goroutines_they_create(core, tmp_path):
    _, served, _ = compile_file("workloads/serve.yaml", requests=300)
    assert served.gs_bound == 301                        # main + one G per request
    _, chain, _ = compile_file("workloads/go/create-goroutines.yaml", links=500)
    assert chain.gs_bound == 501                         # main + 500 links
    _, tree, _ = compile_text(tmp_path, TREE, depth=4)
    # main + a binary tree of depth 4 (1 + 2 + 4 + 8 + 16) + the select's larger case (3)
    assert tree.gs_bound == tree.max_gs == 1 + 31 + 3
    r = run_program(tree, 2, BASE, max_gs=tree.max_gs)
    assert r.counters["gs_created"] == tree.gs_bound and r.gs_live == 0
    assert r.gs_max <= r.gs_limit == tree.max_gs


def test_a_go_in_a_range_is_unbounded(tmp_path):
    text = TREE.replace("  - wait: children\nfunctions:",
                        "  - range: c\n    do: [{go: leaf}]\nfunctions:")
    _, prog, _ = compile_text(tmp_path, text, depth=2)
    assert prog.gs_bound is None and prog.max_gs == DEFAULT_MAX_GOROUTINES


def test_max_goroutines_must_be_a_positive_integer(tmp_path):
    with pytest.raises(WorkloadError) as err:
        compile_text(tmp_path, "name: x\nmax_goroutines: 0\nmain: []\n")
    assert str(err.value).endswith("w.yaml:2: max_goroutines: must be at least 1, got 0")


def test_a_full_g_table_names_the_limit_and_the_key(core, tmp_path):
    _, prog, _ = compile_text(tmp_path, LOOPING.format(extra="max_goroutines: 10"))
    with pytest.raises(RunError) as err:
        run_program(prog, 1, BASE, timeout=60.0)
    assert err.value.kind == "maxg"
    assert "more than 10 live goroutines" in err.value.message
    assert "max_goroutines:" in err.value.message


def test_a_million_parked_goroutines_each_run_exactly_once(core):
    wl, prog, case = compile_file("workloads/million.yaml", crowd=1_000_000, conns=0)
    assert prog.max_gs == 1_000_001                     # sized from the program, not 2**20
    r = run_program(prog, 2, BASE, timeout=300.0)
    c = r.counters
    assert c["gs_created"] == c["gs_exited"] == 1_000_001 and r.gs_live == 0
    gate = r.channels["gate"]
    assert gate["sent"] == gate["received"] == 1_000_000
    assert gate["sent_sum"] == gate["received_sum"]
    assert r.gs_max == r.gs_limit == 1_000_001           # all alive at once: every row used
    figures = RunFigures.from_run(r)
    assert figures.max_rss == r.max_rss > r.rss_base > 0
    # a G row, its frame stack, its sudog block (state.words_per_g: about 340 bytes) and the
    # page tables; Go's stack alone is 2 KiB
    words = 8 * words_per_g(prog)
    assert 0.6 * words < figures.bytes_per_g < 1.5 * words


def test_heaps_are_only_sized_for_programs_that_use_them(tmp_path):
    from gmpbench.runtime import layout as L
    from gmpbench.runtime.state import new_state
    _, prog, _ = compile_text(tmp_path, NESTED, n=300)      # neither sleeps nor netwaits
    S = new_state(prog, 1, BASE, 4, prog.max_gs, 1)
    assert S[L.H_NETHEAP] - S[L.H_TIMERS] == L.LINE       # one cache line, not a row per G
    # no select: one sudog row per G (a G waits in one channel operation at a time), and the
    # select header is G row words, not a row of the block
    assert S[L.H_SUDOGN] == 1
    assert S[L.H_MREQLAT] - S[L.H_SUDOGS] == L.SGSTRIDE * (prog.max_gs + 1)
    assert S[L.H_MEVENTS] - S[L.H_NETHEAP] == L.LINE
    _, conns, _ = compile_file("workloads/million.yaml", crowd=1000, conns=10)
    S = new_state(conns, 1, BASE, 4, conns.max_gs, 1)
    assert S[L.H_MEVENTS] - S[L.H_NETHEAP] >= L.HEAP_WORDS * conns.max_gs
    _, tmo, _ = compile_text(tmp_path, """
name: afters
channels: {c: 0}
main:
  - repeat: 100
    do: [{go: waiter}]
  - wait: children
functions:
  waiter:
    - select: [{recv: c}, {after: 1ms}, {after: 2ms}]
""")
    S = new_state(tmo, 1, BASE, 4, tmo.max_gs, 1)
    # two afters of one select at once per G; three sudogs per G (its header is in its G row)
    assert S[L.H_NETHEAP] - S[L.H_TIMERS] >= 2 * L.HEAP_WORDS * tmo.max_gs
    assert S[L.H_SUDOGN] == 3


LIMITED = """
import resource, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))
from util import compile_file
from gmpbench.runtime.policy import parse_policy
from gmpbench.runtime.threads import RunError, run_program
_, prog, _ = compile_file("workloads/million.yaml", crowd=0, conns={conns})
try:
    r = run_program(prog, 2, parse_policy("baseline")[1], timeout=60.0)
    print("netwaits", r.counters["netwaits"])
except RunError as err:
    print(err.kind, err.message)
"""


def _limited(soft: int, hard: int, conns: int) -> subprocess.CompletedProcess:
    code = LIMITED.format(root=str(ROOT), tests=str(ROOT / "tests"), soft=soft, hard=hard,
                          conns=conns)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, check=False)


def test_netwait_raises_the_open_file_limit_and_says_so(core):
    out = _limited(100, 400, 300)
    assert out.stdout.strip() == "netwaits 300", out.stderr
    assert "raised the open-file limit (RLIMIT_NOFILE) from 100 to its hard limit 400" \
        in out.stderr


def test_netwait_past_the_hard_limit_names_it(core):
    out = _limited(200, 200, 500)
    assert out.stdout.startswith("nofile fatal error: too many open files"), out.stderr
    assert "RLIMIT_NOFILE is 200 (hard limit 200)" in out.stdout


def test_a_bound_larger_than_memory_gets_the_table_memory_allows(core, tmp_path):
    """A bound counts every G created; one after another they need few rows."""
    from gmpbench.runtime.state import gs_that_fit
    _, prog, _ = compile_text(tmp_path, NESTED, n=3)
    prog.max_gs = 10 ** 12                  # as `repeat: 10**12` around a `go:` would give
    assert gs_that_fit(prog) < 10 ** 12
    r = run_program(prog, 1, BASE, timeout=60.0)
    assert r.counters["gs_created"] == 65 and r.gs_limit == gs_that_fit(prog)
