"""Synth's quality gates: pure functions, tested without a model."""

from __future__ import annotations

import numpy as np
import pytest

from memo.finetune import gates

LEAVE = "Every employee receives 27 days of paid leave per year, in addition to public holidays."


CHUNK = """# Benefits > Time off

### Paid leave

Every employee receives **27 days of paid leave** per year, in addition to public holidays. Leave is \
available from your first day and does not need to be earned.

- **Health coverage:** Tidewell pays 100% of health, dental and vision insurance premiums.
1. Read the [leave policy](https://intranet.example/leave) before you book a long trip abroad.

```
print("a code line that is long enough to be a sentence if it were prose")
```

| Benefit | Amount that is spelled out in many words here |
Too short here.
"""


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def at_cosine(cosine: float) -> np.ndarray:
    """A unit vector whose cosine with (1, 0, 0) is `cosine`."""
    return unit(cosine, float(np.sqrt(1 - cosine ** 2)), 0.0)


def test_sentences_strip_markup_and_skip_headings_code_and_tables():
    found = gates.sentences(CHUNK)
    assert found == [
        LEAVE,
        "Leave is available from your first day and does not need to be earned.",
        "Health coverage: Tidewell pays 100% of health, dental and vision insurance premiums.",
        "Read the leave policy before you book a long trip abroad.",
    ]
    joined = " ".join(found)
    for absent in ("Benefits", "Time off", "print(", "Benefit |", "Too short", "*", "https://"):
        assert absent not in joined


def test_snap_quote_exact_copy_is_kept():
    assert gates.snap_quote(LEAVE, CHUNK) == LEAVE
    # a copy of the markup-laden source text counts as the same sentence
    assert gates.snap_quote("Every employee receives **27 days of paid leave** per year, in addition to "
                            "public holidays.", CHUNK) == LEAVE
    # an exact copy of part of a sentence is kept as written
    assert gates.snap_quote("available from your first day", CHUNK) == "available from your first day"


def test_snap_quote_small_copy_errors_snap_to_the_documents_sentence():
    no_comma = "Every employee receives 27 days of paid leave per year in addition to public holidays"
    assert gates.snap_quote(no_comma, CHUNK) == LEAVE
    typo = "Every employee recieves 27 days of paid leave per year, in addition to the public holidays."
    assert gates.snap_quote(typo, CHUNK) == LEAVE


@pytest.mark.parametrize("quote", [
    "Each member of staff gets twenty-seven days off every year on top of public holidays.",  # paraphrase
    "Tidewell offers unlimited sick leave without a doctor's note.",  # not in the document
    "paid leave",  # two words
    "",
])
def test_snap_quote_rejects_paraphrases_absent_and_tiny_quotes(quote):
    assert gates.snap_quote(quote, CHUNK) is None


@pytest.mark.parametrize("question, kind, problem", [
    ("How many days of paid leave do employees get?", "company", None),
    ("How many days of paid leave do employees get.", "company", "question_format"),
    ("Tell me about the paid leave policy", "company", "question_format"),
    ("Paid leave?", "company", "question_length"),
    ("What " + "really " * 45 + "is it?", "company", "question_length"),
    ("Tell me about a time you planned a long break.", "behavioural", None),
    ("Describe a situation where you pushed back on a deadline?", "behavioural", None),
    ("Why do you want to push back on deadlines?", "behavioural", "not_behavioural"),
    ("How many days of paid leave do employees get?", "behavioural", "not_behavioural"),
    ("Tell me about a time you planned a long break", "behavioural", "question_format"),
])
def test_question_problem(question, kind, problem):
    assert gates.question_problem(question, kind) == problem


def test_grounded_share_counts_quoted_content_words_not_question_echoes():
    quotes = [LEAVE]
    assert gates.grounded_share("I would get 27 days of paid leave every year.", quotes) > 0.8
    assert gates.grounded_share("I love sailing small boats at the weekend.", quotes) == 0.0
    assert gates.grounded_share("", quotes) == 0.0
    question = "How many days of paid leave are there?"
    echo = "Paid leave days are generous."  # only "generous" is the answer's own word, and it is not quoted
    assert gates.grounded_share(echo, quotes) > 0.5
    assert gates.grounded_share(echo, quotes, question) == 0.0


def test_similarity_guard_near_duplicates():
    guard = gates.SimilarityGuard(3)
    base = unit(1, 0, 0)
    assert guard.problem(base) is None  # nothing kept yet
    guard.keep(base)
    assert guard.problem(base) == "near_duplicate"
    assert guard.problem(at_cosine(0.95)) == "near_duplicate"
    assert guard.problem(at_cosine(0.90)) is None  # below the 0.92 duplicate threshold
    assert guard.problem(unit(0, 0, 1)) is None
    guard.keep(unit(0, 0, 1))
    assert guard.problem(unit(0.01, 0, 1)) == "near_duplicate"  # against any kept row


def test_similarity_guard_leak_is_stricter_and_wins():
    held_out = np.stack([unit(1, 0, 0)])
    guard = gates.SimilarityGuard(3, held_out)
    assert guard.problem(at_cosine(0.88)) == "leaks_held_out"  # between 0.85 and 0.92
    assert guard.problem(at_cosine(0.80)) is None
    guard.keep(at_cosine(0.88))
    assert guard.problem(at_cosine(0.88)) == "leaks_held_out"  # both: leaking is the reason given
    assert guard.problem(unit(0, 0, 1)) is None


def test_snapped_partial_quote_is_the_documents_text():
    snapped = gates.snap_quote("EVERY EMPLOYEE receives 27 days of paid leave per year in addition", CHUNK)
    assert snapped is not None and snapped in gates.sentences(CHUNK)[0]
