"""The bench's judge-free metrics: pure functions of answers, references and sources."""

from __future__ import annotations

import pytest

from memo.eval import metrics


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
