"""The command line: cases and policies from arguments, exit statuses, and `run` end to end."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gmpbench.bench.cases import (
    UsageError,
    case_name,
    load_groups,
    parse_param_args,
    parse_procs_arg,
    split_policy_args,
)
from gmpbench.bench.runner import MODES, Runner, Settings
from gmpbench.runtime.layout import COUNTERS
from gmpbench.runtime.policy import PRESETS
from gmpbench.workload import WorkloadError
from util import DEADLOCK

from util import ROOT, run_cli

PING_PONG = str(ROOT / "workloads" / "ping-pong.yaml")


gmpbench = run_cli


# --- arguments -----------------------------------------------------------------------------

@pytest.mark.parametrize("given, want", [
    (None, ["baseline"]),
    (["no-runnext"], ["no-runnext"]),
    (["baseline,no-runnext"], ["baseline", "no-runnext"]),
    (["baseline", "no-steal"], ["baseline", "no-steal"]),
    (["baseline,fairness_tick=0,no-runnext"], ["baseline,fairness_tick=0", "no-runnext"]),
    (["fairness_tick=0"], ["baseline,fairness_tick=0"]),
    (["baseline", "baseline"], ["baseline"]),
    (["steal-one, runq_size = 64"], ["steal-one,runq_size=64"]),
])
def test_policy_arguments(given, want):
    assert split_policy_args(given) == want


def test_param_and_procs_arguments():
    assert parse_param_args(["rounds=10,20", "rounds=30", "d=5us"]) == \
        {"rounds": ["10", "20", "30"], "d": ["5us"]}
    assert parse_procs_arg("1,2,2,4") == [1, 2, 4]
    for bad in (lambda: parse_param_args(["rounds"]), lambda: parse_procs_arg("0"),
                lambda: parse_procs_arg("two"), lambda: parse_procs_arg("1,1000000")):
        with pytest.raises(UsageError):
            bad()


def test_case_names():
    assert case_name("ping-pong", {"rounds": 100000}, 2, "no-runnext") == \
        "ping-pong/rounds=100000/procs=2/policy=no-runnext"
    assert case_name("w", {}, 1, "baseline") == "w/procs=1/policy=baseline"
    assert case_name("w", {"d": "a b/c"}, 1, "baseline") == "w/d=a_b_c/procs=1/policy=baseline"


def test_groups_and_interleaving():
    groups = load_groups([PING_PONG], ["baseline,no-runnext"], "1,2", ["rounds=100,200"])
    assert [g.name for g in groups] == ["ping-pong/rounds=100/procs=1",
                                        "ping-pong/rounds=100/procs=2",
                                        "ping-pong/rounds=200/procs=1",
                                        "ping-pong/rounds=200/procs=2"]
    assert groups[0].ops == 100 and groups[0].params == {"rounds": 100}
    runner = Runner(groups[:1], Settings("t", processes=2, values=1, warmups=0), "core")
    steps = list(runner.steps())
    # every process runs both port policies (alternating run by run inside it)
    assert [(s.policy, s.process) for s, _, _, _ in steps] == [("2 policies", 1),
                                                               ("2 policies", 2)]
    assert [[p.name for p in ps] for _, _, ps, _ in steps] == [["baseline", "no-runnext"]] * 2


def test_go_processes_are_counterbalanced_with_the_port_processes():
    """Policy go runs in processes of its own: per round, before or after the port's process
    in a seeded random order, reversed the next round."""
    import numpy as np

    from gmpbench.bench.cases import Policy
    group = load_groups([PING_PONG], ["baseline,no-runnext"], "1")[0]
    group.policies = group.policies + [Policy("go", np.zeros(0, dtype=np.int64))]
    firsts = []
    for seed in range(20):
        runner = Runner([group], Settings("t", processes=4, values=1, warmups=0), "core",
                        seed=seed)
        jobs = [[p.name for p in ps] for _, _, ps, _ in runner.steps()]
        assert len(jobs) == 8 and jobs.count(["go"]) == 4
        rounds = [jobs[i:i + 2] for i in range(0, 8, 2)]
        assert all(a == b[::-1] for a, b in zip(rounds[0::2], rounds[1::2]))   # ABBA
        firsts.append(rounds[0][0] == ["go"])
        assert runner.results.info["order"]["seed"] == seed
    assert 0 < sum(firsts) < 20                 # go is not always first, nor always second


def test_bad_arguments_raise_before_running(tmp_path):
    with pytest.raises(WorkloadError, match="unknown param 'nope'"):
        load_groups([PING_PONG], None, None, ["nope=1"])
    bad_knobs = tmp_path / "k.yaml"
    bad_knobs.write_text("name: k\npolicies: {bogus: 1}\nmain: [yield]\n")
    with pytest.raises(WorkloadError, match="policies: unknown knob 'bogus'"):
        load_groups([bad_knobs])


# --- commands without the core -------------------------------------------------------------

def test_validate(tmp_path):
    out = gmpbench("validate", PING_PONG, ROOT / "workloads" / "fan-out.yaml")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("OK ") == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmain:\n  - sned: c\n")
    out = gmpbench("validate", PING_PONG, bad)
    assert out.returncode == 2
    assert f"{bad}:3: main[0].sned: unknown key 'sned'" in out.stderr


def test_policies_lists_presets_and_knobs():
    out = gmpbench("policies")
    assert out.returncode == 0
    for name in [*PRESETS, "fairness_tick", "runq_size"]:
        assert name in out.stdout


def test_disasm():
    out = gmpbench("disasm", PING_PONG, "--param", "rounds=7")
    assert out.returncode == 0, out.stderr
    assert "# ping-pong rounds=7" in out.stdout and "REPEAT" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["--policy", "nope"], "unknown policy 'nope'"),
    (["--policy", "baseline,bogus=1"], "unknown knob 'bogus'"),
    (["--param", "nope=1"], "params.nope: unknown param 'nope'"),
    (["--procs", "0"], "--procs"),
    (["--trace", "t.json"], "--procs, --policy or --param"),      # ping-pong has procs 1, 2
    (["--schedtrace", "soon"], "--schedtrace"),
])
def test_run_bad_input_exits_2(args, message):
    out = gmpbench("run", PING_PONG, *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr


def test_run_bad_yaml_names_file_line_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nchannels: {c: 0}\nmain:\n  - send: c\n  - sleep: -5us\n")
    out = gmpbench("run", bad)
    assert out.returncode == 2
    assert f"{bad}:5: main[1].sleep:" in out.stderr
    out = gmpbench("run", tmp_path / "missing.yaml")
    assert out.returncode == 2 and "missing.yaml: no such file" in out.stderr


# --- run, end to end -----------------------------------------------------------------------

def test_run_end_to_end(tmp_path):
    out = gmpbench("run", PING_PONG, "--param", "rounds=2000", "--procs", "1", "--fast",
                   "--policy", "baseline,no-runnext", "-p", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    saved = list((tmp_path / "results").glob("ping-pong-*.json"))
    assert len(saved) == 1 and f"results: results/{saved[0].name}" in out.stdout
    assert "ping-pong/rounds=2000/procs=1" in out.stdout and "vs baseline" in out.stdout
    assert "runnext_puts" in out.stdout
    data = json.loads(saved[0].read_text())
    names = [b["metadata"]["name"] for b in data["benchmarks"]]
    assert names == ["ping-pong/rounds=2000/procs=1/policy=baseline",
                     "ping-pong/rounds=2000/procs=1/policy=no-runnext"]
    cases = data["gmpbench"]["cases"]
    # calibrated: at least --fast's values, an even number of blocks, both policies alike
    counts = [len(c["processes"][0]["runs"]) for c in cases]
    assert counts[0] == counts[1] >= MODES["fast"].values and counts[0] % 2 == 0
    procs = [c["processes"][0] for c in cases]
    assert procs[0]["worker"] == procs[1]["worker"]          # one process ran both
    assert procs[0]["blocks"] == procs[1]["blocks"] == list(range(counts[0]))
    assert sorted(procs[0]["positions"] + procs[1]["positions"]) == [0, 1] * counts[0] or \
        all(a + b == 1 for a, b in zip(procs[0]["positions"], procs[1]["positions"]))
    assert "seed" in data["gmpbench"]["info"]["order"]
    assert "paired t test on the log ratios" in out.stdout
    assert re.search(r"^time: [\d.]+s = running [\d.]+s \(\d+%.*overhead", out.stdout, re.M)
    run = cases[0]["processes"][0]["runs"][0]
    assert set(run["counters"]) >= set(COUNTERS) and run["latency"]
    assert cases[1]["knobs"]["runnext"] == 0
    stats = subprocess.run([sys.executable, "-m", "pyperf", "stats", str(saved[0])],
                           capture_output=True, text=True, timeout=60, check=False)
    assert stats.returncode == 0, stats.stderr


def test_run_deadlock_exits_1(tmp_path):
    wl = tmp_path / "stuck.yaml"
    wl.write_text(DEADLOCK)
    out = gmpbench("run", wl, "--procs", "1", "--fast", "-o", tmp_path / "r.json")
    assert out.returncode == 1
    assert "all goroutines are asleep - deadlock!" in out.stderr
    assert f"recv: never  ({wl}:4)" in out.stderr
    assert not (tmp_path / "r.json").exists()


def test_prestarted_worker_takes_its_job_from_stdin(core, tmp_path):
    """The first worker of a run starts before its job is known (it loads the core meanwhile)
    and reads its jobs from stdin, one after another."""
    from gmpbench.bench.cases import load_groups
    from gmpbench.bench.prestart import WORKER, JobWorker
    from gmpbench.bench.runner import settings_for, worker_command
    from gmpbench.report.results import read_results
    group = load_groups([PING_PONG], ["baseline"], "1", ["rounds=100"])[0]
    worker = JobWorker()
    for i in range(2):                  # one worker process serves job after job
        out = tmp_path / f"w{i}.json"
        cmd = worker_command(group, group.policies, settings_for("fast", 1, 1, 0), str(out),
                             None)
        worker.send(cmd[len(WORKER):])
        assert worker.wait(120) == 0, worker.error_text()
        assert list(read_results(str(out)).cases) == [group.case_name(group.policies[0])]
    pid = worker.proc.pid
    worker.close()
    assert worker.proc.returncode == 0 and pid
