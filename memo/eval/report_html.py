"""report.html: the Markdown report's tables plus plots (inline SVG) and every answer side by side,
in one file with no scripts and nothing fetched when it is opened.
"""

from __future__ import annotations

from html import escape

from memo.eval.plots import curve, intervals
from memo.eval.report_md import (
    NOTE,
    cell,
    degenerate_line,
    evidence_where,
    main_table,
    pairs_table,
    sample_statement,
    verdict_lines,
)

STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.4em}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}.plots{display:flex;flex-wrap:wrap;gap:12px}
.plot .t{font-weight:600;font-size:13px}.plot .l{font-size:12px}.plot .k{font-size:10px;fill:#666}
.reg{color:#b00;font-weight:600}details{margin:.3em 0}pre{white-space:pre-wrap;margin:0}
.muted{color:#666}"""


def _html_table(header: list[str], body: list[list[str]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{_mark(c)}</td>" for c in row) + "</tr>" for row in body)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _mark(text: str) -> str:
    text = escape(text)
    return text.replace("**regression**", '<span class="reg">regression</span>')


def _metric_plots(summary: dict) -> str:
    plots = []
    for metric in summary["metrics"]:
        rows = [(arm, *(summary["table"][arm].get(metric, {}).get(k) for k in ("mean", "low", "high")))
                for arm in summary["arms"] if metric in summary["table"][arm]]
        if rows:
            plots.append(intervals(summary["labels"].get(metric, metric), rows, axis="mean, 95% interval"))
    return '<div class="plots">' + "".join(plots) + "</div>"


def _pair_plots(summary: dict) -> str:
    plots = []
    for metric in summary["metrics"]:
        rows = [(pair, d[metric]["mean"], d[metric]["low"], d[metric]["high"])
                for pair, d in summary["pairs"].items() if metric in d]
        if rows:
            widest = max((abs(v) for row in rows for v in row[1:] if v is not None), default=1.0)
            span = next((s for s in (0.05, 0.1, 0.25, 0.5) if widest <= s), 1.0)  # zoom to the intervals
            plots.append(intervals(summary["labels"].get(metric, metric) + ": difference", rows,
                                   lo=-span, hi=span, zero=True, axis="first arm minus second, 95% interval"))
    return '<div class="plots">' + "".join(plots) + "</div>"


def _headline(summary: dict) -> str:
    """The question sample, the verdicts and each arm's degenerate answers (flagged ones marked)."""
    parts = [f"<p>Questions: {escape(sample_statement(summary))}.</p>"]
    if verdict_lines(summary):
        parts.append("<h2>Verdicts <span class=muted>(95% paired intervals, first-named arm minus "
                     "second)</span></h2><ul class=verdicts>"
                     + "".join(f"<li>{escape(v)}</li>" for v in verdict_lines(summary)) + "</ul>")
    if summary.get("health"):
        items = [f'<li class="reg">{escape(degenerate_line(arm, h))}</li>' if h["flagged"] else
                 f"<li>{escape(degenerate_line(arm, h))}</li>" for arm, h in summary["health"].items()]
        parts.append("<h2>Degenerate answers</h2><ul class=degenerate>" + "".join(items) + "</ul>")
    return "".join(parts)


def _breakdowns(summary: dict) -> str:
    parts = []
    for title, field in (("category", "by_category"), ("company", "by_company")):
        parts.append(f"<h2>By {title}</h2>")
        for group, data in summary[field].items():
            body = [[summary["labels"].get(m, m)] + [cell(data["table"][arm].get(m)) for arm in summary["arms"]]
                    for m in summary["metrics"] if any(m in data["table"][arm] for arm in summary["arms"])]
            parts.append(f"<h3>{escape(group)} <span class=muted>({data['questions']} questions)</span></h3>")
            parts.append(_html_table(["metric", *summary["arms"]], body, "breakdown") if body else
                         "<p class=muted>nothing measured (no reference answers or evidence)</p>")
    return "".join(parts)


def _answers(rows: list[dict], arms: list[str]) -> str:
    by_question: dict[str, dict] = {}
    for row in rows:
        by_question.setdefault(row["qid"], {})[row["arm"]] = row
    parts = ["<h2>Answers</h2>"]
    for qid, per_arm in by_question.items():
        first = next(iter(per_arm.values()))
        body = []
        for arm in arms:
            row = per_arm.get(arm)
            if row:
                scores = ", ".join(f"{k} {v:.2f}" for k, v in row["scores"].items() if isinstance(v, float))
                if row.get("degenerate"):
                    scores += f"; degenerate: {row['degenerate']}"
                shown = ", ".join(c["source"] for c in row.get("contexts") or []) or "-"
                body.append([arm, row["answer"], scores, shown])
        parts.append(f"<details><summary>{escape(qid)}: {escape(first['question'])}</summary>"
                     f"<p class=muted>reference: {escape(first['reference'] or '(none)')}</p>"
                     + _retrieved(per_arm) + _html_table(["arm", "answer", "scores", "documents shown"], body, "answers")
                     + "</details>")
    return "".join(parts)


def _retrieved(per_arm: dict) -> str:
    """Where the evidence ranked among the retrieved chunks, and those chunks (evidence in bold)."""
    row = next((r for r in per_arm.values() if r.get("retrieved")), None)
    if row is None:
        return ""
    evidence = set(row.get("evidence") or [])
    items = "".join(f"<li><b>{escape(s)}</b></li>" if s in evidence else f"<li>{escape(s)}</li>"
                    for s in row["retrieved"])
    return f"<p class=muted>retrieval: {escape(evidence_where(row))}</p><ol class=retrieved>{items}</ol>"


def render_html(summary: dict, rows: list[dict]) -> str:
    s = summary["settings"]
    title = f"memo bench: {', '.join(summary['arms'])} on {summary['questions']} questions"
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
             f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>", _headline(summary),
             f"<p class=muted>Files: {escape(', '.join(s['files']))}; profile {escape(s['profile'])}; adapter: "
             f"{escape(str(s['adapter'] or '-'))}; judge: {escape(str(s['judge_model'] or 'none'))}; "
             f"seed {s['seed']}; {summary['seconds'].get('total')} s.</p><p>{escape(NOTE)}</p>",
             _html_table(*main_table(summary), "summary"), "<h2>Each metric per arm</h2>", _metric_plots(summary)]
    if summary["pairs"]:
        parts += ["<h2>Paired differences</h2>", _pair_plots(summary), _html_table(*pairs_table(summary), "pairs")]
    if summary["hit_curve"]:
        parts += ["<h2>Retrieval</h2>", curve("hit@k: evidence document in the top k", summary["hit_curve"])]
    parts += [_breakdowns(summary), _answers(rows, summary["arms"]), "</body></html>"]
    return "\n".join(parts)
