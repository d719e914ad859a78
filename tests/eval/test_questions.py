"""Eval questions: categories, company names, bad lines, seeded samples."""

from __future__ import annotations

import json

import pytest

from memo.core.errors import MemoError
from memo.eval.questions import category_of, indexed_company, load_questions


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_categories_and_company_names():
    assert category_of({"topic": "Behavioral"}) == "behavioural"
    assert category_of({"category": "technical", "company": "Acme"}) == "technical"
    assert category_of({"evidence": "hb/faq.md"}) == "company-grounded"
    assert category_of({"topic": "Classification", "role": "Data Scientist"}) == "technical"
    indexed = {"tts": "TTS", "acme-corp": "Acme Corp"}
    assert indexed_company("TTS (GSA Technology Transformation Services, incl. 18F)", indexed) == "TTS"
    assert indexed_company("acme corp", indexed) == "Acme Corp"
    assert indexed_company("Globex", indexed) is None


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
    with pytest.raises(MemoError, match=r"bad.jsonl:2: malformed JSON") as caught:
        load_questions([bad])
    assert str(caught.value).endswith("(fix the line)")  # `memo bench` has no --skip-bad to suggest
    wrong = _write(tmp_path / "wrong.jsonl", [{"question": ["a list"]}])
    with pytest.raises(MemoError, match=r"wrong.jsonl:1: `question` must be a non-empty string"):
        load_questions([wrong])
    with pytest.raises(MemoError, match="--limit"):
        load_questions([good], limit=0)
