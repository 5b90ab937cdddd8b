"""A Document as plain text: aligned tables, for a terminal."""
from __future__ import annotations

from .document import Document, Table

INDENT = "  "


def table_lines(table: Table) -> list[str]:
    cells = [table.header, *table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.header))]

    def line(row):
        parts = [cell.ljust(w) if table.align(i) == "l" else cell.rjust(w)
                 for i, (cell, w) in enumerate(zip(row, widths))]
        return (INDENT + "  ".join(parts)).rstrip()

    title = [INDENT + table.title] if table.title else []
    return title + [line(table.header)] + [line(row) for row in table.rows]


def render(doc: Document) -> list[str]:
    lines = [doc.title, "=" * len(doc.title)]
    lines += [f"WARNING: {w}" for w in doc.warnings]
    for sec in doc.sections:
        lines += ["", sec.title]
        for table in sec.tables:
            if table.rows:
                lines += table_lines(table) + [""]
        lines.pop()
    for summary in doc.summaries:
        lines += [""] + table_lines(summary)
    lines += [""] + [f"* {note}" for note in doc.notes]
    return lines
