"""Quality gates for synthesized records: pure functions, testable without a model.

A draft (question, quotes, answer) from the generator is kept only when it passes every gate; the
first gate it fails is its rejection reason, counted in the synth report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np

from memo.core.text import content_words, split_sentences
from memo.llm.prompt import chunk_body

_MARKUP = re.compile(r"[*_`]+|\[([^\]]*)\]\([^)]*\)")
BEHAVIOURAL_OPENINGS = ("tell me about", "describe a", "give me an example", "give an example",
                        "walk me through", "share an example", "talk about a time", "how did you",
                        "what did you do", "can you describe", "can you tell me about a time")
SNAP_RATIO = 0.9  # a quote within 10% edit distance of a document sentence is that sentence


def sentences(chunk_text: str, min_words: int = 6, max_words: int = 60) -> list[str]:
    """Quotable sentences of a chunk: body text split at sentence ends, list bullets and table
    rows dropped of their markup, headings and code left out."""
    found: list[str] = []
    in_code = False
    for line in chunk_body(chunk_text).splitlines():
        line = line.strip()
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or not line or line.startswith(("#", "|", "---")):
            continue
        line = _MARKUP.sub(lambda m: m.group(1) or "", re.sub(r"^([-*+]|\d+[.)])\s+", "", line))
        for sentence in split_sentences(line):
            if min_words <= len(sentence.split()) <= max_words:
                found.append(sentence.strip())
    return found


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s%$€£]", " ", text.lower()).split())


def snap_quote(quote: str, oracle_text: str) -> str | None:
    """The oracle's exact text for a quote, or None when the quote is not in the oracle.

    Exact (normalized) containment returns the quote as the document writes it; otherwise the
    closest document sentence counts when it is within SNAP_RATIO (small models drop a comma).
    """
    wanted = normalize(quote)
    if len(wanted.split()) < 3:
        return None
    candidates = sentences(oracle_text, min_words=1, max_words=400)
    for sentence in candidates:
        if wanted == normalize(sentence):
            return sentence
        if len(wanted) > 20 and wanted in normalize(sentence):
            return _document_span(wanted, sentence) or sentence
    best = max(candidates, key=lambda s: SequenceMatcher(None, wanted, normalize(s)).ratio(), default=None)
    if best is not None and SequenceMatcher(None, wanted, normalize(best)).ratio() >= SNAP_RATIO:
        return best
    return None


def _document_span(wanted: str, sentence: str) -> str | None:
    """The shortest run of the sentence's own words whose normalized form is `wanted`."""
    words = sentence.split()
    for start in range(len(words)):
        for end in range(start + 1, len(words) + 1):
            span = normalize(" ".join(words[start:end]))
            if span == wanted:
                return " ".join(words[start:end]).strip(" ,;:")
            if len(span) > len(wanted):
                break
    return None


def question_problem(question: str, kind: str) -> str | None:
    """Why a generated question is unusable, or None."""
    words = question.split()
    # "Tell me about a time you..." is an imperative: behavioural questions may end with a period
    if not question.endswith(("?", ".") if kind == "behavioural" else "?"):
        return "question_format"
    if not 4 <= len(words) <= 45:
        return "question_length"
    if kind == "behavioural" and not question.lower().lstrip().startswith(BEHAVIOURAL_OPENINGS):
        return "not_behavioural"
    return None


def grounded_share(answer: str, quotes: Sequence[str], question: str = "") -> float:
    """Share of the answer's content words found in the quotes (words echoed from the question
    don't count either way)."""
    echoed = set(content_words(question))
    words = set(content_words(answer)) - echoed
    if not words:
        return 0.0
    quoted = set(content_words(" ".join(quotes)))
    return len(words & quoted) / len(words)


def most_similar(vector: np.ndarray, others: np.ndarray) -> float:
    """Highest cosine of a unit vector against rows of unit vectors (0 when there are none)."""
    if others.size == 0:
        return 0.0
    return float(np.max(others @ vector))


class SimilarityGuard:
    """Near-duplicate and leakage checks on question embeddings (unit vectors)."""

    def __init__(self, dimension: int, held_out: np.ndarray | None = None,
                 duplicate_at: float = 0.92, leak_at: float = 0.85):
        self.kept = np.zeros((0, dimension), dtype=np.float32)
        self.held_out = held_out if held_out is not None else np.zeros((0, dimension), dtype=np.float32)
        self.duplicate_at = duplicate_at  # MiniLM cosine above which two questions ask the same thing
        self.leak_at = leak_at  # stricter: anything this close to an eval question leaks it

    def problem(self, vector: np.ndarray) -> str | None:
        if most_similar(vector, self.held_out) >= self.leak_at:
            return "leaks_held_out"
        if most_similar(vector, self.kept) >= self.duplicate_at:
            return "near_duplicate"
        return None

    def keep(self, vector: np.ndarray) -> None:
        self.kept = np.vstack([self.kept, vector[None, :].astype(np.float32)])
