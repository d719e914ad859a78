"""Scoring embeds each text once and serves Ragas from that cache."""

from __future__ import annotations

import pytest


def test_each_text_is_embedded_once_and_served_to_ragas(memo_env):
    from memo.core.config import load_settings
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
