"""Running one case in this process: warm-up runs, then value runs, each a fresh run_program.

Used by the worker process of ``gmpbench run`` and by the pytest plugin.  The core must be loaded
(gmpbench.runtime.load_core) before; ``ensure_core`` does that for a command-line parent.
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field

from ..report.results import MIN_VALUE, Case, Process, RunFigures


def ensure_core(notify=None) -> tuple[float, bool]:
    """Make sure the compiled core is in numba's cache, so worker processes never compile.

    When the cache is known to be complete this returns at once, sparing the parent the second
    or so that loading the core takes; otherwise it loads (compiling if cold) with
    ``load_core(notify)``.  Returns (seconds, compiled)."""
    from ..runtime import cache_warm, load_core
    if cache_warm():
        return 0.0, False
    return load_core(notify)


def run_once(prepared, schedtrace: float | None = None, out=None,
             trace: str | None = None) -> RunFigures:
    """One run of a prepared case (bench.cases.Prepared); raises
    gmpbench.runtime.threads.RunError when it fails.  With trace, a path, the run records an
    execution trace and writes it there (Chrome trace JSON)."""
    from ..report.dump import describe
    from ..runtime.threads import run_program
    wl = prepared.workload
    result = run_program(prepared.program, prepared.case.procs, prepared.policy.knobs,
                         timeout=wl.timeout, max_threads=wl.max_threads,
                         schedtrace=schedtrace_printer(schedtrace, out), describe=describe,
                         trace=trace is not None)
    if trace is not None:
        from ..report.trace import write_trace
        write_trace(trace, result.trace, prepared.program, prepared.case.name,
                    prepared.case.procs, result.trace_dropped)
    return RunFigures.from_run(result)


def schedtrace_printer(period: float | None, out=None):
    """run_program's schedtrace: a SCHED line (report.dump) on out (stdout) every period."""
    if not period:
        return None
    from ..report.dump import schedtrace_line

    def tick(S, elapsed: float) -> None:
        print(schedtrace_line(S, elapsed), file=out or sys.stdout, flush=True)
    return period, tick


def measure(prepared, *, values: int, warmups: int, schedtrace: float | None = None,
            trace: str | None = None) -> tuple[list[float], list[RunFigures]]:
    """``warmups`` runs whose wall times are kept apart, then ``values`` measured runs (with
    trace, a path: the last one is traced).

    Returns (warm-up wall times, [RunFigures])."""
    warm = [run_once(prepared, schedtrace).wall_time for _ in range(warmups)]
    last = values - 1
    return warm, [run_once(prepared, schedtrace, trace=trace if i == last else None)
                  for i in range(values)]


def block_orders(policies: int, rng: random.Random):
    """The order of the policies in each block of a process, endless and counterbalanced
    (ABBA): blocks go by pairs, a seeded random permutation then its reverse, so that over
    every two blocks each policy's mean position is the same and no policy is always first."""
    while True:
        perm = list(range(policies))
        rng.shuffle(perm)
        yield perm
        yield perm[::-1]


@dataclass
class Interleaved:
    """What one process measured of each of its policies (lists indexed like the policies)."""

    warmups: list[list[float]]
    runs: list[list[RunFigures]]
    blocks: list[list[int]]             # per policy, the block of each of its runs
    positions: list[list[int]]          # per policy, its position in that block (0: first)
    calibrated: bool = False            # more blocks than asked, to measure min_time
    seconds: dict = field(default_factory=dict)    # {"values": s, "warmups": s} of run time


def measure_interleaved(prepared: list, *, values: int, warmups: int, min_time: float = 0.0,
                        max_values: int | None = None, seed: int = 0,
                        run=None, clock=time.monotonic) -> Interleaved:
    """The policies of one case in this process, alternating run by run: ``warmups`` warm-up
    blocks, then at least ``values`` measured blocks, each block one run of every policy in a
    counterbalanced order (block_orders).  Calibration: while the measured blocks of this
    process have taken less than ``min_time`` seconds (``clock`` time, each run's set-up
    included: that is what a value costs), more blocks follow (up to ``max_values``), so that a
    short run gets more values instead of a noisy figure.  With several policies the number of
    measured blocks is even, so that every ABBA pair is complete.  ``run(prepared) -> RunFigures``
    defaults to run_once."""
    run = run or run_once
    k = len(prepared)
    rng = random.Random(seed)
    out = Interleaved([[] for _ in prepared], [[] for _ in prepared], [[] for _ in prepared],
                      [[] for _ in prepared])
    warm_time = 0.0
    orders = block_orders(k, rng)
    for _ in range(warmups):
        for i in next(orders):
            wall = run(prepared[i]).wall_time
            out.warmups[i].append(wall)
            warm_time += wall
    orders = block_orders(k, rng)       # measured blocks start a fresh pair
    cap = max(values, max_values or values)
    measured, block, start = 0.0, 0, clock()
    while (block < values or (block < cap and clock() - start < min_time) or
           (k > 1 and block % 2)):
        for pos, i in enumerate(next(orders)):
            figures = run(prepared[i])
            out.runs[i].append(figures)
            out.blocks[i].append(block)
            out.positions[i].append(pos)
            measured += figures.wall_time
        block += 1
    out.calibrated = block > values + (values % 2 if k > 1 else 0)
    out.seconds = {"values": measured, "warmups": warm_time}
    return out


def make_process(case: Case, core_hash: str, runs: list, warmups: list[float],
                 duration: float, schedule: dict | None = None) -> Process:
    """The runs of one process, with pyperf's system metadata collected here (date, CPU, load,
    ...), as pyperf collects it in its own workers."""
    import pyperf

    from ..runtime.work import steps_per_ns
    meta = dict(case.pyperf_metadata(core_hash), duration=duration,
                gmpbench_work_steps_per_ns=steps_per_ns())
    values = [max(run.wall_time, MIN_VALUE) for run in runs]
    run = pyperf.Run(values, warmups=[(1, w) for w in warmups] or None, metadata=meta)
    return Process(runs, warmups, run.get_metadata(), **(schedule or {}))
