"""The Markdown and HTML reports show the question sample, verdicts, degenerate answers, intervals,
pairs and regressions; the HTML escapes what answers and names contain, and its plots' labels fit."""

from __future__ import annotations

import re

import pytest

from memo.eval import plots
from memo.eval.report import render_markdown
from memo.eval.report_html import render_html
from memo.eval.report_md import degenerate_line, sample_statement
from memo.eval.summary import compare, summarize

SETTINGS = {"files": ["e.jsonl"], "profile": "smollm2-135m", "adapter": None, "endpoint": None,
            "judge_model": None, "seed": 0}


def _rows() -> list[dict]:
    """Scores of two arms on four questions: rag better on ROUGE-L; only rag has retrieval scores."""
    rows = []
    for i, (base, rag) in enumerate([(0.1, 0.5), (0.2, 0.6), (0.3, 0.3), (0.2, None)]):
        for arm, value in (("base", base), ("rag", rag)):
            scores = {"rouge_l": value}
            if arm == "rag":
                scores.update({"hit@1": float(i % 2), "mrr": 1.0 / (1 + i % 2)})
            rows.append({"qid": f"q{i}", "arm": arm, "question": f"Q{i}?", "company": "Acme",
                         "category": "behavioural" if i == 3 else "company-grounded", "reference": "r",
                         "answer": f"<b>answer {i}</b>", "scores": scores, "judge_runs": {},
                         "hits": [float(i % 2), 1.0, 1.0] if arm == "rag" else None,
                         "degenerate": "loop" if (arm, i) == ("base", 1) else None})
    return rows


def test_summary_and_reports_show_intervals_pairs_and_regressions():
    summary = summarize(_rows(), ["base", "rag"], seed=0, settings=SETTINGS)
    summary["seconds"] = {"total": 1.0}
    assert summary["metrics"] == ["rouge_l", "hit@1", "mrr"]
    assert summary["table"]["rag"]["rouge_l"]["n"] == 3 and summary["table"]["rag"]["rouge_l"]["unmeasured"] == 1
    assert "hit@1" not in summary["table"]["base"]
    pair = summary["pairs"]["rag - base"]["rouge_l"]
    assert (pair["wins"], pair["ties"], pair["losses"], pair["n"]) == (2, 1, 0, 3)
    assert summary["hit_curve"]["rag"] == [0.5, 1.0, 1.0]
    assert set(summary["by_category"]) == {"behavioural", "company-grounded"}
    baseline = {"table": {"rag": {"rouge_l": {"mean": 0.9}}, "base": {"rouge_l": {"mean": 0.2}}}}
    summary["baseline"] = {"changes": compare(summary, baseline)}
    assert summary["baseline"]["changes"]["rag"]["rouge_l"]["regression"]
    assert not summary["baseline"]["changes"]["base"]["rouge_l"]["regression"]
    markdown = render_markdown(summary)
    assert "| ROUGE-L | 0.200 [" in markdown and "**regression**" in markdown
    assert "| rag - base |" in markdown and " 2/1/0" in markdown
    html = render_html(summary, _rows())
    assert html.count("<svg") == 3 + 1 + 1  # a plot per metric, per paired metric, and the hit@k curve
    assert "&lt;b&gt;answer 0&lt;/b&gt;" in html and "<b>answer" not in html  # answers are escaped
    assert not re.search(r"<script|<link|src=|url\(", html)  # self-contained: nothing to fetch or run


def _summary(settings: dict | None = None, available: int | None = None) -> dict:
    summary = summarize(_rows(), ["base", "rag"], seed=0, settings={**SETTINGS, **(settings or {})},
                        available=available)
    summary["seconds"] = {"total": 1.0}
    return summary


def test_reports_open_with_the_sample_the_verdicts_and_the_degenerate_answers():
    summary = _summary({"limit": 4, "seed": 7}, available=27)
    assert summary["available_questions"] == 27
    verdict = next(v for v in summary["verdicts"] if v["metric"] == "rouge_l")
    assert (verdict["a"], verdict["b"]) == ("rag", "base") and verdict["verdict"].startswith(
        "no measurable difference between rag and base on ROUGE-L: +0.267 [")  # 3 questions: wide
    markdown = render_markdown(summary)
    assert "Questions: a seeded sample of 4 of 27 questions (seed 7)." in markdown
    top = markdown.index("| metric |")
    assert -1 < markdown.index("## Verdicts") < top and markdown.index(verdict["verdict"]) < top
    assert "- **base: 1 of 4 answers degenerate (25.0%): loop 1 - above 5%**" in markdown
    assert "- rag: 0 of 4 answers degenerate (0.0%)\n" in markdown
    html = render_html(summary, _rows())
    assert "a seeded sample of 4 of 27 questions (seed 7)" in html
    assert html.index("<h2>Verdicts") < html.index('<table class="summary">')
    assert '<li class="reg">base: 1 of 4 answers degenerate (25.0%): loop 1 - above 5%</li>' in html
    assert "; degenerate: loop" in html


