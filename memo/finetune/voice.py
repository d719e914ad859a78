"""Target answers in the candidate's voice, written by memo from the quoted evidence.

Measured here: the 135M default, asked for the answer as a few-shot completion, wrote one that
restated its sentence for too few drafts, and memo's fallback ("As I understand it from X's
documents: <quote>") taught adapters to loop on that opening. So for the local generator memo
writes the final answer itself: the quoted sentence, told to the interviewer by the candidate
("we offer" -> "you offer"), with one of a few plain openings or none. Pure functions.
"""

from __future__ import annotations

import random
import re

from memo.core.text import STOPWORDS

# The candidate speaks to the interviewer about the interviewer's company.
_SWAPS = {"we": "you", "our": "your", "ours": "yours", "us": "you", "ourselves": "yourselves",
          "we're": "you're", "we've": "you've", "we'll": "you'll", "we'd": "you'd"}
_WORD = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SWAPS), key=len, reverse=True)) + r")\b", re.I)
# Openings a candidate uses; "" states the fact directly. Several, so no adapter learns one by rote.
OPENINGS = ("", "", "From what I've read, ", "As I understand it, ", "I understand that ",
            "My understanding is that ")
# What a candidate says when the documents shown do not hold the answer (RAFT records without
# their oracle, with `--absent honest`): no invented figure, and a question back.
HONEST = ("The documents I have don't cover that, so I would ask you about it.",
          "I haven't seen that in the documents I have; could you tell me more about it?",
          "I don't know that from what I've read, and I'd rather ask than guess.")


def to_candidate(sentence: str) -> str:
    """The sentence as the candidate says it to the interviewer: first-person plural becomes
    "you", markup and trailing citation-like brackets go."""
    text = re.sub(r"[*_`]+", "", sentence).strip()

    def swap(match: re.Match) -> str:
        word = _SWAPS[match.group(0).lower()]
        return word.capitalize() if match.group(0)[0].isupper() else word

    return _WORD.sub(swap, text)


def candidate_answer(quotes: list[str], rng: random.Random) -> str:
    """A concise final answer: the quoted sentences in the candidate's voice, after an opening."""
    body = " ".join(to_candidate(q) for q in quotes if q.strip())
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
