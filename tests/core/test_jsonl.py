"""JSON Lines: bad lines named by file and line, torn last lines, durable appends."""

from __future__ import annotations

import re

import pytest

from memo.core.errors import MemoError
from memo.core.jsonl import read_jsonl, read_log


def test_malformed_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "One?"}\n\n{"question": "Two?"\n["not", "an", "object"]\n'
                    '{"answer": "no question"}\n{"question": "Three?"}\n', encoding="utf-8")
    with pytest.raises(MemoError, match=re.escape(f"{path}:3: malformed JSON")) as caught:
        read_jsonl(path, ("question",))
    assert "--skip-bad" in str(caught.value)

    problems: list[str] = []
    got = read_jsonl(path, ("question",), skip_bad=True, problems=problems)
    assert [r["question"] for r in got] == ["One?", "Three?"]
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:3", f"{path}:4", f"{path}:5"]
    assert "not a JSON object" in problems[1] and "missing field(s) question" in problems[2]


def test_missing_or_binary_file_is_a_clear_error(tmp_path):
    with pytest.raises(MemoError, match="no such file"):
        read_jsonl(tmp_path / "absent.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(MemoError, match="not UTF-8"):
        read_jsonl(tmp_path / "bin.jsonl")


def test_read_log_drops_a_torn_last_line(tmp_path):
    path = tmp_path / "attempts.jsonl"
    assert read_log(path) == []
    path.write_text('{"key": "a", "status": "kept"}\n{"key": "b", "status": "rejected"}\n{"key": "c", "sta',
                    encoding="utf-8")
    assert [r["key"] for r in read_log(path)] == ["a", "b"]


def test_resume_after_a_torn_line_loses_nothing(tmp_path):
    from memo.core.jsonl import append_jsonl

    path = tmp_path / "attempts.jsonl"
    path.write_text('{"key": "a", "status": "kept"}\n{"key": "b", "sta', encoding="utf-8")  # killed mid-write
    assert [r["key"] for r in read_log(path)] == ["a"]
    append_jsonl(path, [{"key": "b", "status": "rejected"}, {"key": "c", "status": "rejected"}])
    assert [r["key"] for r in read_log(path)] == ["a", "b", "c"]
