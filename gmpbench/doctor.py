"""``gmpbench doctor``: is this machine fit to benchmark on?

Checks, in the spirit of ``pyperf system show``/``tune``: the CPU frequency governor and turbo,
other load, SMT siblings, the timer slack, CPU isolation (``isolcpus``, ``nohz_full``) and this
process's CPU affinity (``taskset``), address space randomization; then a short A/A comparison
(the same scheduler under two policy names, as ``gmpbench run`` measures them) and its
false-verdict rate.  Each finding is OK, WARN or INFO with advice; the exit status is 1 when the
A/A run gives more false verdicts than a sound host would (more than 5% of them), else 0.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .bench.status import EXIT_OK, EXIT_RUN_FAILED

CPU = Path("/sys/devices/system/cpu")
DEFAULT_TIMER_SLACK = 50_000        # ns

# the A/A workload: ping-pong at procs=1 (runnext hand-offs), short runs.  Embedded, not read
# from workloads/ (not installed with the package); its body is the documented example that
# tests/test_workload_compiler.py checks against docs/workloads.md (duplicates lists the pair).
AA_WORKLOAD = """\
name: doctor-aa
description: ping-pong for gmpbench doctor's A/A comparison
procs: [1]
ops: ${rounds}
timeout: 60s
seed: 1
params: {rounds: [20000]}
channels: {ping: 0, pong: 0}
main:
  - go: pinger
  - go: ponger
  - wait: children
functions:
  pinger:
    - repeat: ${rounds}
      do: [{send: ping}, {recv: pong}]
  ponger:
    - repeat: ${rounds}
      do: [{recv: ping}, {send: pong}]
