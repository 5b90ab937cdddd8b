"""Policies: the knobs of the scheduler, as data handed to the core (never module globals).

A policy is an int64 array indexed by the K_* constants, read on the hot path.  ``baseline`` is
Go's design; each preset is baseline plus a few knob changes (`gmpbench policies`).
Where a knob changes a line of proc.go, its meaning says which function.
"""
from __future__ import annotations

import numpy as np

# name: (default, meaning)
KNOBS = {
    "runnext": (1, "ready()/newproc put the G in runnext (runqput next=true); 0: tail of the local queue"),
    "inherit_time": (1, "a G taken from runnext inherits the time slice (execute inheritTime)"),
    "spinning": (1, "idle Ms spin looking for work before parking (findrunnable); 0: one steal pass, then park"),
    "spin_cap": (1, "findrunnable's cap: do not start spinning when 2*nmspinning >= busy Ps"),
    "steal": (2, "work stealing: 2 half of the victim's queue (runqgrab), 1 one G, 0 never"),
    "steal_rounds": (4, "rounds over all Ps in findrunnable's steal loop"),
    "steal_runnext": (1, "steal the victim's runnext in the last round"),
    "steal_order": (0, "victim order: 0 random coprime walk (stealOrder), 1 sequential from P 1"),
    "runnext_backoff_us": (3, "µs a thief sleeps before stealing runnext from a running P (usleep(3))"),
    "fairness_tick": (61, "schedule() takes one G from the global queue every Nth schedtick; 0 never"),
    "runq_size": (256, "slots used in each local run queue (power of two, <= 256)"),
    "global_batch": (1, "globrunqget takes runqsize/gomaxprocs+1 Gs (1) or a single G (0)"),
    "sysmon": (1, "run the sysmon thread (retake, preemption, periodic netpoll)"),
    "retake_after_us": (0, "retake a P in a syscall only after this long (0: one sysmon tick, as Go)"),
    "preempt_ms": (10, "sysmon preempts a G running longer than this (forcePreemptNS); 0 never"),
    "netpoll_in_findrunnable": (1, "findrunnable polls the network (non-blocking) before stealing"),
    "syscall_fastpath": (1, "exitsyscall tries to reacquire its P / an idle P before exitsyscall0"),
    "centralized": (0, "one global run queue under sched.lock, no local queues (rejected approach 1)"),
    "direct_handoff": (0, "a readied G is handed with an idle P straight to a woken M (rejected approach 2)"),
    "eager_wakeup": (0, "wake an M on every ready while a P is idle, even with spinning Ms (rejected approach 3)"),
    "async_preempt": (0, "0: a `work` statement runs to its end (Go 1.9/1.10 preempts only at calls); "
                         "1: also preempted inside it (Go >= 1.14's asynchronous preemption)"),
    "sysretake": (0, "1: sysmon also retakes a P in a syscall whose time slice is over (Go >= 1.14's "
                     "retake); 0: only one in the same syscall for a whole tick (Go 1.9/1.10)"),
    "timer_slack_ns": (0, "0: leave the kernel's timer slack (50 µs) as Go does; N: set N ns on every "
                          "M, sysmon and the timer thread"),
}
KNOB_NAMES = list(KNOBS)
NKNOBS = len(KNOB_NAMES)

# Index of each knob in the array (the core reads them as compile-time constants).
K_RUNNEXT = 0
K_INHERIT_TIME = 1
K_SPINNING = 2
K_SPIN_CAP = 3
K_STEAL = 4
K_STEAL_ROUNDS = 5
K_STEAL_RUNNEXT = 6
K_STEAL_ORDER = 7
K_RUNNEXT_BACKOFF_US = 8
K_FAIRNESS_TICK = 9
K_RUNQ_SIZE = 10
K_GLOBAL_BATCH = 11
K_SYSMON = 12
K_RETAKE_AFTER_US = 13
K_PREEMPT_MS = 14
K_NETPOLL_IN_FINDRUNNABLE = 15
K_SYSCALL_FASTPATH = 16
K_CENTRALIZED = 17
K_DIRECT_HANDOFF = 18
K_EAGER_WAKEUP = 19
K_ASYNC_PREEMPT = 20
K_SYSRETAKE = 21
K_TIMER_SLACK_NS = 22
assert all(globals()["K_" + n.upper()] == i for i, n in enumerate(KNOB_NAMES))

