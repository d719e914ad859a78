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
