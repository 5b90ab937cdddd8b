"""The resident memory of this process, per run: Linux's VmRSS and VmHWM (its peak).

Writing 5 to /proc/self/clear_refs resets VmHWM to the current RSS (Linux 4.0+), so a worker
that runs many cases measures each run's own peak; where that is refused, the peak is the
process's since it started (getrusage's ru_maxrss), which only ever grows.
"""
from __future__ import annotations

import resource


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss() -> int:
    """Resident bytes now (0 when /proc is unreadable)."""
    return (_status_kb("VmRSS") or 0) * 1024


def reset_peak() -> bool:
    """Start a new peak at the current RSS; False when the kernel refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    """Peak resident bytes since reset_peak (or since the process started)."""
    kb = _status_kb("VmHWM")
    return (kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
