"""The chunk table (memo.ingestion.chunk_table): saved by `memo index`, memory-mapped by readers,
rebuilt when it no longer matches the index, and never written under another process's lock."""

from __future__ import annotations

import fcntl

import numpy as np
import pytest

from memo.core.config import load_settings
from memo.ingestion import chunk_table
from memo.ingestion.bm25 import BM25
from memo.ingestion.chunk_table import FOLDER, ChunkTable, generation, open_table
from memo.ingestion.indexer import Target, index_corpus
from memo.ingestion.store import open_collection
from memo.retrieval.hybrid import HybridRetriever
from tests.conftest import write_files

DOCS = {"leave.md": "# Leave\n\nEveryone gets 30 days of paid leave a year.",
        "roles/backend.md": "---\nrole: Backend Engineer\n---\n# Backend Engineer\n\nYou run Go services on call.",
        "office.md": "# Office\n\nThe Lisbon office has bikes and a rooftop garden."}


@pytest.fixture
def indexed(memo_env, tmp_path):
    corpus = write_files(tmp_path / "acme", DOCS)
    settings = load_settings()
    index_corpus(settings, [corpus], Target("Acme"), show_progress=False)
    return settings


def test_memo_index_saves_a_current_table_that_readers_map(indexed, monkeypatch):
    folder = indexed.index_dir / FOLDER
    table = ChunkTable.load(folder)
    assert table.meta["generation"] == generation(indexed.index_dir, open_collection(indexed))
    assert isinstance(table.bm25.weights, np.memmap)
    assert table.companies == {"acme": "Acme"} and table.roles == {"acme": {"backend-engineer": "Backend Engineer"}}

    def no_build(*args, **kwargs):
        raise AssertionError("a reader rebuilt a current table")

    monkeypatch.setattr(ChunkTable, "build", no_build)
    hits = HybridRetriever(indexed).retrieve("How much paid leave?", "Acme")
    assert hits[0].source.endswith("leave.md") and "30 days" in hits[0].text
    role_hits = HybridRetriever(indexed).retrieve("What is on call like?", "Acme", "Backend Engineer", k=1)
    assert role_hits[0].role == "Backend Engineer"


def test_a_table_older_than_the_index_is_rebuilt_and_saved(indexed):
    collection = open_collection(indexed)
    old = ChunkTable.load(indexed.index_dir / FOLDER)
    # what a killed run leaves: a chunk in Chroma that the saved table does not know
    collection.add(ids=["acme/stray#0"], documents=["A stray chunk about the canteen menu."],
                   metadatas=[{"company_key": "acme", "company": "Acme", "kind": "company", "source": "stray.md",
                               "chunk": 0}], embeddings=[[0.0] * 384])
    table = open_table(indexed.index_dir, collection, stem=True)
    assert "acme/stray#0" in table.position and "acme/stray#0" not in old.position
    assert ChunkTable.load(indexed.index_dir / FOLDER).meta["generation"] == table.meta["generation"]


def test_a_reader_never_writes_under_a_writers_lock(indexed):
    collection = open_collection(indexed)
    saved = indexed.index_dir / FOLDER
    before = (saved / "meta.json").read_text()
    with open(indexed.index_dir / ".lock", "a") as lock:  # a `memo index` is running
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        table = open_table(indexed.index_dir, collection, stem=False)  # other stemming: not current
    assert table.meta["stem"] is False and table.bm25.stem is False
    assert (saved / "meta.json").read_text() == before


def test_an_index_without_a_table_gets_one(indexed):
    chunk_table.refresh_table(indexed.index_dir, open_collection(indexed), True)  # current: no-op
    folder = indexed.index_dir / FOLDER
    (folder / "docs.npy").unlink()
    with pytest.raises(ValueError, match="incomplete chunk table"):
        ChunkTable.load(folder)
    HybridRetriever(indexed)
    assert ChunkTable.load(folder).meta["generation"] == generation(indexed.index_dir, open_collection(indexed))


def test_saved_bm25_scores_like_the_built_one(tmp_path):
    texts = ["Salary bands are published.", "Coffee and tea in the kitchen.", "Salaries are reviewed yearly."]
    built = BM25(texts)
    loaded = BM25.from_arrays(built.vocabulary, {k: v.copy() for k, v in built.arrays().items()}, **built.params())
    everything = np.ones(3, dtype=bool)
    assert loaded.top("salary review", everything, 3) == built.top("salary review", everything, 3)
    assert np.allclose(loaded.scores("kitchen"), built.scores("kitchen"))
