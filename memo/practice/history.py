"""`memo practice --history`: a candidate's scores over time, per question category: the numbers
(for the terminal plot and --json) and a self-contained HTML page with one line per category."""

from __future__ import annotations

from html import escape
from pathlib import Path

from memo.core.categories import CATEGORIES
from memo.core.durable import write_atomic
from memo.core.errors import MemoError
from memo.core.jsonl import read_log

COLOURS = {"behavioural": "#1f77b4", "motivation": "#2ca02c", "company": "#d62728", "technical": "#9467bd"}
WIDTH, HEIGHT, PAD = 640, 240, 36


def history(path: Path) -> dict:
    """Sessions in time order, each with its date and mean score per category, and the answers."""
    records = read_log(path)
    if not records:
        raise MemoError(f"no practice sessions yet in {path.parent}; run `memo practice --company NAME`")
    sessions: dict[str, dict] = {}
    for r in records:
        entry = sessions.setdefault(r["session"], {"session": r["session"], "time": r["time"],
                                                   "company": r.get("company"), "scores": {}})
        entry["scores"].setdefault(r["category"], []).append(r["score"]["overall"])
    ordered = sorted(sessions.values(), key=lambda s: s["time"])
    for s in ordered:
        s["answers"] = sum(len(v) for v in s["scores"].values())
        s["scores"] = {c: round(sum(v) / len(v), 1) for c, v in s["scores"].items()}
    return {"sessions": ordered, "answers": len(records),
            "categories": [c for c in CATEGORIES if any(c in s["scores"] for s in ordered)]}


def series(data: dict, category: str) -> list[float | None]:
    return [s["scores"].get(category) for s in data["sessions"]]


def _polyline(values: list[float | None]) -> str:
    count = max(len(values) - 1, 1)
    points = [(PAD + i * (WIDTH - 2 * PAD) / count, HEIGHT - PAD - v / 100 * (HEIGHT - 2 * PAD))
              for i, v in enumerate(values) if v is not None]
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def render_html(data: dict, candidate: str) -> str:
    """The history page: one line per category over the sessions, then a table of every session."""
    axis = (f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
            + "".join(f'<text x="4" y="{HEIGHT - PAD - t / 100 * (HEIGHT - 2 * PAD) + 4:.0f}" font-size="11">{t}</text>'
                      for t in (0, 50, 100)))
    lines = "".join(f'<polyline class="series" fill="none" stroke-width="2" stroke="{COLOURS[c]}" '
                    f'points="{_polyline(series(data, c))}"><title>{c}</title></polyline>'
                    for c in data["categories"])
    legend = " ".join(f'<span style="color:{COLOURS[c]}">&#9632; {c}</span>' for c in data["categories"])
    head = "".join(f"<th>{c}</th>" for c in data["categories"])
    rows = "".join(f"<tr><td>{escape(s['time'])}</td><td>{escape(str(s.get('company') or ''))}</td>"
                   f"<td>{s['answers']}</td>"
                   + "".join(f"<td>{s['scores'].get(c, '')}</td>" for c in data["categories"]) + "</tr>"
                   for s in data["sessions"])
    return (f"<!doctype html><html><head><meta charset=utf-8><title>memo practice: {escape(candidate)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
            f"<h1>Practice history: {escape(candidate)}</h1><p>{data['answers']} answers in "
            f"{len(data['sessions'])} sessions; mean score (0-100) per category.</p><p>{legend}</p>"
            f'<svg class="plot" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">{axis}{lines}</svg>'
            f'<table class="sessions"><tr><th>session</th><th>company</th><th>answers</th>{head}</tr>{rows}</table>'
            "</body></html>")


def write_history_page(path: Path, candidate: str) -> tuple[dict, Path]:
    data = history(path)
    page = path.parent / "history.html"
    write_atomic(page, render_html(data, candidate))
    return data, page
