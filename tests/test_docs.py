"""docs/workloads.md documents exactly what the loader accepts."""
from __future__ import annotations

import re
from pathlib import Path

from gmpbench.workload.loader import STATEMENTS, TOP_KEYS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "workloads.md").read_text()


def _first_column(heading: str) -> set[str]:
    section = DOC[DOC.index(heading):]
    section = section[:section.index("\n## ", 1)] if "\n## " in section[1:] else section
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {m for row in rows for m in re.findall(r"`(\w+)", row.split("|")[1])}


def test_every_top_level_key_is_documented():
    assert _first_column("## Top-level keys") == set(TOP_KEYS)


# the words of a statement's own fields, which the statements table names too
FIELDS = {"fn", "n", "group", "dur", "block", "do", "children"}


def test_every_statement_is_documented():
    assert _first_column("## Statements") - FIELDS == set(STATEMENTS)
