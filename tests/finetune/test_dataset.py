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
