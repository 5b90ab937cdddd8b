"""Running one case in this process: warm-up runs, then value runs, each a fresh run_program.

Used by the worker process of ``gmpbench run`` and by the pytest plugin.  The core must be loaded
(gmpbench.runtime.load_core) before; ``ensure_core`` does that for a command-line parent.
"""
from __future__ import annotations

import sys

from ..report.results import RunFigures


def ensure_core(notify=None) -> tuple[float, bool]:
    """Make sure the compiled core is in numba's cache, so worker processes never compile.

    When the cache is known to be complete this returns at once, sparing the parent the second
    or so that loading the core takes; otherwise it loads (compiling if cold) with
    ``load_core(notify)``.  Returns (seconds, compiled)."""
    from ..runtime import cache_dir, load_core
    if (cache_dir() / "complete").exists():
        return 0.0, False
    return load_core(notify)


def run_once(program, procs: int, knobs, *, timeout: float, max_threads: int,
             schedtrace: float | None = None, out=None) -> RunFigures:
    """One run; raises gmpbench.runtime.threads.RunError when it fails."""
    from ..runtime.threads import run_program
    result = run_program(program, procs, knobs, timeout=timeout, max_threads=max_threads,
                         schedtrace=schedtrace, out=out or sys.stdout)
    return RunFigures.from_run(result)


def measure(program, procs: int, knobs, *, values: int, warmups: int, timeout: float,
            max_threads: int, schedtrace: float | None = None) -> tuple[list[float], list]:
    """``warmups`` runs whose wall times are kept apart, then ``values`` measured runs.

    Returns (warm-up wall times, [RunFigures])."""
    def one():
        return run_once(program, procs, knobs, timeout=timeout, max_threads=max_threads,
                        schedtrace=schedtrace)
    warm = [one().wall_time for _ in range(warmups)]
    return warm, [one() for _ in range(values)]
