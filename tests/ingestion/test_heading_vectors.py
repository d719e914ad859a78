"""Heading-aware chunk vectors (index.heading_weight): each chunk's vector is its text's embedding
plus a share of its section heading's, searched by inner product and stamped on the index."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.ingestion.indexer import Target, index_corpus
from memo.ingestion.store import EMBEDDER_KEY, HEADING_KEY, chroma_client, collection_name
from memo.ingestion.transforms import heading, with_headings
from memo.retrieval.hybrid import HybridRetriever
from tests.conftest import local_collection, write_files

pytestmark = pytest.mark.usefixtures("memo_env")

FAQ = ("# Office FAQ\n\nAnswers for new starters.\n\n"
       "## Can I bring my dog to work?\n\nPets are welcome on Fridays if they are house-trained.\n\n"
       "## Where do I park my bicycle?\n\nThe basement has forty racks and a repair stand.\n")
HEADING = "Can I bring my dog to work?"


def test_with_headings_adds_the_weighted_heading_vector():
    text = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    heads = np.array([[0.0, 1.0], [0.0, 0.0]], dtype=np.float32)  # the second chunk has no heading
    out = with_headings(text, heads, 0.3)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[1.0, 0.3], [0.0, 1.0]])
    query = np.array([0.6, 0.8], dtype=np.float32)
    np.testing.assert_allclose(out @ query, text @ query + 0.3 * (heads @ query))


def test_heading_is_the_section_else_the_title():
    assert heading({"section": "Paid leave", "title": "Benefits"}) == "Paid leave"
    assert heading({"section": "", "title": "Benefits"}) == "Benefits"
    assert heading({}) == ""


def index_faq(tmp_path, weight: float | None = None, name: str = "default", rebuild: bool = False):
    settings = load_settings()
    index = dataclasses.replace(settings.index, name=name,
                                **({} if weight is None else {"heading_weight": weight}))
    settings = dataclasses.replace(settings, index=index)
    corpus = write_files(tmp_path / "faq", {"faq.md": FAQ})
    index_corpus(settings, [corpus], Target("Acme"), rebuild=rebuild, show_progress=False)
    return settings


def dog_hit(settings):
    hits = HybridRetriever(settings).retrieve(HEADING, "Acme", k=5)
    return next(h for h in hits if h.section == HEADING)


def test_a_heading_weighted_index_scores_text_plus_heading(tmp_path, memo_env):
    """The default index is stamped with its weight, searched by inner product, and a query equal
    to a heading scores that section 0.3 higher than in a text-only index of the same files."""
    weighted = index_faq(tmp_path)
    assert weighted.index.heading_weight == 0.3
    collection = local_collection(memo_env)
    assert collection.metadata[HEADING_KEY] == 0.3
    assert collection.configuration["hnsw"]["space"] == "ip"
    plain = index_faq(tmp_path, weight=0.0, name="text-only")
    assert local_collection(memo_env, "text-only").metadata[HEADING_KEY] == 0.0
    assert dog_hit(weighted).dense == pytest.approx(dog_hit(plain).dense + 0.3, abs=0.01)


def test_another_heading_weight_is_refused_until_rebuild(tmp_path, memo_env):
    index_faq(tmp_path)
    with pytest.raises(MemoError, match=r"heading_weight 0\.3, not 0\.5.*--rebuild"):
        index_faq(tmp_path, weight=0.5)
    index_faq(tmp_path, weight=0.5, rebuild=True)
    assert local_collection(memo_env, fresh=True).metadata[HEADING_KEY] == 0.5


def test_an_index_older_than_the_stamp_keeps_text_only_vectors(tmp_path, memo_env, caplog):
    """An index created before heading vectors (cosine, no weight stamped) is not mixed: new
    files are embedded text-only, searches work, and a note suggests --rebuild."""
    settings = load_settings()
    chroma_client(settings, create=True).create_collection(
        collection_name(settings), embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
        metadata={EMBEDDER_KEY: settings.model.embedder})
    with caplog.at_level(logging.INFO, logger="memo"):
        index_faq(tmp_path)
    assert any("predates heading-aware vectors" in r.getMessage() for r in caplog.records)
    collection = local_collection(memo_env)
    assert HEADING_KEY not in collection.metadata
    got = collection.get(include=["embeddings"])
    norms = np.linalg.norm(np.asarray(got["embeddings"]), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-3)  # text-only unit vectors
    assert 0.5 < dog_hit(settings).dense <= 1.0001