@pytest.mark.parametrize("settings, available, statement", [
    ({"limit": None}, 27, "all 27 questions of the files"),
    ({}, None, "all 4 questions of the files"),  # an older settings record with no limit
    ({"limit": 4, "seed": 3}, 27, "a seeded sample of 4 of 27 questions (seed 3)"),
    ({"limit": 50}, 4, "all 4 questions of the files"),  # --limit above what the files hold
    ({"limit": 4, "seed": 3}, None, ("a seeded sample of 4 questions (seed 3); how many the files hold was "
                                      "not recorded")),
    ({"limit": 9}, None, "all 4 questions of the files"),  # fewer than --limit: nothing was sampled
])
def test_sample_statement(settings, available, statement):
    assert sample_statement(_summary(settings, available)) == statement


def test_degenerate_line_wording():
    h = {"answers": 27, "degenerate": 1, "degenerate_rate": 1 / 27, "degenerate_reasons": {"loop": 1},
         "flagged": False}
    assert degenerate_line("hybrid", h) == "hybrid: 1 of 27 answers degenerate (3.7%): loop 1"
    h = {"answers": 20, "degenerate": 3, "degenerate_rate": 0.15, "flagged": True,
         "degenerate_reasons": {"quote_only": 1, "restates_question": 2}}
    assert degenerate_line("dsf", h) == ("dsf: 3 of 20 answers degenerate (15.0%): quote only 1, "
                                         "restates question 2 - above 5%")


def test_html_escapes_names_and_verdicts():
    summary = _summary()
    summary["health"]["<img src=x>"] = {**summary["health"]["base"]}
    summary["verdicts"].append({**summary["verdicts"][0], "verdict": "<script>alert(1)</script>"})
    html = render_html(summary, _rows())
    assert "&lt;img src=x&gt;" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<script|<img", html)


def test_plot_labels_fit_their_plot():
    rows = [("hybrid - dsf+rag", 0.05, 0.01, 0.09), ("rag - base", -0.02, -0.05, 0.01)]
    svg = plots.intervals("hallucinated numbers (lower is better): difference", rows, lo=-0.1, hi=0.1,
                          zero=True, axis="first arm minus second, 95% interval")
    width = float(re.search(r'width="([\d.]+)"', svg).group(1))
    axis_start = float(re.search(r'<line x1="([\d.]+)"', svg).group(1))
    assert axis_start >= plots.PAD + plots.CHAR_L * len("hybrid - dsf+rag")  # labels end before the axis
    assert width == pytest.approx(axis_start + plots.PLOT + plots.PAD)  # the drawing keeps its width
    spans = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert len(spans) == 2 and all(len(line) * plots.CHAR_T <= width - 2 * plots.PAD for line in spans)
    assert "first arm minus second" in svg
    short = plots.intervals("ROUGE-L", [("rag", 0.4, 0.3, 0.5)])
    assert 'width="360"' in short and short.count("<tspan") == 1  # the usual size when labels are short
    curve = plots.curve("hit@k: evidence document in the top k", {"rag": [0.5, 1.0], "dsf+rag": [0.4, 0.9]})
    assert "k (chunks retrieved)" in curve and "share of questions" in curve


def test_reports_show_where_the_evidence_ranked_per_question():
    rows = _rows()
    for row in rows:
        if row["arm"] == "rag":
            i = int(row["qid"][1:])
            row.update({"evidence": ["pay.md"], "retrieved": ["other.md", "pay.md"] if i % 2 else ["pay.md"],
                        "evidence_rank": 2 if i % 2 else 1,
                        "contexts": [{"source": "pay.md", "section": "", "text": "x"}]})
    rows[-1].update({"retrieved": ["other.md"], "evidence_rank": None})
    summary = summarize(rows, ["base", "rag"], seed=0, settings=SETTINGS)
    summary["seconds"] = {"total": 1.0}
    assert "evidence_rank" not in summary["metrics"] and "retrieved" not in summary["metrics"]
    markdown = render_markdown(summary, rows)
    assert "## Retrieval per question" in markdown
    assert "| q1 | pay.md | evidence ranked 2 | other.md, pay.md |" in markdown
    assert "| q3 | pay.md | evidence not in the top 1 | other.md |" in markdown
    html = render_html(summary, rows)
    assert "retrieval: evidence ranked 2" in html and "<li><b>pay.md</b></li>" in html
    assert "documents shown" in html
    assert "## Retrieval per question" not in render_markdown(summarize(_rows(), ["base", "rag"], seed=0,
                                                                          settings=SETTINGS) | {"seconds": {}})