PRESETS = {
    "baseline": ({}, "everything as in proc.go"),
    "no-runnext": ({"runnext": 0, "inherit_time": 0},
                   "readied and new Gs go to the tail of the local queue, never to runnext"),
    "no-spinning": ({"spinning": 0}, "Ms never spin: an M out of work makes one steal pass and parks"),
    "no-steal": ({"steal": 0}, "Ms never steal from other Ps"),
    "steal-one": ({"steal": 1}, "steal one G instead of half the victim's queue"),
    "no-fairness": ({"fairness_tick": 0}, "never take from the global queue every 61st schedule"),
    "no-sysmon": ({"sysmon": 0},
                  "no sysmon: no retake of Ps blocked in syscalls, no preemption, no periodic netpoll"),
    "no-preempt": ({"preempt_ms": 0}, "sysmon runs but never preempts long-running Gs"),
    "centralized": ({"centralized": 1},
                    "one global run queue under a lock, no local queues (rejected approach 1 in proc.go)"),
    "direct-handoff": ({"direct_handoff": 1},
                       "a readied G is handed with an idle P straight to a woken thread (rejected approach 2)"),
    "eager-wakeup": ({"eager_wakeup": 1},
                     "unpark a thread on every ready while a P is idle (rejected approach 3)"),
    "go1.14": ({"async_preempt": 1, "sysretake": 1},
               "Go >= 1.14's asynchronous preemption and retake of a P whose time slice is over: "
               "the port's match for a Go engine of 1.14 or later"),
}


class PolicyError(ValueError):
    """An unknown preset or knob, or a bad knob value."""


def _check_value(name: str, value) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise PolicyError(f"knob {name!r} takes an integer, not {value!r}") from None
    if isinstance(value, float) and value != v:
        raise PolicyError(f"knob {name!r} takes an integer, not {value!r}")
    if v < 0:
        raise PolicyError(f"knob {name!r} must be >= 0, not {v}")
    if name == "runq_size" and (v < 2 or v > 256 or v & (v - 1)):
        raise PolicyError(f"knob 'runq_size' must be a power of two in [2, 256], not {v}")
    if name == "steal" and v > 2:
        raise PolicyError("knob 'steal' is 0 (never), 1 (one G) or 2 (half)")
    return v


def knobs(preset: str = "baseline", overrides: dict | None = None) -> np.ndarray:
    """The knob array of a preset with overrides applied."""
    if preset not in PRESETS:
        raise PolicyError(f"unknown policy {preset!r} (known: {', '.join(PRESETS)})")
    vals = {n: d for n, (d, _) in KNOBS.items()}
    vals.update(PRESETS[preset][0])
    for name, value in (overrides or {}).items():
        if name not in KNOBS:
            raise PolicyError(f"unknown knob {name!r} (see 'gmpbench policies')")
        vals[name] = _check_value(name, value)
    return np.array([vals[n] for n in KNOB_NAMES], dtype=np.int64)


def split_policies(text: str) -> list[tuple[str, dict[str, str]]]:
    """The one tokenizer of the policy syntax: ``preset[,knob=value...]``, several policies
    separated by commas (``baseline,no-runnext``).  An item with ``=`` is a knob setting for the
    preset before it, or for baseline when it comes first (``fairness_tick=0`` is
    ``baseline,fairness_tick=0``).  Returns (preset, {knob: value text}) pairs in order."""
    policies: list[tuple[str, dict[str, str]]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if "=" in item:
            if not policies:
                policies.append(("baseline", {}))
            key, value = item.split("=", 1)
            policies[-1][1][key.strip()] = value.strip()
        else:
            policies.append((item, {}))
    return policies


def format_policy(preset: str, overrides: dict) -> str:
    """A policy written back in its canonical form: ``preset,knob=value,...``."""
    return ",".join([preset, *(f"{k}={v}" for k, v in overrides.items())])


def parse_policy(text: str, base: dict | None = None) -> tuple[str, np.ndarray]:
    """One policy from ``preset[,knob=value...]``, e.g. ``baseline,fairness_tick=0``.

    ``base`` holds knob overrides from the workload file, applied before the command line's.
    Returns (display name, knob array)."""
    policies = split_policies(text)
    if not policies:
        raise PolicyError("empty policy")
    if len(policies) > 1:
        raise PolicyError(f"{text.strip()!r} names {len(policies)} policies "
                          f"({', '.join(p for p, _ in policies)}); expected one")
    preset, extra = policies[0]
    merged = dict(base or {})
    merged.update(extra)
    return text.strip(), knobs(preset, merged)
