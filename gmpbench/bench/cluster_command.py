"""``gmpbench run ... --cluster ADDRESS``: the command's side of a sweep on a cluster (the CLI
hands ``run`` over here when --cluster is given; the sweep itself is bench.cluster).

The same input, output and exit statuses as ``gmpbench run`` on one machine: bad input (and
--cluster without Dask installed, or an address that cannot be reached) exits 2 before anything
runs; the results file is written as cases finish; a failed case exits 1 with its message, its
dump and the finished cases saved; Ctrl-C exits 130 with the finished cases saved.
"""
from __future__ import annotations

import sys
import time

from .cases import UsageError


class ClusterProgress:
    """The progress line on stderr, rewritten in place (a terminal only)."""

    def __init__(self, address: str):
        self.address = address

    def __call__(self, text: str | None) -> None:
        import shutil
        line = "" if text is None else f"[{self.address}] {text}"
        width = shutil.get_terminal_size().columns - 1     # one line, or \r cannot rewrite it
        sys.stderr.write("\r\033[K" + (line if len(line) <= width else line[:width - 1] + "…"))
        sys.stderr.flush()


def _reject_single_run_options(args) -> None:
    for flag, value in (("--schedtrace", args.schedtrace), ("--trace", args.trace)):
        if value:
            raise UsageError(f"{flag} shows one run here, as it happens; run it without "
                             f"--cluster")


def _settings(args):
    from .runner import settings_for
    mode = "fast" if args.fast else "rigorous" if args.rigorous else "normal"
    return settings_for(mode, args.processes, args.values, args.warmups)


def time_line(split: dict, nodes: int, prepare: float) -> str:
    """The end-of-sweep line: wall time, and the cases' own running time summed over nodes."""
    return (f"time: {split['total']:.1f}s on {nodes} node(s); the cases ran "
            f"{split['running']:.1f}s of runs in all (values {split['values']:.1f}s, warm-ups "
            f"{split['warmups']:.1f}s) in {split['processes']} worker process(es); node "
            f"preparation {prepare:.1f}s")


def cmd_run_cluster(args) -> int:
    from ..cli import (EXIT_INTERRUPTED, EXIT_OK, _default_output, _err, _run_info)
    from ..report import render_report, write_results
    from ..runtime import CORE_HASH
    from .cases import load_groups
    from .cluster import ClusterRunner, close, connect
    from .runner import WorkerFailed, time_split
    started = time.monotonic()
    _reject_single_run_options(args)
    groups = load_groups(args.workloads, args.policy, args.procs, args.param)
    path = args.output or _default_output(groups)
    client, cluster = connect(args.cluster)
    show = ClusterProgress(args.cluster) if (not args.quiet and sys.stdout.isatty() and
                                             sys.stderr.isatty()) else None
    runner = ClusterRunner(client, args.cluster, groups, _settings(args), CORE_HASH,
                           output=path, show=show, report=_err, info=_run_info(args.argv))
    status = EXIT_OK
    try:
        runner.run()
        runner.results.info["interrupted"] = False
    except KeyboardInterrupt:
        runner.results.info["interrupted"] = True
        _err("gmpbench: interrupted: the queued cases are cancelled, the finished ones kept")
        status = EXIT_INTERRUPTED
    except WorkerFailed as failure:
        runner.results.info["interrupted"] = True
        _err(failure.message())
        status = failure.exit_status
    finally:
        close(client, cluster)
    results = runner.results
    if not results.measured():
        _err("gmpbench: nothing finished, nothing saved")
        return status if status != EXIT_OK else EXIT_INTERRUPTED
    split = time_split(results, time.monotonic() - started, runner.started_workers)
    results.info["time"] = split
    write_results(path, results)
    if not args.quiet and status == EXIT_OK:
        print("\n".join(render_report(results, "text", title="gmpbench run")))
    print(f"results: {path}" + ("" if status == EXIT_OK else
                                f" ({len(results.groups())} of {len(groups)} cases finished)"))
    print(time_line(split, len(results.info["cluster"]["nodes"]),
                    sum(runner.prepare_seconds.values())))
    return status
