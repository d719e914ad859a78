"""Inline SVG plots for the HTML report (no plotting library, nothing fetched when it is opened):
interval plots of means and of paired differences, and the retrieval hit@k curve. Titles wrap to
the plot's width, label columns grow to the longest label, and every text is escaped.
"""

from __future__ import annotations

from html import escape

COLORS = {"base": "#7f7f7f", "rag": "#1f77b4", "ft": "#ff7f0e", "hybrid": "#2ca02c", "dsf": "#d62728",
          "dsf+rag": "#8c564b"}
WIDTH, ROW, LEFT, PAD = 360, 22, 110, 12
PLOT = WIDTH - LEFT - PAD  # the intervals' drawing width; the label column grows to fit the labels
CHAR_L, CHAR_T = 7.0, 7.6  # generous widths of a 12px label and a 13px bold title character, in px
TITLE_LINE = 16


def _color(name: str) -> str:
    return COLORS.get(name.split(" ")[0], "#9467bd")


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` characters, broken at spaces (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _svg_open(width: float, height: float, title: str) -> str:
    return (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'role="img" aria-label="{escape(title)}">')


def _title(title: str, width: float) -> tuple[str, float]:
    """The title as SVG text wrapped to the plot's width, and the height it takes."""
    lines = wrap(title, max(12, int((width - 2 * PAD) / CHAR_T)))
    spans = "".join(f'<tspan x="{PAD}" dy="{0 if i == 0 else TITLE_LINE}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return f'<text x="{PAD}" y="{PAD + 4}" class="t">{spans}</text>', TITLE_LINE * len(lines)


def intervals(title: str, rows: list[tuple[str, float | None, float | None, float | None]],
              lo: float = 0.0, hi: float = 1.0, zero: bool = False, axis: str = "") -> str:
    """One row per (label, mean, low, high): a dot at the mean and a bar over the interval, on a
    fixed [lo, hi] axis; `zero` draws the no-difference line, `axis` names the axis under it. The
    label column is as wide as the longest label, and a long title wraps."""
    left = max(LEFT, PAD + 8 + CHAR_L * max((len(r[0]) for r in rows), default=0))
    width = left + PLOT + PAD
    heading, title_height = _title(title, width)
    top = PAD + title_height + 8
    axis_y = top + ROW * len(rows)
    height = axis_y + 14 + (14 if axis else 0) + PAD // 2
    span = PLOT / ((hi - lo) or 1.0)

    def x(value: float) -> float:
        return left + (min(max(value, lo), hi) - lo) * span

    parts = [_svg_open(width, height, title), heading,
             f'<line x1="{left:.1f}" y1="{axis_y}" x2="{width - PAD:.1f}" y2="{axis_y}" stroke="#999"/>']
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(f'<text x="{x(tick):.1f}" y="{axis_y + 12}" class="k" text-anchor="middle">{tick:g}</text>')
    if axis:
        parts.append(f'<text x="{left + PLOT / 2:.1f}" y="{axis_y + 26}" class="k" text-anchor="middle">'
                     f'{escape(axis)}</text>')
    if zero and lo < 0 < hi:
        parts.append(f'<line x1="{x(0):.1f}" y1="{top - 4}" x2="{x(0):.1f}" y2="{axis_y}" stroke="#444" '
                     f'stroke-dasharray="3,3"/>')
    for i, (label, mean, low, high) in enumerate(rows):
        y = top + ROW // 2 + i * ROW
        parts.append(f'<text x="{PAD}" y="{y + 4}" class="l">{escape(label)}</text>')
        if mean is None:
            parts.append(f'<text x="{left:.1f}" y="{y + 4}" class="l">unmeasured</text>')
            continue
        color = _color(label)
        parts.append(f'<line class="ci" x1="{x(low):.1f}" y1="{y}" x2="{x(high):.1f}" y2="{y}" '
                     f'stroke="{color}" stroke-width="4" stroke-linecap="round" opacity="0.45"/>')
        parts.append(f'<circle class="mean" cx="{x(mean):.1f}" cy="{y}" r="4.5" fill="{color}">'
                     f'<title>{escape(label)}: {mean:.3f} [{low:.3f}, {high:.3f}]</title></circle>')
    return "".join(parts) + "</svg>"


def curve(title: str, series: dict[str, list[float]], x_label: str = "k (chunks retrieved)",
          y_label: str = "share of questions") -> str:
    """Lines of hit@k (k = 1..n) per arm on a [0, 1] axis, the legend beside the plot."""
    legend = PAD + CHAR_L * max(len(arm) for arm in series)
    width = WIDTH + legend
    heading, title_height = _title(title, width)
    top = PAD + title_height + 10
    bottom = top + 160
    height = bottom + 34
    depth = max(len(v) for v in series.values())
    step = (WIDTH - 50 - PAD) / max(depth - 1, 1)

    def y(value: float) -> float:
        return bottom - value * (bottom - top)

    parts = [_svg_open(width, height, title), heading,
             f'<line x1="50" y1="{bottom}" x2="{WIDTH - PAD}" y2="{bottom}" stroke="#999"/>',
             f'<line x1="50" y1="{top}" x2="50" y2="{bottom}" stroke="#999"/>',
             (f'<text x="{(50 + WIDTH - PAD) / 2:.1f}" y="{bottom + 28}" class="k" text-anchor="middle">'
              f'{escape(x_label)}</text>'),
             (f'<text x="14" y="{(top + bottom) / 2:.1f}" class="k" text-anchor="middle" '
              f'transform="rotate(-90 14 {(top + bottom) / 2:.1f})">{escape(y_label)}</text>')]
    for value in (0.0, 0.5, 1.0):
        parts.append(f'<text x="46" y="{y(value) + 4:.1f}" class="k" text-anchor="end">{value:g}</text>')
    for k in range(depth):
        parts.append(f'<text x="{50 + k * step:.1f}" y="{bottom + 14}" class="k" '
                     f'text-anchor="middle">{k + 1}</text>')
    for i, (arm, values) in enumerate(series.items()):
        points = " ".join(f"{50 + k * step:.1f},{y(v):.1f}" for k, v in enumerate(values))
        parts.append(f'<polyline class="series" points="{points}" fill="none" stroke="{_color(arm)}" '
                     f'stroke-width="2"/>')
        parts.append(f'<text x="{WIDTH + 4}" y="{top + 8 + 16 * i}" class="l" fill="{_color(arm)}">'
                     f'{escape(arm)}</text>')
    return "".join(parts) + "</svg>"
