"""Charts drawn on the server as inline SVG: no script, no external service, and they print.

Each function returns safe markup with a ``<title>`` and ``<desc>`` so a screen
reader gets the chart's point; the page shows the same numbers in a table next
to it. Colours are attributes, not CSS, so the same SVG works in the PDF.
"""
from __future__ import annotations

import datetime
import math
import zlib
from typing import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

BRAND = "#1a56a0"
OK = "#1e6b3a"
DANGER = "#b3261e"
MUTED = "#5a6675"
GRID = "#d8dee6"
PALETTE = ("#1a56a0", "#2e8b57", "#c7781a", "#7a4fb0", "#b3261e", "#3b8bbf", "#8a8f98")
FONT = 'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _svg(width: int, height: int, title: str, desc: str, body: list[str], *, font_size: int = 13) -> SafeString:
    ident = f"c{zlib.crc32((title + desc).encode()):08x}"  # stable ids: the same chart renders the same
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}t {ident}d" xmlns="http://www.w3.org/2000/svg" {FONT} font-size="{font_size}">'
        f'<title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def trend_chart(months: Sequence[datetime.date], series: Sequence[tuple[str, Sequence[float], str]], *,
                title: str) -> SafeString:
    """Grouped bars per month, one colour per series, with a legend and a labelled axis (full width)."""
    width, height = 960, 300
    left, right, top, bottom = 60, 12, 40, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _l, values, _c in series for v in values), default=0))
    body: list[str] = []
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{_num(value)}</text>')
    n = max(len(months), 1)
    slot = plot_w / n
    bar_w = max(2.0, min(22.0, (slot * 0.8) / max(len(series), 1)))
    for i, month in enumerate(months):
        x0 = left + slot * i + (slot - bar_w * len(series)) / 2
        for j, (label, values, colour) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = plot_h * value / top_value if top_value else 0
            x = x0 + j * bar_w
            body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                        f'fill="{colour}"><title>{escape(f"{month:%Y-%m} {label}：{_num(value)}")}</title></rect>')
        cx = left + slot * i + slot / 2
        body.append(f'<text x="{cx:.1f}" y="{height - bottom + 18}" text-anchor="middle" fill="{MUTED}">'
                    f'{month.month}{escape(_("月"))}</text>')
        if i == 0 or month.month == 1:
            body.append(f'<text x="{cx:.1f}" y="{height - bottom + 36}" text-anchor="middle" fill="{MUTED}">'
                        f'{month.year}</text>')
    x = left
    for label, _values, colour in series:
        body.append(f'<rect x="{x}" y="10" width="14" height="14" rx="2" fill="{colour}"/>'
                    f'<text x="{x + 20}" y="22">{escape(label)}</text>')
        x += 40 + 15 * len(label)
    desc = "；".join(f"{label}：" + "、".join(f"{m:%Y-%m} {_num(v)}" for m, v in zip(months, values, strict=False))
                    for label, values, _c in series)
    return _svg(width, height, title, desc, body, font_size=14)


def funnel_chart(stages: Sequence[tuple[str, float, str]], *, title: str) -> SafeString:
    """Centred bars narrowing stage by stage: how far cases travel up the three lines.

    Labels on the left, bars centred in the middle, numbers in a column on the right,
    so nothing overlaps or runs off the edge whatever the values.
    """
    width, row_h, label_w, bar_max, value_x = 640, 54, 200, 300, 520
    centre = label_w + 10 + bar_max / 2
    height = row_h * max(len(stages), 1) + 6
    top_value = max((v for _l, v, _n in stages), default=0) or 1
    body: list[str] = []
    for i, (label, value, note) in enumerate(stages):
        w = max(4.0, bar_max * value / top_value)
        y = 4 + i * row_h
        colour = PALETTE[i % len(PALETTE)]
        body.append(f'<rect x="{centre - w / 2:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 12}" rx="4" '
                    f'fill="{colour}"/>')
        body.append(f'<text x="0" y="{y + (row_h - 12) / 2 + 5}" fill="#1d2733">{escape(label)}</text>')
        body.append(f'<text x="{value_x}" y="{y + 17}" fill="#1d2733" font-weight="600">{_num(value)}</text>')
        if note:
            body.append(f'<text x="{value_x}" y="{y + 35}" fill="{MUTED}" font-size="12">{escape(note)}</text>')
    desc = "；".join(f"{label}：{_num(value)}{('（' + note + '）') if note else ''}" for label, value, note in stages)
    return _svg(width, height, title, desc, body, font_size=14)


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, colour: str = BRAND) -> SafeString:
    """Horizontal bars, in the order given, the value after each bar."""
    width, row_h, label_w = 640, 30, 150
    height = row_h * max(len(items), 1) + 8
    top_value = max((v for _l, v in items), default=0) or 1
    body: list[str] = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        w = (width - label_w - 90) * value / top_value
        body.append(f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" fill="#1d2733">{escape(label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 9}" rx="3" '
                    f'fill="{colour}"/>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 19}" fill="#1d2733">{_num(value)}</text>')
    desc = "；".join(f"{label}：{_num(value)}" for label, value in items)
    return _svg(width, height, title, desc, body, font_size=14)
