"""`memo bench`'s pure parts, without a model: metrics, statistics, eval-file loading, the summary
and the reports."""

from __future__ import annotations

import json
import math
import re

import pytest

from memo.errors import MemoError
from memo.eval import metrics, stats
from memo.eval.bench import BenchOptions
from memo.eval.questions import category_of, indexed_company, load_questions
from memo.eval.report import render_markdown
from memo.eval.report_html import render_html
from memo.eval.summary import compare, summarize


def test_string_metrics_reward_overlap_and_leave_missing_references_unmeasured():
    reference = "Every employee gets 27 days of paid leave a year."
    assert metrics.rouge_l(reference, reference) == pytest.approx(1.0)
    assert metrics.chrf(reference, reference) == pytest.approx(1.0)
    close, far = "Employees get 27 days of paid leave.", "The office dog is called Biscuit."
    assert metrics.rouge_l(close, reference) > metrics.rouge_l(far, reference)
    assert metrics.chrf(close, reference) > metrics.chrf(far, reference)
    assert metrics.rouge_l(close, None) is None and metrics.chrf(close, "") is None


def test_retrieval_metrics_against_evidence_documents():
    ranked = ["a.md", "b.md", "b.md", "c.md"]
    assert metrics.hits_at(ranked, {"b.md"}, depth=4) == [0.0, 1.0, 1.0, 1.0]
    assert metrics.hits_at(ranked, {"z.md"}, depth=2) == [0.0, 0.0]
    assert metrics.reciprocal_rank(ranked, {"c.md"}) == pytest.approx(0.25)
    assert metrics.reciprocal_rank(ranked, {"z.md"}) == 0.0
    assert metrics.hits_at(ranked, set()) is None and metrics.reciprocal_rank(ranked, set()) is None
    precision, recall = metrics.context_ids(["a.md", "b.md", "b.md"], {"b.md"})
    assert (precision, recall) == (pytest.approx(0.5), pytest.approx(1.0))  # distinct documents
    assert metrics.context_ids(["a.md"], {"b.md", "c.md"}) == (0.0, 0.0)
    assert metrics.context_ids([], {"b.md"}) == (None, 0.0)
    assert metrics.context_ids(["a.md"], set()) == (None, None)


def test_citation_validity_checks_numbers_and_support():
    docs = ["Tidewell offers 27 days of paid leave a year, from the first day.",
            "On-call shifts last one week and hand over on Tuesdays."]
    quoted = "Document [1] says ##begin_quote##27 days of paid leave a year##end_quote##."
    assert metrics.citation_validity("I would get 27 days [1].", quoted, docs) == 1.0
    # [2] exists but the sentence citing it is not in it; [5] does not exist
    answer = "Tidewell pays for a gym membership and daily lunches [2]. Also [5]."
    assert metrics.citation_validity(answer, "", docs) == 0.0
    assert metrics.citation_validity("On-call shifts last one week, handing over on Tuesdays [2].", "", docs) == 1.0
    assert metrics.citation_validity("No citations here.", "", docs) is None


def test_bootstrap_interval_excludes_unmeasured_and_is_seeded():
    values = [0.1, 0.9, 0.5, None, float("nan"), 0.3]
    first, again = stats.bootstrap(values, seed=3), stats.bootstrap(values, seed=3)
    assert first == again
    assert first.n == 4 and first.unmeasured == 2
    assert first.mean == pytest.approx(0.45)
    assert first.low < first.mean < first.high
    assert 0.1 <= first.low and first.high <= 0.9
    constant = stats.bootstrap([0.4] * 5)
    assert (constant.low, constant.high) == (pytest.approx(0.4), pytest.approx(0.4))
    empty = stats.bootstrap([None, None])
    assert empty.mean is None and empty.unmeasured == 2


def test_paired_differences_count_wins_ties_and_losses_on_shared_questions():
    a = [0.9, 0.5, 0.2, None, 0.7]
    b = [0.1, 0.505, 0.6, 0.4, None]
    result = stats.paired(a, b)
    assert (result.wins, result.ties, result.losses) == (1, 1, 1)
    assert result.diff.n == 3 and result.diff.unmeasured == 2
    assert result.diff.mean == pytest.approx((0.8 - 0.005 - 0.4) / 3)
    with pytest.raises(ValueError):
        stats.paired([0.1], [0.1, 0.2])


