"""The bench's Markdown report (report.md), and the tables, cells and lines the HTML report shares:
the question sample, the verdicts and each arm's degenerate answers come first."""

from __future__ import annotations

import json

from memo.eval.degenerate import DEGENERATE_FLAG

NOTE = ("Means with 95% bootstrap intervals over questions; unmeasured scores (no reference, no "
        "evidence, nothing cited, a failed judge call) are left out and counted, never taken as 0. "
        "Paired differences use only the questions both arms have a score for; W/T/L counts "
        "questions where the first arm is better, within 0.01, or worse.")


def sample_statement(summary: dict) -> str:
    """Which questions were asked: all of the files' questions, or a seeded --limit sample of them."""
    settings, asked = summary["settings"], summary["questions"]
    limit, available = settings.get("limit"), summary.get("available_questions")
    if limit is None or (available is not None and limit >= available) or (available is None and asked < limit):
        return f"all {available or asked} questions of the files"
    if available is None:
        return (f"a seeded sample of {asked} questions (seed {settings.get('seed')}); how many the files "
                f"hold was not recorded")
    return f"a seeded sample of {asked} of {available} questions (seed {settings.get('seed')})"


def degenerate_line(arm: str, health: dict) -> str:
    """`hybrid: 1 of 27 answers degenerate (3.7%): loop 1`, ending in ` - above 5%` when flagged
    (above DEGENERATE_FLAG)."""
    rate = health["degenerate_rate"] or 0.0
    line = f"{arm}: {health['degenerate']} of {health['answers']} answers degenerate ({rate:.1%})"
    reasons = ", ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in health["degenerate_reasons"].items())
    return line + (f": {reasons}" if reasons else "") + (f" - above {DEGENERATE_FLAG:.0%}" if health["flagged"] else "")


def verdict_lines(summary: dict) -> list[str]:
    return [v["verdict"] for v in summary.get("verdicts", [])]


def cell(estimate: dict | None) -> str:
    """`0.412 [0.351, 0.470]`, with the unmeasured count when there is one."""
    if not estimate or estimate.get("mean") is None:
        return "unmeasured"
    text = f"{estimate['mean']:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}]"
    return text + (f" ({estimate['unmeasured']} unmeasured)" if estimate.get("unmeasured") else "")


def diff_cell(paired: dict) -> str:
    if paired.get("mean") is None:
        return "unmeasured"
    return (f"{paired['mean']:+.3f} [{paired['low']:+.3f}, {paired['high']:+.3f}] "
            f"{paired['wins']}/{paired['ties']}/{paired['losses']}")


def change_cell(change: dict | None) -> str:
    if not change:
        return ""
    return f"{change['change']:+.3f}" + (" **regression**" if change["regression"] else "")


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in body]


