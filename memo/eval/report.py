"""The bench's output folder: results.jsonl (every answer and score), summary.json (the numbers),
report.md (for reading and pasting) and report.html (the same with plots, self-contained).
"""

from __future__ import annotations

import json
from pathlib import Path

from memo.core.durable import write_atomic
from memo.core.jsonl import write_jsonl
from memo.eval.report_html import render_html
from memo.eval.report_md import render_markdown


def write_report(out: Path, summary: dict, rows: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "results.jsonl", rows)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_atomic(out / "report.md", render_markdown(summary, rows))
    write_atomic(out / "report.html", render_html(summary, rows))
