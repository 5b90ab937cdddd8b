"""gmpbench doctor: host checks and the A/A run's verdict."""
from __future__ import annotations

from gmpbench.doctor import AAResult, Finding, aa_findings, system_checks
from gmpbench.report.stats import Comparison

from util import run_cli


def _comp(ratio, p):
    return Comparison(ratio, ratio * 0.95, ratio * 1.05, p, True, 10, 10, "paired", 10)


def test_system_checks_name_every_check():
    checks = {f.check for f in system_checks()}
    assert {"CPU frequency", "turbo", "other load", "SMT", "timer slack", "isolcpus",
            "taskset", "ASLR"} <= checks
    assert all(f.level in ("OK", "WARN", "INFO") for f in system_checks())


def test_aa_findings_flag_too_many_false_verdicts():
    clean = AAResult([_comp(1.0, 0.5)] * 19 + [_comp(1.2, 0.01)], 10.0)
    (f,) = aa_findings(clean)
    assert f.level == "OK" and "1 significant verdict(s) in 20" in f.text
    bad = AAResult([_comp(1.0, 0.5)] * 17 + [_comp(0.8, 0.01)] * 3, 10.0)
    (f,) = aa_findings(bad)
    assert f.level == "WARN" and "not to be trusted" in f.advice
    assert Finding("OK", "x", "y").lines() == ["OK    x: y"]


def test_doctor_command(core):
    out = run_cli("doctor", "--aa", "1", "-q")
    assert out.returncode == 0, out.stderr
    assert "timer slack" in out.stdout and "A/A: " in out.stdout
    assert "significant verdict(s) in 1 A/A comparisons" in out.stdout
