"""Charts drawn by the bot itself: inline SVG, no script, no library, readable without colour.

Every bar carries its value as text and a pattern as well as a colour (series are told apart
by hatching, not hue alone); each chart has a title and a description for screen readers, and
its figures are in a table beside it. Bars carry data-label and data-value for tests and tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# (fill colour, pattern id) per series: colour and pattern together, never colour alone
SERIES = [
    ("#8b1a1a", "solid"),
    ("#0b4f8a", "hatch"),
    ("#2e7d32", "dots"),
    ("#8a3b00", "cross"),
    ("#5b4a8a", "vertical"),
    ("#555555", "horizontal"),
    ("#b8860b", "diagonal"),
]
ROW = 26
LABEL_WIDTH = 230
WIDTH = 760
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    values: Sequence[float]  # one per series
    shown: Sequence[str] | None = None  # the text written on each segment (default: the value)


def _defs(uid: str) -> str:
    parts = []
    for colour, name in SERIES:
        pid = f"{uid}-{name}"
        if name == "solid":
            inner = f'<rect width="8" height="8" fill="{colour}"/>'
        elif name == "hatch":
            inner = (
                f'<rect width="8" height="8" fill="#fff"/>'
                f'<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" '
                f'stroke="{colour}" stroke-width="2.5"/>'
            )
        elif name == "dots":
            inner = (
                f'<rect width="8" height="8" fill="#fff"/>'
                f'<circle cx="4" cy="4" r="2.4" fill="{colour}"/>'
            )
        elif name == "cross":
            inner = (
                f'<rect width="8" height="8" fill="#fff"/>'
                f'<path d="M0,0 l8,8 M8,0 l-8,8" stroke="{colour}" stroke-width="1.8"/>'
            )
        elif name == "vertical":
            inner = (
                f'<rect width="8" height="8" fill="#fff"/>'
                f'<path d="M4,0 v8" stroke="{colour}" stroke-width="3"/>'
            )
        elif name == "horizontal":
            inner = (
                f'<rect width="8" height="8" fill="#fff"/>'
                f'<path d="M0,4 h8" stroke="{colour}" stroke-width="3"/>'
            )
        else:
            inner = (
                f'<rect width="8" height="8" fill="#eee"/>'
                f'<path d="M0,8 l8,-8" stroke="{colour}" stroke-width="3"/>'
            )
        parts.append(
            f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f"{inner}</pattern>"
        )
    return "<defs>" + "".join(parts) + "</defs>"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def hbars(
    uid: str,
    title: str,
    bars: Sequence[Bar],
    series: Sequence[str],
    *,
    maximum: float | None = None,
    unit: str = "",
) -> Markup:
    """Horizontal bars, stacked when there are several series; the value written beside each
    bar (and inside each segment wide enough to hold it), a legend with the patterns."""
    legend: list[tuple[float, float, int, str]] = []  # x, y, series index, name
    if len(series) > 1:  # legend items wrap onto as many rows as they need
        x: float = LABEL_WIDTH
        row = 0
        for index, name in enumerate(series):
            width = 34 + 7.2 * len(name)
            if x + width > WIDTH and x > LABEL_WIDTH:
                x, row = LABEL_WIDTH, row + 1
            legend.append((x, TOP + row * ROW, index, name))
            x += width
    legend_height = (legend[-1][1] - TOP + ROW) if legend else 0
    height = TOP + legend_height + ROW * max(1, len(bars)) + 8
    top = max([sum(b.values) for b in bars] + [maximum or 0, 1e-9])
    span = WIDTH - LABEL_WIDTH - 130
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{uid}-t" data-chart="{uid}">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        _defs(uid),
    ]
    for lx, ly, index, name in legend:
        colour, pattern = SERIES[index % len(SERIES)]
        out.append(
            f'<rect x="{lx:.1f}" y="{ly + 4}" width="16" height="14" '
            f'fill="url(#{uid}-{pattern})" stroke="{colour}"/>'
            f'<text x="{lx + 22:.1f}" y="{ly + 16}">{escape(name)}</text>'
        )
    y = TOP + legend_height
    for bar in bars:
        out.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">'
            f"{escape(bar.label[:38])}</text>"
        )
        x = float(LABEL_WIDTH)
        for index, value in enumerate(bar.values):
            colour, pattern = SERIES[index % len(SERIES)]
            width = span * value / top
            name = series[index] if index < len(series) else ""
            shown = bar.shown[index] if bar.shown else _number(value) + unit
            out.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}" '
                f'fill="url(#{uid}-{pattern})" stroke="{colour}" data-label="{escape(bar.label)}" '
                f'data-series="{escape(name)}" data-value="{_number(value)}">'
                f"<title>{escape(bar.label)} – {escape(name)}: {escape(shown)}</title></rect>"
            )
            if len(bar.values) > 1 and value and width > 9 * len(shown) + 6:
                fill = "#fff" if pattern == "solid" else "#000"
                out.append(
                    f'<text x="{x + width / 2:.1f}" y="{y + 17}" text-anchor="middle" '
                    f'fill="{fill}" font-weight="700">{escape(shown)}</text>'
                )
            x += width
        total = sum(bar.values)
        label = _number(total) + unit if len(bar.values) > 1 or not bar.shown else bar.shown[0]
        out.append(f'<text x="{x + 6:.1f}" y="{y + 17}" font-weight="700">{escape(label)}</text>')
        y += ROW
    if not bars:
        out.append(f'<text x="{LABEL_WIDTH}" y="{y + 17}">—</text>')
    out.append("</svg>")
    return Markup("".join(out))


def columns(uid: str, title: str, labels: Sequence[str], values: Sequence[float]) -> Markup:
    """Vertical bars (a series over time), each with its value above it."""
    height, bottom, left = 240, 30, 10
    count = max(1, len(values))
    step = (WIDTH - 2 * left) / count
    top = max(list(values) + [1e-9])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{uid}-t" data-chart="{uid}">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        _defs(uid),
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - left}" y2="{height - bottom}" '
        'stroke="#333"/>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_height = (height - bottom - 30) * value / top
        x = left + index * step + step * 0.15
        y = height - bottom - bar_height
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{bar_height:.1f}" '
            f'fill="url(#{uid}-solid)" stroke="#8b1a1a" data-label="{escape(label)}" '
            f'data-value="{_number(value)}"><title>{escape(label)}: {_number(value)}</title></rect>'
            f'<text x="{x + step * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'font-weight="700">{_number(value)}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))
