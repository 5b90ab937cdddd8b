"""Every command in the README's code blocks runs, as written, with small sizes added (one process,
one value, short workloads), so that the front page cannot rot.

The commands run in a scratch folder holding a link to `workloads/`, through bash, with
`gmpbench` on PATH being this checkout's CLI.  The README's placeholders for results files
(`RESULTS.json`, `OLD.json`, ...) are copies of a file the earlier commands wrote; its pytest
example is the `benchmarks/` folder the pytest commands name.  Not run: `pip install` (it would
reinstall the environment: the commands use this checkout instead), `python -m pytest` alone
(the suite running this test), commands of tools not installed here (`benchstat`), and policy
`go` without a Go toolchain outside CI."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from util import ROOT

NOT_RUN = ("pip install", "benchstat")    # commands not run (see above); and `python -m pytest`
SMALL = {            # per workload: params that keep a case to milliseconds
    "ping-pong": "--param rounds=300",
    "fan-out": "--param batches=2",
}
RUN_SMALL = "-p 1 -n 1 -w 0"
PYTEST_SMALL = "--gmpbench-rounds=1 --gmpbench-warmup=0 -q -p no:cacheprovider"


def code_blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def commands() -> list[str]:
    """The README's shell commands, one per line, comments removed."""
    lines = [line for block in code_blocks("sh") for line in block.splitlines()]
    return [re.sub(r"\s+#.*$", "", line).strip() for line in lines if line.strip()]


def small(segment: str) -> str:
    """One command of a line (lines chain them with &&) with small sizes added."""
    words = segment.split()
    if words[:2] == ["gmpbench", "run"]:
        workload = next(w for w in words if w.endswith(".yaml")).rsplit("/", 1)[-1][:-5]
        return f"{segment} {SMALL.get(workload, '')} {RUN_SMALL}"
    if words[:3] == ["python", "-m", "pytest"]:
        return f"{segment} {PYTEST_SMALL}"
    return segment


def needs_go(segment: str) -> bool:
    return bool(re.search(r"--policy \S*\bgo\b|--go\b", segment))


def runnable(segment: str) -> bool:
    """Whether to run it here: not pip or the suite itself; a Go command only with a Go
    toolchain (always in CI, as the Go engine's tests: conftest.go_toolchain)."""
    if segment == "python -m pytest" or segment.startswith("pip install"):
        return False
    if needs_go(segment) and not shutil.which("go") and os.environ.get("CI") != "true":
        return False
    return segment.startswith(("gmpbench", "python")) or bool(shutil.which(segment.split()[0]))


@pytest.fixture
def scratch(tmp_path):
    """A folder with workloads/, a `gmpbench` and `python` on PATH, and the README's pytest
    example as benchmarks/."""
    (tmp_path / "workloads").symlink_to(ROOT / "workloads")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gmpbench").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gmpbench "$@"\n')
    (bin_dir / "gmpbench").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    (tmp_path / "benchmarks").mkdir()
    (example,) = code_blocks("python")
    (tmp_path / "benchmarks" / "test_example.py").write_text(example)
    return tmp_path


def _env(bin_dir) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _placeholders(cwd) -> None:
    """The results files the "Reading results" commands name: copies of the results of the
    README's run of baseline and no-runnext."""
    made = [p for p in sorted((cwd / "results").glob("ping-pong-*.json"))
            if "no-runnext" in p.read_text()]
    assert made, "the README's run of baseline,no-runnext wrote no results file"
    for name in ("results/ping-pong-20250101T120000Z.json", "RESULTS.json", "OLD.json",
                 "NEW.json"):
        shutil.copy(made[0], cwd / name)


def test_readme_commands_run(scratch):
    env = _env(scratch / "bin")
    ran, skipped = [], []
    for line in commands():
        if line.startswith("gmpbench report") and not (scratch / "RESULTS.json").exists():
            _placeholders(scratch)
        segments = [s.strip() for s in line.split("&&")]
        todo = [small(s) for s in segments if runnable(s)]
        skipped += [s for s in segments if not runnable(s)]
        if "benchstat" in line and todo:          # its input: a gobench file of OLD
            subprocess.run("gmpbench report OLD.json --format gobench > old.txt", shell=True,
                           cwd=scratch, env=env, check=True)
        for cmd in todo:
            out = subprocess.run(["bash", "-c", cmd], cwd=scratch, env=env, capture_output=True,
                                 text=True, timeout=300)
            assert out.returncode == 0, f"README command failed: {cmd}\n{out.stdout}\n{out.stderr}"
            ran.append(cmd)
    assert len(ran) >= 15, ran
    assert all(s.startswith(NOT_RUN) or s == "python -m pytest" or needs_go(s)
               for s in skipped), skipped
