"""The ``gmpbench`` command: argument parsing, dispatch, and all the printing.

Exit status: bench/status.py's EXIT_* (README, "Running workloads").
Heavy modules (numba, scipy, matplotlib) are imported by the commands that need them, so
``validate`` and bad input answer at once.
"""
from __future__ import annotations

import argparse
import sys

from .bench.status import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUN_FAILED

COMMANDS = ("run", "compare", "report", "validate", "policies", "disasm", "doctor")


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _emit(lines: list[str], output: str | None) -> None:
    """Print report lines, or write them to ``output`` (atomically)."""
    text = "\n".join(lines) + "\n"
    if output:
        from .report.results import atomic_write
        atomic_write(output, text)
        _err(f"wrote {output}")
    else:
        sys.stdout.write(text)


# --- run -------------------------------------------------------------------------------------

class Progress:
    """One line on stderr, rewritten in place: case i of n, policy, process k of K."""

    def __call__(self, step) -> None:
        if step is None:
            text = ""
        else:
            text = (f"case {step.group_index}/{step.groups}  {step.group}  "
                    f"policy={step.policy}  process {step.process}/{step.processes}")
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()


def _case_header(step) -> None:
    """With --schedtrace: which case the SCHED lines that follow belong to."""
    if step is not None:
        print(f"# {step.group}/policy={step.policy}", flush=True)


def _schedtrace_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    from .bench.cases import UsageError
    from .workload import parse_duration
    try:
        ns = parse_duration(text)
    except (ValueError, TypeError) as err:
        raise UsageError(f"--schedtrace {text!r}: {err}") from None
    if ns <= 0:
        raise UsageError(f"--schedtrace {text!r}: must be longer than 0 (e.g. 100ms)")
    return ns / 1e9


def _trace_path(text: str | None, groups) -> str | None:
    """--trace FILE.json: the file's absolute path (the worker writes it), for one case only."""
    if text is None:
        return None
    from .bench.cases import UsageError
    if any(p.engine == "go" for g in groups for p in g.policies):
        raise UsageError("--trace records the port's execution trace; policy 'go' has none "
                         "(Go's own is runtime/trace, read with `go tool trace`)")
    cases = [g.case_name(p) for g in groups for p in g.policies]
    if len(cases) != 1:
        raise UsageError(f"--trace records one run of one case, but this command has "
                         f"{len(cases)} cases ({', '.join(cases[:3])}"
                         f"{', ...' if len(cases) > 3 else ''}): choose one with --procs, "
                         f"--policy or --param")
    import os
    return os.path.abspath(text)


def _default_output(groups) -> str:
    import os
    from datetime import datetime, timezone
    names = "+".join(dict.fromkeys(g.workload.name for g in groups))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join("results", f"{names}-{stamp}.json")
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join("results", f"{names}-{stamp}-{n}.json")
    return path


def _load_core_verbosely() -> None:
    from .bench.measure import ensure_core
    seconds, compiled = ensure_core(notify=lambda message: _err(f"gmpbench: {message}"))
    if compiled:
        _err(f"gmpbench: compiled the scheduler core in {seconds:.1f}s (cached for next time)")


def _build_go_programs(groups) -> None:
    """Translate and build (or find in the cache) the Go program of every case of policy
    ``go`` before any run, so that a build failure stops the command at once."""
    from .engines.golang.build import build, is_built
    from .engines.golang.translate import translate
    for group in groups:
        if any(p.engine == "go" for p in group.policies):
            source = translate(group.workload, group.params)
            if not is_built(source):
                _err(f"gmpbench: building the Go program of {group.name} (cached for next time)")
            build(source)


def _run_info(argv) -> dict:
    from datetime import datetime, timezone

    from . import __version__
    return {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["gmpbench", *argv]), "gmpbench_version": __version__}


def _runner(args, groups, schedtrace, trace, prestarted):
    from .bench.runner import SCHEDTRACE, TRACE, Runner, settings_for
    from .runtime import CORE_HASH
    mode = "fast" if args.fast else "rigorous" if args.rigorous else "normal"
    if schedtrace or trace:
        settings = SCHEDTRACE if schedtrace else TRACE
    else:
        settings = settings_for(mode, args.processes, args.values, args.warmups)
    if schedtrace:
        progress = _case_header
    elif not args.quiet and sys.stdout.isatty() and sys.stderr.isatty():
        progress = Progress()
    else:
        progress = None
    return Runner(groups, settings, CORE_HASH, progress=progress, schedtrace=schedtrace,
                  info=_run_info(args.argv), prestarted=prestarted, trace=trace)


