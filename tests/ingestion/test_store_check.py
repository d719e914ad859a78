"""store_check finds the damage in a real Chroma store at its root: SQLite's header and its own
quick_check for chroma.sqlite3, the HNSW files' structure for the vector segment (the damage that
crashes Chroma with a segmentation fault); a whole store passes, and is not read twice."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from memo.ingestion import store_check
from memo.ingestion.store_check import store_problem
from tests.ingestion.store_damage import HNSW_DAMAGES, damage, segment


@pytest.fixture
def chroma(notes_home, tmp_path) -> Path:
    """A copy of the notes index's Chroma folder, to damage."""
    copy = tmp_path / "chroma"
    shutil.copytree(notes_home / "indexes" / "default" / "chroma", copy)
    return copy


def test_a_whole_store_passes_and_is_checked_once_until_it_changes(chroma, monkeypatch):
    assert (segment(chroma) / "data_level0.bin").stat().st_size > 1_000_000  # a persisted graph
    assert store_problem(chroma) is None
    checks = []
    monkeypatch.setattr(store_check, "_quick_check", lambda path: checks.append(path))
    assert store_problem(chroma) is None and checks == []  # found whole in this process: not read again
    assert store_problem(chroma, force=True) is None and len(checks) == 1
    (chroma / "chroma.sqlite3").touch()
    assert store_problem(chroma) is None and len(checks) == 2  # a file changed: checked again


@pytest.mark.parametrize(("how", "finds"), [
    ("header page", "no longer starts as an SQLite database"),
    ("middle page", "SQLite"),
    ("last page in use", "SQLite"),
    ("cut in half", "cut short"),
    ("zero length", "empty (0 bytes)"),
])
def test_sqlite_damage_is_named(chroma, how, finds):
    damage(chroma, how)
    problem = store_problem(chroma)
    assert problem is not None and finds in problem and "chroma.sqlite3" in problem, problem


@pytest.mark.parametrize("name", HNSW_DAMAGES)
def test_hnsw_damage_is_named(chroma, name):
    damage(chroma, name)
    problem = store_problem(chroma)
    assert problem is not None and name in problem and segment(chroma).name in problem, problem


def test_a_graph_file_cut_short_or_lost_is_named(chroma):
    folder = segment(chroma)
    data = folder / "data_level0.bin"
    data.write_bytes(data.read_bytes()[:-1676])
    assert "data_level0.bin is" in store_problem(chroma)
    (folder / "header.bin").unlink()
    assert "lost header.bin" in store_problem(chroma, force=True)


def test_a_hot_journal_of_a_killed_writer_is_not_damage(chroma):
    """A writer killed mid-transaction leaves chroma.sqlite3-journal: SQLite rolls it back on the
    next open, as Chroma's own open would; the check must not call that store damaged."""
    path = chroma / "chroma.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("CREATE TABLE scratch (x)")
    connection.execute("INSERT INTO scratch VALUES (1)")
    journal = chroma / "chroma.sqlite3-journal"
    assert journal.exists()
    shutil.copy(journal, chroma / "saved-journal")
    shutil.copy(path, chroma / "saved-db")
    connection.close()  # (rolls back; put the mid-transaction files back as a kill would leave them)
    shutil.copy(chroma / "saved-db", path)
    shutil.copy(chroma / "saved-journal", journal)
    (chroma / "saved-db").unlink()
    (chroma / "saved-journal").unlink()
    assert store_problem(chroma, force=True) is None
