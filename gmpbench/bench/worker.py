"""The worker process: ``python -m gmpbench _worker ...`` (hidden subcommand).

Protocol.  The parent (bench.runner) starts one worker per (group, process) with

    _worker --workload PATH --workload-hash H --params JSON --procs N --policy TEXT
            [--policy TEXT ...] --values N --warmups W --output FILE [--min-time S]
            [--max-values N] [--seed N] [--worker-id N] [--schedtrace SECONDS] [--trace PATH]

The worker loads the workload (its file must still hash to H), compiles the case, loads the
core from numba's warm cache and measures every policy given, alternating run by run
(bench.measure.measure_interleaved): W warm-up blocks, then at least N measured blocks, more
while its measured runs sum to less than S seconds (at most --max-values), each block one run of
every policy in a counterbalanced order seeded by --seed.  It writes a results file
(gmpbench.report.results, one case per policy, one process each, tagged --worker-id) to FILE,
atomically.  Policy ``go`` runs alone in its worker (the real Go runtime, in its own process);
--schedtrace and --trace take one policy.  pyperf's system metadata
is collected here, in the measuring process.  stdout carries only schedtrace lines.

Exit status (status.py): EXIT_OK done; EXIT_RUN_FAILED a run failed (the message and the dump
on stderr); EXIT_BAD_INPUT bad input; EXIT_INTERRUPTED interrupted (nothing written).

``_worker --jobs-from-stdin`` is the same worker serving several jobs: it imports the core and
loads it from the cache first, then reads jobs from its stdin, one JSON list of the arguments
above per line, and after each job that succeeded prints a line ``DONE_LINE`` on stdout; at the
end of its input it exits 0, and when a job fails it exits with that job's status (the message
on stderr).  The runner starts one such worker per round of processes, so that a process start
(~1 s: numba's import and loading the core) serves every group of the run, and the first one
while it is still reading its input (bench.prestart.PrestartedWorker).
"""
from __future__ import annotations

import json
import sys
import time

from .status import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED


def add_arguments(parser, job_required: bool = False) -> None:
    """The job's arguments; with job_required=False also --job-from-stdin (and then the job's
    own arguments are read later, from stdin)."""
    parser.add_argument("--workload", required=job_required)
    parser.add_argument("--workload-hash", required=job_required)
    parser.add_argument("--params", required=job_required,
                        help="the case's params as a JSON object")
    parser.add_argument("--procs", type=int, required=job_required)
    parser.add_argument("--policy", action="append", required=job_required)
    parser.add_argument("--values", type=int, required=job_required)
    parser.add_argument("--warmups", type=int, required=job_required)
    parser.add_argument("--output", required=job_required)
    parser.add_argument("--min-time", type=float, default=0.0, help="seconds of measured runs "
                        "a process makes at least (calibration)")
    parser.add_argument("--max-values", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of the order of the policies")
    parser.add_argument("--worker-id", type=int, default=None)
    parser.add_argument("--schedtrace", type=float, default=None, help="seconds")
    parser.add_argument("--trace", default=None, help="write the last run's execution trace "
                        "here")
    if not job_required:
        parser.add_argument("--jobs-from-stdin", action="store_true")


DONE_LINE = "gmpbench-worker: job done"


def _jobs_from_stdin():
    """The jobs' arguments, sent by the parent as one JSON list per line on stdin."""
    import argparse
    parser = argparse.ArgumentParser(prog="gmpbench _worker")
    add_arguments(parser, job_required=True)
    for line in sys.stdin:
        if line.strip():
            yield parser.parse_args(json.loads(line))


def _prepare(args) -> list:
    from ..engines import engine_of
    from ..workload import WorkloadError, load_workload
    from .cases import UsageError, prepare_case
    wl = load_workload(args.workload)
    params = json.loads(args.params)
    prepared = [prepare_case(wl, params, args.procs, text) for text in args.policy]
    if prepared[0].case.workload_hash != args.workload_hash:
        raise WorkloadError(args.workload, None, "", "the file changed during the run")
    if len(prepared) > 1 and (args.schedtrace or args.trace or
                              any(engine_of(p.policy.name) == "go" for p in prepared)):
        raise UsageError("a worker runs policy 'go', --schedtrace or --trace with one policy")
    return prepared


def _measure_port(prepared: list, args) -> list[tuple[list, list, dict]]:
    """(warm-ups, runs, schedule) per policy."""
    from ..runtime import load_core
    from .measure import measure, measure_interleaved
    load_core()
    if args.schedtrace or args.trace:
        warm, runs = measure(prepared[0], values=args.values, warmups=args.warmups,
                             schedtrace=args.schedtrace, trace=args.trace)
        return [(warm, runs, {})]
    got = measure_interleaved(prepared, values=args.values, warmups=args.warmups,
                              min_time=args.min_time, max_values=args.max_values,
                              seed=args.seed)
    return [(got.warmups[i], got.runs[i],
             {"worker": args.worker_id, "blocks": got.blocks[i],
              "positions": got.positions[i], "calibrated": got.calibrated})
            for i in range(len(prepared))]


def _measure_go(prepared: list, args) -> list[tuple[list, list, dict]]:
    from ..engines.golang.run import measure_go
    (one,) = prepared
    go = measure_go(one, values=args.values, warmups=args.warmups,
                    schedtrace=args.schedtrace)
    one.case.go_version = go.go_version
    return [(go.warmups, go.runs, {"worker": args.worker_id})]


def run_worker(args) -> int:
    from ..runtime import load_core
    if args.jobs_from_stdin:
        load_core()                     # while the parent is still getting ready
        for job in _jobs_from_stdin():
            status = run_job(job)
            if status != EXIT_OK:
                return status
            print(DONE_LINE, flush=True)
        return EXIT_OK
    if args.workload is None:
        print("gmpbench _worker: the job's arguments are missing", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run_job(args)


def run_job(args) -> int:
    """One job: measure, write the results file; the exit status."""
    from ..report.results import Results, write_results
    from ..runtime import CORE_HASH
    from ..runtime.threads import RunError, RunInterrupted
    from .measure import make_process
    prepared = _prepare(args)
    start = time.monotonic()
    engine = _measure_go if prepared[0].policy.engine == "go" else _measure_port
    try:
        measured = engine(prepared, args)
    except RunInterrupted:
        return EXIT_INTERRUPTED
    except RunError as err:
        print(err, file=sys.stderr)
        return EXIT_RUN_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    results = Results(CORE_HASH)
    # pyperf's "duration" of each case: its share of the job (pyperf sums them over cases)
    duration = (time.monotonic() - start) / len(prepared)
    for one, (warmups, runs, schedule) in zip(prepared, measured):
        results.add_process(one.case, make_process(one.case, CORE_HASH, runs, warmups,
                                                   duration, schedule))
    write_results(args.output, results)
    return EXIT_OK
