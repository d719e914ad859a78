"""RAFT records (Zhang et al. 2024): the question, its oracle chunk among distractors mined from
memo's own retriever, and an answer that quotes the oracle before giving the final answer.

With probability 1 - oracle_fraction the oracle is left out (replaced by one more distractor) and
the answer is unchanged: the model learns the fact itself and learns to read past distractors.
The prompt is built by memo.llm.prompt, exactly as `memo ask` builds it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from memo.core.text import without_citations
from memo.llm.prompt import ContextDoc, build_messages, raft_answer


@dataclass
class Passage:
    """A chunk as RAFT uses it (a retrieval Hit or an indexed chunk)."""

    id: str
    source: str
    section: str
    text: str
    mine: bool = False  # the candidate's own document (memo synth --from-stories)


def choose_distractors(oracle: Passage, hits: Sequence[Passage], count: int) -> list[Passage]:
    """The top retrieved chunks that are not the oracle: hard negatives, not random ones."""
    return [h for h in hits if h.id != oracle.id][:count]


def assemble(question: str, answer: str, quotes: list[str], oracle: Passage, hits: Sequence[Passage],
             company: str, role: str | None, distractors: int, oracle_fraction: float,
             rng: random.Random, absent_answer: str | None = None) -> dict:
    """Messages and RAFT provenance for one question (the caller adds its own provenance).
    `absent_answer` is the target when the oracle is left out (`--absent honest`); None keeps
    RAFT's own choice, the same answer recalled without its document."""
    negatives = choose_distractors(oracle, hits, distractors + 1)
    keep_oracle = rng.random() < oracle_fraction
    docs = [oracle] + negatives[:distractors] if keep_oracle else negatives[:distractors + 1]
    rng.shuffle(docs)
    number = docs.index(oracle) + 1 if keep_oracle else None
    final = without_citations(answer).strip()
    if number and quotes:
        final = _cite(final, number)
    if not keep_oracle and absent_answer:
        target = raft_answer([], absent_answer)
    else:
        target = raft_answer([(number, q) for q in quotes], final)
    contexts = [ContextDoc(d.source, d.section, d.text) for d in docs]
    messages = build_messages(question, company, role, contexts)
    messages.append({"role": "assistant", "content": target})
    return {"messages": messages, "oracle_ids": [oracle.id],
            "distractor_ids": [d.id for d in docs if d is not oracle],
            "oracle_in_context": keep_oracle, "oracle_position": number}


def _cite(text: str, number: int) -> str:
    """Put the oracle's citation at the end of the first sentence that ends the answer."""
    if text.endswith((".", "!", "?")):
        return f"{text[:-1]} [{number}]{text[-1]}"
    return f"{text} [{number}]"


def attach_contexts(question: str, answer: str, hits: Sequence[Passage], company: str,
                    role: str | None, quotes: list[tuple[int, str]]) -> dict:
    """A record for an existing Q&A pair (--from-qa): the retrieved contexts as the prompt, the
    reference answer as the target, quoting the retrieved sentences that support it."""
    contexts = [ContextDoc(h.source, h.section, h.text, h.mine) for h in hits]
    messages = build_messages(question, company, role, contexts)
    final = answer.strip()
    if quotes:
        final = _cite(final, quotes[0][0])
    messages.append({"role": "assistant", "content": raft_answer(quotes, final)})
    return {"messages": messages, "oracle_ids": [hits[n - 1].id for n, _ in quotes],
            "distractor_ids": [h.id for i, h in enumerate(hits, 1) if i not in {n for n, _ in quotes}],
            "oracle_in_context": bool(quotes), "oracle_position": quotes[0][0] if quotes else None}