def cmd_run(args) -> int:
    if args.cluster:                    # whole cases on the nodes of a cluster
        from .bench.cluster_command import cmd_run_cluster
        return cmd_run_cluster(args)
    import time
    started = time.monotonic()
    schedtrace = _schedtrace_seconds(args.schedtrace)
    from .bench.prestart import prestart_worker
    prestarted = None if schedtrace else prestart_worker()    # loads the core meanwhile
    from .bench.cases import load_groups
    from .bench.runner import WorkerFailed, split_line, time_split
    from .engines.golang.build import GoBuildError
    from .report import render_report, write_results
    try:
        groups = load_groups(args.workloads, args.policy, args.procs, args.param)
        trace = _trace_path(args.trace, groups)
        _build_go_programs(groups)
        _load_core_verbosely()
        runner = _runner(args, groups, schedtrace, trace, prestarted)
        try:
            runner.run()
        except KeyboardInterrupt:
            runner.results.info["interrupted"] = True
            _err("gmpbench: interrupted")
        except WorkerFailed as failure:
            _err(failure.message())
            return failure.exit_status
    except GoBuildError as err:
        _err(f"gmpbench run: {err}")
        return EXIT_RUN_FAILED
    finally:
        if prestarted is not None:
            prestarted.discard()
    results = runner.results
    if not results.measured():
        _err("gmpbench: nothing finished, nothing saved")
        return EXIT_INTERRUPTED
    # A traced run's timings include the tracing: saved only when asked for with -o.
    path = args.output or (None if trace else _default_output(groups))
    results.info["time"] = time_split(results, time.monotonic() - started,
                                      runner.started_workers)
    if path:
        write_results(path, results)
    if not args.quiet:
        print("\n".join(render_report(results, "text", title="gmpbench run")))
    if path:
        print(f"results: {path}")
    if not schedtrace and not trace:
        print(split_line(time_split(results, time.monotonic() - started,
                                    runner.started_workers)))
    if trace:
        print(f"trace: {trace} (open it in https://ui.perfetto.dev or chrome://tracing)")
    return EXIT_INTERRUPTED if results.info.get("interrupted") else EXIT_OK


# --- reports ---------------------------------------------------------------------------------

def cmd_report(args) -> int:
    from .report import read_results, render_report
    results = read_results(args.results)
    _emit(render_report(results, args.format, args.baseline,
                        title=f"gmpbench report: {args.results}"), args.output)
    return EXIT_OK


def cmd_compare(args) -> int:
    from .report import read_results, render_compare
    from .report.document import comparison_warnings
    old, new = read_results(args.old), read_results(args.new)
    lines = render_compare(old, new, args.format,
                           title=f"gmpbench compare: {args.old} -> {args.new}")
    if args.format != "text" or args.output:        # text on a terminal shows them itself
        for warning in comparison_warnings(old, new):
            _err(f"WARNING: {warning}")
    _emit(lines, args.output)
    return EXIT_OK


# --- workloads -------------------------------------------------------------------------------

def cmd_validate(args) -> int:
    from .bench.cases import UsageError, validate_lines
    from .workload import WorkloadError
    status = EXIT_OK
    for path in args.workloads:
        try:
            print("\n".join(validate_lines(path)))
        except (WorkloadError, UsageError) as err:
            _err(str(err))
            status = EXIT_BAD_INPUT
    return status


def cmd_policies(args) -> int:
    from .report.listing import policy_lines
    print("\n".join(policy_lines()))
    return EXIT_OK


def cmd_disasm(args) -> int:
    from .bench.cases import parse_param_args
    from .workload import compile_case, disasm, expand_cases, load_workload
    wl = load_workload(args.workload)
    for params in expand_cases(wl, parse_param_args(args.param)):
        label = " ".join(f"{k}={v}" for k, v in params.items())
        if args.go:
            from .engines.golang.translate import translate
            print(translate(wl, params))
            continue
        print(f"# {wl.name} {label}".rstrip())
        print("\n".join(disasm(compile_case(wl, params))))
    return EXIT_OK


def cmd_doctor(args) -> int:
    from .doctor import doctor_lines

    def progress(i, comp):
        if not args.quiet:
            _err(f"gmpbench doctor: A/A {i}/{args.aa}: ratio {comp.ratio:.3f}, p "
                 f"{comp.p_value:.3f}, {comp.verdict}")
    lines, status = doctor_lines(args.aa, progress)
    print("\n".join(lines))
    return status


def cmd_worker(args) -> int:
    from .bench.worker import run_worker
    return run_worker(args)


# --- parser ----------------------------------------------------------------------------------

