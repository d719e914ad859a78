"""Hybrid search over the indexed demo corpus with the real embedder."""

import json

import pytest

from memo.core.config import load_settings
from memo.core.demo import DEMO_CORPUS
from memo.core.errors import NotIndexedError

QUESTION = "How many days of paid leave does Tidewell offer?"


@pytest.fixture(scope="module")
def retriever(demo_home):
    from memo.retrieval.hybrid import HybridRetriever

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMO_HOME", str(demo_home))
        return HybridRetriever(load_settings())


@pytest.mark.parametrize("question, source", [
    (QUESTION, "benefits.md"),
    ("Who founded Tidewell and when?", "about.md"),
    ("What are meeting-free Fridays called?", "how-we-work.md"),
    ("Which security certification does Tidewell hold?", "security-and-privacy.html"),
    ("When may field technicians not work alone at a site?", "field-operations-handbook.pdf"),
])
def test_search_finds_the_document_that_answers(retriever, question, source):
    hits = retriever.retrieve(question, "tidewell", k=3)
    assert source in [h.source for h in hits]


def test_role_filter_keeps_company_docs_and_only_that_role(retriever):
    hits = retriever.retrieve("What is the salary band and the interview exercise?", "Tidewell",
                              "data scientist", k=20)
    roles = {h.role for h in hits if h.kind == "role"}
    assert roles == {"Data Scientist"}
    assert any(h.kind == "company" for h in hits)
    unfiltered = retriever.retrieve("What is the salary band?", "Tidewell", k=40)
    assert len({h.role for h in unfiltered if h.kind == "role"}) > 1


def test_near_duplicates_are_collapsed(retriever):
    hits = retriever.retrieve("paid leave days per year", "Tidewell", k=10)
    assert len({h.text.split("\n\n", 1)[-1] for h in hits}) == len(hits)


def test_unknown_company_and_role_are_clear_errors(retriever):
    with pytest.raises(NotIndexedError, match="nothing is indexed for company 'Acme'.*Tidewell"):
        retriever.retrieve(QUESTION, "Acme")
    with pytest.raises(NotIndexedError, match="no role 'Astronaut'.*Backend Engineer"):
        retriever.retrieve(QUESTION, "Tidewell", "Astronaut")


def test_chunks_lists_every_chunk_of_the_company_as_stored(retriever, demo_home):
    from tests.conftest import local_chunks

    stored = local_chunks(demo_home)
    chunks = retriever.chunks("TIDEWELL")  # the company's name as a user writes it
    assert {c.id for c in chunks} == set(stored) and len(chunks) == len(stored)
    assert all(c.text == stored[c.id][0] and c.meta == stored[c.id][1] for c in chunks)
    assert {c.meta["kind"] for c in chunks} == {"company", "role"}  # role documents included
    with pytest.raises(NotIndexedError, match="'Acme'"):
        retriever.chunks("Acme")


def test_search_cli_json(demo, run_memo):
    done = run_memo("search", QUESTION, "--company", "Tidewell", "--k", "3", "--json")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 3 and hits[0]["source"] == "benefits.md"
    assert any("27 days" in hit["text"] for hit in hits)


def test_small_company_beside_a_large_one_gets_only_its_own_chunks(memo_env, tmp_path):
    """Dense search post-filters a wider unfiltered search; when the company is drowned out by
    another's chunks it must fall back to Chroma's filtered search, never return foreign hits."""
    from memo.ingestion.indexer import Target, index_corpus
    from memo.retrieval.hybrid import HybridRetriever

    settings = load_settings()
    index_corpus(settings, [DEMO_CORPUS], Target("Tidewell"), show_progress=False)
    acme = tmp_path / "acme"
    acme.mkdir()
    (acme / "perks.md").write_text("# Perks\n\n## Leave\n\nAcme gives 30 days of paid leave.\n\n"
                                   "## Lunch\n\nLunch is free on Fridays.\n")
    index_corpus(settings, [acme], Target("Acme"), show_progress=False)
    retriever = HybridRetriever(settings, embedder=None)
    hits = retriever.retrieve("How many days of paid leave does Tidewell offer?", "Acme", k=5)
    assert {h.company for h in hits} == {"Acme"} and len(hits) == 2
    assert hits[0].dense is not None


@pytest.mark.parametrize("role, posting", [("Data Scientist", "roles/data-scientist.md"),
                                           ("Product Designer", "roles/product-designer.md")])
def test_a_generic_role_question_finds_that_roles_posting(retriever, role, posting):
    """The role's own chunks are a third fused list: a question that names nothing of the posting
    still ranks it among the first hits, above the handbook's many pages."""
    question = "What would I actually spend my days doing if I got this job?"
    hits = retriever.retrieve(question, "Tidewell", role, k=3)
    assert posting in [h.source for h in hits]
    assert all(h.role in ("", role) for h in hits)


def test_without_the_role_list_the_posting_competes_alone(retriever):
    """role_weight 0 is the two-list fusion: the role list's fused score is what lifted it."""
    import dataclasses

    question = "What would I actually spend my days doing if I got this job?"
    with_list = retriever.retrieve(question, "Tidewell", "Data Scientist", k=10)
    base = retriever.settings
    retriever.settings = dataclasses.replace(base, retrieval=dataclasses.replace(base.retrieval, role_weight=0.0))
    try:
        without = retriever.retrieve(question, "Tidewell", "Data Scientist", k=10)
    finally:
        retriever.settings = base

    def first_role_rank(hits):
        return next(rank for rank, h in enumerate(hits) if h.kind == "role")

    assert first_role_rank(with_list) < first_role_rank(without)
    assert with_list[first_role_rank(with_list)].score > without[first_role_rank(without)].score
