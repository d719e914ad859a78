"""Degenerate answers: answers that fail in form before any question of correctness, named by why.
A pure function of the answer and the question (no model), checked in this order:

- "empty": no letter or digit at all.
- "quote_only": once RAFT quotes (##begin_quote##...##end_quote##, an unclosed one running to the
  end), their framing ("Document [1] says", "The company's documents say") and citation markers
  are taken out, no content word is left: the model quoted or cited and never answered.
- "loop": a repetition loop, by any of three rules: one sentence written 3+ times; one 6-word
  sequence occurring 3+ times; or, over at least 10 word 4-grams, 30% or more of them repeats of
  an earlier one. A phrase said twice, or a 4-word phrase three times in a long answer, is not a
  loop.
- "restates_question": the answer only echoes the question. Its content words (memo.core.text's,
  plural -s folded, courtesy words like "great question" set aside) share 2+ words with the
  question, 60%+ of them are the question's, and it adds at most 2 new ones, none of them a
  number or a yes/no word ("Tidewell offers 27 days." adds a fact; "27 days." is terse, not an
  echo: it shares only one word).
"""

from __future__ import annotations

import re
from collections import Counter

from memo.core.text import CITATION, content_words, split_sentences
from memo.llm.prompt import ANSWER_MARK, QUOTE_BEGIN, QUOTE_END, QUOTE_SPAN

REASONS = ("empty", "quote_only", "loop", "restates_question")
DEGENERATE_FLAG = 0.05  # the report flags an arm with more than this share of degenerate answers
LOOP_SENTENCE_REPEATS = 3  # the same sentence this many times
LOOP_NGRAM, LOOP_NGRAM_REPEATS = 6, 3  # a 6-word sequence occurring 3 times
LOOP_SHARE_N, LOOP_SHARE, LOOP_SHARE_MIN = 4, 0.3, 10  # 30% of the 4-grams repeated, of 10 or more
RESTATE_NEW, RESTATE_SHARED, RESTATE_SHARE = 2, 2, 0.6
# Words that add nothing to an echo of the question ("Great question! ...", "Question: ...").
COURTESY = frozenset(["question", "great", "good", "thanks", "thank", "asking", "interesting", "sure",
                      "that's", "it's", "let", "answer", "well", "ok", "okay"])
POLARITY = frozenset(["yes", "no", "not", "never", "none", "don't", "doesn't", "can't", "won't", "isn't"])
_FRAMING = re.compile(r"\bdocument\s*(?:\[[\d,\s]*\])?\s*says\b|\bthe company's documents say\b",
                      re.IGNORECASE)


def degenerate(answer: str, question: str) -> str | None:
    """Why `answer` is degenerate (one of REASONS), or None for an answer of sound form."""
    if not re.search(r"[^\W_]", answer):
        return "empty"
    if _quote_only(answer):
        return "quote_only"
    if _loops(CITATION.sub(" ", answer)):
        return "loop"
    if _restates(CITATION.sub(" ", answer), question):
        return "restates_question"
    return None


def _quote_only(answer: str) -> bool:
    bare = CITATION.sub(" ", QUOTE_SPAN.sub(" ", answer))
    for marker in (QUOTE_BEGIN, QUOTE_END, ANSWER_MARK):
        bare = bare.replace(marker, " ")
    return not content_words(_FRAMING.sub(" ", bare))


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:['’][a-z]+)?", text.lower())


def _loops(answer: str) -> bool:
    sentences = [" ".join(_words(s)) for line in answer.splitlines() for s in split_sentences(line)]
    if any(n >= LOOP_SENTENCE_REPEATS for s, n in Counter(s for s in sentences if s).items()):
        return True
    words = _words(answer)
    if any(n >= LOOP_NGRAM_REPEATS for n in _ngrams(words, LOOP_NGRAM).values()):
        return True
    grams = _ngrams(words, LOOP_SHARE_N)
    total = sum(grams.values())
    return total >= LOOP_SHARE_MIN and (total - len(grams)) / total >= LOOP_SHARE


def _ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def _fold(words: list[str]) -> set[str]:
    """Content words with plurals folded ("policies" -> "policy", "offers" -> "offer")."""
    out = set()
    for w in words:
        w = w.replace("’", "'").removesuffix("'s")
        if len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us")):
            w = w[:-1]
        out.add(w)
    return out


def _restates(answer: str, question: str) -> bool:
    said = _fold(content_words(answer)) - COURTESY
    asked = _fold(content_words(question))
    shared, new = said & asked, said - asked
    if len(shared) < RESTATE_SHARED or len(new) > RESTATE_NEW:
        return False
    if any(w in POLARITY or any(c.isdigit() for c in w) for w in new):
        return False
    return len(shared) / len(said) >= RESTATE_SHARE
