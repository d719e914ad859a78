"""The Markdown and HTML reports show intervals, pairs and regressions."""

from __future__ import annotations

import re

from memo.eval.report import render_markdown
from memo.eval.report_html import render_html
from memo.eval.summary import compare, summarize


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
                         "hits": [float(i % 2), 1.0, 1.0] if arm == "rag" else None})
    return rows


def test_summary_and_reports_show_intervals_pairs_and_regressions():
    settings = {"files": ["e.jsonl"], "profile": "smollm2-135m", "adapter": None, "endpoint": None,
                "judge_model": None, "seed": 0}
    summary = summarize(_rows(), ["base", "rag"], seed=0, settings=settings)
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
