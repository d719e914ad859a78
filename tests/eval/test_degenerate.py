"""Degenerate answers are named by why; sound answers, short or repetitive in a normal way, are not."""

from __future__ import annotations

import pytest

from memo.eval.degenerate import REASONS, degenerate

LEAVE = "How many days of paid leave does Tidewell offer?"
CONFLICT = "Tell me about a time you disagreed with a teammate about a technical decision."


@pytest.mark.parametrize("answer", ["", "   \n ", "...", "—", " ** "])
def test_empty(answer):
    assert degenerate(answer, LEAVE) == "empty"


@pytest.mark.parametrize("answer", [
    "Document [1] says ##begin_quote##Tidewell offers 27 days of paid leave a year.##end_quote##.",
    "The company's documents say ##begin_quote##27 days of paid leave##end_quote##. [1]",
    "##begin_quote##Employees accrue 27 days of paid leave per year, starting on their first",  # cut off
    "[1]",
    "[1] [2, 3].",
])
def test_quote_only(answer):
    assert degenerate(answer, LEAVE) == "quote_only"


@pytest.mark.parametrize("answer", [
    "I am excited to join Tidewell. I am excited to join Tidewell. I am excited to join Tidewell.",
    "I am a team player I am a team player I am a team player",  # no sentence ends, 5-word unit
    ("Tidewell offers 27 days of paid leave, and Tidewell offers 27 days of paid leave to new hires, and "
    "Tidewell offers 27 days of paid leave to"),  # a 6-word run three times, cut off at the token limit
    "leave leave leave leave leave leave leave leave leave leave leave leave leave",
    "Yes. Yes. Yes.",
])
def test_loop(answer):
    assert degenerate(answer, LEAVE) == "loop"


@pytest.mark.parametrize("answer", [
    "How many days of paid leave does Tidewell offer?",
    "Question: How many days of paid leave does Tidewell offer?",
    "How many days of paid leave does Tidewell offer? That's a great question.",
    "Tidewell offers paid leave days.",
])
def test_restates_question(answer):
    assert degenerate(answer, LEAVE) == "restates_question"


@pytest.mark.parametrize("question, answer", [
    (LEAVE, "Tidewell offers 27 days of paid leave a year [1]."),
    (LEAVE, "27 days."),  # terse, not an echo
    ("Does Tidewell offer paid leave?", "Yes, Tidewell offers paid leave."),
    (LEAVE, ("Document [1] says ##begin_quote##27 days of paid leave##end_quote##. So I would get 27 days "
             "of paid leave each year, and I would use some of it for my family.")),
    # a phrase said twice on purpose
    (LEAVE, ("Tidewell offers 27 days of paid leave a year, from the first day [1]. Because Tidewell offers "
             "27 days of paid leave, I could plan a long trip home every summer.")),
    (CONFLICT, ("At my last job a teammate wanted to rewrite our billing service in Go, and I thought the "
                "risk was too high. We agreed to prototype one endpoint first, measured latency and error "
                "rates for two weeks, and the data showed the rewrite was worth it only for the hot path. "
                "We rewrote that path, kept the rest, and I learned to argue with data rather than opinion.")),
    (CONFLICT, ("I disagreed with a teammate about a technical decision once: whether to add a cache. "
                "I said no, they said yes. We tested it, the cache cut p95 latency by 40%, so I changed my mind.")),
])
def test_sound_answers_are_not_flagged(question, answer):
    assert degenerate(answer, question) is None


def test_reasons_are_the_documented_ones():
    assert REASONS == ("empty", "quote_only", "loop", "restates_question")
