"""`work: D`: a fixed amount of computation, the same in both engines.

D is turned into a number of xorshift64 steps (``x ^= x << 13; x ^= x >> 7; x ^= x << 17``)
at the machine's calibrated rate, so a thread that the OS deschedules takes longer in wall time,
as real computation does.  The Go engine runs the same steps with the same rate
(``gmpbench/engines/golang``), so `work` means the same thing on both sides.

The rate is measured once per machine (the fastest of 25 timed runs: on a shared host the slower
runs are those that lost the CPU part of the way) and cached in
``~/.cache/gmpbench/calibration.json`` under the machine's hostname and CPU model.
"""
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from .mem import core, i64

CALIBRATION_STEPS = 400_000
CALIBRATION_RUNS = 25


@core(i64(i64, i64))
def spin(n, x):
    """n xorshift64 steps from state x (made non-zero); returns the final state, never 0, so a
    caller can keep the loop alive by storing it."""
    u = np.uint64(x | 1)
    for _ in range(n):
        u ^= u << np.uint64(13)
        u ^= u >> np.uint64(7)
        u ^= u << np.uint64(17)
    return np.int64(u)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_key() -> str:
    return f"{platform.node()}|{_cpu_model()}"


def _calibration_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gmpbench"
    return base / "calibration.json"


def measure_steps_per_ns() -> float:
    """Time the spin loop now: steps per ns of its fastest run."""
    spin(CALIBRATION_STEPS, 1)          # compile/load and warm
    best = float("inf")
    for i in range(CALIBRATION_RUNS):
        t0 = time.perf_counter_ns()
        spin(CALIBRATION_STEPS, i + 2)
        best = min(best, time.perf_counter_ns() - t0)
    return CALIBRATION_STEPS / max(best, 1)


def steps_per_ns() -> float:
    """The machine's calibrated rate (measured and cached on first use)."""
    path = _calibration_file()
    key = machine_key()
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    entry = table.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("steps_per_ns"), float):
        return entry["steps_per_ns"]
    rate = measure_steps_per_ns()
    table[key] = {"steps_per_ns": rate, "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime())}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return rate


def steps_for(ns: int, rate: float) -> int:
    """Steps for ns of work at rate steps/ns."""
    return int(ns * rate + 0.5)
