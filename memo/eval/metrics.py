"""Scores that need no judge: pure functions of the answer, the reference, the contexts and the
ranked sources. String and ID-based context metrics are Ragas' own (no model involved); token F1
(SQuAD's), hit@k, reciprocal rank, citation validity and the hallucinated-number rate are memo's.

Every function returns a float in [0, 1], or None when the score is undefined for this input
(no reference answer, no evidence document, nothing cited): None is *unmeasured*, never 0.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

from memo.answering.citations import cited_numbers
from memo.core.text import CITATION, content_words, split_sentences
from memo.llm.prompt import QUOTE_BEGIN, QUOTE_END

HIT_DEPTH = 10  # hit@k is reported for k = 1..HIT_DEPTH (the retrieval curve in the report)
SUPPORT = 0.5  # a citing sentence is supported when half its content words are in the cited chunk
_QUOTED = re.compile(re.escape(QUOTE_BEGIN) + r"(.*?)" + re.escape(QUOTE_END), re.S)
_PLAIN_QUOTE = re.compile(r"[\"“]([^\"”]{20,})[\"”]")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
# A number: digits not glued to a word before them (Q3, H200 and v1.2 are names), with thousands
# separators, decimals or clock parts ("2,000", "3.5", "15:00") and an optional percent sign.
_NUMBER = re.compile(r"(?<![\w.:])(\d{1,3}(?:,\d{3})+|\d+)((?:[.:]\d+)*)%?")
_LIST_ITEM = re.compile(r"^\s*\d+[.)]\s+", re.MULTILINE)  # "1. " at a line's start: a list item


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


def _squad_tokens(text: str) -> list[str]:
    """SQuAD's answer normalization: lowercase, punctuation deleted, articles dropped, split on
    whitespace. Citation markers go first (only the retrieval arms write them)."""
    text = CITATION.sub(" ", text).lower()
    text = "".join(ch for ch in text if not _punctuation(ch))
    return _ARTICLES.sub(" ", text).split()


def _punctuation(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")  # ASCII and “ ” — …


def token_f1(answer: str, reference: str | None) -> float | None:
    """SQuAD-style token F1: the harmonic mean of the precision and recall of the answer's tokens
    (a multiset) against the reference's. When either side normalizes to no tokens, 1.0 if both
    do, else 0.0 (SQuAD's rule)."""
    if not reference:
        return None
    got, want = _squad_tokens(answer), _squad_tokens(reference)
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def numbers_in(text: str) -> set[str]:
    """The numbers `text` states, normalized: thousands separators and a percent sign dropped,
    leading zeros of the whole part dropped ("2,000" -> "2000", "10%" -> "10", "09:00" -> "9:00")."""
    found = set()
    for whole, rest in _NUMBER.findall(text):
        found.add((whole.replace(",", "").lstrip("0") or "0") + rest)
    return found


def hallucinated_number_rate(answer: str, question: str, contexts: Sequence[str]) -> float | None:
    """Share of the distinct numbers in the answer that neither the question nor any context
    states (lower is better). Citation markers and list-item numbers are not numbers. With no
    contexts (the arms without retrieval), every number not in the question is unsupported.
    None when the answer states no number."""
    stated = numbers_in(_LIST_ITEM.sub(" ", CITATION.sub(" ", answer)))
    if not stated:
        return None
    supported = numbers_in(question).union(*(numbers_in(text) for text in contexts))
    return len(stated - supported) / len(stated)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def hits_at(ranked_sources: Sequence[str], evidence: set[str], depth: int = HIT_DEPTH) -> list[float] | None:
    """[hit@1, ..., hit@depth]: whether an evidence document is among the first k retrieved chunks."""
    if not evidence:
        return None
    rank = evidence_rank(ranked_sources, evidence)
    return [1.0 if rank is not None and rank <= k else 0.0 for k in range(1, depth + 1)]


def reciprocal_rank(ranked_sources: Sequence[str], evidence: set[str]) -> float | None:
    """1 / rank of the first chunk from an evidence document (0 when none was retrieved)."""
    if not evidence:
        return None
    rank = evidence_rank(ranked_sources, evidence)
    return 1.0 / rank if rank else 0.0


def evidence_rank(ranked_sources: Sequence[str], evidence: set[str]) -> int | None:
    """The rank (from 1) of the first chunk from an evidence document; None when none was retrieved."""
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


HOLDS = 0.5  # an answer "holds the evidence" with this share of the reference's content words


def evidence_recall(answer: str, reference: str | None) -> float | None:
    """The share of the reference answer's content words the answer holds (numbers included)."""
    if not reference:
        return None
    wanted = set(content_words(reference))
    return len(wanted & set(content_words(answer))) / len(wanted) if wanted else None


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[*_`]+", "", text).lower().replace("’", "'").split())


def key_facts_present(answer: str, facts: list[str] | None) -> float | None:
    """1.0 when every key fact (a short exact string: a number, a name, a named policy) is in the
    answer, case and emphasis aside; 0.0 when one is missing; None for a question without them."""
    if not facts:
        return None
    said = _plain(answer)
    return float(all(_plain(f) in said for f in facts))
