"""Okapi BM25 over the indexed chunks, with a boolean mask for company/role filtering.

Small and exact: an inverted index of numpy arrays, built from the chunk texts in Chroma when the
retriever opens (a few hundred milliseconds for thousands of chunks). Its terms are content words
(stop words dropped), Snowball-stemmed by default so that "salaries" finds "salary"
(`retrieval.stemming`; PyStemmer, the C stemmer bm25s uses too).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import Stemmer

from memo.core.text import content_words

_STEMMER = Stemmer.Stemmer("english")


def terms(text: str, stem: bool = True) -> list[str]:
    """BM25's terms of `text`: its content words, stemmed ("salaries", "salary" -> "salari")."""
    words = content_words(text)
    return _STEMMER.stemWords(words) if stem else words


class BM25:
    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75, stem: bool = True):
        self.size, self.stem = len(texts), stem
        lengths = np.zeros(self.size, dtype=np.float32)
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for doc, text in enumerate(texts):
            counts = Counter(terms(text, stem))
            lengths[doc] = sum(counts.values())
            for term, tf in counts.items():
                postings[term][0].append(doc)
                postings[term][1].append(tf)
        avg = float(lengths.mean()) if self.size else 1.0
        norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        self._terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (docs, tfs) in postings.items():
            docs_arr = np.asarray(docs, dtype=np.int32)
            tf = np.asarray(tfs, dtype=np.float32)
            idf = np.log(1 + (self.size - len(docs) + 0.5) / (len(docs) + 0.5))
            self._terms[term] = (docs_arr, (idf * tf * (k1 + 1) / (tf + norm[docs_arr])).astype(np.float32))

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(terms(query, self.stem)):
            posting = self._terms.get(term)
            if posting is not None:
                out[posting[0]] += posting[1]
        return out

    def top(self, query: str, mask: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The best `n` chunks among those where `mask` is true, with a positive score."""
        scores = np.where(mask, self.scores(query), 0.0)
        n = min(n, int((scores > 0).sum()))
        if n == 0:
            return []
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in best]
