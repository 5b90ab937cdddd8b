"""Results files and reports: reading, statistics, comparison, rendering (lines, never prints).

    results = read_results("results/ping-pong-20250101T000000Z.json")
    print("\\n".join(render_report(results, "text")))
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import Results

_FROM_RESULTS = {"Case", "Process", "Results", "ResultsError", "RunFigures", "read_results",
                 "write_results"}


def __getattr__(name):
    """The results file's API, imported on first use: the CLI builds its parser from the
    formats below without loading numpy and pyperf."""
    if name in _FROM_RESULTS:
        from . import results
        return getattr(results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


REPORT_FORMATS = ("text", "markdown", "html", "json", "gobench")
COMPARE_FORMATS = ("text", "markdown", "html", "json")


def _document_renderer(fmt: str):
    from importlib import import_module
    return import_module(f".{fmt}", __name__).render


def render_report(results: Results, fmt: str = "text", baseline: str | None = None,
                  title: str = "gmpbench report") -> list[str]:
    """``gmpbench report``: the policies of each case beside the baseline."""
    if fmt == "json":
        from .jsonfmt import report
        return report(results)
    if fmt == "gobench":
        from .gobench import render
        return render(results)
    from .document import policy_document
    return _document_renderer(fmt)(policy_document(results, baseline, title))


def render_compare(old: Results, new: Results, fmt: str = "text",
                   title: str = "gmpbench compare") -> list[str]:
    """``gmpbench compare``: each case of NEW against the same case in OLD."""
    if fmt == "json":
        from .jsonfmt import compare
        return compare(old, new)
    from .document import compare_document
    return _document_renderer(fmt)(compare_document(old, new, title))


__all__ = [
    "COMPARE_FORMATS",
    "REPORT_FORMATS",
    "Case",
    "Process",
    "Results",
    "ResultsError",
    "RunFigures",
    "read_results",
    "render_compare",
    "render_report",
    "write_results",
]
