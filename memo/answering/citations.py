"""Citations in an answer: the [n] markers the model wrote, checked against the documents it had.

When a small model cites nothing, each answer sentence is attributed to the document it overlaps
most (marked `attributed`), so a grounded answer always shows where its facts came from.
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
