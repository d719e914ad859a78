"""Target answers in the candidate's voice, written by memo from the quoted evidence.

Measured here: the 135M default, asked for the answer as a few-shot completion, wrote one that
restated its sentence for too few drafts, and memo's fallback ("As I understand it from X's
documents: <quote>") taught adapters to loop on that opening. So for the local generator memo
writes the final answer itself: the quoted sentence, told to the interviewer by the candidate
("we offer" -> "you offer"), with one of a few plain openings or none. Pure functions.
"""

from __future__ import annotations

import random

from memo.core.text import STOPWORDS
from memo.core.voice import in_candidate_voice

# Openings a candidate uses; "" states the fact directly. Several, so no adapter learns one by rote.
OPENINGS = ("", "", "From what I've read, ", "As I understand it, ", "I understand that ",
            "My understanding is that ")
# What a candidate says when the documents shown do not hold the answer (RAFT records without
# their oracle, with `--absent honest`): no invented figure, and a question back.
HONEST = ("The documents I have don't cover that, so I would ask you about it.",
          "I haven't seen that in the documents I have; could you tell me more about it?",
          "I don't know that from what I've read, and I'd rather ask than guess.")


def candidate_answer(quotes: list[str], rng: random.Random) -> str:
    """A concise final answer: the quoted sentences in the candidate's voice, after an opening."""
    body = " ".join(in_candidate_voice(q) for q in quotes if q.strip())
    if not body:
        return ""
    if not body.endswith((".", "!", "?")):
        body += "."
    opening = rng.choice(OPENINGS)
    first = body.split(" ", 1)[0]
    if first != "I" and (first.lower() in STOPWORDS or first.lower() in _COMMON_STARTS):
        return opening + (body[0].lower() + body[1:] if opening else body)
    return body  # "Like a battery..." or a name: an opening would need a capital's case guessed


_COMMON_STARTS = frozenset(["you", "your", "every", "each", "all", "new", "most", "some", "our", "their"])


def honest_answer(rng: random.Random) -> str:
    return rng.choice(HONEST)
