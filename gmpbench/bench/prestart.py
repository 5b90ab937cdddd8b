"""Starting worker processes (bench.worker): their command, their environment, and a worker that
serves job after job.  Light on imports: the CLI starts the first worker before it imports
anything heavy, so that the worker loads the core while the CLI reads its input."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path


def worker_env() -> dict:
    """The environment of a worker: this gmpbench importable even when not installed."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


WORKER = [sys.executable, "-m", "gmpbench", "_worker"]
DONE_LINE = "gmpbench-worker: job done"         # bench.worker.DONE_LINE (not imported: light)


class JobWorker:
    """A worker process serving jobs one after another (``_worker --jobs-from-stdin``): it
    loads the core as soon as it starts, then runs each job sent with ``send`` and says when it
    is done.  Its stderr goes to a temporary file (read with ``error_text`` when it fails), its
    stdout to a thread that hands its lines over."""

    def __init__(self):
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.proc = subprocess.Popen(WORKER + ["--jobs-from-stdin"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     env=worker_env())
        self._lines: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)                   # end of output: the worker has exited

    def send(self, args: list[str]) -> None:
        """Start a job: ``args`` are the worker's arguments (those after ``_worker``)."""
        self.proc.stdin.write(json_line(args))
        self.proc.stdin.flush()

    def wait(self, timeout: float) -> int:
        """0 when the job is done; otherwise the worker's exit status (it stops at a failed
        job).  Raises subprocess.TimeoutExpired after ``timeout`` seconds."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise subprocess.TimeoutExpired(WORKER, timeout) from None
            if line == DONE_LINE:
                return 0
            if line is None:
                return self.proc.wait()

    def error_text(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def close(self) -> None:
        """No more jobs: the worker exits."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    discard = kill          # a prestarted worker that never got a job (bad input, Ctrl-C)


def json_line(args: list[str]) -> str:
    """What a worker reads on stdin per job: its arguments (those after ``_worker``)."""
    return json.dumps(args) + "\n"


def prestart_worker() -> JobWorker | None:
    """A worker for the first jobs, when the core's cache is warm (a cold core is compiled once,
    by the CLI, before any worker starts)."""
    from ..runtime import cache_warm
    if not cache_warm():
        return None
    return JobWorker()
