"""The worker process: ``python -m gmpbench _worker ...`` (hidden subcommand).

Protocol.  The parent (bench.runner) starts one worker per (case, process) with

    _worker --workload PATH --workload-hash H --params JSON --procs N --policy TEXT
            --values N --warmups W --output FILE [--schedtrace SECONDS] [--trace PATH]

The worker loads the workload (its file must still hash to H), compiles the case, loads the
core from numba's warm cache, makes W warm-up runs and N value runs, and writes a results file
(gmpbench.report.results, one case, one process) to FILE, atomically.  pyperf's system metadata
is collected here, in the measuring process.  stdout carries only schedtrace lines.

Exit status: 0 done; 1 a run failed (the message and the dump on stderr); 2 bad input;
130 interrupted (nothing written).

``_worker --job-from-stdin`` is the same worker started before its job is known: it imports the
core and loads it from the cache first, then reads the arguments above from its stdin (one JSON
list).  The parent starts the first worker this way while it is still reading its input, so the
first case starts sooner (bench.runner.PrestartedWorker).
"""
from __future__ import annotations

import json
import sys
import time

EXIT_INTERRUPTED = 130


def add_arguments(parser, job_required: bool = False) -> None:
    """The job's arguments; with job_required=False also --job-from-stdin (and then the job's
    own arguments are read later, from stdin)."""
    parser.add_argument("--workload", required=job_required)
    parser.add_argument("--workload-hash", required=job_required)
    parser.add_argument("--params", required=job_required,
                        help="the case's params as a JSON object")
    parser.add_argument("--procs", type=int, required=job_required)
    parser.add_argument("--policy", required=job_required)
    parser.add_argument("--values", type=int, required=job_required)
    parser.add_argument("--warmups", type=int, required=job_required)
    parser.add_argument("--output", required=job_required)
    parser.add_argument("--schedtrace", type=float, default=None, help="seconds")
    parser.add_argument("--trace", default=None, help="write the last run's execution trace "
                        "here")
    if not job_required:
        parser.add_argument("--job-from-stdin", action="store_true")


def _job_from_stdin():
    """The job's arguments, sent by the parent as one JSON list on stdin."""
    import argparse
    parser = argparse.ArgumentParser(prog="gmpbench _worker")
    add_arguments(parser, job_required=True)
    return parser.parse_args(json.loads(sys.stdin.readline()))


def _prepare(args):
    from ..workload import WorkloadError, load_workload
    from .cases import prepare_case
    prepared = prepare_case(load_workload(args.workload), json.loads(args.params), args.procs,
                            args.policy)
    if prepared.case.workload_hash != args.workload_hash:
        raise WorkloadError(args.workload, None, "", "the file changed during the run")
    return prepared


def _measure_port(prepared, args):
    from ..runtime import load_core
    from .measure import measure
    load_core()
    return measure(prepared, values=args.values, warmups=args.warmups,
                   schedtrace=args.schedtrace, trace=args.trace)


def _measure_go(prepared, args):
    from ..engines.golang.run import measure_go
    go = measure_go(prepared, values=args.values, warmups=args.warmups,
                    schedtrace=args.schedtrace)
    prepared.case.go_version = go.go_version
    return go.warmups, go.runs


def run_worker(args) -> int:
    from ..report.results import Results, write_results
    from ..runtime import CORE_HASH, load_core
    from ..runtime.threads import RunError, RunInterrupted
    from .measure import make_process
    if args.job_from_stdin:
        load_core()                     # while the parent is still getting ready
        args = _job_from_stdin()
    elif args.workload is None:
        print("gmpbench _worker: the job's arguments are missing", file=sys.stderr)
        return 2
    prepared = _prepare(args)
    start = time.monotonic()
    engine = _measure_go if prepared.policy.engine == "go" else _measure_port
    try:
        warmups, runs = engine(prepared, args)
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
