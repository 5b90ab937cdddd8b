"""`gmpbench run --cluster`: whole cases on the nodes of a Dask cluster (docs/cluster.md).

End to end on `local:2` (two single-slot workers on this machine), with tiny cases: a sweep
gives the same counters as on one machine, a node killed mid-case has its case re-run and
reported, Ctrl-C saves the finished cases and exits 130.  Plus the exit-2 paths and the
reports' node column and machine-kind warning.
"""
from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gmpbench.report.document import comparison_warnings, policy_document
from gmpbench.report.results import read_results

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[1]
PING_PONG = str(ROOT / "workloads" / "ping-pong.yaml")
SYSCALLS = str(ROOT / "workloads" / "syscall-heavy.yaml")
# 2 workloads x 2 policies x 2 procs, tiny: 4 cases (groups of 2 policies)
SWEEP = [PING_PONG, SYSCALLS, "--param", "rounds=300", "--param", "gs=4", "--param", "iters=10",
         "--procs", "1,2", "--policy", "baseline,no-runnext", "-n", "2", "-w", "0"]
EXACT_COUNTERS = ("gs_created", "gs_exited", "syscalls")    # the same in every run of a case


def env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))


def gmpbench(*args, cwd, timeout=600):
    return subprocess.run([sys.executable, "-m", "gmpbench", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env(),
                          check=False)


def start(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "gmpbench", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=env())


def counters(results) -> dict:
    """case name -> the exact counters of each of its runs."""
    return {name: [{k: run.counters[k] for k in EXACT_COUNTERS} for run in case.runs]
            for name, case in results.cases.items()}


def processes_in(directory: Path) -> list:
    """The processes whose working directory is ``directory`` (a run's workers inherit it)."""
    out = []
    for proc in psutil.process_iter(["cwd"]):
        if proc.info["cwd"] == str(directory):
            out.append(proc)
    return out


def job_workers(pid: int) -> list:
    """The gmpbench worker processes (bench.prestart.JobWorker) below process ``pid``."""
    out = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "--jobs-from-stdin" in child.cmdline():
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """The same sweep on this machine and on local:2 (-p 1)."""
    tmp = tmp_path_factory.mktemp("sweeps")
    local = gmpbench("run", *SWEEP, "-p", "1", "-q", "-o", tmp / "local.json", cwd=tmp)
    assert local.returncode == 0, local.stderr
    cluster = gmpbench("run", *SWEEP, "-p", "1", "--cluster", "local:2", "-o",
                       tmp / "cluster.json", cwd=tmp)
    assert cluster.returncode == 0, cluster.stderr
    return read_results(tmp / "local.json"), read_results(tmp / "cluster.json"), cluster


def test_a_sweep_on_local_2_gives_the_counters_of_one_machine(sweeps):
    local, cluster, out = sweeps
    assert list(cluster.cases) == list(local.cases) and len(cluster.cases) == 8
    for case in cluster.measured():
        assert len(case.processes) == 1 and len(case.runs) == 2      # every figure present
        assert all(run.wall_time > 0 and run.latency for run in case.runs)
        assert case.host["node"] in cluster.info["cluster"]["nodes"]
        assert case.host["cores"] == os.cpu_count() and case.host["work_steps_per_ns"] > 0
        assert case.source in (PING_PONG, SYSCALLS)     # the client's path, not the node's
    assert counters(cluster) == counters(local)
    for case in cluster.measured():                     # every G ran exactly once
        assert all(r.counters["gs_created"] == r.counters["gs_exited"] > 1 for r in case.runs)
    # the policies of a case ran on one node, in one worker process, alternating
    for cases in cluster.groups().values():
        assert len({c.host["node"] for c in cases}) == 1
        assert len({c.processes[0].worker for c in cases}) == 1
        assert all(c.processes[0].paired for c in cases)
    workers = [c.processes[0].worker for c in cluster.measured()]
    assert len(set(workers)) == 4 and max(workers) < len(cluster.info["order"]["jobs"])
    assert cluster.info["cluster"]["complete"] and not cluster.info["interrupted"]
    assert "node" in out.stdout.splitlines()[out.stdout.splitlines().index(
        "ping-pong/rounds=300/procs=1") + 1]
    assert "on 2 node(s)" in out.stdout


def test_reports_show_nodes_only_when_they_differ(sweeps):
    local, cluster, _ = sweeps
    def header(results):
        return policy_document(results).sections[0].tables[0].header
    assert header(cluster)[-1] == "node" and "node" not in header(local)


def test_compare_warns_across_kinds_of_machine(sweeps):
    local, cluster, _ = sweeps
    cluster = copy.deepcopy(cluster)
    assert not any("kinds of machine" in w for w in comparison_warnings(local, cluster))
    for case in cluster.cases.values():
        case.host = dict(case.host, cpu_model="Other CPU", cores=64)
    (warning,) = [w for w in comparison_warnings(local, cluster) if "kinds of machine" in w]
    assert warning.startswith("8 case(s) ran on different kinds of machine") and \
        "Other CPU, 64 cores" in warning


def test_a_node_lost_mid_case_has_its_case_run_again(tmp_path):
    out = tmp_path / "r.json"
    p = start("run", PING_PONG, "--param", "rounds=300,400", "--procs", "1", "-p", "2", "-n",
              "2", "-w", "0", "--cluster", "local:2", "-q", "-o", out, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not (workers := job_workers(p.pid)) and p.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    victim = workers[0]
    node = victim.parent()              # the Dask worker running the case: the whole node dies
    node.kill()
    victim.kill()
    stdout, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stderr
    assert "was lost while running ping-pong/rounds=" in stderr
    results = read_results(out)
    (lost,) = results.info["cluster"]["lost"]
    assert lost["case"] in {c.group for c in results.measured()}
    assert len(results.cases) == 2
    for case in results.measured():     # no half case: each has its 2 processes, no more
        assert len(case.processes) == 2 and len(case.runs) == 4


def test_ctrl_c_keeps_the_finished_cases_and_exits_130(tmp_path):
    out = tmp_path / "r.json"
    p = start("run", PING_PONG, "--param", "rounds=300,400,500,600", "--procs", "1", "-p", "2",
              "-n", "2", "-w", "0", "--cluster", "local:2", "-o", out, cwd=tmp_path)
    deadline = time.monotonic() + 300
    while not out.exists():             # written as soon as the first case finished
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    assert "interrupted" in stderr
    results = read_results(out)
    assert results.info["interrupted"] and not results.info["cluster"]["complete"]
    assert 1 <= len(results.cases) < 4
    assert all(len(case.processes) == 2 for case in results.measured())
    time.sleep(2)
    assert not processes_in(tmp_path)           # no worker left running the cancelled cases


def test_without_dask_cluster_exits_2_with_the_install_hint(monkeypatch, capsys):
    from gmpbench.cli import main
    monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed fails
    status = main(["run", PING_PONG, "--procs", "1", "--cluster", "local:2"])
    assert status == 2
    assert "pip install 'gmpbench[cluster]'" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--cluster", "local:0"], "expected local:N with N >= 1"),
    (["--cluster", "local:2", "--schedtrace", "10ms"], "run it without --cluster"),
    (["--cluster", "tcp://127.0.0.1:9"], "cannot reach a Dask scheduler there"),
])
def test_bad_cluster_arguments_exit_2(tmp_path, args, message):
    out = gmpbench("run", PING_PONG, "--procs", "1", *args, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert not (tmp_path / "results").exists()


def test_results_carry_host_metadata_through_the_file(sweeps, tmp_path):
    from gmpbench.report.results import write_results
    _, cluster, _ = sweeps
    write_results(tmp_path / "again.json", cluster)
    again = read_results(tmp_path / "again.json")
    assert [c.host for c in again.cases.values()] == [c.host for c in cluster.cases.values()]
    data = json.loads((tmp_path / "again.json").read_text())
    assert set(data["gmpbench"]["cases"][0]["host"]) == {
        "node", "hostname", "cpu_model", "cores", "kernel", "go_version", "work_steps_per_ns"}


def test_cases_run_without_the_nannys_environment(monkeypatch):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ and friends for its worker: a node takes out
    those it set before starting a case's processes (a user's own values stay)."""
    from gmpbench.bench.node import drop_nanny_environment
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert "MALLOC_TRIM_THRESHOLD_" in drop_nanny_environment()
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ and os.environ["OMP_NUM_THREADS"] == "4"


def test_progress_line_and_losses_from_the_nodes_events():
    """Nodes announce each start; the progress line counts done/running/queued and names the
    nodes, and a case that starts a second time lost its first node."""
    from gmpbench.bench.cases import load_groups
    from gmpbench.bench.cluster import ClusterRunner
    from gmpbench.bench.runner import settings_for
    groups = load_groups([PING_PONG], ["baseline"], "1,2", ["rounds=100,200"])
    runner = ClusterRunner(None, "local:2", groups, settings_for("fast"), "core")
    keys = [f"k{i}" for i in range(4)]
    runner.names = dict(zip(keys, (g.name for g in groups)))
    for key, node in (("k0", "a"), ("k1", "b"), ("k0", "b")):
        runner.events.put((0.0, {"event": "start", "key": key, "node": node}))
    runner._read_events()
    (lost,) = runner.results.info["cluster"]["lost"]
    assert lost == {"case": groups[0].name, "node": "a", "rerun_on": "b"}
    runner.finished.add("k1")
    assert runner.progress_text(3) == f"cases: 1/4 done, 1 running, 2 queued | b: {groups[0].name}"


def test_a_failing_case_fails_as_on_one_machine(tmp_path):
    wl = tmp_path / "stuck.yaml"
    wl.write_text("name: stuck\nchannels: {never: 0}\nmain:\n  - recv: never\n")
    out = gmpbench("run", wl, "--procs", "1", "-p", "1", "-n", "2", "-w", "0", "--cluster",
                   "local:1", "-o", tmp_path / "r.json", cwd=tmp_path)
    assert out.returncode == 1
    assert "all goroutines are asleep - deadlock!" in out.stderr
    assert f"recv: never  ({wl}:4)" in out.stderr
    assert not (tmp_path / "r.json").exists()


def test_a_restarted_worker_terminates_the_orphans_of_its_dead_predecessor(tmp_path):
    """reap_orphans (run when a worker starts) terminates processes marked with a dead
    worker's pid, and leaves those of a live worker alone."""
    from gmpbench.bench.node import ORPHAN_MARK, reap_orphans
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sleep = [sys.executable, "-c", "import time; time.sleep(120)"]
    orphan = subprocess.Popen(sleep, env=dict(os.environ, **{ORPHAN_MARK: str(dead.pid)}))
    alive = subprocess.Popen(sleep, env=dict(os.environ, **{ORPHAN_MARK: str(os.getpid())}))
    try:
        assert orphan.pid in reap_orphans()
        assert orphan.wait(10) == -signal.SIGTERM
        assert alive.poll() is None
    finally:
        for proc in (orphan, alive):
            proc.kill()
            proc.wait()
