"""Okapi BM25 over the indexed chunks, with a boolean mask for company/role filtering.

Small and exact: an inverted index of flat numpy arrays, built when `memo index` saves the chunk
table (memo.ingestion.chunk_table) and memory-mapped by every reader. Its terms are content words
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
    """Postings as flat arrays: term i's documents are docs[offsets[i]:offsets[i + 1]], with their
    precomputed BM25 contributions in weights (what ChunkTable saves and memory-maps)."""

    ARRAYS = ("offsets", "docs", "weights")

    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75, stem: bool = True):
        lengths = np.zeros(len(texts), dtype=np.float32)
        postings: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for doc, text in enumerate(texts):
            counts = Counter(terms(text, stem))
            lengths[doc] = sum(counts.values())
            for term, tf in counts.items():
                postings[term][0].append(doc)
                postings[term][1].append(tf)
        avg = float(lengths.mean()) if len(texts) else 1.0
        norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        vocabulary = {term: i for i, term in enumerate(postings)}
        sizes = np.array([len(docs) for docs, _ in postings.values()], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        docs = np.fromiter((d for ds, _ in postings.values() for d in ds), dtype=np.int32, count=int(offsets[-1]))
        tf = np.fromiter((t for _, ts in postings.values() for t in ts), dtype=np.float32, count=int(offsets[-1]))
        idf = np.log(1 + (len(texts) - sizes + 0.5) / (sizes + 0.5)).astype(np.float32)
        weights = np.repeat(idf, sizes) * tf * (k1 + 1) / (tf + norm[docs])
        self._set(vocabulary, {"offsets": offsets, "docs": docs, "weights": weights.astype(np.float32)},
                  len(texts), k1, b, stem)

    @classmethod
    def from_arrays(cls, vocabulary: dict[str, int], arrays: dict[str, np.ndarray], size: int, k1: float,
                    b: float, stem: bool) -> BM25:
        """A BM25 from what `arrays` and `params` returned (loaded or memory-mapped)."""
        bm25 = cls.__new__(cls)
        bm25._set(vocabulary, arrays, size, k1, b, stem)
        return bm25

    def _set(self, vocabulary: dict[str, int], arrays: dict[str, np.ndarray], size: int, k1: float, b: float,
             stem: bool) -> None:
        self.vocabulary, self.size, self.k1, self.b, self.stem = vocabulary, size, k1, b, stem
        self.offsets, self.docs, self.weights = arrays["offsets"], arrays["docs"], arrays["weights"]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"offsets": self.offsets, "docs": self.docs, "weights": self.weights}

    def params(self) -> dict:
        return {"size": self.size, "k1": self.k1, "b": self.b, "stem": self.stem}

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(terms(query, self.stem)):
            i = self.vocabulary.get(term)
            if i is not None:
                start, end = self.offsets[i], self.offsets[i + 1]
                out[self.docs[start:end]] += self.weights[start:end]
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