def main_table(summary: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of metric x arm, shared by the Markdown and HTML reports."""
    arms, labels = summary["arms"], summary["labels"]
    changes = summary.get("baseline", {}).get("changes", {})
    header = ["metric", *arms] + ([f"{arm} vs baseline" for arm in arms] if changes else [])
    body = []
    for metric in summary["metrics"]:
        row = [labels.get(metric, metric)] + [cell(summary["table"][arm].get(metric)) for arm in arms]
        if changes:
            row += [change_cell(changes.get(arm, {}).get(metric)) for arm in arms]
        body.append(row)
    return header, body


def pairs_table(summary: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of arm pair x metric, for the metrics some pair has."""
    metrics = [m for m in summary["metrics"] if any(m in d for d in summary["pairs"].values())]
    body = [[pair] + [diff_cell(d[m]) if m in d else "" for m in metrics] for pair, d in summary["pairs"].items()]
    return ["pair", *(summary["labels"].get(m, m) for m in metrics)], body


def evidence_where(row: dict) -> str:
    """Where a result row's evidence ranked among its retrieved chunks, in words."""
    if not row.get("evidence"):
        return "no evidence document given"
    if row.get("evidence_rank"):
        return f"evidence ranked {row['evidence_rank']}"
    return f"evidence not in the top {len(row.get('retrieved') or [])}"


def retrieval_lines(rows: list[dict]) -> list[str]:
    """A table of each question's retrieval (one retriever serves every arm with documents), so a
    retrieval failure reads apart from a model failure."""
    first: dict[str, dict] = {}
    for row in rows:
        if row.get("retrieved"):
            first.setdefault(row["qid"], row)
    if not first:
        return []
    body = [[qid, ", ".join(r.get("evidence") or []) or "-", evidence_where(r), ", ".join(r["retrieved"][:5])]
            for qid, r in first.items()]
    return ["", "## Retrieval per question", "",
            "Where the evidence document ranked among the retrieved chunks; a miss is retrieval's failure, "
            "not the model's.", ""] + _table(["question", "evidence", "rank", "top 5 retrieved"], body)


def render_markdown(summary: dict, rows: list[dict] | None = None) -> str:
    s = summary["settings"]
    lines = [f"# memo bench: {', '.join(summary['arms'])} on {summary['questions']} questions", "",
             f"Questions: {sample_statement(summary)}.", ""]
    lines += _verdicts(summary)
    lines += [f"Files: {', '.join(s['files'])}; profile {s['profile']}; adapter: {s['adapter'] or '-'}; "
              f"endpoint: {s['endpoint'] or 'in-process'}; judge: {s['judge_model'] or 'none'}; seed {s['seed']}.",
              "", NOTE, ""]
    lines += _table(*main_table(summary))
    if summary["pairs"]:
        lines += ["", "## Paired differences (first arm minus second; W/T/L)", ""]
        lines += _table(*pairs_table(summary))
    for title, field in (("category", "by_category"), ("company", "by_company")):
        lines += ["", f"## By {title}", ""]
        for group, data in summary[field].items():
            lines += [f"**{group}** ({data['questions']} questions)", ""]
            body = [[summary["labels"].get(m, m)] + [_mean(data["table"][arm].get(m)) for arm in summary["arms"]]
                    for m in summary["metrics"] if any(m in data["table"][arm] for arm in summary["arms"])]
            lines += (_table(["metric", *summary["arms"]], body) if body else
                      ["nothing measured (no reference answers or evidence)"]) + [""]
    if summary["hit_curve"]:
        lines += ["## Retrieval: hit@k", ""]
        depth = len(next(iter(summary["hit_curve"].values())))
        body = [[arm] + [f"{v:.2f}" for v in curve] for arm, curve in summary["hit_curve"].items()]
        lines += _table(["arm", *(f"k={k}" for k in range(1, depth + 1))], body)
    lines += retrieval_lines(rows or [])
    if summary.get("judge"):
        j = summary["judge"]
        lines += ["", f"## Judge: {j['model']}, {j['runs']} run(s)", "",
                  f"Failures this run: {j['failures_this_run'] or 'none'}. Spread (mean per-question "
                  f"standard deviation across runs): {json.dumps(summary['judge_spread']) or '-'}"]
    lines += ["", "## Time (seconds)", "", ", ".join(f"{k}: {v}" for k, v in summary["seconds"].items()), ""]
    return "\n".join(lines)


def _verdicts(summary: dict) -> list[str]:
    """The verdicts and the degenerate-answer lines, as Markdown lists (flagged arms in bold)."""
    lines = []
    if verdict_lines(summary):
        lines += ["## Verdicts (95% paired intervals, first-named arm minus second)", ""]
        lines += [f"- {v}" for v in verdict_lines(summary)] + [""]
    if summary.get("behavioural"):
        lines += ["## Behavioural slice (questions about the candidate's experience)", ""]
        lines += [f"- {arm}: {b['story_cited']} of {b['questions']} answers cite one of the candidate's stories; "
                  f"{b['no_story']} say which kind of story would answer" for arm, b in summary["behavioural"].items()]
        lines += [""]
    if summary.get("health"):
        lines += ["## Degenerate answers", ""]
        lines += [f"- **{degenerate_line(arm, h)}**" if h["flagged"] else f"- {degenerate_line(arm, h)}"
                  for arm, h in summary["health"].items()] + [""]
    return lines


def _mean(estimate: dict | None) -> str:
    return "-" if not estimate or estimate.get("mean") is None else f"{estimate['mean']:.3f} (n={estimate['n']})"
