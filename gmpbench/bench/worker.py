"""The worker process: ``python -m gmpbench _worker ...`` (hidden subcommand).

Protocol.  The parent (bench.runner) starts one worker per (case, process) with

    _worker --workload PATH --workload-hash H --params JSON --procs N --policy TEXT
            --values N --warmups W --output FILE [--schedtrace SECONDS]

The worker loads the workload (its file must still hash to H), compiles the case, loads the
core from numba's warm cache, makes W warm-up runs and N value runs, and writes a results file
(gmpbench.report.results, one case, one process) to FILE, atomically.  pyperf's system metadata
is collected here, in the measuring process.  stdout carries only schedtrace lines.

Exit status: 0 done; 1 a run failed (the message and the dump on stderr); 2 bad input;
130 interrupted (nothing written).
"""
from __future__ import annotations

import json
import sys
import time

EXIT_INTERRUPTED = 130


def add_arguments(parser) -> None:
    parser.add_argument("--workload", required=True)
    parser.add_argument("--workload-hash", required=True)
    parser.add_argument("--params", required=True, help="the case's params as a JSON object")
    parser.add_argument("--procs", type=int, required=True)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--values", type=int, required=True)
    parser.add_argument("--warmups", type=int, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--schedtrace", type=float, default=None, help="seconds")


def _prepare(args):
    from ..workload import WorkloadError, load_workload
    from .cases import prepare_case
    prepared = prepare_case(load_workload(args.workload), json.loads(args.params), args.procs,
                            args.policy)
    if prepared.case.workload_hash != args.workload_hash:
        raise WorkloadError(args.workload, None, "", "the file changed during the run")
    return prepared


def run_worker(args) -> int:
    from ..report.results import Results, write_results
    from ..runtime import CORE_HASH, load_core
    from ..runtime.threads import RunError, RunInterrupted
    from .measure import make_process, measure
    prepared = _prepare(args)
    load_core()
    start = time.monotonic()
    try:
        warmups, runs = measure(prepared, values=args.values, warmups=args.warmups,
                                schedtrace=args.schedtrace)
    except RunInterrupted:
        return EXIT_INTERRUPTED
    except RunError as err:
        print(err, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    results = Results(CORE_HASH)
    case = prepared.case
    results.add_process(case, make_process(case, CORE_HASH, runs, warmups,
                                           time.monotonic() - start))
    write_results(args.output, results)
    return 0
