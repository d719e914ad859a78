"""Parsing an endpoint's JSON drafts."""

from __future__ import annotations

import json

import pytest

from memo.finetune.synth_prompts import DraftError, parse_json_draft

LEAVE = "Every employee receives 27 days of paid leave per year, in addition to public holidays."


def test_parse_plain_json_draft():
    draft = parse_json_draft(json.dumps({"question": " How much leave? ", "quotes": [LEAVE, " "],
                                         "answer": " 27 days. "}))
    assert (draft.question, draft.quotes, draft.answer) == ("How much leave?", [LEAVE], "27 days.")


def test_parse_json_draft_in_fences_with_text_around():
    reply = ('Sure! Here is the draft:\n```json\n{"question": "How much leave?",\n "quotes": ["' + LEAVE
             + '"],\n "answer": "27 days a year."}\n```\nLet me know if you need more.')
    draft = parse_json_draft(reply)
    assert draft.question == "How much leave?" and draft.quotes == [LEAVE] and draft.answer == "27 days a year."


def test_parse_json_draft_accepts_a_single_quote_string():
    draft = parse_json_draft(json.dumps({"question": "How much leave?", "quote": LEAVE, "answer": "27 days."}))
    assert draft.quotes == [LEAVE]


@pytest.mark.parametrize("reply, reason", [
    ("I'm sorry, I cannot write that.", "not_json"),
    ('{"question": "How much leave?", "answer": "27 days",}', "not_json"),
    ('{"question": "How much leave?" "answer"}', "not_json"),
    ('{"question": "How much leave?", "quotes": ["x y z"]}', "missing_fields"),
    ('{"question": "How much leave?", "quotes": ["x y z"], "answer": "  "}', "missing_fields"),
    ('{"quotes": ["x y z"], "answer": "27 days"}', "missing_fields"),
    ('{"question": "How much leave?", "quotes": [1, 2], "answer": "27 days"}', "missing_fields"),
])
def test_parse_json_draft_errors(reply, reason):
    with pytest.raises(DraftError) as caught:
        parse_json_draft(reply)
    assert str(caught.value) == reason
