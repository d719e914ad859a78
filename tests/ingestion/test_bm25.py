"""BM25's terms (stemmed content words) and weighted reciprocal-rank fusion: no model, no index."""

import numpy as np

from memo.ingestion.bm25 import BM25, terms
from memo.retrieval.hybrid import rrf

TEXTS = ["Salary bands are published for every level.",
         "The office kitchen has coffee and tea.",
         "Salaries are reviewed twice a year."]


def test_terms_are_stemmed_content_words():
    assert terms("The salaries and the salary") == ["salari", "salari"]
    assert terms("The salaries and the salary", stem=False) == ["salaries", "salary"]
    assert terms("policies of hiring") == terms("policy for hired")


def test_stemming_lets_a_plural_find_the_singular():
    everything = np.ones(len(TEXTS), dtype=bool)
    stemmed = [i for i, _ in BM25(TEXTS).top("What are the salaries?", everything, 3)]
    assert sorted(stemmed) == [0, 2]
    plain = [i for i, _ in BM25(TEXTS, stem=False).top("What are the salaries?", everything, 3)]
    assert plain == [2]


def test_the_mask_keeps_other_chunks_out():
    only_first_two = np.array([True, True, False])
    assert [i for i, _ in BM25(TEXTS).top("salaries", only_first_two, 3)] == [0]


def test_weighted_rrf():
    fused = rrf([["a", "b"], ["b", "c"]], k=0)
    assert fused == {"a": 1.0, "b": 1.5, "c": 0.5}
    weighted = rrf([["a", "b"], ["b", "c"]], k=0, weights=[1.0, 0.5])
    assert weighted == {"a": 1.0, "b": 1.0, "c": 0.25}
    top_of_each = rrf([["a", "x"], ["b", "y"]], k=0, weights=[1.0, 0.5])
    assert max(top_of_each, key=top_of_each.get) == "a"  # the dense list's first beats a half-weight list's
    assert rrf([["a"], ["b"]], k=60, weights=[1.0, 0.0])["b"] == 0.0
