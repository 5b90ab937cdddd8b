"""Results as Go benchmark lines, which Go's benchstat reads.

    cpu: AMD EPYC
    gmpbench-core: 0123456789abcdef
    BenchmarkPingPong/rounds=100000/procs=2/policy=baseline 1 416.2 ns/op

One line per run value; the workload name is CamelCased after "Benchmark"; ns/op is the time per
op when the workload sets ``ops``, else the wall time of the run.  Lines follow the Go benchmark
data format (golang.org/design/14313-benchmark-format): configuration lines ``key: value``,
result lines ``Name iterations value unit``.
"""
from __future__ import annotations

from .results import Case, Results


def camel(workload: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in workload.split("-"))


def benchmark_name(case: Case) -> str:
    rest = case.name[len(case.workload):]
    return f"Benchmark{camel(case.workload)}{rest}"


def _config(results: Results) -> list[str]:
    lines = []
    cpus = {p.metadata.get("cpu_model_name") for c in results.measured() for p in c.processes}
    cpus.discard(None)
    if len(cpus) == 1:
        lines.append(f"cpu: {cpus.pop()}")
    return lines + [f"gmpbench-core: {results.core_hash}"]


def render(results: Results) -> list[str]:
    lines = _config(results)
    for case in results.measured():
        name = benchmark_name(case)
        for value in case.values:
            ns = value * 1e9 / (case.ops or 1)
            lines.append(f"{name} 1 {ns:.1f} ns/op")
    return lines