def test_judge_spread_and_regressions():
    assert stats.spread([[0.5, 0.7], [1.0, 1.0], [None, 0.3]]) == pytest.approx(math.sqrt(0.02) / 2)
    assert stats.spread([[0.5], [None]]) is None
    assert stats.regression(stats.Estimate(0.40, 0.35, 0.45, 20, 0), old_mean=0.60)
    assert not stats.regression(stats.Estimate(0.55, 0.45, 0.65, 20, 0), old_mean=0.60)


def test_categories_and_company_names():
    assert category_of({"topic": "Behavioral"}) == "behavioural"
    assert category_of({"category": "technical", "company": "Acme"}) == "technical"
    assert category_of({"evidence": "hb/faq.md"}) == "company-grounded"
    assert category_of({"topic": "Classification", "role": "Data Scientist"}) == "technical"
    indexed = {"tts": "TTS", "acme-corp": "Acme Corp"}
    assert indexed_company("TTS (GSA Technology Transformation Services, incl. 18F)", indexed) == "TTS"
    assert indexed_company("acme corp", indexed) == "Acme Corp"
    assert indexed_company("Globex", indexed) is None


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_load_questions_names_bad_lines_and_samples_stably(tmp_path):
    rows = [{"id": f"q{i}", "question": f"Question {i}?", "reference_answer": "x", "company": "Acme"}
            for i in range(10)]
    good = _write(tmp_path / "good.jsonl", rows)
    sample = load_questions([good], limit=4, seed=7)
    assert [q.qid for q in sample] == [q.qid for q in load_questions([good], limit=4, seed=7)]
    assert [q.qid for q in sample] == sorted((q.qid for q in sample), key=lambda s: int(s[1:]))
    assert len(load_questions([good, good])) == 20  # the same ids in two files stay distinct
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(MemoError, match=r"bad.jsonl:2: malformed JSON"):
        load_questions([bad])
    wrong = _write(tmp_path / "wrong.jsonl", [{"question": ["a list"]}])
    with pytest.raises(MemoError, match=r"wrong.jsonl:1: `question` must be a non-empty string"):
        load_questions([wrong])
    with pytest.raises(MemoError, match="--limit"):
        load_questions([good], limit=0)


def test_options_name_the_offending_flag(tmp_path):
    with pytest.raises(MemoError, match="--arms"):
        BenchOptions.parse_arms("base,finetuned")
    assert BenchOptions.parse_arms("rag, base,rag") == ["rag", "base"]
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["base", "ft"])
    with pytest.raises(MemoError, match="need --adapter"):
        opts.validate()
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["base"], judge_endpoint="http://x/v1")
    with pytest.raises(MemoError, match="--judge-model"):
        opts.validate()
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["base"], judge_runs=0)
    with pytest.raises(MemoError, match="--judge-runs"):
        opts.validate()


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


def test_each_text_is_embedded_once_and_served_to_ragas(memo_env):
    from memo.config import load_settings
    from memo.eval.scoring import TextVectors, semantic_similarity
    from memo.ingestion.embedder import Embedder

    embedder = Embedder(load_settings().model.embedder)
    calls: list[list[str]] = []
    encode = embedder.encode
    embedder.encode = lambda texts, *a, **k: calls.append(list(texts)) or encode(texts, *a, **k)
    vectors = TextVectors(lambda: embedder)
    vectors.prime(["27 days of paid leave", "a week of on-call", "27 days of paid leave", ""])
    assert calls == [["27 days of paid leave", "a week of on-call"]]
    same = semantic_similarity("27 days of paid leave", "27 days of paid leave", vectors.ragas())
    other = semantic_similarity("a week of on-call", "27 days of paid leave", vectors.ragas())
    assert same == pytest.approx(1.0, abs=1e-5) and other < 0.8
    assert len(calls) == 1  # Ragas got the cached vectors
    assert semantic_similarity("anything", None, vectors.ragas()) is None
    assert semantic_similarity("   ", "a reference", vectors.ragas()) == 0.0
