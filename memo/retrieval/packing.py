"""Packing the context window: as many of the best hits as fit beside the prompt and the answer.

The caller supplies `fits(hits)`, which renders the full prompt with the generator's own template
and tokenizer and compares it with the budget (context length minus the answer's max tokens), so
the count is exact, not estimated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def pack(hits: Sequence[T], fits: Callable[[list[T]], bool]) -> list[T]:
    """Greedy in rank order: add each hit if the prompt still fits, skip it otherwise.

    A long hit that does not fit does not stop a shorter, lower-ranked one from being used.
    """
    packed: list[T] = []
    for hit in hits:
        if fits(packed + [hit]):
            packed.append(hit)
    return packed


def reading_order(packed: Sequence[T], best_last: bool) -> list[T]:
    """The packed hits in the order the prompt shows them: rank order, or reversed so that the
    best hit sits last, next to the question, where a small model reads (retrieval.best_last)."""
    return list(reversed(packed)) if best_last else list(packed)
