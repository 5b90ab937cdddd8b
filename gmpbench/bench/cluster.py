"""``gmpbench run --cluster ADDRESS``: whole cases on the nodes of a Dask distributed cluster.

docs/cluster.md tells how to use it and why Dask.  The unit sent to a node is a *case* in the
sense of that page: a workload x params x procs with all its policies (a bench.cases.Group), so
the policies of a case are always interleaved on one machine.  Each case is one Dask task
(bench.node.run_case) that asks for the resource ``node=1``; every worker offers exactly one,
so a node runs one case at a time.  ``local:N`` starts a LocalCluster of N such workers here.

The client (ClusterRunner, a bench.runner.Runner whose ``run`` submits instead of spawning):

- submits every case at once and lets the scheduler place them; nodes report each start through
  a Dask event topic, which drives the progress line (done / running, on which node / queued)
  and tells a lost node: a case that starts a second time lost its first node (Dask re-runs a
  task whose worker died; after ``distributed.scheduler.allowed-failures`` losses it gives up,
  and so does the sweep);
- merges each finished case into ``results`` (worker ids renumbered so that they stay unique in
  the file, the node's jobs appended to the order record) and rewrites the results file
  atomically, so that an interrupted sweep loses at most its running cases;
- on Ctrl-C cancels the queued cases and stops the running ones (bench.node.cancel_run).
"""
from __future__ import annotations

import logging
import queue
import random
import sys
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from .cases import UsageError
from .runner import Runner, WorkerFailed

INSTALL_HINT = "pip install 'gmpbench[cluster]'  (or: pip install 'dask[distributed]')"
NODE_RESOURCE = "node"          # every worker offers node=1; a case takes it: one case per node
CONNECT_TIMEOUT = 10            # s to reach the scheduler of --cluster ADDRESS
WORKERS_TIMEOUT = 60            # s to wait for a first worker to join
POLL = 0.25                     # s between looks at the futures and the events
CANCEL_TIMEOUT = 15             # s the nodes get to stop their cases after Ctrl-C
CLUSTER_SCHEME = ("whole cases on cluster nodes, one case per node at a time; within a case the "
                  "port policies alternate run by run inside each worker process, in blocks "
                  "ordered ABBA (a seeded random permutation, then its reverse), and policy go "
                  "runs in its own processes, in a seeded random order reversed every round; a "
                  "case's processes run one after another on its node")


class ClusterMissing(UsageError):
    """--cluster without Dask distributed installed (exit 2)."""


def require_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterMissing(f"--cluster needs Dask distributed, which is not installed: "
                             f"{INSTALL_HINT}") from None
    return distributed


def parse_cluster(text: str) -> tuple[int | None, str | None]:
    """``local:N`` -> (N, None); a scheduler address -> (None, address)."""
    if text.startswith("local:"):
        n = text[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise UsageError(f"--cluster {text!r}: expected local:N with N >= 1 (e.g. local:2)")
        return int(n), None
    if not text.strip() or text.strip() != text:
        raise UsageError(f"--cluster {text!r}: expected a scheduler address such as "
                         f"tcp://head:8786, or local:N")
    return None, text


# --- the cluster -----------------------------------------------------------------------------

def start_local(n: int):
    """A LocalCluster of n single-slot workers (one thread, the resource node=1 each), in
    processes of their own; no dashboard, no memory limit (a case's memory is its worker
    processes')."""
    from distributed import LocalCluster
    logging.getLogger("distributed").setLevel(logging.CRITICAL)   # gmpbench reports losses
    return LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                        resources={NODE_RESOURCE: 1}, dashboard_address=None, memory_limit=0,
                        silence_logs=logging.CRITICAL)


