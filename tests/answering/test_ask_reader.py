"""`memo ask --adapter @reader`: memo's shipped reader adapter (the real SmolLM2 and the shipped
weights) phrases the selected evidence, and its phrasing is kept only when the check accepts it."""

from __future__ import annotations

import json

import pytest

from memo.answering.compose import facts
from memo.core.text import content_words
from memo.llm.adapter import shipped_reader

pytestmark = pytest.mark.slow
QUESTION = "How many days of paid leave would I get at Tidewell?"


def test_the_reader_phrases_the_evidence_and_states_nothing_else(demo, run_memo):
    assert shipped_reader() is not None, "memo/adapters/reader is missing: run scripts/train_reader.sh"
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--adapter", "@reader", "--json",
                    "--max-new-tokens", "96")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] == "hybrid" and answer["adapter"].endswith("adapters/reader")
    assert answer["evidence"] and not answer["warnings"]  # a reader fits every company
    assert answer["composer"] == "model" or answer["composer"].startswith("rules (model refused: ")
    evidence = " ".join(e["text"] for e in answer["evidence"])
    said = set(content_words(answer["answer"]))
    assert len(said & set(content_words(evidence + " " + QUESTION))) >= 0.8 * len(said) > 0
    assert {f for f in facts(answer["answer"]) if f not in ("I", "Tidewell")} <= facts(evidence) | {"I'd"}
    assert "##" not in answer["answer"] and "<ANSWER>" not in answer["answer"]


def test_the_default_answers_without_a_model(demo, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--json")
    answer = json.loads(done.stdout)
    assert answer["mode"] == "extractive" and answer["adapter"] is None and answer["model"] == ""
    assert answer["composer"] == "rules" and answer["evidence"]
