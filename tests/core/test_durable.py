"""Durable writes: a replaced file or folder is the old version or the new one, never half."""

import pytest

from memo.core.durable import append_lines, replacing, write_atomic


def test_write_atomic_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "manifest.json"
    write_atomic(target, "old")
    write_atomic(target, "new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_failed_writer_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "docstore.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with replacing(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["docstore.json"]


def test_a_folder_is_replaced_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.bin").write_text("x")
    with replacing(target) as tmp:
        tmp.mkdir()
        (tmp / "config.json").write_text("{}")
    assert sorted(p.name for p in target.iterdir()) == ["config.json"]
    assert not (tmp_path / "model.tmp").exists()


def test_append_closes_a_torn_last_line_first(tmp_path):
    log = tmp_path / "attempts.jsonl"
    log.write_text('{"a": 1}\n{"b": ')  # a writer killed mid-line
    append_lines(log, ['{"c": 3}\n'])
    assert log.read_text().splitlines() == ['{"a": 1}', '{"b": ', '{"c": 3}']
