"""The runner of ``gmpbench run``: worker processes, policies interleaved, results merged.

pyperf's Runner runs the worker processes of one benchmark in a block; gmpbench needs the
policies of a case to see the same machine conditions, so it spawns the workers itself, round
robin within each group: process 1 of policy A, process 1 of B, process 2 of A, ...  Each worker
(bench.worker) writes a one-process results file that is merged into ``Runner.results``, which
therefore always holds exactly the processes that finished (what Ctrl-C saves).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from dataclasses import asdict, dataclass

from ..report.results import Results, read_results
from .cases import Group, Policy
from .prestart import WORKER, PrestartedWorker, job_input, worker_env

STOP_GRACE = 10.0          # s a worker gets to stop its threads after Ctrl-C
WORKER_OVERHEAD = 120.0    # s allowed beyond the runs themselves (start-up, loading the core)


@dataclass(frozen=True)
class Settings:
    """How much to measure: like pyperf, processes x values, after warm-up runs."""

    mode: str
    processes: int
    values: int
    warmups: int


MODES = {
    "fast": Settings("fast", processes=2, values=3, warmups=1),
    "normal": Settings("normal", processes=5, values=3, warmups=1),
    "rigorous": Settings("rigorous", processes=10, values=5, warmups=1),
}
# --schedtrace: one process, one run, its lines shown as they come
SCHEDTRACE = Settings("schedtrace", processes=1, values=1, warmups=0)
# --trace: one process, one traced run
TRACE = Settings("trace", processes=1, values=1, warmups=0)


def settings_for(mode: str, processes=None, values=None, warmups=None) -> Settings:
    base = MODES[mode]
    return Settings(mode, processes or base.processes, values or base.values,
                    base.warmups if warmups is None else warmups)


@dataclass
class Step:
    """Where the run is, for a progress display."""

    group_index: int           # 1-based
    groups: int
    group: str
    policy: str
    process: int               # 1-based
    processes: int


class WorkerFailed(Exception):
    """A worker that did not deliver: its run failed (status 1) or its input was bad (2)."""

    def __init__(self, case: str, status: int, text: str):
        self.case = case
        self.status = status
        self.text = text.rstrip()
        super().__init__(self.message())

    @property
    def exit_status(self) -> int:
        return 2 if self.status == 2 else 1

    def message(self) -> str:
        if self.status in (1, 2):
            return self.text
        how = f"was killed by signal {-self.status}" if self.status < 0 else \
            f"exited with status {self.status}"
        return f"the worker running {self.case} {how}" + (f":\n{self.text}" if self.text else "")


def worker_command(group: Group, policy: Policy, settings: Settings, output: str,
                   schedtrace: float | None, trace: str | None = None) -> list[str]:
    cmd = WORKER + [
           "--workload", group.workload.source, "--workload-hash", group.workload_hash,
           "--params", json.dumps(group.params), "--procs", str(group.procs),
           "--policy", policy.name, "--values", str(settings.values),
           "--warmups", str(settings.warmups), "--output", output]
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
                 prestarted: PrestartedWorker | None = None, trace: str | None = None):
        self.prestarted = prestarted    # takes the first job, if given
        self.groups = groups
        self.settings = settings
        self.progress = progress or (lambda step: None)
        self.schedtrace = schedtrace
        self.trace = trace              # path for the execution trace (one case only)
        info = dict(info or {}, settings=asdict(settings), interrupted=False)
        self.results = Results(core_hash, info=info)

    def steps(self):
        """(Step, group, policy) in run order: groups in turn, policies round robin."""
        n = self.settings.processes
        for gi, group in enumerate(self.groups, 1):
            for k in range(1, n + 1):
                for policy in group.policies:
                    yield Step(gi, len(self.groups), group.name, policy.name, k, n), group, policy

    def run(self) -> Results:
        """Run every step; raises WorkerFailed or KeyboardInterrupt (``results`` then holds
        what finished)."""
        try:
            with tempfile.TemporaryDirectory(prefix="gmpbench-") as tmp:
                for i, (step, group, policy) in enumerate(self.steps()):
                    self.progress(step)
                    self._run_worker(group, policy, os.path.join(tmp, f"worker-{i}.json"))
        finally:
            self.progress(None)         # the end: a progress display clears its line
        return self.results

    def _time_limit(self, group: Group) -> float:
        runs = self.settings.values + self.settings.warmups
        return group.workload.timeout * runs + WORKER_OVERHEAD

    def _run_worker(self, group: Group, policy: Policy, output: str) -> None:
        cmd = worker_command(group, policy, self.settings, output, self.schedtrace, self.trace)
        job = None
        if self.prestarted is not None and not self.schedtrace:
            proc, job = self.prestarted.take(), job_input(cmd[len(WORKER):])
            self.prestarted = None
        else:
            shown = None if self.schedtrace else subprocess.PIPE
            proc = subprocess.Popen(cmd, stdout=shown, stderr=subprocess.PIPE, text=True,
                                    env=worker_env())
        try:
            _, err = proc.communicate(input=job, timeout=self._time_limit(group))
        except KeyboardInterrupt:
            _stop(proc)
            raise
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            raise WorkerFailed(group.case_name(policy), 1,
                               f"the worker running {group.case_name(policy)} did not finish "
                               f"within {self._time_limit(group):.0f}s and was killed\n{err}")
        if proc.returncode != 0:
            raise WorkerFailed(group.case_name(policy), proc.returncode, err)
        done = read_results(output)
        for case in done.cases.values():
            for process in case.processes:
                self.results.add_process(case, process)
