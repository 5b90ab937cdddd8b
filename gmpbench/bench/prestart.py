"""Starting worker processes (bench.worker): their command, their environment, and a worker
started before its job is known.  Light on imports: the CLI starts the first worker before it
imports anything heavy, so that the worker loads the core while the CLI reads its input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def worker_env() -> dict:
    """The environment of a worker: this gmpbench importable even when not installed."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


WORKER = [sys.executable, "-m", "gmpbench", "_worker"]


class PrestartedWorker:
    """A worker process started before its job is known (``_worker --job-from-stdin``): it
    loads the core while the parent reads its input, then takes the first job."""

    def __init__(self):
        self.proc = subprocess.Popen(WORKER + ["--job-from-stdin"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=worker_env())

    def take(self) -> subprocess.Popen:
        """The process, for its first job: send it as ``job_input(args)`` with communicate()."""
        proc, self.proc = self.proc, None
        return proc

    def discard(self) -> None:
        """Stop it if it never got a job (bad input, Ctrl-C)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None


def job_input(args: list[str]) -> str:
    """What a prestarted worker reads on stdin: its arguments (those after ``_worker``)."""
    return json.dumps(args) + "\n"


def prestart_worker() -> PrestartedWorker | None:
    """A worker for the first job, when the core's cache is warm (a cold core is compiled once,
    by the CLI, before any worker starts)."""
    from ..runtime import cache_dir
    if not (cache_dir() / "complete").exists():
        return None
    return PrestartedWorker()
