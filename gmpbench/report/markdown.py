"""A Document as GitHub-flavoured markdown (a CI summary, a pull request comment)."""
from __future__ import annotations

from .document import Document, Table


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def table_lines(table: Table) -> list[str]:
    rule = ["---:" if table.align(i) == "r" else ":---" for i in range(len(table.header))]
    rows = [table.header, rule, *table.rows]
    title = [f"**{table.title}**", ""] if table.title else []
    return title + ["| " + " | ".join(map(_cell, row)) + " |" for row in rows] + [""]


def render(doc: Document) -> list[str]:
    lines = [f"# {doc.title}", ""]
    lines += [f"> **Warning:** {w}" for w in doc.warnings]
    lines += [""] if doc.warnings else []
    for sec in doc.sections:
        lines += [f"## `{sec.title}`", ""]
        for table in sec.tables:
            if table.rows:
                lines += table_lines(table)
    if doc.summaries:
        lines += ["## Summary", ""]
    for summary in doc.summaries:
        lines += table_lines(summary)
    lines += [f"- {note}" for note in doc.notes]
    return lines
