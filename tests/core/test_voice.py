"""memo.core.voice: a company document's sentence said by the candidate to the interviewer."""

import pytest

from memo.core.voice import as_intention, in_candidate_voice, swap_persons


@pytest.mark.parametrize("written, said", [
    ("We pay for your laptop.", "You pay for my laptop."),  # the company's "we" is the interviewer's "you"
    ("You are paid monthly.", "I am paid monthly."),  # the employee's "you" is "I", the verb agrees
    ("We will send you a welcome pack.", "You will send me a welcome pack."),  # an object "you" is "me"
    ("If you were hired before 2020, you keep your old plan.", "If I was hired before 2020, I keep my old plan."),
    ("The US office closes at 17:00.", "The US office closes at 17:00."),  # a country, not "us"
    ("Leave carries over to next year.", "Leave carries over to next year."),  # nothing to change
])
def test_persons_swap_and_nothing_else_changes(written, said):
    assert in_candidate_voice(written) == said


@pytest.mark.parametrize("instruction, intention", [
    ("Book vacation in Humi at least two weeks ahead.", "I'd book vacation in Humi at least two weeks ahead."),
    ("Don't share customer data on Slack.", "I wouldn't share customer data on Slack."),
    ("Never share your password.", "I'd never share my password."),
    ("Please ask your manager first.", "I'd ask my manager first."),
])
def test_an_instruction_becomes_what_the_candidate_would_do(instruction, intention):
    assert in_candidate_voice(instruction) == intention


def test_a_noun_that_doubles_as_a_verb_is_not_an_instruction():
    assert as_intention("Work is organised in six-week cycles.") == "Work is organised in six-week cycles."
    assert as_intention("Leave carries over.") == "Leave carries over."
    assert swap_persons("Ask us anything.") == "Ask you anything."


def test_numbers_and_names_survive_every_change():
    said = in_candidate_voice("Submit your €1,500 learning budget claims in Expensify by 30 June.")
    assert said == "I'd submit my €1,500 learning budget claims in Expensify by 30 June."
