"""Helpers shared by the tests."""
import subprocess
import sys
from pathlib import Path

import numpy as np

from gmpbench.workload import compile_case, expand_cases, load_workload
from gmpbench.workload.program import Program

ROOT = Path(__file__).resolve().parents[1]      # the repository: tests resolve paths from it


def run_cli(*args, cwd=None, env=None, timeout=300):
    """``python -m gmpbench ARGS`` of this checkout (importable from any cwd), captured."""
    from gmpbench.bench.prestart import worker_env
    base = worker_env()
    if env is not None:
        env = {**env, "PYTHONPATH": base["PYTHONPATH"]}
    return subprocess.run([sys.executable, "-m", "gmpbench", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env or base, check=False)


def empty_program(max_depth: int = 1) -> Program:
    """A program with no instructions: for driving run-queue functions directly."""
    z = np.zeros(1, np.int64)
    return Program(name="empty", code=np.zeros((1, 4), np.int64), dists=np.zeros((0, 3)),
                   func_names=["main"], func_entry=z, pc_func=z, pc_line=z, pc_text=[""],
                   chan_names=[], chan_caps=np.zeros(0, np.int64), group_names=[],
                   mutex_names=[], max_depth=max_depth)


def compile_file(path, **params):
    """Load and compile one case of a workload file (relative paths: from the repository)."""
    wl = load_workload(ROOT / path)
    overrides = {k: [v] for k, v in params.items()}
    case = expand_cases(wl, overrides)[0]
    return wl, compile_case(wl, case), case


def compile_text(tmp_path, text, **params):
    f = tmp_path / "w.yaml"
    f.write_text(text)
    return compile_file(f, **params)


def hog_workload(hog: str, other: str) -> str:
    """A CPU hog beside one other G at procs=1: main waits only for the other G.  The hog is
    started last, so it runs first (runnext) and only preemption lets the other G in."""
    return f"""
name: hog
groups: [others]
main:
  - go: {{fn: other, group: others}}
  - go: hog
  - wait: others
functions:
  hog:
    - work: {hog}
  other:
    - {other}
"""


def compile_text_in(directory, text, **params):
    """compile_text for scripts without pytest's tmp_path: the compiled Program only."""
    from pathlib import Path
    return compile_text(Path(directory), text, **params)[1]
