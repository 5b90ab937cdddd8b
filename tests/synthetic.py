"""Made-up results files, for testing reports and comparisons without running the core."""
from __future__ import annotations

import numpy as np

from gmpbench.report.results import Case, Process, Results, RunFigures
from gmpbench.runtime.layout import COUNTERS

CORE = "0123456789abcdef"
PING_PONG = "ping-pong/rounds=2000/procs=1/policy=baseline"


def figures(wall: float, rng: np.random.Generator) -> RunFigures:
    counters = {name: int(rng.integers(0, 100)) for name in COUNTERS}
    counters["threads_max"] = 2
    latency = {int(b): int(rng.integers(1, 50)) for b in rng.integers(60, 400, size=20)}
    return RunFigures(wall, wall * 0.9, 2, counters, latency)


def case_from_name(name: str, values, *, ops=None, per_process: int = 3, seed: int = 0,
                   workload_hash: str = "feedfacefeedface") -> Case:
    """A case named like ``workload/k=v/procs=N/policy=P`` with the given wall times."""
    parts = name.split("/")
    params = dict(p.split("=", 1) for p in parts[1:-2])
    params = {k: int(v) if v.isdigit() else v for k, v in params.items()}
    case = Case(name, parts[0], f"workloads/{parts[0]}.yaml", workload_hash, params,
                int(parts[-2].split("=")[1]), parts[-1].split("=", 1)[1], {"runnext": 1}, ops)
    rng = np.random.default_rng(seed)
    values = list(values)
    for i in range(0, len(values), per_process):
        chunk = values[i:i + per_process]
        meta = {"date": "2025-01-01 00:00:00", "hostname": "test", "cpu_model_name": "Test CPU"}
        case.processes.append(Process([figures(v, rng) for v in chunk], [chunk[0]], meta))
    return case


def results(cases: dict, core_hash: str = CORE, **kwargs) -> Results:
    """Results from {case name: wall times}."""
    out = Results(core_hash, info={"command": "synthetic"})
    for i, (name, values) in enumerate(cases.items()):
        out.cases[name] = case_from_name(name, values, seed=i, **kwargs)
    return out


def sample(median: float, n: int, seed: int, spread: float = 0.05) -> list[float]:
    """n wall times around ``median`` with a relative spread."""
    rng = np.random.default_rng(seed)
    return list(median * (1 + spread * rng.standard_normal(n)))
