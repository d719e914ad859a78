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


def test_token_f1_is_squad_style_overlap():
    reference = "Every employee gets 27 days of paid leave a year."
    assert metrics.token_f1(reference, reference) == pytest.approx(1.0)
    # case, punctuation, articles and citation markers do not count
    assert metrics.token_f1("EVERY employee gets 27 days of paid leave, the year! [1]", reference) == pytest.approx(1.0)
    # 4 of the answer's 6 tokens are among the reference's 9 ("a" dropped): P = 4/6, R = 4/9
    assert metrics.token_f1("Employees get 27 days of leave.", reference) == pytest.approx(2 * 4 / (6 + 9))
    assert metrics.token_f1("leave leave leave", "paid leave") == pytest.approx(2 * 1 / (3 + 2))  # a multiset
    assert metrics.token_f1("The office dog is called Biscuit.", reference) == 0.0
    assert metrics.token_f1("", reference) == 0.0 and metrics.token_f1("the a", "an.") == 1.0  # SQuAD's empty rule
    assert metrics.token_f1("27 days", None) is None and metrics.token_f1("27 days", "") is None


def test_numbers_are_normalized_and_names_are_not_numbers():
    assert metrics.numbers_in("$2,000 a month, 3.5% raise, stand-up at 09:00 or 15:00, 10% off, 27.") == {
        "2000", "3.5", "9:00", "15:00", "10", "27"}
    assert metrics.numbers_in("Q3 planning on the H200 cluster with v1.2") == set()
    assert metrics.numbers_in("1,000,000 users and 12000 more") == {"1000000", "12000"}


def test_hallucinated_number_rate_against_question_and_contexts():
    docs = ["Tidewell offers 27 days of paid leave a year.", "The learning budget is $2000 per person."]
    question = "How many days of leave do I get in 2025?"
    assert metrics.hallucinated_number_rate("I would get 27 days [1] and a 2,000 dollar budget [2].", question,
                                            docs) == 0.0
    # 10% and 15:00 are in no document; 2025 is the question's; [1] and [2, 3] are citations
    answer = "In 2025 I get 27 days [1], a 10% bonus [2, 3] and leave at 15:00."
    assert metrics.hallucinated_number_rate(answer, question, docs) == pytest.approx(2 / 4)
    # no contexts (base, ft, dsf): only the question supports a number
    assert metrics.hallucinated_number_rate("I would expect 25 days in 2025.", question, []) == pytest.approx(1 / 2)
    # distinct numbers, and a numbered list's item numbers are not numbers
    assert metrics.hallucinated_number_rate("1. 30 days\n2. 30 days again", question, docs) == 1.0
    assert metrics.hallucinated_number_rate("A generous amount of leave [1].", question, docs) is None
    assert metrics.hallucinated_number_rate("", question, []) is None


def test_evidence_recall_is_the_share_of_the_references_content_words_held():
    reference = "Every employee gets 27 days of paid leave a year."
    assert metrics.evidence_recall("I get 27 days of paid leave a year [1].", reference) == pytest.approx(5 / 8)
    assert metrics.evidence_recall("I get a laptop.", reference) == 0.0
    assert metrics.evidence_recall("anything", None) is None
    assert metrics.evidence_recall("I get 27 days of paid leave a year.", reference) >= metrics.HOLDS


def test_key_facts_are_all_present_or_the_answer_misses():
    facts = ["27 days", "Humi"]
    assert metrics.key_facts_present("I'd book my **27 days** in humi.", facts) == 1.0  # case and emphasis aside
    assert metrics.key_facts_present("I'd book 27 days.", facts) == 0.0
    assert metrics.key_facts_present("Anything.", None) is None and metrics.key_facts_present("x", []) is None
