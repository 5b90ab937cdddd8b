"""What a cluster node does for ``gmpbench run --cluster``: prepare itself once, then run whole
cases through the same runner as ``gmpbench run`` on one machine (docs/cluster.md).

A task (``run_case``) is one *group*: a workload x params x procs with all its policies -- what
docs/cluster.md calls a case.  It runs in a Dask worker process that holds the resource
``node=1``, so a node runs one at a time; the case's processes are the usual worker processes
(bench.prestart.JobWorker) started by a bench.runner.Runner of that one group, so its policies
alternate run by run (ABBA) exactly as on one machine, and every comparison is made on one
machine.  The task returns the case's results file as text, with the node's host metadata
(gmpbench.report.hosts), instead of raising: a failed case (deadlock, timeout) comes back with
its status and its message (and dump) like a failed worker on one machine.

Preparing the node (``prepare_node``): once per worker process, under a lock per machine (so
that the workers of ``local:N``, which share one machine and its caches, prepare it once), the
core is compiled into the node's numba cache if it is cold and the ``work`` calibration is
measured and cached; each case's Go program (policy ``go``) is built on the node too.  Nothing
compiled travels between machines.

Cancelling (``cancel_run``, which the client runs on every worker when the user presses Ctrl-C):
the running cases of that run stop at once -- their worker process and its children (a Go
program) are terminated; the case is discarded anyway -- and cases of that run not started yet
never start.  The workers of ``local:N`` share the user's terminal, whose Ctrl-C reaches them
too: they ignore SIGINT (NodeSetup), and so do their worker processes, which inherit it; the
client stops them.

A worker process that dies while its case runs (killed, out of memory) leaves that case's
worker process running to the end of its job: its nanny restarts the worker, and the restarted
worker first terminates such orphans (``reap_orphans``), so that the machine is quiet again
before it takes a case.  Each worker marks the processes it starts with its pid in the
environment (ORPHAN_MARK); an orphan is a process whose mark names a dead process.
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
from distributed.diagnostics.plugin import WorkerPlugin

from .runner import Runner, Settings, WorkerFailed

EXIT_CANCELLED = 130
ORPHAN_MARK = "GMPBENCH_NODE_WORKER"        # in a case's processes: the pid of their worker

_lock = threading.Lock()
_prepared: dict | None = None              # this worker process's preparation: host, seconds
_active: dict[str, set] = {}               # run id -> its NodeRunners running here
_cancelled: set[str] = set()               # run ids cancelled by their client


class Cancelled(Exception):
    """The client cancelled the run (Ctrl-C)."""


class NodeRunner(Runner):
    """The runner of one case on a node; once its run is cancelled it starts no more worker
    processes (cancel_run interrupts the running one)."""

    def __init__(self, run_id: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_id = run_id

    def _next_worker(self) -> None:
        if self.run_id in _cancelled:
            raise Cancelled
        super()._next_worker()


def cancel_run(run_id: str) -> int:
    """On every worker, when the client is interrupted: stop the cases of ``run_id``.
    Returns how many were running here."""
    with _lock:
        _cancelled.add(run_id)
        runners = list(_active.get(run_id, ()))
    for runner in runners:
        worker = runner.worker
        if worker is not None:
            terminate_tree(worker.proc.pid)
    return len(runners)


def terminate_tree(pid: int) -> None:
    """SIGTERM to a process and its descendants (a job's worker process, its Go program)."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass


def reap_orphans() -> list[int]:
    """Terminate the processes (and their children) left running by a worker of this machine
    that died: those whose ORPHAN_MARK names a process that no longer exists.  Their pids."""
    reaped = []
    for proc in psutil.process_iter():
        try:
            owner = proc.environ().get(ORPHAN_MARK)
        except (psutil.Error, OSError):     # gone, or another user's
            continue
        if owner and owner.isdigit() and not psutil.pid_exists(int(owner)):
            terminate_tree(proc.pid)
            reaped.append(proc.pid)
    return reaped


class NodeSetup(WorkerPlugin):
    """Run on every worker when it starts (and on the workers already there), restarted ones
    included: the orphans of a dead predecessor terminated, the worker's pid marked in the
    environment its case processes inherit, and on local:N SIGINT ignored (the terminal's
    Ctrl-C is the client's to handle).  Dask runs ``setup`` on the worker's event loop, in its
    main thread, where signal handlers are set."""

    name = "gmpbench-node-setup"

    def __init__(self, local: bool):
        self.local = local

    def setup(self, worker) -> None:
        reap_orphans()
        os.environ[ORPHAN_MARK] = str(os.getpid())
        if self.local:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _running(runner: NodeRunner):
    """``runner`` registered for cancel_run while it runs; Cancelled if its run is cancelled
    before it starts."""
    with _lock:
        if runner.run_id in _cancelled:
            raise Cancelled
        _active.setdefault(runner.run_id, set()).add(runner)
    try:
        yield
    finally:
        with _lock:
            _active[runner.run_id].discard(runner)


# --- preparing the node ----------------------------------------------------------------------

def _cache_base() -> Path:
    from ..engines.golang.build import cache_root
    return cache_root().parent                  # ~/.cache/gmpbench (or $XDG_CACHE_HOME's)


@contextmanager
def machine_lock():
    """One preparation at a time on this machine (the workers of local:N share it)."""
    path = _cache_base() / "node.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def host_metadata(label: str) -> dict:
    """This machine as results record it (gmpbench.report.hosts)."""
    from ..engines.golang.build import go_version
    from ..runtime.work import machine_key, steps_per_ns
    hostname, cpu_model = machine_key().split("|", 1)
    return {"node": label, "hostname": hostname, "cpu_model": cpu_model,
            "cores": os.cpu_count(), "kernel": platform.release(), "go_version": go_version(),
            "work_steps_per_ns": steps_per_ns()}


def drop_nanny_environment() -> list[str]:
    """Dask's nanny sets variables (MALLOC_TRIM_THRESHOLD_, OMP_NUM_THREADS, ...) in the
    environment of its worker, which the case's worker processes would inherit: take out those
    it set, so that a case runs in the environment the node's worker was started with, as on
    one machine.  Returns the names taken out."""
    import dask
    dropped = []
    for key, value in (dask.config.get("distributed.nanny.pre-spawn-environ", None) or
                       {}).items():
        if os.environ.get(key) == str(value):
            del os.environ[key]
            dropped.append(key)
    return dropped


def prepare_node(label: str) -> dict:
    """Once per worker process: the environment of the case's processes (no nanny settings),
    the core in the numba cache (compiled here when cold) and the ``work`` calibration
    (measured here when this machine has none).  {"host", "seconds"}."""
    global _prepared
    with _lock:
        if _prepared is None:
            from .measure import ensure_core
            drop_nanny_environment()
            with machine_lock():
                start = time.monotonic()
                ensure_core()
                _prepared = {"host": host_metadata(label),
                             "seconds": time.monotonic() - start}
    return _prepared


def node_label(worker) -> str:
    """The node's name in progress lines and reports: its hostname, with the Dask worker's name
    when that is neither its address nor the hostname (the workers of local:N share one
    hostname)."""
    host = platform.node()
    name = str(worker.name)
    return host if name in (worker.address, host) else f"{host}#{name}"


# --- the case --------------------------------------------------------------------------------

def workload_file(spec: dict) -> str:
    """The case's workload file on this node: the client's path when it holds the same bytes
    (a shared file system, local:N), else the text the client sent, saved in the node's cache."""
    from ..report.results import atomic_write
    from .cases import file_hash
    source, digest = spec["source"], spec["workload_hash"]
    if os.path.exists(source) and file_hash(source) == digest:
        return source
    path = _cache_base() / "cluster" / digest / os.path.basename(source)
    if not path.exists():
        atomic_write(path, spec["workload_text"])
    return str(path)


def node_group(spec: dict):
    """The case as a bench.cases.Group, loaded and compiled on this node."""
    from ..workload import load_workload
    from .cases import Group, resolve_policies
    wl = load_workload(workload_file(spec))
    params = spec["params"]
    return Group(wl, spec["workload_hash"], params, spec["procs"], wl.ops_value(params),
                 resolve_policies(spec["policies"], wl))


def _check_core(spec: dict, label: str) -> None:
    from ..runtime import CORE_HASH
    from .cases import UsageError
    if spec["core_hash"] != CORE_HASH:
        raise UsageError(f"node {label} has gmpbench's scheduler core {CORE_HASH}, the client "
                         f"{spec['core_hash']}: install the same gmpbench on every node "
                         f"(docs/cluster.md)")


def _measure(spec: dict, label: str) -> dict:
    """Prepare, build, run: the case's results as run_case returns them."""
    from ..cli import _build_go_programs
    from ..report.results import to_json
    from ..runtime import CORE_HASH
    _check_core(spec, label)
    prepared = prepare_node(label)
    group = node_group(spec)
    _build_go_programs([group])             # policy go: built here, cached per node
    runner = NodeRunner(spec["run"], [group], Settings(**spec["settings"]), CORE_HASH,
                        seed=spec["seed"])
    with _running(runner):
        runner.run()
    return {"status": 0, "results": json.dumps(to_json(runner.results)),
            "jobs": runner.results.info["order"]["jobs"], "workers": runner.started_workers,
            "host": prepared["host"], "prepare_seconds": prepared["seconds"]}


def _failure(spec: dict, status: int, text: str, label: str) -> dict:
    if spec["run"] in _cancelled:
        status, text = EXIT_CANCELLED, "cancelled"
    return {"status": status, "error": text, "node": label}


def run_case(spec: dict) -> dict:
    """The Dask task: one whole case on this node (bench.cluster builds ``spec``).

    Returns {"status": 0, "results": results file text, "jobs", "workers", "host",
    "prepare_seconds"}, or {"status": 1 | 2 | 130, "error": message, "node"}."""
    from distributed import get_worker
    from ..engines.golang.build import GoBuildError, GoMissing
    from ..workload import WorkloadError
    from .cases import UsageError
    worker = get_worker()
    label = node_label(worker)
    worker.log_event(spec["topic"], {"event": "start", "key": spec["key"], "node": label})
    try:
        return _measure(spec, label)
    except Cancelled:
        return _failure(spec, EXIT_CANCELLED, "cancelled", label)
    except WorkerFailed as failure:
        return _failure(spec, failure.exit_status, failure.message(), label)
    except GoBuildError as err:
        return _failure(spec, 1, f"on node {label}: {err}", label)
    except (WorkloadError, UsageError, GoMissing) as err:
        return _failure(spec, 2, f"on node {label}: {err}", label)
