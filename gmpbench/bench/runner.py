"""The runner of ``gmpbench run``: worker processes, policies interleaved, results merged.

pyperf's Runner runs the worker processes of one benchmark in a block; gmpbench needs the
policies of a case to see the same machine conditions, so it spawns the workers itself.  Each
worker process of a group runs *every* port policy of the group, alternating run by run in
counterbalanced blocks (bench.measure.measure_interleaved), so that the policies share the
process's memory layout and its minute of host noise, and one process start serves them all.
Policy ``go`` runs in processes of its own (the Go program's); in each round the group's port
job and go job run in a seeded random order, reversed the next round (ABBA).  The seed and the
scheme are recorded in the results' info.

A run goes by rounds: round k makes the k-th process of every group, groups in turn (in reverse
order every other round).  One worker process serves a whole round, job after job
(bench.prestart.JobWorker), so a sweep starts as many Python processes as it has rounds, not one
per case and process; a group's processes still come from different worker processes, minutes
apart.  Each job writes a results file that is merged into ``Runner.results``, which therefore
always holds exactly the processes that finished (what Ctrl-C saves).
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import tempfile
from dataclasses import asdict, dataclass

from ..report.results import Results, read_results
from .cases import Group, Policy
from .prestart import WORKER, JobWorker, worker_env
from .status import EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED

STOP_GRACE = 10.0          # s a worker gets to stop its threads after Ctrl-C
WORKER_OVERHEAD = 120.0    # s allowed beyond the runs themselves (start-up, loading the core)


@dataclass(frozen=True)
class Settings:
    """How much to measure: like pyperf, processes x values, after warm-up runs, with
    calibration: a process keeps taking values (blocks of alternating runs) until it has spent
    min_time seconds per policy on them (each run's set-up included), up to max_values."""

    mode: str
    processes: int
    values: int
    warmups: int
    min_time: float = 0.0
    max_values: int | None = None


MODES = {
    "fast": Settings("fast", processes=2, values=2, warmups=1, min_time=0.5, max_values=100),
    "normal": Settings("normal", processes=4, values=4, warmups=1, min_time=1.5,
                       max_values=200),
    "rigorous": Settings("rigorous", processes=8, values=6, warmups=1, min_time=3.0,
                         max_values=400),
}
# --schedtrace: one process, one run, its lines shown as they come
SCHEDTRACE = Settings("schedtrace", processes=1, values=1, warmups=0)
# --trace: one process, one traced run
TRACE = Settings("trace", processes=1, values=1, warmups=0)
ORDER_SCHEME = ("the port policies of a group alternate run by run inside each worker process, "
                "in blocks ordered ABBA (a seeded random permutation, then its reverse); policy "
                "go runs in its own processes, started before or after the port's in a seeded "
                "random order reversed every round")


def settings_for(mode: str, processes=None, values=None, warmups=None) -> Settings:
    """A mode's settings; -n (values) fixes the values per process (no calibration)."""
    base = MODES[mode]
    calibrate = values is None
    return Settings(mode, processes or base.processes, values or base.values,
                    base.warmups if warmups is None else warmups,
                    base.min_time if calibrate else 0.0,
                    base.max_values if calibrate else None)


@dataclass
class Step:
    """Where the run is, for a progress display."""

    group_index: int           # 1-based
    groups: int
    group: str
    policy: str                # the policy, or "N policies" for a process running several
    process: int               # 1-based
    processes: int


def policy_label(policies: list[Policy]) -> str:
    return policies[0].name if len(policies) == 1 else f"{len(policies)} policies"


class WorkerFailed(Exception):
    """A worker that did not deliver: its run failed (EXIT_RUN_FAILED) or its input was bad
    (EXIT_BAD_INPUT); any other status is a crash, reported as a failed run."""

    def __init__(self, case: str, status: int, text: str):
        self.case = case
        self.status = status
        self.text = text.rstrip()
        super().__init__(self.message())

    @property
    def exit_status(self) -> int:
        return EXIT_BAD_INPUT if self.status == EXIT_BAD_INPUT else EXIT_RUN_FAILED

    def message(self) -> str:
        if self.status in (EXIT_RUN_FAILED, EXIT_BAD_INPUT):
            return self.text
        how = f"was killed by signal {-self.status}" if self.status < 0 else \
            f"exited with status {self.status}"
        return f"the worker running {self.case} {how}" + (f":\n{self.text}" if self.text else "")


def worker_command(group: Group, policies: list[Policy], settings: Settings, output: str,
                   schedtrace: float | None, trace: str | None = None, *, seed: int = 0,
                   worker_id: int | None = None) -> list[str]:
    cmd = WORKER + [
           "--workload", group.workload.source, "--workload-hash", group.workload_hash,
           "--params", json.dumps(group.params), "--procs", str(group.procs),
           *(arg for p in policies for arg in ("--policy", p.name)),
           "--values", str(settings.values),
           "--warmups", str(settings.warmups), "--output", output, "--seed", str(seed)]
    if settings.min_time:
        cmd += ["--min-time", repr(settings.min_time * len(policies))]
    if settings.max_values:
        cmd += ["--max-values", str(settings.max_values)]
    if worker_id is not None:
        cmd += ["--worker-id", str(worker_id)]
    if schedtrace:
        cmd += ["--schedtrace", repr(schedtrace)]
    if trace:
        cmd += ["--trace", trace]
    return cmd


def _stop(proc: subprocess.Popen) -> None:
    """After Ctrl-C: let the worker stop its threads (it got SIGINT too, from the terminal, but
    perhaps not when the signal was sent to this process alone), then kill it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Runner:
    def __init__(self, groups: list[Group], settings: Settings, core_hash: str, *,
                 progress=None, schedtrace: float | None = None, info: dict | None = None,
                 prestarted: JobWorker | None = None, trace: str | None = None,
                 seed: int | None = None):
        self.prestarted = prestarted    # serves the first round, if given
        self.worker: JobWorker | None = None
        self.started_workers = 0
        self.groups = groups
        self.settings = settings
        self.progress = progress or (lambda step: None)
        self.schedtrace = schedtrace
        self.trace = trace              # path for the execution trace (one case only)
        self.seed = random.SystemRandom().randrange(1 << 31) if seed is None else seed
        info = dict(info or {}, settings=asdict(settings), interrupted=False,
                    order={"seed": self.seed, "scheme": ORDER_SCHEME, "jobs": []})
        self.results = Results(core_hash, info=info)

    def _jobs(self, group: Group) -> list[list[Policy]]:
        """The worker jobs of one round of a group: all port policies together, go alone;
        with --schedtrace or --trace every policy alone."""
        if self.schedtrace or self.trace:
            return [[p] for p in group.policies]
        port = [p for p in group.policies if p.engine != "go"]
        return ([port] if port else []) + [[p] for p in group.policies if p.engine == "go"]

    def steps(self):
        """(Step, group, policies, seed) in run order: by rounds (round k makes the k-th process
        of every group), groups in turn, reversed every other round; in each round of a group
        its jobs in a seeded random order, reversed the next round."""
        n = self.settings.processes
        rng = random.Random(self.seed)
        jobs = [self._jobs(group) for group in self.groups]
        orders = [list(range(len(j))) for j in jobs]
        indexed = list(enumerate(self.groups, 1))
        for k in range(1, n + 1):
            for gi, group in (indexed if k % 2 else indexed[::-1]):
                order = orders[gi - 1]
                if self.schedtrace or self.trace:
                    pass
                elif k % 2:
                    rng.shuffle(order)
                else:
                    order.reverse()
                for j in order:
                    policies = jobs[gi - 1][j]
                    step = Step(gi, len(self.groups), group.name, policy_label(policies), k, n)
                    yield step, group, policies, rng.randrange(1 << 31)

    def run(self) -> Results:
        """Run every step; raises WorkerFailed or KeyboardInterrupt (``results`` then holds
        what finished)."""
        try:
            with tempfile.TemporaryDirectory(prefix="gmpbench-") as tmp:
                round_ = None
                for i, (step, group, policies, seed) in enumerate(self.steps()):
                    if step.process != round_:          # a new round: a fresh worker process
                        round_ = step.process
                        self._next_worker()
                    self.progress(step)
                    self.results.info["order"]["jobs"].append(     # job id = list index
                        [group.name, [p.name for p in policies], seed])
                    self._run_job(group, policies, os.path.join(tmp, f"job-{i}.json"),
                                  seed, i)
        finally:
            self.progress(None)         # the end: a progress display clears its line
            self._end_worker()
            self._plan_order()
        return self.results

    def _plan_order(self) -> None:
        """The cases in the order of the command line (groups, then policies), whatever order
        their processes ran in: reports show the policies as they were asked for."""
        cases = self.results.cases
        order = [g.case_name(p) for g in self.groups for p in g.policies]
        self.results.cases = {**{n: cases[n] for n in order if n in cases},
                              **{n: c for n, c in cases.items() if n not in order}}

    def _next_worker(self) -> None:
        self._end_worker()
        if self.schedtrace:
            return                      # one process per job, its stdout shown
        self.worker, self.prestarted = self.prestarted or JobWorker(), None
        self.started_workers += 1

    def _end_worker(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def _time_limit(self, group: Group, policies: list[Policy]) -> float:
        blocks = self.settings.values + self.settings.warmups + 2
        return (group.workload.timeout * blocks * len(policies) + self.settings.min_time +
                WORKER_OVERHEAD)

    def _run_job(self, group: Group, policies: list[Policy], output: str, seed: int,
                 job_id: int) -> None:
        cmd = worker_command(group, policies, self.settings, output, self.schedtrace,
                             self.trace, seed=seed, worker_id=job_id)
        limit = self._time_limit(group, policies)
        name = group.case_name(policies[0]) if len(policies) == 1 else \
            f"{group.name} ({', '.join(p.name for p in policies)})"
        if self.worker is None:
            status, err = self._run_alone(cmd, limit, name)
        else:
            status, err = self._run_in_worker(cmd, limit, name)
        if status != EXIT_OK:
            raise WorkerFailed(name, status, err)
        done = read_results(output)
        for case in done.cases.values():
            for process in case.processes:
                self.results.add_process(case, process)

    def _run_in_worker(self, cmd: list[str], limit: float, name: str) -> tuple[int, str]:
        worker = self.worker
        try:
            worker.send(cmd[len(WORKER):])
            status = worker.wait(limit)
        except KeyboardInterrupt:
            _stop(worker.proc)
            raise
        except subprocess.TimeoutExpired:
            worker.kill()
            self.worker = None
            text = f"the worker running {name} did not finish within {limit:.0f}s and was killed"
            raise WorkerFailed(name, EXIT_RUN_FAILED, f"{text}\n{worker.error_text()}") from None
        except BrokenPipeError:
            status = worker.proc.wait()
        if status != EXIT_OK:
            err = worker.error_text()
            self.worker = None
            return status, err
        return EXIT_OK, ""

    def _run_alone(self, cmd: list[str], limit: float, name: str) -> tuple[int, str]:
        """A one-job worker whose stdout is shown (--schedtrace)."""
        self.started_workers += 1
        proc = subprocess.Popen(cmd, stdout=None, stderr=subprocess.PIPE, text=True,
                                env=worker_env())
        try:
            _, err = proc.communicate(timeout=limit)
        except KeyboardInterrupt:
            _stop(proc)
            raise
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            text = f"the worker running {name} did not finish within {limit:.0f}s and was killed"
            raise WorkerFailed(name, EXIT_RUN_FAILED, f"{text}\n{err}") from None
        return proc.returncode, err


def time_split(results: Results, total: float, processes: int = 0) -> dict:
    """Where the wall time ``total`` of a run went: running (the runs' own wall times, measured
    values and warm-ups) and overhead (the rest: starting processes, loading the core, building
    each run's state and threads, merging, reporting)."""
    cases = results.measured()
    values = sum(run.wall_time for case in cases for run in case.runs)
    warmups = sum(w for case in cases for proc in case.processes for w in proc.warmups)
    running = values + warmups
    return {"total": total, "running": running, "values": values, "warmups": warmups,
            "overhead": max(total - running, 0.0), "processes": processes}


def split_line(split: dict) -> str:
    """The end-of-run line: the run's wall time, running / overhead."""
    total = split["total"] or 1e-9
    return (f"time: {split['total']:.1f}s = running {split['running']:.1f}s "
            f"({split['running'] / total:.0%}: values {split['values']:.1f}s, warm-ups "
            f"{split['warmups']:.1f}s) + overhead {split['overhead']:.1f}s "
            f"({split['overhead'] / total:.0%}: {split['processes']} worker process(es) started, "
            f"loading the core, building each run's state and threads, reporting)")
