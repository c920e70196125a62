"""Charts of the board report as SVG, drawn with matplotlib (its SVG backend, no display).

Each chart is a horizontal bar chart (labels read across, long ones fit), grouped, stacked or
in panels side by side (people asking beside courses offered: two scales, one row per word),
with every bar's value written at its end: a count under 5 people is drawn
as no bar and labelled "fewer than 5", so the chart gives away nothing its table hides. Text
stays text (``svg.fonttype: none``), so the SVG can be searched, read by tests and by screen
readers; the root carries ``role="img"`` with a ``<title>`` and a ``<desc>`` (the chart's
summary). Output is byte-for-byte repeatable (fixed hash salt, no date in the metadata).

Colours are the Okabe-Ito palette, darkened where white text sits on them (4.5:1 or more);
values are also written as text, so nothing depends on colour alone.
"""
from __future__ import annotations

import html
import io
from typing import Any

from .figures import FEWER, AtLeast, Chart, People, capital, plottable

COLOURS = ["#0072B2", "#B35000", "#007A5A", "#A6467E", "#8A6500", "#3D5A80"]   # dark enough for white text
_RC = {"svg.fonttype": "none", "svg.hashsalt": "tsa-board-report", "font.family": "DejaVu Sans",
       "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
       "axes.titlesize": 12, "axes.titleweight": "bold"}
BAR_HEIGHT_IN = 0.32
WIDTH_IN = 7.2


def value_label(cell: Any) -> str:
    if cell is None:
        return FEWER
    if isinstance(cell, (People, AtLeast)):
        return str(cell)
    if isinstance(cell, float):
        return f"{cell:.1f}"
    return f"{cell:,}"


def render_svg(chart: Chart) -> str:
    """The chart as an SVG document (text)."""
    import matplotlib
    from matplotlib.figure import Figure

    categories = chart.categories or ["(none)"]
    n_series = len(chart.series)
    grouped = n_series > 1 and not chart.stacked
    rows = len(categories) * (n_series if grouped else 1)
    height = max(2.2, 1.3 + rows * BAR_HEIGHT_IN)
    if chart.panels:
        grouped, rows = False, len(categories)
        height = max(2.2, 1.3 + rows * BAR_HEIGHT_IN)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(WIDTH_IN, height))
        if chart.panels:                    # demand beside supply: two scales, one row per word
            axes = fig.subplots(1, n_series, sharey=True)
            for s, ax in enumerate(axes):
                _draw(ax, chart, categories, False, only=s)
                ax.set_xlabel(chart.series[s][0])
            fig.suptitle(chart.title, x=0.02, ha="left", fontsize=12, fontweight="bold")
        else:
            ax = fig.subplots()
            _draw(ax, chart, categories, grouped)
            ax.set_title(chart.title, loc="left")
            ax.set_xlabel(chart.axis)
            if n_series > 1:
                ax.legend(loc="lower right", frameon=False, fontsize=9)
        _margins(fig, categories, height)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return _accessible(buffer.getvalue(), chart)


def _margins(fig, categories: list[str], height: float) -> None:
    """Room for the longest label, the title and the axis, set directly: tight_layout would
    draw every chart twice to measure it."""
    left = min(0.45, (0.25 + 0.075 * max(len(c) for c in categories)) / WIDTH_IN)
    fig.subplots_adjust(left=left, right=0.97, top=1 - 0.45 / height, bottom=0.6 / height,
                        wspace=0.12)


def _draw(ax, chart: Chart, categories: list[str], grouped: bool, only: int | None = None) -> None:
    n_series = len(chart.series)
    slot = 0.8 / n_series if grouped else 0.6
    drawn = [(s, chart.series[s]) for s in ([only] if only is not None else range(n_series))]
    widest = max([plottable(v) for _, (_, values) in drawn for v in values if v is not None] or [0])
    if chart.stacked:
        widest = max([sum(plottable(values[i]) for _, values in chart.series if values[i] is not None)
                      for i in range(len(categories))] or [0])
    limit = chart.limit or (widest * 1.25 if widest else 1)
    left = [0.0] * len(categories)
    for s, (name, values) in drawn:
        ys = [i + (s - (n_series - 1) / 2) * slot if grouped else i for i in range(len(values))]
        widths = [plottable(cell) if cell is not None else 0.0 for cell in values]
        starts = list(left) if chart.stacked else 0
        # one call per series, not per bar: barh's own cost is mostly per call
        bars = ax.barh(ys, widths, height=slot, left=starts, color=COLOURS[s % len(COLOURS)],
                       label=name)
        for i, (patch, cell, y, width) in enumerate(zip(bars.patches, values, ys, widths)):
            patch.set_gid(f"bar-{s}-{i}")
            if chart.stacked:
                if width:
                    ax.text(left[i] + width / 2, y, value_label(cell), va="center", ha="center",
                            color="white", fontsize=8, gid=f"value-{s}-{i}")
                left[i] += width
            else:
                ax.text(width + limit * 0.01, y, value_label(cell), va="center", ha="left",
                        fontsize=8, gid=f"value-{s}-{i}")
    if chart.limit is None:                    # counts: whole-number ticks
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_yticks(range(len(categories)), labels=categories)
    if not ax.yaxis_inverted():                # the first category at the top, as in the table
        ax.invert_yaxis()                      # (once: panels share their y axis)
    ax.set_xlim(0, limit)


def _accessible(svg: str, chart: Chart) -> str:
    """Name the picture for assistive technology: role, <title>, <desc>."""
    title, desc = html.escape(chart.title), html.escape(capital(chart.summary))
    head, rest = svg.split("<svg ", 1)
    opening, body = rest.split(">", 1)
    return (f'{head}<svg role="img" aria-labelledby="{chart.id}-title {chart.id}-desc" {opening}>'
            f'<title id="{chart.id}-title">{title}</title><desc id="{chart.id}-desc">{desc}</desc>{body}')
