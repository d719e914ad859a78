"""Citations in an answer: the [n] markers the model wrote, checked against the documents it had.

When a small model cites nothing, each answer sentence is attributed to the document it overlaps
most (marked `attributed`), so a grounded answer always shows where its facts came from. When it
cites a document that does not hold the sentence's words while another one does, `recite` points
the marker at that other document (the 135M reader often numbered the right quote with its
neighbour's number).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memo.core.text import content_words, split_sentences

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_numbers(answer: str) -> list[int]:
    """Document numbers in [1], [2, 3] markers, in order of first appearance."""
    seen: list[int] = []
    for match in _MARKER.finditer(answer):
        for part in match.group(1).split(","):
            number = int(part)
            if number not in seen:
                seen.append(number)
    return seen


def attribute(answer: str, texts: Sequence[str], question: str = "", min_overlap: float = 0.5) -> list[int]:
    """Numbers of the documents that best support the answer's sentences.

    Support is the share of a sentence's content words found in a document, not counting words
    the answer merely echoes from the question (otherwise any restatement would "match").
    """
    doc_words = [set(content_words(text)) for text in texts]
    echoed = set(content_words(question))
    found: list[int] = []
    for sentence in split_sentences(answer):
        words = set(content_words(sentence)) - echoed
        if len(words) < 3:
            continue
        overlaps = [len(words & doc) / len(words) for doc in doc_words]
        best = max(range(len(overlaps)), key=overlaps.__getitem__, default=None)
        if best is not None and overlaps[best] >= min_overlap and best + 1 not in found:
            found.append(best + 1)
    return found


_QUOTED = re.compile(r"##begin_quote##(.*?)(?:##end_quote##|$)", re.S)


def _support(sentence: str, doc_words: list[set], echoed: set) -> list[float]:
    """The share of the sentence's own content words (not the question's, not citation numbers;
    only the quoted words of a quoting sentence) that each document holds."""
    quoted = " ".join(_QUOTED.findall(sentence))
    words = set(content_words(_MARKER.sub(" ", quoted or sentence))) - echoed
    if len(words) < 3:
        return []
    return [len(words & doc) / len(words) for doc in doc_words]


def recite(text: str, texts: Sequence[str], question: str = "", min_overlap: float = 0.5) -> str:
    """`text` with each single-document marker [n] of a sentence moved to the document that holds
    the sentence's words, when document n holds under `min_overlap` of them and another holds at
    least that much (the best such document). Other markers are left as written."""
    doc_words = [set(content_words(t)) for t in texts]
    echoed = set(content_words(question))
    for sentence in split_sentences(text):
        numbers = [int(m.group(1)) for m in _MARKER.finditer(sentence) if m.group(1).isdigit()]
        support = _support(sentence, doc_words, echoed) if numbers else []
        if not support:
            continue
        best = max(range(len(support)), key=support.__getitem__)
        moved = sentence
        for n in set(numbers):
            if 1 <= n <= len(support) and support[n - 1] < min_overlap <= support[best] and best + 1 != n:
                moved = moved.replace(f"[{n}]", f"[{best + 1}]")
        if moved != sentence:
            text = text.replace(sentence, moved, 1)
    return text


def citations(answer: str, sources: Sequence[dict], question: str = "") -> tuple[list[dict], list[int]]:
    """(valid citations with their sources, invalid numbers) for an answer over `sources`."""
    numbers = cited_numbers(answer)
    invalid = [n for n in numbers if not 1 <= n <= len(sources)]
    valid = [n for n in numbers if 1 <= n <= len(sources)]
    how = "cited"
    if not valid and sources:
        valid, how = attribute(answer, [s["text"] for s in sources], question), "attributed"
    return [{"n": n, "source": sources[n - 1]["source"], "section": sources[n - 1].get("section", ""),
             "how": how} for n in valid], invalid