def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run workloads under policies, save and print the results",
                       description="Run every case (workload x params x procs x policy) in "
                       "fresh worker processes, policies interleaved.")
    p.add_argument("workloads", nargs="+", metavar="WORKLOAD.yaml")
    p.add_argument("--policy", action="append", metavar="NAME[,k=v...]",
                   help="policy to run (repeatable; 'a,b' runs a and b; 'a,knob=1' sets a "
                   "knob of a); default baseline; see 'gmpbench policies'")
    p.add_argument("--procs", metavar="N[,N...]", help="GOMAXPROCS values (default: the "
                   "workload's procs:)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE[,VALUE...]",
                   help="replace the values of a param (repeatable)")
    p.add_argument("-o", "--output", metavar="FILE.json",
                   help="results file (default results/<workload>-<UTC time>.json)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--fast", action="store_true", help="2 processes per case, each "
                      "measuring >= 0.5s per policy (>= 2 values per policy)")
    mode.add_argument("--rigorous", action="store_true", help="8 processes per case, each "
                      "measuring >= 3s per policy (>= 6 values per policy)")
    p.add_argument("-p", "--processes", type=_positive, help="worker processes per case "
                   "(default 4)")
    p.add_argument("-n", "--values", type=_positive, help="measured runs per policy and "
                   "process (default: at least 4, more until the process measured 1.5s per "
                   "policy; with -n exactly N)")
    p.add_argument("-w", "--warmups", type=_non_negative, help="warm-up runs per process "
                   "(default 1)")
    p.add_argument("--schedtrace", metavar="DURATION", help="print Go's SCHED lines every "
                   "DURATION (one process, one run per case)")
    p.add_argument("--trace", metavar="FILE.json", help="record an execution trace of one run "
                   "of one case (Chrome trace JSON, for Perfetto); no results file unless -o")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line, no summary")
    p.add_argument("--cluster", metavar="ADDRESS|local:N", help="run whole cases on the nodes "
                   "of a Dask cluster (scheduler ADDRESS), one case per node at a time; local:N "
                   "starts N workers here (docs/cluster.md; pip install 'gmpbench[cluster]')")
    p.set_defaults(func=cmd_run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def _add_reports(sub) -> None:
    from .report import COMPARE_FORMATS, REPORT_FORMATS
    p = sub.add_parser("report", help="the policies of each case beside the baseline")
    p.add_argument("results", metavar="RESULTS.json")
    p.add_argument("--baseline", metavar="POLICY", help="reference policy (default baseline)")
    p.add_argument("--format", choices=REPORT_FORMATS, default="text")
    p.add_argument("-o", "--output", metavar="FILE")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("compare", help="two results files, case by case")
    p.add_argument("old", metavar="OLD.json")
    p.add_argument("new", metavar="NEW.json")
    p.add_argument("--format", choices=COMPARE_FORMATS, default="text")
    p.add_argument("-o", "--output", metavar="FILE")
    p.set_defaults(func=cmd_compare)


def _add_workload_commands(sub) -> None:
    p = sub.add_parser("validate", help="check workload files (load, policies, compile)")
    p.add_argument("workloads", nargs="+", metavar="WORKLOAD.yaml")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("policies", help="list the policy presets and knobs")
    p.set_defaults(func=cmd_policies)
    p = sub.add_parser("disasm", help="print the compiled program of a workload")
    p.add_argument("workload", metavar="WORKLOAD.yaml")
    p.add_argument("--param", action="append", metavar="KEY=VALUE[,VALUE...]")
    p.add_argument("--go", action="store_true", help="print the Go program that policy 'go' "
                   "builds instead (docs/go-engine.md)")
    p.set_defaults(func=cmd_disasm)
    p = sub.add_parser("doctor", help="is this machine fit to benchmark on? (checks and a "
                       "short A/A run)", description="Check the CPU governor and turbo, other "
                       "load, SMT, timer slack, isolcpus/taskset and ASLR, then run a short A/A "
                       "comparison (--fast, the same scheduler under two names) and report its "
                       "false-verdict rate.  Exit status 1 when that rate is too high.")
    p.add_argument("--aa", type=_non_negative, default=5, metavar="N",
                   help="A/A repetitions (default 5, ~10s each; 0 skips the run)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_doctor)


def parser() -> argparse.ArgumentParser:
    from .bench.worker import add_arguments
    top = argparse.ArgumentParser(prog="gmpbench", description="A workbench for Go's G-M-P "
                                  "scheduler: proc.go on real OS threads, driven by YAML "
                                  "workloads.")
    sub = top.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}",
                             required=True)
    _add_run(sub)
    _add_reports(sub)
    _add_workload_commands(sub)
    worker = sub.add_parser("_worker")        # hidden: one worker process of 'run'
    add_arguments(worker)
    worker.set_defaults(func=cmd_worker)
    return top


def _bad_input_errors() -> tuple:
    """The exceptions that mean bad input (exit 2); imported only when one is raised, so that
    a command's first step (say, starting a worker) does not wait for these modules."""
    from .bench.cases import UsageError
    from .engines.golang.build import GoMissing
    from .report.results import ResultsError
    from .runtime.policy import PolicyError
    from .workload import WorkloadError
    return WorkloadError, UsageError, PolicyError, ResultsError, GoMissing


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _err("gmpbench: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()          # output piped into `head`: not an error
        return EXIT_OK
    except Exception as err:
        # bad input, or an OSError such as -o in a directory that cannot be written
        if not isinstance(err, _bad_input_errors() + (OSError,)):
            raise
        _err(f"gmpbench {args.command}: {err}")
        return EXIT_BAD_INPUT
