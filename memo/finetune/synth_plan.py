"""Which drafts `memo synth` attempts: (chunk, kind, quote sentence, role), in an order that covers
every chunk once before any chunk twice, so `--limit` still spreads over the whole corpus.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from memo.core.text import content_words
from memo.finetune.gates import sentences

BEHAVIOURAL_EVERY = 3  # one company chunk in three also gets a behavioural draft (~25% behavioural)


@dataclass(frozen=True)
class Attempt:
    chunk_id: str
    kind: str
    variant: int
    role: str | None
    quote: str  # the sentence the few-shot style builds on (the json style picks its own)

    @property
    def key(self) -> str:
        return f"{self.chunk_id}|{self.kind}|{self.variant}|{self.role or ''}"


def _stable(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def informative(sentence: str) -> int:
    """Content words, with digits counting double: facts with numbers make the best questions."""
    words = content_words(sentence)
    return len(words) + sum(any(c.isdigit() for c in w) for w in words)


def plan(chunks: list[tuple[str, str, dict]], roles: list[str | None], per_chunk: int) -> list[Attempt]:
    """Attempts for (id, text, metadata) chunks; role chunks are asked about for their own role."""
    attempts: list[Attempt] = []
    for chunk_id, text, meta in sorted(chunks):
        ranked = sorted(sentences(text), key=lambda s: (-informative(s), s))
        if not ranked:
            continue
        if meta.get("kind") == "role":
            role = meta.get("role") or None
            if roles != [None] and role not in roles:
                continue
        else:
            role = roles[_stable(chunk_id) % len(roles)]
        for variant, quote in enumerate(ranked[:per_chunk]):
            attempts.append(Attempt(chunk_id, "company", variant, role, quote))
        if meta.get("kind") == "role" or _stable(chunk_id) % BEHAVIOURAL_EVERY == 0:
            attempts.append(Attempt(chunk_id, "behavioural", 0, role, ranked[0]))
    return sorted(attempts, key=lambda a: (a.variant, _stable(a.key)))
