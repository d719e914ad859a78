"""Scores that need no judge: pure functions of the answer, the reference, the contexts and the
ranked sources. String and ID-based context metrics are Ragas' own (no model involved); hit@k,
reciprocal rank and citation validity are memo's.

Every function returns a float in [0, 1], or None when the score is undefined for this input
(no reference answer, no evidence document, nothing cited): None is *unmeasured*, never 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from memo.answering.citations import cited_numbers
from memo.core.text import content_words, split_sentences
from memo.llm.prompt import QUOTE_BEGIN, QUOTE_END

HIT_DEPTH = 10  # hit@k is reported for k = 1..HIT_DEPTH (the retrieval curve in the report)
SUPPORT = 0.5  # a citing sentence is supported when half its content words are in the cited chunk
_QUOTED = re.compile(re.escape(QUOTE_BEGIN) + r"(.*?)" + re.escape(QUOTE_END), re.S)
_PLAIN_QUOTE = re.compile(r"[\"“]([^\"”]{20,})[\"”]")


def _ragas():
    from memo.core.errors import require

    require("ragas", "pip install 'memo[eval]'")
    import os

    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    from ragas.metrics import collections

    return collections


def rouge_l(answer: str, reference: str | None) -> float | None:
    """ROUGE-L F-measure (Ragas RougeScore, stemmed)."""
    if not reference:
        return None
    return float(_ragas().RougeScore(rouge_type="rougeL", mode="fmeasure").score(
        reference=reference, response=answer).value)


def chrf(answer: str, reference: str | None) -> float | None:
    """chrF (Ragas CHRFScore, sacrebleu), scaled to [0, 1]."""
    if not reference:
        return None
    return float(_ragas().CHRFScore().score(reference=reference, response=answer).value)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def hits_at(ranked_sources: Sequence[str], evidence: set[str], depth: int = HIT_DEPTH) -> list[float] | None:
    """[hit@1, ..., hit@depth]: whether an evidence document is among the first k retrieved chunks."""
    if not evidence:
        return None
    rank = _first_rank(ranked_sources, evidence)
    return [1.0 if rank is not None and rank <= k else 0.0 for k in range(1, depth + 1)]


def reciprocal_rank(ranked_sources: Sequence[str], evidence: set[str]) -> float | None:
    """1 / rank of the first chunk from an evidence document (0 when none was retrieved)."""
    if not evidence:
        return None
    rank = _first_rank(ranked_sources, evidence)
    return 1.0 / rank if rank else 0.0


def _first_rank(ranked_sources: Sequence[str], evidence: set[str]) -> int | None:
    return next((rank for rank, source in enumerate(ranked_sources, start=1) if source in evidence), None)


def context_ids(context_sources: Sequence[str], evidence: set[str]) -> tuple[float | None, float | None]:
    """(precision, recall) of the documents the model was shown against the evidence documents,
    by Ragas' IDBasedContextPrecision / IDBasedContextRecall."""
    if not evidence or not context_sources:
        return None, (0.0 if evidence else None)
    _ragas()
    import warnings

    from ragas.dataset_schema import SingleTurnSample

    with warnings.catch_warnings():  # 0.4.3 has these only in the deprecated namespace
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import IDBasedContextPrecision, IDBasedContextRecall

    sample = SingleTurnSample(retrieved_context_ids=list(context_sources), reference_context_ids=sorted(evidence))
    return (float(IDBasedContextPrecision().single_turn_score(sample)),
            float(IDBasedContextRecall().single_turn_score(sample)))


def quoted_spans(text: str) -> list[str]:
    """Spans an answer quotes: RAFT ##begin_quote## markers, and plain quotations of 20+ characters."""
    return [m.strip() for m in _QUOTED.findall(text) + _PLAIN_QUOTE.findall(text) if m.strip()]


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def citation_validity(answer: str, reasoning: str, contexts: Sequence[str]) -> float | None:
    """Share of the cited document numbers that exist and support what cites them: a quoted span
    found in that document, or a citing sentence with half its content words in it. None when the
    answer cites nothing."""
    cited = list(dict.fromkeys(cited_numbers(answer) + cited_numbers(reasoning)))
    if not cited:
        return None
    quotes = [_normalized(q) for q in quoted_spans(reasoning + "\n" + answer)]
    sentences = [s for line in (reasoning + "\n" + answer).splitlines() for s in split_sentences(line)]
    good = 0
    for number in cited:
        if not 1 <= number <= len(contexts):
            continue
        doc = contexts[number - 1]
        if any(q and q in _normalized(doc) for q in quotes) or _supported(number, sentences, doc):
            good += 1
    return good / len(cited)


def _supported(number: int, sentences: list[str], doc: str) -> bool:
    doc_words = set(content_words(doc))
    for sentence in sentences:
        if number not in cited_numbers(sentence):
            continue
        words = set(content_words(re.sub(r"\[[\d,\s]+\]", " ", sentence)))
        if len(words) >= 3 and len(words & doc_words) / len(words) >= SUPPORT:
            return True
    return False
