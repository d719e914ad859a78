"""Unbounded input is refused before any model runs: a pasted 100,000-character question would
be ~25k tokens prefilled into an 8k window. The limit is in the error."""

from __future__ import annotations

import pytest

from memo.cli import main
from memo.core.demo import DEMO_COMPANY
from memo.core.limits import MAX_QUESTION_CHARS
from tests.conftest import QUESTION, isolate


@pytest.mark.parametrize("command", ["ask", "search"])
def test_an_overlong_question_is_one_line_with_the_limit(demo_home, monkeypatch, capsys, command):
    isolate(monkeypatch, demo_home)
    long_question = QUESTION + " " + "and what else? " * 7000
    assert main([command, long_question, "--company", DEMO_COMPANY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"memo: error: the question is {len(long_question):,} characters long; the limit is "
                   f"{MAX_QUESTION_CHARS:,} (ask about one thing at a time)"]
    at_limit = ("x" * (MAX_QUESTION_CHARS - len(QUESTION) - 1)) + " " + QUESTION
    assert main(["search", at_limit, "--company", DEMO_COMPANY, "--json"]) == 0  # the limit itself is fine
