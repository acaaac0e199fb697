"""Bar charts as SVG text, drawn here rather than with a charting library.

Why our own and not pygal: the app's Content-Security-Policy allows no inline style or script, and a
chart must be readable inline in the page (no JavaScript build step, no extra request). pygal draws
with a ``<style>`` element, CSS classes and its own scripts for tooltips; without them its charts lose
their colours, and allowing them would weaken the policy for every page. Horizontal bars need little
geometry, so this module draws them with presentation attributes only (``fill``, ``font-size``), like
``runner.document.svg``, which every browser and the CSP accept.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``; the page puts the same
figures in a data table beside it (the accessible form), so the chart is a picture of the table.
Pure: text in, text out, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence
from xml.sax.saxutils import escape

from .document.metrics import text_width

# Okabe–Ito: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7")
MARKER = "#222222"
LABEL_WIDTH = 300
PLOT_WIDTH = 380
FONT = "DejaVu Sans, Arial, sans-serif"


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _short(text: str, room: float = LABEL_WIDTH - 16, size: float = 12) -> str:
    """``text`` cut with "…" to fit ``room`` user units at ``size``, measured with the DejaVu Sans
    widths the document uses (a count of characters let wide letters spill past the chart's edge)."""
    if text_width(text, size) <= room:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid].rstrip() + "…", size) <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def _nice_axis(value: float) -> tuple[float, int]:
    """A round axis end at or above ``value`` (1, 2, 4, 5 or 10 times a power of ten) and how many
    intervals to mark on it, so every tick is a round number (a count never gets a 1.2 tick)."""
    if value <= 0:
        return 1.0, 1
    power = 10 ** math.floor(math.log10(value))
    for step, ticks in ((1, 1), (2, 2), (4, 4), (5, 5), (10, 5)):
        if value <= step * power:
            top = float(step * power)
            return top, ticks if top >= ticks else 1
    return float(10 * power), 5  # pragma: no cover - the loop always returns


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
              stacked: bool = False, marker: Series | None = None) -> str:
    """Horizontal bars, one row per label: the series stacked in one bar, or side by side; a
    ``marker`` series draws a vertical tick on each row (a time limit against the times)."""
    n = len(labels)
    per_row = 1 if stacked or not series else len(series)
    bar_h = 16
    row_h = per_row * bar_h + 10
    top = 34 + 18 * math.ceil((len(series) + (marker is not None)) / 3)
    height = top + max(n, 1) * row_h + 28
    width = LABEL_WIDTH + PLOT_WIDTH + 60
    totals = []
    for i in range(n):
        vals = [s.values[i] or 0 for s in series]
        totals.append(sum(vals) if stacked else max(vals, default=0))
        if marker is not None and marker.values[i] is not None:
            totals.append(float(marker.values[i] or 0))
    top_value, ticks = _nice_axis(max(totals, default=0))
    scale = PLOT_WIDTH / top_value

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{_attr(chart_id)}" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc" '
           f'font-family="{FONT}" font-size="12">',
           f'<title id="{_attr(chart_id)}-title">{escape(title)}</title>',
           f'<desc id="{_attr(chart_id)}-desc">{escape(", ".join(s.name for s in series))}</desc>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    # legend
    items = [(s.name, PALETTE[k % len(PALETTE)], False) for k, s in enumerate(series)]
    if marker is not None:
        items.append((marker.name, MARKER, True))
    for k, (name, colour, is_marker) in enumerate(items):
        lx, ly = 8 + (k % 3) * 240, 14 + (k // 3) * 18
        if is_marker:
            out.append(f'<rect x="{lx + 5}" y="{ly - 2}" width="3" height="14" fill="{colour}"/>')
        else:
            out.append(f'<rect x="{lx}" y="{ly}" width="12" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 18}" y="{ly + 9}">{escape(_short(name, 220))}</text>')
    # axis
    x0 = LABEL_WIDTH
    axis_y = top + max(n, 1) * row_h
    for k in range(ticks + 1):
        tick = top_value * k / ticks
        tx = x0 + tick * scale
        out.append(f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{axis_y}" stroke="#dddddd" stroke-width="1"/>')
        out.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#444444">{_number(tick)}</text>')
    if n == 0:
        out.append(f'<text x="{x0 + 8}" y="{top + 18}" fill="#444444">–</text>')
    # rows
    for i, label in enumerate(labels):
        y = top + i * row_h + 5
        out.append(f'<text x="{x0 - 8}" y="{y + per_row * bar_h / 2 + 4:.1f}" text-anchor="end">'
                   f'<title>{escape(label)}</title>{escape(_short(label))}</text>')
        offset = 0.0
        for k, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            w = value * scale
            x = x0 + (offset if stacked else 0.0)
            by = y if stacked else y + k * bar_h
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{by}" width="{w:.1f}" height="{bar_h - 2}" '
                           f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(label)} — {escape(s.name)}: '
                           f'{_number(value)}</title></rect>')
            if not stacked:
                out.append(f'<text x="{x + w + 4:.1f}" y="{by + bar_h - 4}" fill="#222222">{_number(value)}</text>')
            offset += w
        if stacked and series:
            total = sum(s.values[i] or 0 for s in series)
            out.append(f'<text x="{x0 + offset + 4:.1f}" y="{y + bar_h - 4}" fill="#222222">{_number(total)}</text>')
        if marker is not None and marker.values[i] is not None:
            mx = x0 + float(marker.values[i] or 0) * scale
            out.append(f'<rect x="{mx - 1.5:.1f}" y="{y - 3}" width="3" height="{per_row * bar_h + 4}" '
                       f'fill="{MARKER}"><title>{escape(label)} — {escape(marker.name)}: '
                       f'{_number(float(marker.values[i] or 0))}</title></rect>')
    out.append(f'<line x1="{x0}" y1="{top - 4}" x2="{x0}" y2="{axis_y}" stroke="#888888" stroke-width="1"/>')
    out.append("</svg>")
    return "\n".join(out)


__all__ = ["PALETTE", "Series", "bar_chart"]
