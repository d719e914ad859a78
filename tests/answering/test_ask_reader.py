"""`memo ask` answers with memo's shipped reader adapter by default (the real SmolLM2 and the
shipped weights), and `--mode rag` still answers with the base model alone."""

from __future__ import annotations

import json
import re

import pytest

from memo.core.text import content_words
from memo.llm.adapter import shipped_reader

pytestmark = pytest.mark.slow
QUESTION = "How many days of paid leave would I get at Tidewell?"


def test_the_default_answer_reads_the_documents_with_the_shipped_reader(demo, run_memo):
    assert shipped_reader() is not None, "memo/adapters/reader is missing: run scripts/train_reader.sh"
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--json", "--max-new-tokens", "96")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] == "hybrid" and answer["adapter"].endswith("adapters/reader")
    assert answer["contexts"] and not answer["warnings"]  # a reader fits every company
    said = set(content_words(answer["answer"]))
    shown = set(content_words(" ".join(c["text"] for c in answer["contexts"])))
    assert len(said & shown) >= 0.6 * len(said) > 0  # it restates the documents, it does not make things up
    assert "##" not in answer["answer"] and answer["reasoning"].count("##begin_quote##") >= 1
    quotes = re.findall(r"##begin_quote##(.*?)##end_quote##", answer["reasoning"], re.DOTALL)
    documents = " ".join(" ".join(c["text"].split()) for c in answer["contexts"])
    assert quotes and all(" ".join(q.split()) in documents for q in quotes)  # quotes are copies
    plain = json.loads(run_memo("ask", QUESTION, "--company", "Tidewell", "--mode", "rag", "--json",
                                "--max-new-tokens", "16").stdout)
    assert plain["mode"] == "rag" and plain["adapter"] is None


def test_streamed_answer_shows_the_final_answer_not_the_quotes(demo, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--max-new-tokens", "96")
    assert done.returncode == 0, done.stderr
    answer_part = done.stdout.split("\nsources", 1)[0].split("\nSources", 1)[0]
    assert "##begin_quote##" not in answer_part and "<ANSWER>" not in answer_part
    assert answer_part.strip()