def connect(text: str):
    """(client, local cluster or None) for --cluster ``text``; UsageError when it cannot be
    reached or has no node to run on."""
    distributed = require_distributed()
    n, address = parse_cluster(text)
    cluster = start_local(n) if n else None
    try:
        client = distributed.Client(cluster or address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise UsageError(f"--cluster {text}: cannot reach a Dask scheduler there ({err}); "
                         f"start one with `dask scheduler` (docs/cluster.md)") from None
    try:
        from .node import NodeSetup
        client.register_plugin(NodeSetup(local=cluster is not None))
        check_nodes(client, text, local=cluster is not None)
    except BaseException:
        close(client, cluster)
        raise
    return client, cluster


def check_nodes(client, text: str, local: bool) -> None:
    """At least one worker offering node=1; a warning for machines with several of them."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        raise UsageError(f"--cluster {text}: no worker joined within {WORKERS_TIMEOUT}s; start "
                         f"one per node with `dask worker {text} --nworkers 1 --nthreads 1 "
                         f"--resources {NODE_RESOURCE}=1` (docs/cluster.md)") from None
    workers = client.scheduler_info()["workers"].values()
    nodes = [w for w in workers if (w.get("resources") or {}).get(NODE_RESOURCE, 0) >= 1]
    if not nodes:
        raise UsageError(f"--cluster {text}: no worker offers the resource {NODE_RESOURCE}=1 "
                         f"that gmpbench's cases ask for (one case per node); start the workers "
                         f"with `--nworkers 1 --nthreads 1 --resources {NODE_RESOURCE}=1`")
    hosts = [w["host"] for w in nodes]
    shared = sorted({h for h in hosts if hosts.count(h) > 1})
    if shared and not local:
        print(f"gmpbench: WARNING: several gmpbench workers on {', '.join(shared)}: their cases "
              f"run at the same time on one machine (start one worker per machine)",
              file=sys.stderr)


def close(client, cluster) -> None:
    client.close()
    if cluster is not None:
        cluster.close()


# --- the sweep -------------------------------------------------------------------------------

def case_spec(group, settings, core_hash: str, run_id: str, key: str, seed: int) -> dict:
    """What a node needs to run one case (bench.node.run_case): the workload's path and text
    (a node without the file gets the text), its hash, the case and the settings."""
    return {"run": run_id, "key": key, "topic": f"gmpbench-{run_id}", "core_hash": core_hash,
            "source": group.workload.source, "workload_hash": group.workload_hash,
            "workload_text": Path(group.workload.source).read_text(encoding="utf-8"),
            "params": group.params, "procs": group.procs,
            "policies": [p.name for p in group.policies], "settings": asdict(settings),
            "seed": seed}


class ClusterRunner(Runner):
    """The Runner of a sweep on a cluster: ``run`` submits every case and merges them as they
    finish; ``results`` always holds exactly the finished cases (what Ctrl-C saves), and
    ``output`` (when given) is rewritten after each one."""

    def __init__(self, client, address: str, groups, settings, core_hash: str, *,
                 output: str | None = None, show=None, report=None, **kwargs):
        super().__init__(groups, settings, core_hash, **kwargs)
        self.client = client
        self.output = output
        self.show = show or (lambda text: None)          # the progress line (None: clear it)
        self.report = report or (lambda text: None)      # lines that must be seen (losses)
        self.run_id = uuid.uuid4().hex[:12]
        self.events: queue.Queue = queue.Queue()
        self.names: dict[str, str] = {}                  # task key -> case name
        self.starts: dict[str, list[str]] = {}           # task key -> nodes it started on
        self.finished: set[str] = set()
        self.prepare_seconds: dict[str, float] = {}      # node -> its preparation
        info = self.results.info
        info["order"]["scheme"] = CLUSTER_SCHEME
        info["cluster"] = {"address": address, "nodes": [], "lost": [], "complete": False}

    # submitting and waiting

    def run(self):
        topic = f"gmpbench-{self.run_id}"
        self.client.subscribe_topic(topic, self.events.put)
        rng = random.Random(self.seed)
        pending = {}
        for i, group in enumerate(self.groups):
            key = f"gmpbench-{self.run_id}-{i}"
            self.names[key] = group.name
            spec = case_spec(group, self.settings, self.results.core_hash, self.run_id, key,
                             rng.randrange(1 << 31))
            future = self.client.submit(_run_case(), spec, key=key, pure=False,
                                        resources={NODE_RESOURCE: 1})
            pending[future] = group
        try:
            self._gather(pending)
        except BaseException:
            self._cancel(pending)
            raise
        finally:
            self.client.unsubscribe_topic(topic)
            self.show(None)
            self._plan_order()
        self.results.info["cluster"]["complete"] = True
        return self.results

    def _gather(self, pending: dict) -> None:
        while pending:
            self._read_events()
            done = [f for f in pending if f.done()]
            for future in done:
                self._finish(future, pending.pop(future))
            self.show(self.progress_text(len(pending)))
            if not done:
                time.sleep(POLL)

    def _cancel(self, pending: dict) -> None:
        """Queued cases cancelled, running ones stopped on their nodes (bench.node.cancel_run),
        within CANCEL_TIMEOUT."""
        from .node import cancel_run
        self.client.cancel(list(pending), force=True)
        stopper = threading.Thread(target=self._run_quietly, args=(cancel_run, self.run_id),
                                   daemon=True)
        stopper.start()
        stopper.join(CANCEL_TIMEOUT)

    def _run_quietly(self, fn, *args) -> None:
        try:
            self.client.run(fn, *args)
        except Exception:           # a node that is gone has nothing left to stop
            pass

    # events: starts, losses, progress

    def _read_events(self) -> None:
        while True:
            try:
                _, event = self.events.get_nowait()
            except queue.Empty:
                return
            key = event.get("key")
            if event.get("event") != "start" or key in self.finished or key not in self.names:
                continue
            nodes = self.starts.setdefault(key, [])
            if nodes:
                self._lost(key, nodes[-1], event["node"])
            nodes.append(event["node"])

    def _lost(self, key: str, node: str, rerun_on: str) -> None:
        name = self.names[key]
        self.results.info["cluster"]["lost"].append(
            {"case": name, "node": node, "rerun_on": rerun_on})
        self.report(f"gmpbench: node {node} was lost while running {name}; the case runs again "
                    f"on {rerun_on} (nothing of the lost run is kept)")

    def progress_text(self, left: int) -> str:
        running = [(self.names[k], nodes[-1]) for k, nodes in self.starts.items()
                   if k not in self.finished]
        done = len(self.finished)
        text = (f"cases: {done}/{len(self.groups)} done, {len(running)} running, "
                f"{max(left - len(running), 0)} queued")
        return text + "".join(f" | {node}: {name}" for name, node in running)

    # finished cases

    def _finish(self, future, group) -> None:
        key = future.key
        self.finished.add(key)
        if future.status != "finished":
            raise self._task_failure(future, group)
        out = future.result()
        if out["status"] != 0:
            raise WorkerFailed(group.name, out["status"], out["error"])
        self._merge(group, out)
        if self.output:
            from ..report.results import write_results
            self.results.info["interrupted"] = True        # until the sweep completes
            write_results(self.output, self.results)

    def _task_failure(self, future, group) -> WorkerFailed:
        from distributed import KilledWorker
        err = future.exception()
        nodes = self.starts.get(future.key, [])
        if isinstance(err, KilledWorker):
            return WorkerFailed(group.name, 1, f"{group.name}: its node was lost "
                                f"{len(nodes) or 'several'} time(s) ({', '.join(nodes)}): "
                                f"Dask gave up on it")
        return WorkerFailed(group.name, 1, f"{group.name} failed on the cluster: "
                            f"{type(err).__name__}: {err}")

    def _merge(self, group, out: dict) -> None:
        """The node's results of ``group`` into ``results``: the workload's path as the client
        knows it, the node's host metadata, worker ids offset past those merged before."""
        from ..report.results import loads_results
        order = self.results.info["order"]["jobs"]
        offset = len(order)
        order.extend(out["jobs"])
        host = out["host"]
        nodes = self.results.info["cluster"]["nodes"]
        if host["node"] not in nodes:
            nodes.append(host["node"])
            self.prepare_seconds[host["node"]] = out["prepare_seconds"]
        self.started_workers += out["workers"]
        for case in loads_results(out["results"]).cases.values():
            case.source = group.workload.source
            case.host = host
            for process in case.processes:
                if process.worker is not None:
                    process.worker += offset
                self.results.add_process(case, process)


def _run_case():
    from .node import run_case
    return run_case
