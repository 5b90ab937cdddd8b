"""Results: the data model of measured cases and its JSON file, which pyperf's tools also read.

A results file is a pyperf benchmark suite (format "1.0") with one benchmark per case, named by
the case, values = wall times in seconds, one pyperf run per worker process.  gmpbench's own
figures live beside it under the top-level key ``"gmpbench"``, which pyperf ignores::

    {"version": "1.0", "metadata": {...}, "benchmarks": [...],          <- pyperf's part
     "gmpbench": {"format": 1, "core_hash": ..., "info": {...},
                  "cases": [{"name", "workload", "source", "workload_hash", "params", "procs",
                             "policy", "knobs", "ops",
                             "processes": [{"runs": [{"wall_time", "cpu_time", "threads_max",
                                                      "counters", "latency",
                                                      "netpoll_latency"}, ...]}, ...]}]}}

``processes[i]`` belongs to the i-th pyperf run of the case's benchmark, ``runs[j]`` to its j-th
value.  A process may also have ``worker`` (the id of the worker job that measured it: the
cases of a group that share one ran alternately in one process), ``blocks`` and ``positions``
(per run: its block of alternating runs and its position in the block) and ``calibrated`` (true
when it took more values than asked, to measure long enough); files without them still read.
``latency`` is the run's scheduling-latency histogram (runnable -> running) and
``netpoll_latency`` its netpoll-latency histogram (a readiness's due time -> its goroutine
running; empty unless the workload uses ``netwait``), both sparse: {bucket index: count} (buckets
of gmpbench.runtime.stats).  Files written before ``netpoll_latency`` existed lack it: it reads as
empty.  A worker writes the same format, one process per case of its job; the runner merges
those files.  A case run on a cluster (``run --cluster``) also has ``host``: its node's host
metadata (gmpbench.report.hosts).
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field

import numpy as np

FORMAT = 1
UNIT = "second"
MIN_VALUE = 1e-9          # pyperf values must be > 0
OPTIONAL_CASE_FIELDS = ("go_version", "host", "processes")   # absent from older files


class ResultsError(ValueError):
    """A file that is not a readable gmpbench results file."""


def _sparse(hist: np.ndarray) -> dict[int, int]:
    """A dense histogram as {bucket: count}, non-zero buckets only."""
    return {int(b): int(hist[b]) for b in np.nonzero(hist)[0]}


def _sparse_to_json(hist: dict[int, int]) -> dict[str, int]:
    return {str(b): n for b, n in hist.items()}


def _sparse_from_json(data: dict) -> dict[int, int]:
    return {int(b): int(n) for b, n in data.items()}


@dataclass
class RunFigures:
    """What one run of a case measured."""

    wall_time: float                  # s, main runnable -> main returned
    cpu_time: float                   # s
    threads_max: int
    counters: dict[str, int]
    latency: dict[int, int]           # runnable -> running: bucket -> count, non-zero only
    netpoll_latency: dict[int, int] = field(default_factory=dict)   # due -> running, likewise
    request_latency: dict[int, int] = field(default_factory=dict)   # serve: arrival -> done
    safepoint_latency: dict[int, int] = field(default_factory=dict)  # stop requested -> stopped
    stw_pause: dict[int, int] = field(default_factory=dict)          # stopped -> started

    # the histograms beside ``latency``, each absent (empty) from files written before it
    HISTOGRAMS = ("netpoll_latency", "request_latency", "safepoint_latency", "stw_pause")

    @classmethod
    def from_run(cls, result) -> RunFigures:
        """From a gmpbench.runtime.threads.RunResult."""
        extra = {name: _sparse(getattr(result, name)) for name in cls.HISTOGRAMS
                 if getattr(result, name, None) is not None}
        return cls(float(result.wall_time), float(result.cpu_time), int(result.threads_max),
                   {k: int(v) for k, v in result.counters.items()},
                   _sparse(result.latency), **extra)

    def to_json(self) -> dict:
        return {"wall_time": self.wall_time, "cpu_time": self.cpu_time,
                "threads_max": self.threads_max, "counters": self.counters,
                "latency": _sparse_to_json(self.latency),
                **{name: _sparse_to_json(getattr(self, name)) for name in self.HISTOGRAMS}}

    @classmethod
    def from_json(cls, data: dict) -> RunFigures:
        return cls(float(data["wall_time"]), float(data["cpu_time"]), int(data["threads_max"]),
                   {k: int(v) for k, v in data["counters"].items()},
                   _sparse_from_json(data["latency"]),
                   **{name: _sparse_from_json(data.get(name, {})) for name in cls.HISTOGRAMS})


@dataclass
class Process:
    """One worker process's runs of one case: a pyperf run.

    A worker process runs every port policy of its case, alternating run by run in blocks (one
    run of each policy per block, in a counterbalanced order); ``worker`` identifies the process
    within the results (the cases of a group measured by the same process share it), and
    ``blocks``/``positions`` give, per run, its block and its position in the block.  They are
    None in files written before, where each process ran one policy."""

    runs: list[RunFigures]
    warmups: list[float] = field(default_factory=list)    # wall times of the warm-up runs
    metadata: dict = field(default_factory=dict)          # pyperf run metadata (system, date)
    worker: int | None = None
    blocks: list[int] | None = None
    positions: list[int] | None = None
    calibrated: bool = False        # more values than asked, so that the process measured long

    SCHEDULE = ("worker", "blocks", "positions", "calibrated")      # their JSON keys

    def schedule_json(self) -> dict:
        out = {k: getattr(self, k) for k in self.SCHEDULE[:3] if getattr(self, k) is not None}
        return {**out, "calibrated": True} if self.calibrated else out

    @property
    def paired(self) -> bool:
        return self.worker is not None and self.blocks is not None


@dataclass
class Case:
    name: str
    workload: str
    source: str                      # the workload file's path
    workload_hash: str
    params: dict
    procs: int
    policy: str
    knobs: dict[str, int]
    ops: int | None
    go_version: str | None = None    # policy "go": the Go runtime that ran it
    host: dict | None = None         # --cluster: the node that ran it (report.hosts)
    processes: list[Process] = field(default_factory=list)

    @property
    def group(self) -> str:
        """The name without its policy: the cases of a group differ only in policy."""
        return self.name.rsplit("/policy=", 1)[0]

    @property
    def runs(self) -> list[RunFigures]:
        return [run for proc in self.processes for run in proc.runs]

    @property
    def values(self) -> list[float]:
        return [run.wall_time for run in self.runs]

    def histogram(self, name: str) -> np.ndarray:
        """The histogram ``name`` of all runs together, dense: ``"latency"`` or
        ``"netpoll_latency"`` (RunFigures' fields)."""
        from ..runtime.histogram import NBUCKETS
        hist = np.zeros(NBUCKETS, dtype=np.int64)
        for run in self.runs:
            for bucket, count in getattr(run, name).items():
                hist[bucket] += count
        return hist

    def pyperf_metadata(self, core_hash: str) -> dict:
        """Metadata of the case's pyperf benchmark: name, unit and gmpbench's scalars."""
        meta = {"name": self.name, "unit": UNIT, "loops": 1,
                "gmpbench_workload": self.workload, "gmpbench_procs": self.procs,
                "gmpbench_policy": self.policy, "gmpbench_core_hash": core_hash,
                "gmpbench_workload_hash": self.workload_hash}
        if self.params:
            meta["gmpbench_params"] = " ".join(f"{k}={v}" for k, v in self.params.items())
        if self.ops:
            meta["gmpbench_ops"] = self.ops
        if self.go_version:
            meta["go_version"] = self.go_version
        return meta

    def benchmark(self, core_hash: str):
        import pyperf
        meta = self.pyperf_metadata(core_hash)
        runs = [pyperf.Run([max(v.wall_time, MIN_VALUE) for v in proc.runs],
                           warmups=[(1, max(w, 0.0)) for w in proc.warmups] or None,
                           metadata={**proc.metadata, **meta}, collect_metadata=False)
                for proc in self.processes]
        return pyperf.Benchmark(runs)

    def info_json(self) -> dict:
        return {"name": self.name, "workload": self.workload, "source": self.source,
                "workload_hash": self.workload_hash, "params": self.params,
                "procs": self.procs, "policy": self.policy, "knobs": self.knobs, "ops": self.ops,
                **({"go_version": self.go_version} if self.go_version else {}),
                **({"host": self.host} if self.host else {})}

    def empty_copy(self) -> Case:
        return Case(**self.info_json())


@dataclass
class Results:
    core_hash: str
    cases: dict[str, Case] = field(default_factory=dict)     # name -> case, in run order
    info: dict = field(default_factory=dict)    # created, command, settings, interrupted...

    def add_process(self, case: Case, proc: Process) -> None:
        """Add one worker's process to ``case`` (created from its description if new)."""
        mine = self.cases.setdefault(case.name, case.empty_copy())
        mine.processes.append(proc)

    def measured(self) -> list[Case]:
        return [case for case in self.cases.values() if case.runs]

    def groups(self) -> dict[str, list[Case]]:
        out: dict[str, list[Case]] = {}
        for case in self.measured():
            out.setdefault(case.group, []).append(case)
        return out


def pair_cases(old: Results, new: Results) -> tuple[list[str], list[str], list[str]]:
    """Case names measured in both (NEW's order), only in OLD, only in NEW; ResultsError when
    nothing is in both."""
    both = [n for n in new.cases if n in old.cases and new.cases[n].runs and old.cases[n].runs]
    if not both:
        raise ResultsError("the two files have no case in common")
    return (both, [n for n in old.cases if n not in new.cases],
            [n for n in new.cases if n not in old.cases])


# --- the file --------------------------------------------------------------------------------

def to_json(results: Results) -> dict:
    import pyperf
    cases = results.measured()
    if not cases:
        raise ResultsError("no finished runs to save")
    suite = pyperf.BenchmarkSuite([case.benchmark(results.core_hash) for case in cases])
    buf = io.StringIO()
    suite.dump(buf)
    data = json.loads(buf.getvalue())
    data["gmpbench"] = {
        "format": FORMAT, "core_hash": results.core_hash, "info": results.info,
        "cases": [{**case.info_json(),
                   "processes": [{"runs": [run.to_json() for run in proc.runs],
                                  **proc.schedule_json()}
                                 for proc in case.processes]}
                  for case in cases],
    }
    return data


def atomic_write(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same directory, then
    os.replace, so a reader (or an interrupted run) never sees half a file."""
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_results(path, results: Results) -> None:
    atomic_write(path, json.dumps(to_json(results), separators=(",", ":"), sort_keys=True) + "\n")


def read_results(path) -> Results:
    """Read a results file; ResultsError names the file and what is wrong."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        data = json.loads(text)
    except OSError as err:
        raise ResultsError(f"{path}: cannot read: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ResultsError(f"{path}: not a JSON file ({err})") from None
    try:
        return _from_json(data, text)
    except ResultsError as err:
        raise ResultsError(f"{path}: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ResultsError(f"{path}: malformed results file ({type(err).__name__}: {err})") \
            from None


def loads_results(text: str) -> Results:
    """A results file's text (as a worker or a cluster node hands it over) as Results."""
    return _from_json(json.loads(text), text)


def _from_json(data, text: str) -> Results:
    import pyperf
    if not isinstance(data, dict) or "gmpbench" not in data:
        raise ResultsError("not a gmpbench results file (no 'gmpbench' key)")
    ours = data["gmpbench"]
    if ours.get("format") != FORMAT:
        raise ResultsError(f"results format {ours.get('format')!r} is not supported "
                           f"(this gmpbench reads format {FORMAT})")
    suite = pyperf.BenchmarkSuite.loads(text)
    results = Results(ours["core_hash"], info=ours.get("info", {}))
    for entry in ours["cases"]:
        case = Case(**{k: entry[k] for k in Case.__dataclass_fields__
                       if k not in OPTIONAL_CASE_FIELDS}, go_version=entry.get("go_version"),
                    host=entry.get("host"))
        pyperf_runs = suite.get_benchmark(case.name).get_runs()
        if len(pyperf_runs) != len(entry["processes"]):
            raise ResultsError(f"case {case.name}: {len(pyperf_runs)} pyperf runs but "
                               f"{len(entry['processes'])} processes")
        for run, proc in zip(pyperf_runs, entry["processes"]):
            figures = [RunFigures.from_json(r) for r in proc["runs"]]
            if len(figures) != len(run.values):
                raise ResultsError(f"case {case.name}: values and runs differ in number")
            schedule = {k: proc[k] for k in Process.SCHEDULE if k in proc}
            for key in ("blocks", "positions"):
                if key in schedule and len(schedule[key]) != len(figures):
                    raise ResultsError(f"case {case.name}: {key} and runs differ in number")
            case.processes.append(Process(figures, [w for _, w in run.warmups],
                                          run.get_metadata(), **schedule))
        results.cases[case.name] = case
    return results
