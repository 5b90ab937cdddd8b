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


def _load_case(args):
    from ..report.results import Case
    from ..workload import WorkloadError, compile_case, load_workload
    from .cases import case_name, file_hash, resolve_policies
    wl = load_workload(args.workload)
    if file_hash(args.workload) != args.workload_hash:
        raise WorkloadError(args.workload, None, "", "the file changed during the run")
    params = json.loads(args.params)
    program = compile_case(wl, params)
    (policy,) = resolve_policies([args.policy], wl)
    case = Case(case_name(wl.name, params, args.procs, policy.name), wl.name, args.workload,
                args.workload_hash, params, args.procs, policy.name, policy.knob_map(),
                wl.ops_value(params))
    return wl, program, policy, case


def _process_metadata(case, core_hash: str, values, warmups, duration: float) -> dict:
    """pyperf's system metadata for this process (date, CPU, load...), as pyperf collects it."""
    import pyperf
    meta = dict(case.pyperf_metadata(core_hash), duration=duration)
    run = pyperf.Run(values, warmups=[(1, w) for w in warmups] or None, metadata=meta)
    return run.get_metadata()


def run_worker(args) -> int:
    from ..report.results import MIN_VALUE, Process, Results, write_results
    from ..runtime import CORE_HASH, load_core
    from ..runtime.threads import RunError, RunInterrupted
    from .measure import measure
    wl, program, policy, case = _load_case(args)
    load_core()
    start = time.monotonic()
    try:
        warmups, runs = measure(program, args.procs, policy.knobs, values=args.values,
                                warmups=args.warmups, timeout=wl.timeout,
                                max_threads=wl.max_threads, schedtrace=args.schedtrace)
    except RunInterrupted:
        return EXIT_INTERRUPTED
    except RunError as err:
        print(err, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    values = [max(run.wall_time, MIN_VALUE) for run in runs]
    metadata = _process_metadata(case, CORE_HASH, values, warmups, time.monotonic() - start)
    results = Results(CORE_HASH)
    results.add_process(case, Process(runs, warmups, metadata))
    write_results(args.output, results)
    return 0
