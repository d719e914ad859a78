"""The DSF form of a RAFT record: the same question and final answer, no documents."""

import pytest

from memo.core.errors import MemoError
from memo.finetune.dataset import without_documents
from memo.llm.prompt import DOCS_OPEN, QUOTE_BEGIN, build_messages, raft_answer


def raft_record(**extra) -> dict:
    messages = build_messages("How much leave is there?", "Tidewell", None, [])
    target = raft_answer([(2, "Every employee gets 27 days of paid leave.")], "You offer 27 days of paid leave [2].")
    return {"messages": messages + [{"role": "assistant", "content": target}],
            "question": "How much leave is there?", "company": "Tidewell", "role": None, **extra}


def test_the_dsf_record_asks_without_documents_and_answers_without_quotes_or_citations():
    messages = without_documents(raft_record(), "train.jsonl record 1")
    assert messages[:-1] == build_messages("How much leave is there?", "Tidewell", None, None)
    assert DOCS_OPEN not in messages[1]["content"] and "no company documents" in messages[0]["content"]
    assert messages[-1] == {"role": "assistant", "content": "You offer 27 days of paid leave."}
    assert QUOTE_BEGIN not in messages[-1]["content"]


def test_a_record_without_question_or_company_is_named():
    row = raft_record()
    del row["company"]
    with pytest.raises(MemoError, match="train.jsonl record 3: data_style dsf needs `memo synth` records"):
        without_documents(row, "train.jsonl record 3")


def test_closed_book_adds_the_dsf_form_of_a_stable_share_of_records(tmp_path):
    from memo.finetune.dataset import conversations

    rows = [raft_record(id=f"r{i}") for i in range(200)]
    plain = conversations(rows, tmp_path, "raft", 0.0)
    assert plain == [r["messages"] for r in rows]
    mixed = conversations(rows, tmp_path, "raft", 0.25)
    extra = [m for m in mixed if DOCS_OPEN not in m[1]["content"] and "no company documents" in m[0]["content"]]
    assert 30 <= len(extra) <= 70 and len(mixed) == 200 + len(extra)
    assert conversations(rows, tmp_path, "raft", 0.25) == mixed  # the same records every run
    assert all(DOCS_OPEN not in m[1]["content"] for m in conversations(rows[:5], tmp_path, "dsf", 0.25))
