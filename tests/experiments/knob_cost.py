"""What do the policy knobs cost baseline?  Times a schedule round (Gosched through the global
queue) and a ping-pong round trip with the real core, whose knobs are loads from S, and with a
variant whose `knob()` returns baseline's values as compile-time constants (so LLVM folds every
knob test away).  The variant compiles into its own cache directory (about a minute).

    python tests/experiments/knob_cost.py     # alternates the builds; medians of medians
"""
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, statistics, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
if os.environ.get("KNOBS_AS_CONSTANTS"):
    # Before anything imports mem.knob: replace it with constants (baseline's values).
    from gmpbench.runtime import mem, policy
    from numba.core import types
    BASELINE = tuple(int(v) for v in policy.knobs("baseline"))

    @mem.core(mem.i64(mem.Sarr, mem.i64))
    def knob(S, k):
        return BASELINE[k]
    mem.knob = knob
from gmpbench.runtime import load_core
load_core()
from gmpbench.runtime.policy import knobs
from gmpbench.runtime.threads import run_program
from util import compile_file, compile_text_in
import tempfile
d = tempfile.mkdtemp()
cases = {
    "schedule round (Gosched)": (compile_text_in(d, "name: y\nparams: {n: [200000]}\nmain:\n"
                                 "  - repeat: ${n}\n    do: [yield]\n"), 200000),
    "ping-pong round trip": (compile_file("workloads/ping-pong.yaml")[1], 100000),
}
out = {}
for name, (prog, ops) in cases.items():
    walls = [run_program(prog, 1, knobs(), timeout=60).wall_time for _ in range(16)][1:]
    out[name] = statistics.median(walls) / ops * 1e9
print(json.dumps(out))
"""


def measure(constants: bool) -> dict:
    env = dict(os.environ)
    if constants:
        env["KNOBS_AS_CONSTANTS"] = "1"
        env["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "gmpbench-knob-constants")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CHILD)          # a file, so numba can cache the replacement knob()
    out = subprocess.run([sys.executable, f.name], env=env, capture_output=True, text=True,
                         check=True, cwd=os.getcwd())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(rounds=4):
    """Alternate the two builds, process by process, and compare medians of the medians."""
    import statistics
    real, const = [], []
    for _ in range(rounds):
        real.append(measure(False))
        const.append(measure(True))
    for name in real[0]:
        r = statistics.median(x[name] for x in real)
        c = statistics.median(x[name] for x in const)
        print(f"{name:28s} knobs in S {r:7.1f} ns   constants {c:7.1f} ns   ratio {r / c:.3f}"
              f"   (medians of {rounds} processes x 15 runs each)")


if __name__ == "__main__":
    main()
