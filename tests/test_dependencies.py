"""The direction of the package's dependencies: cli -> bench -> report -> runtime.  The runtime
never imports the layers above it, not even inside a function: it hands data (a RunError's
Snapshot, the state at a schedtrace tick) to callbacks its caller passes, and the report side
words them (report/dump.py)."""
import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABOVE_RUNTIME = ("gmpbench.report", "gmpbench.bench", "gmpbench.cli", "gmpbench.engines",
                 "gmpbench.pytest_plugin")


def imported(text: str, package: str) -> set[str]:
    """Every module a module of `package` imports, anywhere in its text (relative resolved)."""
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.update([module, *(f"{module}.{alias.name}" for alias in node.names)])
    return names


def above(names) -> list[str]:
    return sorted(n for n in names if n == "gmpbench.cli" or n.startswith(ABOVE_RUNTIME))


def test_no_runtime_module_imports_the_report_bench_or_cli_side():
    files = sorted((ROOT / "gmpbench" / "runtime").glob("*.py"))
    assert len(files) > 20
    found = {f.name: above(imported(f.read_text(), "gmpbench.runtime")) for f in files}
    assert {name: mods for name, mods in found.items() if mods} == {}


def test_the_scan_finds_a_lazy_relative_import():
    """The scan above can fail: a function-level `from ..report.dump import ...` is found."""
    text = "def f():\n    from ..report.dump import describe\n    return describe\n"
    assert above(imported(text, "gmpbench.runtime")) == ["gmpbench.report.dump",
                                                         "gmpbench.report.dump.describe"]
    assert above(imported("from . import layout\n", "gmpbench.runtime")) == []


def test_importing_the_runtime_loads_nothing_above_it():
    code = ("import sys, gmpbench.runtime, gmpbench.runtime.threads, gmpbench.runtime.state; "
            "print('\\n'.join(sorted(sys.modules)))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, env=env)
    loaded = out.stdout.split()
    assert "gmpbench.runtime.threads" in loaded and "gmpbench.report.dump" not in loaded
    assert above(loaded) == []
