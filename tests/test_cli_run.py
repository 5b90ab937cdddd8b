"""`gmpbench run` as a user meets it: what -p/-n/-w and the modes measure, Ctrl-C, a run that
fails (watchdog timeout, a worker killed by a signal, a workload file changed under the run),
--schedtrace.  Each runs the CLI in a subprocess with tiny params."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from gmpbench.bench.prestart import worker_env
from gmpbench.bench.runner import MODES
from gmpbench.report import read_results

from test_cli import PING_PONG, gmpbench
from util import FOREVER, busy_worker, default_sigint, wait_for

TINY = ["--param", "rounds=200", "--procs", "1", "-q"]
PP = "ping-pong/rounds=200/procs=1"


def popen_run(*args, cwd):
    """`gmpbench run` in a session of its own, so that a test can Ctrl-C it as a terminal
    does: SIGINT to the whole process group (the run and its workers)."""
    return subprocess.Popen([sys.executable, "-m", "gmpbench", "run", *map(str, args)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=default_sigint, env=worker_env())


def finish(p, timeout=180):
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    return out, err


def runs_per_process(data) -> dict:
    return {c["name"]: [len(p["runs"]) for p in c["processes"]]
            for c in data["gmpbench"]["cases"]}


# --- what is measured ----------------------------------------------------------------------

def test_processes_values_and_warmups_are_what_run_measures(tmp_path):
    out = gmpbench("run", PING_PONG, *TINY, "--policy", "baseline,no-runnext",
                   "-p", "2", "-n", "5", "-w", "2", "-o", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    # none of them the defaults (4 processes, calibrated values, 1 warm-up): 2 processes; -n 5
    # blocks rounded up to 6 (an ABBA pair is two blocks); 2 warm-ups each
    assert runs_per_process(data) == {f"{PP}/policy=baseline": [6, 6],
                                      f"{PP}/policy=no-runnext": [6, 6]}
    for bench in data["benchmarks"]:
        assert [len(run["warmups"]) for run in bench["runs"]] == [2, 2]
    workers = [[p["worker"] for p in c["processes"]] for c in data["gmpbench"]["cases"]]
    assert workers[0] == workers[1] and len(set(workers[0])) == 2   # both policies, 2 processes
    settings = data["gmpbench"]["info"]["settings"]
    assert (settings["processes"], settings["warmups"], settings["min_time"]) == (2, 2, 0.0)


def test_a_mode_sets_the_processes_and_calibrates(tmp_path):
    """--fast without -p: the mode's 2 processes; without -n: at least the mode's values, an
    even number of blocks, up to the mode's cap."""
    out = gmpbench("run", PING_PONG, *TINY, "--fast", "-w", "0", "--policy",
                   "baseline,no-runnext", "-o", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    counts, other = runs_per_process(data).values()
    assert counts == other                      # the policies alternate: as many of each
    fast = MODES["fast"]
    assert len(counts) == fast.processes
    assert all(fast.values <= n <= fast.max_values and n % 2 == 0 for n in counts), counts
    assert data["gmpbench"]["info"]["settings"]["mode"] == "fast"


# --- Ctrl-C --------------------------------------------------------------------------------

def forever(tmp_path, **top) -> str:
    path = tmp_path / "forever.yaml"
    path.write_text(FOREVER + "".join(f"{k}: {v}\n" for k, v in top.items()))
    return path


def test_ctrl_c_saves_the_finished_cases(tmp_path):
    """Ping-pong finishes, then Ctrl-C during the second workload's run: status 130, the first
    case saved, its report warns of an interrupted run."""
    p = popen_run(PING_PONG, forever(tmp_path), *TINY, "-p", "1", "-n", "1", "-w", "0",
                  "-o", "r.json", cwd=tmp_path)
    wait_for(busy_worker(p.pid), what="a worker in the middle of forever's run")
    os.killpg(p.pid, signal.SIGINT)
    _, err = finish(p)
    assert p.returncode == 130, err
    assert "gmpbench: interrupted" in err and "Traceback" not in err
    saved = read_results(tmp_path / "r.json")
    assert list(saved.cases) == [f"{PP}/policy=baseline"] and saved.info["interrupted"]
    report = gmpbench("report", tmp_path / "r.json")
    assert report.returncode == 0
    assert "the file holds an interrupted run" in report.stdout + report.stderr


def test_ctrl_c_before_anything_finished_saves_nothing(tmp_path):
    p = popen_run(forever(tmp_path), "--procs", "1", "-q", "-p", "1", "-n", "1", "-w", "0",
                  "-o", "r.json", cwd=tmp_path)
    wait_for(busy_worker(p.pid), what="a worker in the middle of forever's run")
    os.killpg(p.pid, signal.SIGINT)
    _, err = finish(p)
    assert p.returncode == 130, err
    assert "nothing finished, nothing saved" in err
    assert not (tmp_path / "r.json").exists() and not list(tmp_path.glob(".r.json*"))


# --- runs that fail ------------------------------------------------------------------------

def test_the_watchdog_timeout_fails_the_run(tmp_path):
    out = gmpbench("run", forever(tmp_path, timeout="300ms"), "--procs", "1", "-q",
                   "-p", "1", "-n", "1", "-w", "0", "-o", tmp_path / "r.json")
    assert out.returncode == 1
    assert "fatal error: run exceeded its timeout of 0.3s (watchdog)" in out.stderr
    assert "spin" in out.stderr                     # the dump names the goroutines
    assert not (tmp_path / "r.json").exists()


def test_a_worker_killed_by_a_signal_fails_the_run(tmp_path):
    p = popen_run(forever(tmp_path), "--procs", "1", "-q", "-p", "1", "-n", "1", "-w", "0",
                  "-o", "r.json", cwd=tmp_path)
    worker = wait_for(busy_worker(p.pid), what="a worker in the middle of forever's run")
    os.kill(worker, signal.SIGKILL)
    _, err = finish(p)
    assert p.returncode == 1, err
    assert "the worker running forever/procs=1/policy=baseline was killed by signal 9" in err
    assert not (tmp_path / "r.json").exists()


LONG = """\
name: long
main:
  - repeat: 300
    do: [{work: 10ms}]
"""


def test_a_workload_file_changed_during_the_run_is_refused(tmp_path):
    """The first job's worker runs the file as it was; once its run is under way the file
    changes, so the second job's worker, a fresh process that loads it afresh, finds another
    hash.  --schedtrace runs each policy in its own worker process, one after the other, and
    makes the run's progress visible: the test edits the file when it reads the first SCHED
    line, which the worker prints from inside the run -- after the CLI hashed the file and
    after that worker loaded it and checked the hash, whatever the worker burnt loading numba's
    cache before.  The second worker starts only once the first run has done its 3 s of CPU:
    the edit lands before it unless this process stalls for all of that."""
    path = tmp_path / "long.yaml"
    path.write_text(LONG)
    p = popen_run(path, "--procs", "1", "--policy", "baseline", "--policy", "no-runnext",
                  "--schedtrace", "10ms", "-o", "r.json", cwd=tmp_path)
    lines = []
    for line in p.stdout:                               # the CLI's and its workers' stdout
        if line.startswith("SCHED ") and not any(seen.startswith("SCHED ") for seen in lines):
            path.write_text(LONG.replace("300", "301"))
        lines.append(line.rstrip("\n"))
    _, err = finish(p)
    assert p.returncode == 2, err
    assert f"{path}: the file changed during the run" in err
    headers = [i for i, line in enumerate(lines) if line.startswith("# long/")]
    assert [lines[i] for i in headers] == ["# long/procs=1/policy=baseline",
                                           "# long/procs=1/policy=no-runnext"], lines[:5]
    first, second = lines[headers[0] + 1:headers[1]], lines[headers[1] + 1:]
    assert first and all(line.startswith("SCHED ") for line in first)   # ran, then edited
    assert second == []                                 # refused before its run
    assert not (tmp_path / "r.json").exists()


# --- --schedtrace --------------------------------------------------------------------------

SLEEPY = """\
name: sleepy
main:
  - go: {fn: nap, n: 3}
  - wait: children
functions:
  nap:
    - sleep: 100ms
"""


def test_schedtrace_end_to_end(tmp_path):
    """Go's SCHED lines every 10 ms of a run that sleeps 100 ms (the template thread checks
    the time at least every 20 ms when it gets a core: at least one line, even on a host that
    starves it for the whole run)."""
    import re
    path = tmp_path / "sleepy.yaml"
    path.write_text(SLEEPY)
    out = gmpbench("run", path, "--procs", "2", "--schedtrace", "10ms", "-o", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    pat = re.compile(r"^SCHED \d+ms: gomaxprocs=2 idleprocs=\d+ threads=\d+ "
                     r"spinningthreads=\d+ idlethreads=\d+ runqueue=\d+ \[\d+ \d+\]$")
    lines = [line for line in out.stdout.splitlines() if line.startswith("SCHED")]
    assert lines and all(pat.match(line) for line in lines), out.stdout
    ms = [int(line.split()[1][:-3]) for line in lines]
    assert ms == sorted(ms) and ms[0] >= 10
    # one process, one run per case (README: --schedtrace)
    assert runs_per_process(json.loads((tmp_path / "r.json").read_text())) == \
        {"sleepy/procs=2/policy=baseline": [1]}
