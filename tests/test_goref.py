"""The Go reference programs in tests/goref build and print well-formed benchmark lines.

Skipped when no ``go`` toolchain is on PATH. Sizes are tiny: this checks the programs, not the
figures (those are measured by hand; see tests/goref/README.md).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

GOREF_DIR = Path(__file__).parent / "goref"

pytestmark = pytest.mark.usefixtures("go_toolchain")   # skipped without Go, failed in CI

# config lines ("key: value") and result lines ("BenchmarkX/procs=P ops value unit ...")
CONFIG_RE = re.compile(r"^[a-z][a-z0-9-]*: \S.*$")
RESULT_RE = re.compile(r"^Benchmark(?P<name>[A-Za-z]+)/procs=(?P<procs>\d+) (?P<ops>\d+)"
                       r"(?P<pairs>( -?[0-9]+(\.[0-9]+)? \S+)+)$")

# subcommand -> (tiny flags, benchmark name, procs values it runs, units every line must have)
CASES = {
    "pingpong": (["-n", "200"], "PingPong", [1, 2], {"ns/op"}),
    "spawn": (["-n", "300", "-batch", "100"], "Spawn", [1, 2], {"ns/op", "threads"}),
    "fanout": (["-n", "200", "-maxwork", "2000"], "Fanout", [1, 2, 4],
               {"ns/op", "wall-ms", "work-ms", "cpu-ms", "eff", "threads"}),
    "syscall": (["-g", "4", "-iters", "5", "-sleep", "20000", "-work", "1000"], "Syscall", [1, 2],
                {"ns/op", "iters/s", "threads", "peak-threads", "block-p50-us", "block-p99-us",
                 "cpu-util"}),
    "netpoll": (["-conns", "4", "-reqs", "5", "-think", "20000", "-work", "1000"], "Netpoll", [1, 2],
                {"ns/op", "req/s", "due-p50-us", "due-p99-us", "lat-p50-us", "lat-p99-us",
                 "emu-late-p50-us", "emu-cpu-util", "threads", "peak-threads"}),
    "pingponghog": (["-n", "200"], "PingPongHog", [1], {"ns/op"}),
    "wakeup": (["-n", "5", "-interval", "20000"], "Wakeup", [2],
               {"ns/op", "lat-p50-ns", "lat-p99-ns", "cpu-util", "interval-us", "threads"}),
}


def _go_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["GOFLAGS"] = "-mod=mod"
    env["CGO_ENABLED"] = "0"
    env.setdefault("GO111MODULE", "on")
    if not env.get("HOME") and not env.get("XDG_CACHE_HOME") and not env.get("GOCACHE"):
        env["GOCACHE"] = str(tmp / "gocache")
    if not env.get("HOME") and not env.get("GOPATH"):
        env["GOPATH"] = str(tmp / "gopath")
    return env


@pytest.fixture(scope="module")
def goref_bin(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("goref")
    exe = tmp / "goref"
    proc = subprocess.run(["go", "build", "-o", str(exe), "."], cwd=GOREF_DIR, env=_go_env(tmp),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"go build failed:\n{proc.stdout}\n{proc.stderr}"
    return exe


def _run(exe: Path, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("sub", sorted(CASES))
def test_subcommand_output_is_well_formed(goref_bin, sub):
    flags, name, procs, units = CASES[sub]
    count = 2
    proc = _run(goref_bin, [sub, *flags, "-count", str(count)])
    assert proc.returncode == 0, proc.stderr

    results = []
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        m = RESULT_RE.match(line)
        if m is None:
            assert CONFIG_RE.match(line), f"unexpected line: {line!r}"
            continue
        assert m["name"] == name, line
        pairs = m["pairs"].split()
        got = dict(zip(pairs[1::2], map(float, pairs[0::2])))
        assert units | {"other-cpu"} <= got.keys(), f"missing {units - got.keys()} in {line!r}"
        assert got["ns/op"] > 0, line
        assert int(m["ops"]) > 0
        results.append((int(m["procs"]), got))

    # one line per repetition per GOMAXPROCS value, in order
    assert [p for p, _ in results] == [p for p in procs for _ in range(count)]
    for _, got in results:
        if "threads" in got:
            assert got["threads"] >= 1
        if "peak-threads" in got:
            assert got["peak-threads"] >= 1
    assert "work-steps-per-us:" in proc.stdout
    # the driver's summary goes to stderr
    assert "median" in proc.stderr


def test_procs_flag_and_unknown_subcommand(goref_bin):
    proc = _run(goref_bin, ["pingpong", "-n", "50", "-count", "1", "-procs", "3"])
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith("Benchmark")]
    assert len(lines) == 1 and lines[0].startswith("BenchmarkPingPong/procs=3 50 ")

    proc = _run(goref_bin, ["no-such-benchmark"])
    assert proc.returncode != 0
