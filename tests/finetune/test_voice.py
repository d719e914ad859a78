"""Target answers in the candidate's voice, written from the quoted evidence."""

import random

from memo.core.voice import in_candidate_voice as to_candidate
from memo.finetune.voice import (
    HONEST,
    OPENINGS,
    candidate_answer,
    honest_answer,
)


def test_the_company_speaking_becomes_the_candidate_speaking_to_the_interviewer():
    assert to_candidate("We offer 27 days of paid leave, and our teams plan it with us.") == \
        "You offer 27 days of paid leave, and your teams plan it with you."
    assert to_candidate("**Tidewell** closes between 24 December and 1 January.") == \
        "Tidewell closes between 24 December and 1 January."
    assert to_candidate("We're remote-first; the weekly sync is ours to run.") == \
        "You're remote-first; the weekly sync is yours to run."
    assert to_candidate("Western offices answer weekly.") == "Western offices answer weekly."  # words, not letters
    assert to_candidate("We vest if you move out of the US.") == "You vest if I move out of the US."


def test_the_answer_states_the_fact_after_a_varied_opening_and_keeps_every_figure():
    answers = {candidate_answer(["Every employee gets 27 days of paid leave"], random.Random(seed))
               for seed in range(40)}
    assert len({a.split(" every")[0] for a in answers}) >= 3  # several openings, none learnt by rote
    for answer in answers:
        assert "27 days of paid leave" in answer and answer.endswith(".")
        assert any(answer.startswith(o) for o in OPENINGS if o) or answer.startswith("Every employee")
    proper = candidate_answer(["Tidewell pays a CAD 450 stipend."], random.Random(3))
    assert "Tidewell pays a CAD 450 stipend." in proper  # a name keeps its capital


def test_no_quote_gives_no_answer_and_the_honest_answer_invents_nothing():
    assert candidate_answer(["  "], random.Random(0)) == ""
    answer = honest_answer(random.Random(1))
    assert answer in HONEST and not any(ch.isdigit() for ch in answer)


def test_a_sentence_whose_first_word_may_be_a_name_gets_no_opening():
    for seed in range(12):
        assert candidate_answer(["Like a battery handed over, work moves on."], random.Random(seed)) == \
            "Like a battery handed over, work moves on."
