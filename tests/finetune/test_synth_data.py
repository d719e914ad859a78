"""The train/validation split synth writes."""

from __future__ import annotations

import json

from memo.finetune.synth_data import write_dataset


def rows(count: int, start: int = 0) -> list[dict]:
    return [{"id": f"record-{i}", "messages": [], "question": f"Q{i}?"} for i in range(start, start + count)]


def read_ids(path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_split_is_stable_across_runs_and_by_id(tmp_path):
    first = rows(60)
    assert write_dataset(tmp_path, first, 0.1, 0) == (len(read_ids(tmp_path / "train.jsonl")),
                                                       len(read_ids(tmp_path / "val.jsonl")))
    train, val = set(read_ids(tmp_path / "train.jsonl")), set(read_ids(tmp_path / "val.jsonl"))
    assert train | val == {r["id"] for r in first} and not train & val and 1 <= len(val) < 20

    write_dataset(tmp_path, first, 0.1, 0)  # again: the same split
    assert set(read_ids(tmp_path / "val.jsonl")) == val
    write_dataset(tmp_path, list(reversed(first)) + rows(40, 60), 0.1, 0)  # more records, another order
    assert val <= set(read_ids(tmp_path / "val.jsonl")) and train <= set(read_ids(tmp_path / "train.jsonl"))

    write_dataset(tmp_path, first, 0.1, 1)  # the seed picks another split
    assert set(read_ids(tmp_path / "val.jsonl")) != val


def test_ten_records_give_at_least_one_validation_record(tmp_path):
    for start in range(0, 100, 10):  # whatever the ids, even when none hashes into validation
        assert write_dataset(tmp_path, rows(10, start), 0.0001, 0) == (9, 1)
    assert write_dataset(tmp_path, rows(9), 0.0001, 0) == (9, 0)
    assert write_dataset(tmp_path, rows(30), 0.0, 0) == (30, 0)
    train, val = write_dataset(tmp_path, rows(10), 0.1, 0)
    assert train + val == 10 and val >= 1


def test_fallback_validation_record_stays_in_validation(tmp_path):
    write_dataset(tmp_path, rows(10), 0.0001, 0)
    val = set(read_ids(tmp_path / "val.jsonl"))
    write_dataset(tmp_path, rows(11), 0.0001, 0)  # the resumed run kept one more record
    assert val <= set(read_ids(tmp_path / "val.jsonl"))
