"""Running one case in this process: warm-up runs, then value runs, each a fresh run_program.

Used by the worker process of ``gmpbench run`` and by the pytest plugin.  The core must be loaded
(gmpbench.runtime.load_core) before; ``ensure_core`` does that for a command-line parent.
"""
from __future__ import annotations

import sys

from ..report.results import MIN_VALUE, Case, Process, RunFigures


def ensure_core(notify=None) -> tuple[float, bool]:
    """Make sure the compiled core is in numba's cache, so worker processes never compile.

    When the cache is known to be complete this returns at once, sparing the parent the second
    or so that loading the core takes; otherwise it loads (compiling if cold) with
    ``load_core(notify)``.  Returns (seconds, compiled)."""
    from ..runtime import cache_dir, load_core
    if (cache_dir() / "complete").exists():
        return 0.0, False
    return load_core(notify)


def run_once(prepared, schedtrace: float | None = None, out=None,
             trace: str | None = None) -> RunFigures:
    """One run of a prepared case (bench.cases.Prepared); raises
    gmpbench.runtime.threads.RunError when it fails.  With trace, a path, the run records an
    execution trace and writes it there (Chrome trace JSON)."""
    from ..runtime.threads import run_program
    wl = prepared.workload
    result = run_program(prepared.program, prepared.case.procs, prepared.policy.knobs,
                         timeout=wl.timeout, max_threads=wl.max_threads, schedtrace=schedtrace,
                         out=out or sys.stdout, trace=trace is not None)
    if trace is not None:
        from ..report.trace import write_trace
        write_trace(trace, result.trace, prepared.program, prepared.case.name,
                    prepared.case.procs, result.trace_dropped)
    return RunFigures.from_run(result)


def measure(prepared, *, values: int, warmups: int, schedtrace: float | None = None,
            trace: str | None = None) -> tuple[list[float], list[RunFigures]]:
    """``warmups`` runs whose wall times are kept apart, then ``values`` measured runs (with
    trace, a path: the last one is traced).

    Returns (warm-up wall times, [RunFigures])."""
    warm = [run_once(prepared, schedtrace).wall_time for _ in range(warmups)]
    last = values - 1
    return warm, [run_once(prepared, schedtrace, trace=trace if i == last else None)
                  for i in range(values)]


def make_process(case: Case, core_hash: str, runs: list, warmups: list[float],
                 duration: float) -> Process:
    """The runs of one process, with pyperf's system metadata collected here (date, CPU, load,
    ...), as pyperf collects it in its own workers."""
    import pyperf

    from ..runtime.work import steps_per_ns
    meta = dict(case.pyperf_metadata(core_hash), duration=duration,
                gmpbench_work_steps_per_ns=steps_per_ns())
    values = [max(run.wall_time, MIN_VALUE) for run in runs]
    run = pyperf.Run(values, warmups=[(1, w) for w in warmups] or None, metadata=meta)
    return Process(runs, warmups, run.get_metadata())
