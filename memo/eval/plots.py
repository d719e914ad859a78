"""Inline SVG plots for the HTML report (no plotting library, nothing fetched when it is opened):
interval plots of means and of paired differences, and the retrieval hit@k curve.
"""

from __future__ import annotations

from html import escape

COLORS = {"base": "#7f7f7f", "rag": "#1f77b4", "ft": "#ff7f0e", "hybrid": "#2ca02c"}
WIDTH, ROW, LEFT, PAD = 360, 22, 110, 12


def _color(name: str) -> str:
    return COLORS.get(name.split(" ")[0], "#9467bd")


def intervals(title: str, rows: list[tuple[str, float | None, float | None, float | None]],
              lo: float = 0.0, hi: float = 1.0, zero: bool = False) -> str:
    """One row per (label, mean, low, high): a dot at the mean and a bar over the interval, on a
    fixed [lo, hi] axis; `zero` draws the no-difference line."""
    height = PAD * 2 + 18 + ROW * len(rows)
    span = (WIDTH - LEFT - PAD) / ((hi - lo) or 1.0)

    def x(value: float) -> float:
        return LEFT + (min(max(value, lo), hi) - lo) * span

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<text x="{PAD}" y="{PAD + 4}" class="t">{escape(title)}</text>']
    axis_y = height - PAD
    parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - PAD}" y2="{axis_y}" stroke="#999"/>')
    for tick in (lo, (lo + hi) / 2, hi):
        parts.append(f'<text x="{x(tick):.1f}" y="{axis_y - 3}" class="k">{tick:g}</text>')
    if zero and lo < 0 < hi:
        parts.append(f'<line x1="{x(0):.1f}" y1="{PAD + 10}" x2="{x(0):.1f}" y2="{axis_y}" stroke="#444" '
                     f'stroke-dasharray="3,3"/>')
    for i, (label, mean, low, high) in enumerate(rows):
        y = PAD + 22 + i * ROW
        parts.append(f'<text x="{PAD}" y="{y + 4}" class="l">{escape(label)}</text>')
        if mean is None:
            parts.append(f'<text x="{LEFT}" y="{y + 4}" class="l">unmeasured</text>')
            continue
        color = _color(label)
        parts.append(f'<line class="ci" x1="{x(low):.1f}" y1="{y}" x2="{x(high):.1f}" y2="{y}" '
                     f'stroke="{color}" stroke-width="4" stroke-linecap="round" opacity="0.45"/>')
        parts.append(f'<circle class="mean" cx="{x(mean):.1f}" cy="{y}" r="4.5" fill="{color}">'
                     f'<title>{escape(label)}: {mean:.3f} [{low:.3f}, {high:.3f}]</title></circle>')
    return "".join(parts) + "</svg>"


def curve(title: str, series: dict[str, list[float]]) -> str:
    """Lines of hit@k (k = 1..n) per arm on a [0, 1] axis."""
    height, bottom = 220, 190
    depth = max(len(v) for v in series.values())
    step = (WIDTH - LEFT + 60 - PAD) / max(depth - 1, 1)

    def point(k: int, value: float) -> str:
        return f"{50 + k * step:.1f},{bottom - value * (bottom - 30):.1f}"

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<text x="{PAD}" y="{PAD + 4}" class="t">{escape(title)}</text>',
             f'<line x1="50" y1="{bottom}" x2="{WIDTH - PAD}" y2="{bottom}" stroke="#999"/>',
             f'<line x1="50" y1="30" x2="50" y2="{bottom}" stroke="#999"/>']
    for value in (0.0, 0.5, 1.0):
        parts.append(f'<text x="22" y="{bottom - value * (bottom - 30) + 4:.1f}" class="k">{value:g}</text>')
    for k in range(depth):
        parts.append(f'<text x="{50 + k * step - 3:.1f}" y="{bottom + 14}" class="k">{k + 1}</text>')
    for i, (arm, values) in enumerate(series.items()):
        points = " ".join(point(k, v) for k, v in enumerate(values))
        parts.append(f'<polyline class="series" points="{points}" fill="none" stroke="{_color(arm)}" '
                     f'stroke-width="2"/>')
        parts.append(f'<text x="{WIDTH - 70}" y="{bottom - 12 - 14 * i}" class="l" fill="{_color(arm)}">'
                     f'{escape(arm)}</text>')
    return "".join(parts) + "</svg>"