"""
AA_POLICIES = ["baseline", "baseline,spin_cap=1"]     # the same knobs: any verdict is false


@dataclass
class Finding:
    level: str          # "OK", "WARN", "INFO"
    check: str
    text: str
    advice: str = ""

    def lines(self) -> list[str]:
        out = [f"{self.level:<4}  {self.check}: {self.text}"]
        return out + ([f"      -> {self.advice}"] if self.advice else [])


def _read(path) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _cpus() -> list[int]:
    return sorted(int(p.name[3:]) for p in CPU.glob("cpu[0-9]*"))


def check_governor() -> Finding:
    governors = {c: _read(CPU / f"cpu{c}/cpufreq/scaling_governor") for c in _cpus()}
    known = {c: g for c, g in governors.items() if g}
    if not known:
        return Finding("INFO", "CPU frequency", "no cpufreq interface (a VM, or the host "
                       "manages frequency): cannot check the governor",
                       "on bare metal, run `python -m pyperf system tune` (governor "
                       "performance)")
    slow = sorted({g for g in known.values() if g != "performance"})
    if slow:
        return Finding("WARN", "CPU frequency", f"governor {', '.join(slow)} on "
                       f"{sum(g != 'performance' for g in known.values())} of {len(known)} CPUs: "
                       "the frequency follows the load, so a run's speed depends on what ran "
                       "before it", "sudo cpupower frequency-set -g performance (or `python -m "
                       "pyperf system tune`)")
    return Finding("OK", "CPU frequency", "governor performance on every CPU")


def check_turbo() -> Finding:
    no_turbo = _read(CPU / "intel_pstate/no_turbo")
    boost = _read(CPU / "cpufreq/boost")
    if no_turbo is None and boost is None:
        return Finding("INFO", "turbo", "no turbo/boost control visible")
    on = no_turbo == "0" or boost == "1"
    if on:
        return Finding("WARN", "turbo", "turbo boost is on: the clock varies with temperature "
                       "and with the other cores' load",
                       "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo "
                       "(or `python -m pyperf system tune`)")
    return Finding("OK", "turbo", "turbo boost off")


def _busy_processes(seconds: float = 0.5) -> list[tuple[float, int, str]]:
    """(CPU share, pid, command) of other processes using CPU over ``seconds``."""
    def sample():
        out = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            name = text[text.find("(") + 1:text.rfind(")")]
            fields = text[text.rfind(")") + 2:].split()
            out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12]), name)
        return out
    before = sample()
    time.sleep(seconds)
    after = sample()
    tick = os.sysconf("SC_CLK_TCK")
    me = {os.getpid(), os.getppid()}
    busy = []
    for pid, (ticks, name) in after.items():
        if pid in me or pid not in before:
            continue
        share = (ticks - before[pid][0]) / tick / seconds
        if share >= 0.05:
            busy.append((share, pid, name))
    return sorted(busy, reverse=True)


def check_load() -> Finding:
    ncpu = os.cpu_count() or 1
    load1, _, _ = os.getloadavg()
    busy = _busy_processes()
    used = sum(share for share, _, _ in busy)
    who = ", ".join(f"{name} ({pid}) {share:.0%}" for share, pid, name in busy[:4])
    if used >= 0.25 or load1 >= 0.5 * ncpu:
        return Finding("WARN", "other load", f"load average {load1:.2f} on {ncpu} CPUs; "
                       f"using CPU now: {who or 'nothing visible (another container?)'}",
                       "benchmark on an idle machine, or keep other work off the CPUs the "
                       "runs use (taskset/isolcpus); compare only results measured side by "
                       "side (gmpbench interleaves policies for this)")
    return Finding("OK", "other load", f"load average {load1:.2f} on {ncpu} CPUs")


def check_smt() -> Finding:
    active = _read(CPU / "smt/active")
    siblings = {_read(CPU / f"cpu{c}/topology/thread_siblings_list") for c in _cpus()}
    shared = sorted(s for s in siblings if s and ("," in s or "-" in s))
    if active == "1" or shared:
        return Finding("WARN", "SMT", f"hyper-threading is on (siblings {', '.join(shared[:4])}):"
                       " two Ms on sibling threads share one core's execution units",
                       "echo off | sudo tee /sys/devices/system/cpu/smt/control, or pin runs "
                       "to one thread per core with taskset")
    return Finding("OK", "SMT", "no SMT siblings")


def check_timer_slack() -> Finding:
    slack = _read("/proc/self/timerslack_ns")
    if slack is None:
        return Finding("INFO", "timer slack", "cannot read /proc/self/timerslack_ns")
    ns = int(slack)
    if ns > DEFAULT_TIMER_SLACK:
        return Finding("WARN", "timer slack", f"{ns} ns, above Linux's default "
                       f"{DEFAULT_TIMER_SLACK} ns: futex and sleep timeouts (sysmon's ticks, "
                       "usleep before stealing runnext, timers) fire that much late, more than "
                       "under a Go program's default", "run gmpbench from a shell with the "
                       "default slack (a container or systemd unit may raise it: TimerSlackNSec=)")
    if ns == DEFAULT_TIMER_SLACK:
        return Finding("OK", "timer slack", f"{ns} ns, Linux's default (what Go programs run "
                       "with too)")
    return Finding("INFO", "timer slack", f"{ns} ns, below Linux's default "
                   f"{DEFAULT_TIMER_SLACK} ns: timeouts are more punctual than a Go program's "
                   "usually are")


def check_isolation() -> list[Finding]:
    ncpu = os.cpu_count() or 1
    isolated = _read(CPU / "isolated") or ""
    cmdline = _read("/proc/cmdline") or ""
    nohz = [w for w in cmdline.split() if w.startswith(("isolcpus", "nohz_full", "rcu_nocbs"))]
    affinity = sorted(os.sched_getaffinity(0))
    out = []
    if isolated or nohz:
        out.append(Finding("OK", "isolcpus", f"isolated CPUs {isolated or '-'} "
                           f"({' '.join(nohz) or 'no nohz_full'})"))
    else:
        out.append(Finding("INFO", "isolcpus", "no CPU is isolated from the kernel's scheduler",
                           "for the steadiest figures, boot with isolcpus=/nohz_full= on some "
                           "CPUs and run `taskset -c <them> gmpbench run ...`"))
    if len(affinity) < ncpu:
        hint = " (the isolated ones)" if isolated else ""
        out.append(Finding("OK", "taskset", f"this process may run on CPUs "
                           f"{','.join(map(str, affinity))} of {ncpu}{hint}"))
    else:
        out.append(Finding("INFO", "taskset", f"no CPU affinity: runs may use all {ncpu} CPUs, "
                           "beside everything else"))
    return out


def check_aslr() -> Finding:
    value = _read("/proc/sys/kernel/randomize_va_space")
    if value == "2":
        return Finding("OK", "ASLR", "full address space randomization (each worker process "
                       "gets its own layout; gmpbench tests across processes)")
    return Finding("INFO", "ASLR", f"randomize_va_space={value}")


def system_checks() -> list[Finding]:
    return [check_governor(), check_turbo(), check_load(), check_smt(), check_timer_slack(),
            *check_isolation(), check_aslr()]


# --- the A/A run -----------------------------------------------------------------------------

@dataclass
class AAResult:
    comparisons: list           # stats.Comparison per repetition
    seconds: float

    @property
    def false(self) -> int:
        return sum(c.significant for c in self.comparisons)

    @property
    def mean_ratio(self) -> float:
        return sum(c.ratio for c in self.comparisons) / len(self.comparisons)


def aa_run(repetitions: int, progress=None) -> AAResult:
    """``repetitions`` A/A comparisons, each one ``gmpbench run --fast`` of two policy names
    for the same scheduler (ping-pong, procs=1)."""
    from .bench.cases import load_groups
    from .bench.measure import ensure_core
    from .bench.runner import Runner, settings_for
    from .report.stats import compare_cases
    from .runtime import CORE_HASH
    ensure_core()
    start = time.monotonic()
    comps = []
    with tempfile.TemporaryDirectory(prefix="gmpbench-doctor-") as tmp:
        path = os.path.join(tmp, "doctor-aa.yaml")
        with open(path, "w") as f:
            f.write(AA_WORKLOAD)
        groups = load_groups([path], AA_POLICIES, "1")
        for i in range(repetitions):
            results = Runner(groups, settings_for("fast"), CORE_HASH).run()
            cases = {c.policy: c for c in results.measured()}
            comp = compare_cases(cases[AA_POLICIES[0]], cases[AA_POLICIES[1]])
            comps.append(comp)
            if progress:
                progress(i + 1, comp)
    return AAResult(comps, time.monotonic() - start)


def aa_findings(aa: AAResult) -> list[Finding]:
    n = len(aa.comparisons)
    allowed = max(1, round(0.05 * n))
    noisy = sum(c.too_noisy for c in aa.comparisons)
    text = (f"{aa.false} significant verdict(s) in {n} A/A comparisons ({aa.false / n:.0%}; "
            f"at most {allowed} expected at alpha 0.05), mean ratio {aa.mean_ratio:.3f}, "
            f"{noisy} too noisy to tell 10%, {aa.seconds:.0f}s")
    if aa.false > allowed:
        return [Finding("WARN", "A/A", text, "verdicts on this machine are not to be trusted "
                        "as they are: fix the warnings above, or use the default mode or "
                        "--rigorous, and repeat")]
    if noisy > n // 2:
        return [Finding("WARN", "A/A", text, "runs are too noisy for --fast to tell a 10% "
                        "difference: use the default mode or --rigorous, or quiet the machine")]
    return [Finding("OK", "A/A", text)]


def doctor_lines(repetitions: int, progress=None) -> tuple[list[str], int]:
    """The report and the exit status."""
    findings = system_checks()
    lines = ["gmpbench doctor", "==============="]
    lines += [line for f in findings for line in f.lines()]
    status = EXIT_OK
    if repetitions:
        aa = aa_run(repetitions, progress)
        found = aa_findings(aa)
        lines += [line for f in found for line in f.lines()]
        status = EXIT_RUN_FAILED if aa.false > max(1, round(0.05 * repetitions)) else EXIT_OK
    warns = sum(f.level == "WARN" for f in findings)
    lines.append(f"{warns} warning(s) about the host" + ("" if repetitions else
                                                          "; A/A run skipped"))
    return lines, status
