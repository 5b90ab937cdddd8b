"""A Document as one self-contained HTML page, its plots inline SVG drawn with matplotlib.

Plots: the ratios with their intervals (one bar per compared row, coloured by verdict), and per
section the CDF of each row's scheduling latency, and of its netpoll latency when it has any.
"""
from __future__ import annotations

import html
import io

import numpy as np

from .document import Bar, Document, LatencyPlot, Section, Table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #ddd; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
td.l, th.l { text-align: left; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: 0.5em 1em; }
.plot svg { max-width: 100%; height: auto; }
code { font-size: 1.05em; }
"""
COLOURS = {"slower": "#c0392b", "faster": "#27ae60"}
NEUTRAL = "#7f8c8d"
RATIO_TICKS = (0.1, 0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0, 10.0)


# --- plots -----------------------------------------------------------------------------------

def _svg(fig) -> str:
    """The figure as an <svg> element (the XML prologue and doctype removed)."""
    from matplotlib import rc_context
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def ratio_plot(bars: list[Bar]) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter
    fig = Figure(figsize=(8, 0.35 * len(bars) + 1.2))
    ax = fig.subplots()
    y = np.arange(len(bars))[::-1]
    ratios = np.array([b.comparison.ratio for b in bars])
    err = np.array([[r - b.comparison.low for r, b in zip(ratios, bars)],
                    [b.comparison.high - r for r, b in zip(ratios, bars)]]).clip(min=0)
    colours = [COLOURS.get(b.comparison.verdict, NEUTRAL) for b in bars]
    ax.barh(y, ratios - 1, left=1, xerr=err, color=colours, capsize=3, height=0.6)
    ax.axvline(1, color="#333", linewidth=0.8)
    ax.set_xscale("log")                     # 0.5x and 2x equally far from 1
    low, high = ax.get_xlim()
    ax.set_xticks([t for t in RATIO_TICKS if low <= t <= high] or [1.0])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(y, [b.label for b in bars], fontsize=8)
    ax.set_xlabel("ratio of median wall times (above 1: slower); bars: interval")
    return _svg(fig)


def latency_plot(title: str, plot: LatencyPlot) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    from ..runtime.histogram import bucket_bounds
    _, upper = bucket_bounds()
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    for label, hist in plot.hists.items():
        nz = np.nonzero(hist)[0]
        if len(nz):
            cdf = np.cumsum(hist[nz]) / hist.sum()
            ax.step(upper[nz] / 1e9, cdf, where="post", label=label)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(EngFormatter(unit="s"))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(plot.kind.axis)
    ax.set_ylabel(f"fraction of {plot.kind.events}")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8, loc="lower right")
    return _svg(fig)


def load_plot(curve) -> str:
    """Request latency (p50 solid, p99 dashed) against achieved throughput, a colour per
    policy: the hockey stick that shows where each saturates."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    for i, (policy, points) in enumerate(curve.points.items()):
        x, p50, p99 = (np.array(v, dtype=float) for v in zip(*points))
        colour = f"C{i}"
        ax.plot(x, p50, "o-", color=colour, label=f"{policy} p50")
        ax.plot(x, p99, "s--", color=colour, label=f"{policy} p99")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(EngFormatter(unit="s"))
    ax.xaxis.set_major_formatter(EngFormatter(unit="req/s"))
    ax.set_xlabel("achieved throughput (requests handled per second)")
    ax.set_ylabel("request latency (scheduled arrival -> end)")
    ax.set_title(curve.title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _svg(fig)


# --- page ------------------------------------------------------------------------------------

def _table(table: Table) -> list[str]:
    def row(cells, tag):
        return "<tr>" + "".join(f'<{tag} class="{table.align(i)}">{html.escape(c)}</{tag}>'
                                for i, c in enumerate(cells)) + "</tr>"
    caption = f"<caption>{html.escape(table.title)}</caption>" if table.title else ""
    return [f"<table>{caption}", f"<thead>{row(table.header, 'th')}</thead>", "<tbody>",
            *(row(r, "td") for r in table.rows), "</tbody></table>"]


def _section(sec: Section) -> list[str]:
    lines = [f"<section><h2><code>{html.escape(sec.title)}</code></h2>"]
    for table in sec.tables:
        if table.rows:
            lines += _table(table)
    for plot in sec.plots:
        if any(h.sum() for h in plot.hists.values()):
            lines += ['<div class="plot">', latency_plot(sec.title, plot), "</div>"]
    return lines + ["</section>"]


def render(doc: Document) -> list[str]:
    title = html.escape(doc.title)
    lines = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{title}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
             f"<h1>{title}</h1>"]
    lines += [f'<p class="warning">Warning: {html.escape(w)}</p>' for w in doc.warnings]
    if doc.bars:
        lines += ["<h2>Ratios</h2>", '<div class="plot">', ratio_plot(doc.bars), "</div>"]
    for summary in doc.summaries:
        lines += _table(summary)
    for curve in getattr(doc, "curves", ()):
        lines += ["<h2>Latency against load</h2>", '<div class="plot">', load_plot(curve),
                  "</div>"]
    lines += ["<ul>", *(f"<li>{html.escape(n)}</li>" for n in doc.notes), "</ul>"]
    for sec in doc.sections:
        lines += _section(sec)
    return lines + ["</body>", "</html>"]
