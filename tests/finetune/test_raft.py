"""RAFT records: oracle kept or dropped, hard-negative distractors, the ask prompt."""

from __future__ import annotations

import random
import re

from memo.finetune.raft import Passage, assemble
from memo.llm.prompt import (
    QUOTE_BEGIN,
    QUOTE_END,
    ContextDoc,
    build_messages,
    split_answer,
)


def passages(count: int) -> list[Passage]:
    return [Passage(f"tidewell/doc{i}.md#0", f"doc{i}.md", f"Section {i}",
                    f"# Doc {i} > Section {i}\n\nDocument number {i} says fact {i * 7} holds.")
            for i in range(count)]


HITS = passages(8)


ORACLE = HITS[2]  # the retriever ranked it third: distractors are the other top hits


QUOTE = "Document number 2 says fact 14 holds."


QUESTION, ANSWER = "Which fact holds in document two?", "Fact 14 holds [3]."


def make(rng: random.Random, fraction: float, distractors: int = 3) -> dict:
    return assemble(QUESTION, ANSWER, [QUOTE], ORACLE, HITS, "Tidewell", "Backend Engineer",
                    distractors, fraction, rng)


def test_oracle_is_kept_in_about_oracle_fraction_of_records():
    rng = random.Random(7)
    kept = sum(make(rng, 0.8)["oracle_in_context"] for _ in range(400))
    assert 0.72 * 400 <= kept <= 0.88 * 400
    rng = random.Random(7)
    assert not any(make(rng, 0.0)["oracle_in_context"] for _ in range(100))
    assert all(make(rng, 1.0)["oracle_in_context"] for _ in range(100))


def test_record_with_the_oracle_quotes_and_cites_it():
    for seed in range(20):
        record = make(random.Random(seed), 1.0)
        user, assistant = record["messages"][1:]
        assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]
        n = record["oracle_position"]
        assert record["oracle_in_context"] and 1 <= n <= 4
        assert f"Document [{n}] (doc2.md - Section 2):\n{QUOTE}" in user["content"]
        assert user["content"].count("Document [") == 4  # oracle + 3 distractors
        reasoning, final = split_answer(assistant["content"])
        assert reasoning == f"Document [{n}] says {QUOTE_BEGIN}{QUOTE}{QUOTE_END}."
        assert final == f"Fact 14 holds [{n}]."  # the draft's own [3] is replaced by the oracle's number
        assert record["oracle_ids"] == [ORACLE.id] and ORACLE.id not in record["distractor_ids"]
        assert len(record["distractor_ids"]) == 3


def test_record_without_the_oracle_has_one_more_distractor_and_no_citation():
    for seed in range(20):
        record = make(random.Random(seed), 0.0)
        user, assistant = record["messages"][1]["content"], record["messages"][2]["content"]
        assert record["oracle_position"] is None
        assert user.count("Document [") == 4  # distractors + 1
        assert QUOTE not in user and "doc2.md" not in user
        assert ORACLE.id not in record["distractor_ids"] and len(record["distractor_ids"]) == 4
        reasoning, final = split_answer(assistant)
        assert reasoning == f"The company's documents say {QUOTE_BEGIN}{QUOTE}{QUOTE_END}."
        assert final == "Fact 14 holds." and not re.search(r"\[\d", assistant)


def test_distractors_are_the_best_other_hits():
    record = make(random.Random(0), 1.0, distractors=2)
    assert sorted(record["distractor_ids"]) == [HITS[0].id, HITS[1].id]
    record = make(random.Random(0), 0.0, distractors=2)
    assert sorted(record["distractor_ids"]) == [HITS[0].id, HITS[1].id, HITS[3].id]


def test_record_prompt_is_exactly_the_ask_prompt():
    record = make(random.Random(3), 0.8)
    ids = [ORACLE.id] * record["oracle_in_context"] + record["distractor_ids"]
    by_id = {p.id: p for p in HITS}
    # the documents in the order the record shows them
    order = sorted(ids, key=lambda i: record["messages"][1]["content"].index(f"({by_id[i].source} - "))
    contexts = [ContextDoc(by_id[i].source, by_id[i].section, by_id[i].text) for i in order]
    assert record["messages"][:2] == build_messages(QUESTION, "Tidewell", "Backend Engineer", contexts)
