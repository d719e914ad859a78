"""Incremental indexing against a real on-disk Chroma and the real MiniLM: unchanged files embed
nothing, changed files replace exactly their chunks, pruning is opt-in and per company, and the
embedder and chunker settings are part of the index's identity."""

from __future__ import annotations

import json
import os

import pytest

from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.ingestion.indexer import Target, index_corpus
from memo.llm.models import embedder_path
from tests.conftest import (
    collection_chunks,
    local_chunks,
    local_collection,
    write_files,
)

pytestmark = pytest.mark.usefixtures("memo_env")


def para(topic: str, n: int) -> str:
    return " ".join(f"The {topic} team reviews item {topic}{i} every week and writes a short note about it."
                    for i in range(n))


CORPUS = {
    "alpha.md": f"# Alpha\n\nAlpha intro about harbour kayaks.\n\n## Details\n\n{para('alpha', 3)}\n",
    "beta.md": f"# Beta\n\nBeta intro about mountain bicycles.\n\n## Details\n\n{para('beta', 3)}\n",
    "notes/gamma.md": f"# Gamma\n\nGamma intro about desert gardens.\n\n## Details\n\n{para('gamma', 3)}\n",
}
# Long enough for several chunks, so shrinking it later leaves stale chunk ids to remove.
LONG_DELTA = "# Delta\n\n" + "\n\n".join(f"## Part {p}\n\n{para(f'delta{p}', 12)}" for p in range(3)) + "\n"


def index(settings, corpus, company="Acme", **kwargs):
    return index_corpus(settings, [corpus], Target(company), show_progress=False, **kwargs)


def by_source(chunks: dict) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for chunk_id, (text, meta) in chunks.items():
        out.setdefault(f"{meta['company_key']}/{meta['source']}", {})[chunk_id] = text
    return out


def assert_consistent(chunks: dict) -> None:
    """Every document's chunks are exactly #0..#n-1 of one version (no stale or partial documents)."""
    for doc_id, texts in by_source(chunks).items():
        metas = [chunks[i][1] for i in texts]
        assert {m["document_id"] for m in metas} == {doc_id}
        assert len({m["doc_hash"] for m in metas}) == 1, f"{doc_id}: chunks of two versions"
        count = metas[0]["chunk_count"]
        assert sorted(texts) == sorted(f"{doc_id}#{n}" for n in range(count)), f"{doc_id}: {sorted(texts)}"


@pytest.fixture
def corpus(tmp_path):
    return write_files(tmp_path / "corpus", {**CORPUS, "delta.md": LONG_DELTA})


def test_rerun_modify_delete_prune(corpus):
    settings = load_settings()
    first = index(settings, corpus)
    assert (first.files, first.new, first.changed, first.unchanged, first.removed) == (4, 4, 0, 0, 0)
    assert first.chunks_added == first.chunks_total > 4
    before = local_chunks(settings.home)
    assert len(before) == first.chunks_total
    assert_consistent(before)
    docs = by_source(before)
    assert set(docs) == {"acme/alpha.md", "acme/beta.md", "acme/notes/gamma.md", "acme/delta.md"}
    assert len(docs["acme/delta.md"]) >= 3
    meta = before["acme/alpha.md#0"][1]
    assert (meta["company"], meta["company_key"], meta["kind"], meta["title"]) == ("Acme", "acme", "company", "Alpha")

    # 1. re-run: nothing embedded, nothing touched
    again = index(settings, corpus)
    assert (again.new, again.changed, again.unchanged, again.chunks_added) == (0, 0, 4, 0)
    assert again.chunks_total == first.chunks_total
    assert again.corpus_hash == first.corpus_hash
    assert local_chunks(settings.home) == before

    # 2. modify one file (and shrink it): only its chunks are replaced
    (corpus / "delta.md").write_text("# Delta\n\nDelta now only talks about lighthouse maintenance.\n")
    changed = index(settings, corpus)
    assert (changed.new, changed.changed, changed.unchanged) == (0, 1, 3)
    assert changed.chunks_added == 1
    assert changed.corpus_hash != first.corpus_hash
    after = local_chunks(settings.home)
    assert_consistent(after)
    docs_after = by_source(after)
    for doc_id in ("acme/alpha.md", "acme/beta.md", "acme/notes/gamma.md"):
        assert docs_after[doc_id] == docs[doc_id], f"{doc_id} was touched"
    assert list(docs_after["acme/delta.md"]) == ["acme/delta.md#0"], "stale chunks of the old version remain"
    delta_text = docs_after["acme/delta.md"]["acme/delta.md#0"]
    assert "lighthouse maintenance" in delta_text
    all_text = "\n".join(text for text, _ in after.values())
    assert "delta0" not in all_text and "delta2" not in all_text, "the changed file's old text is still indexed"
    assert changed.chunks_total == len(after) == len(before) - len(docs["acme/delta.md"]) + 1

    # 3. delete a file, no prune: its chunks stay
    (corpus / "beta.md").unlink()
    kept = index(settings, corpus)
    assert (kept.files, kept.unchanged, kept.removed, kept.chunks_added) == (3, 3, 0, 0)
    assert local_chunks(settings.home) == after
    assert kept.corpus_hash == changed.corpus_hash  # the index's content did not change

    # 4. prune: its chunks disappear, nothing else does
    pruned = index(settings, corpus, prune_missing=True)
    assert pruned.removed == 1 and pruned.chunks_added == 0
    final = local_chunks(settings.home)
    assert "acme/beta.md" not in by_source(final)
    assert {i: v for i, v in after.items() if not i.startswith("acme/beta.md#")} == final
    assert pruned.chunks_total == len(final)
    assert pruned.corpus_hash != kept.corpus_hash
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert manifest["corpus_hash"] == pruned.corpus_hash and manifest["documents"] == 3
    assert manifest["chunks"] == len(final)

    # 5. pruning again is a no-op, and the hash is stable
    again = index(settings, corpus, prune_missing=True)
    assert (again.removed, again.chunks_added, again.corpus_hash) == (0, 0, pruned.corpus_hash)


def test_corpus_hash_is_content_based(tmp_path, memo_env, monkeypatch):
    """Same content -> same hash (in another MEMO_HOME too); any content change -> another hash."""
    a = write_files(tmp_path / "a", CORPUS)
    report_a = index(load_settings(), a)
    monkeypatch.setenv("MEMO_HOME", str(tmp_path / "other-home"))
    b = write_files(tmp_path / "b", CORPUS)  # same files, another folder and another index
    report_b = index(load_settings(), b)
    assert report_b.corpus_hash == report_a.corpus_hash
    (b / "alpha.md").write_text(CORPUS["alpha.md"].replace("kayaks", "canoes"))
    report_c = index(load_settings(), b)
    assert report_c.changed == 1 and report_c.corpus_hash != report_a.corpus_hash
    (b / "alpha.md").write_text(CORPUS["alpha.md"])  # back to the original content
    report_d = index(load_settings(), b)
    assert report_d.changed == 1 and report_d.corpus_hash == report_a.corpus_hash


def test_pruning_one_company_keeps_the_others(tmp_path):
    settings = load_settings()
    acme = write_files(tmp_path / "acme", CORPUS)
    # The same file names for another company: its documents must not be confused with Acme's.
    globex = write_files(tmp_path / "globex", {k: v.replace("intro", "Globex intro") for k, v in CORPUS.items()})
    index(settings, acme, "Acme")
    index(settings, globex, "Globex Corp")
    start = local_chunks(settings.home)
    globex_chunks = {i: v for i, v in start.items() if v[1]["company_key"] == "globex-corp"}
    assert len(globex_chunks) >= 3

    (acme / "alpha.md").unlink()
    (acme / "beta.md").unlink()
    report = index(settings, acme, "Acme", prune_missing=True)
    assert report.removed == 2
    end = local_chunks(settings.home)
    assert {i: v for i, v in end.items() if v[1]["company_key"] == "globex-corp"} == globex_chunks
    assert {v[1]["source"] for v in end.values() if v[1]["company_key"] == "acme"} == {"notes/gamma.md"}
    assert_consistent(end)

    # pruning Globex with an empty folder removes Globex's documents only
    empty = tmp_path / "empty"
    empty.mkdir()
    report = index(settings, empty, "Globex Corp", prune_missing=True)
    assert report.removed == 3
    assert {v[1]["company_key"] for v in local_chunks(settings.home).values()} == {"acme"}


def linked_copy(source: str, target):
    """A folder of symlinks to `source`'s files: the same weights under another name."""
    target.mkdir()
    for root, dirs, files in os.walk(source):
        rel = os.path.relpath(root, source)
        for d in dirs:
            (target / rel / d).mkdir()
        for f in files:
            os.symlink(os.path.join(root, f), target / rel / f)
    return target


def test_other_embedder_is_refused_until_rebuild(tmp_path, monkeypatch, corpus, run_memo):
    settings = load_settings()
    first = index(settings, corpus)
    other = linked_copy(embedder_path("all-MiniLM-L6-v2"), tmp_path / "minilm-copy")

    monkeypatch.setenv("MEMO_MODEL_EMBEDDER", str(other))
    with pytest.raises(MemoError, match="--rebuild") as refused:
        index(load_settings(), corpus)
    assert "all-MiniLM-L6-v2" in str(refused.value) and str(other) in str(refused.value)
    assert len(local_chunks(settings.home)) == first.chunks_total  # the refused run changed nothing

    # the CLI refuses the same way, in one line, then --rebuild starts over with the new embedder
    cli = run_memo("index", str(corpus), "--company", "Acme", "--json")
    assert cli.returncode == 2, cli.stderr
    assert cli.stderr.strip().startswith("memo: error:") and "--rebuild" in cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1 and "Traceback" not in cli.stderr
    cli = run_memo("index", str(corpus), "--company", "Acme", "--rebuild", "--json")
    assert cli.returncode == 0, cli.stderr
    rebuilt = json.loads(cli.stdout)
    assert (rebuilt["new"], rebuilt["unchanged"], rebuilt["repaired"]) == (4, 0, 0)
    assert rebuilt["chunks_added"] == rebuilt["chunks_total"] == first.chunks_total
    collection = local_collection(settings.home, fresh=True)
    assert collection.metadata["memo_embedder"] == str(other)
    assert collection.count() == first.chunks_total
    assert_consistent(collection_chunks(collection))
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert manifest["embedder"] == str(other) and manifest["dimension"] == 384

    # and now the default embedder is the one refused
    monkeypatch.delenv("MEMO_MODEL_EMBEDDER")
    with pytest.raises(MemoError, match="--rebuild"):
        index(load_settings(), corpus)


def test_rebuild_in_the_same_process(tmp_path, monkeypatch, corpus):
    """index_corpus(rebuild=True) in a process that already opened the index (a notebook, a server,
    a test): the rebuilt index must be complete and stamped with the new embedder."""
    settings = load_settings()
    first = index(settings, corpus)
    rebuilt = index(settings, corpus, rebuild=True)  # same embedder
    assert (rebuilt.new, rebuilt.chunks_added, rebuilt.chunks_total) == (4, first.chunks_total, first.chunks_total)

    other = linked_copy(embedder_path("all-MiniLM-L6-v2"), tmp_path / "minilm-copy")
    monkeypatch.setenv("MEMO_MODEL_EMBEDDER", str(other))
    rebuilt = index(load_settings(), corpus, rebuild=True)
    assert (rebuilt.new, rebuilt.chunks_total) == (4, first.chunks_total)
    assert local_collection(settings.home, fresh=True).count() == first.chunks_total


def test_changing_chunk_tokens_rechunks_everything(monkeypatch, corpus):
    settings = load_settings()
    first = index(settings, corpus)
    default_chunks = local_chunks(settings.home)

    monkeypatch.setenv("MEMO_INDEX_CHUNK_TOKENS", "48")
    small = index(load_settings(), corpus)
    assert (small.new, small.changed, small.unchanged) == (0, 4, 0)
    assert small.chunks_total > first.chunks_total
    small_chunks = local_chunks(settings.home)
    assert small.chunks_added == small.chunks_total == len(small_chunks)
    assert_consistent(small_chunks)
    assert not {v[1]["doc_hash"] for v in small_chunks.values()} & {v[1]["doc_hash"] for v in default_chunks.values()}
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert manifest["chunker"]["chunk_tokens"] == 48

    # back to the default: fewer chunks again, and no stale ids of the small chunking remain
    monkeypatch.delenv("MEMO_INDEX_CHUNK_TOKENS")
    back = index(load_settings(), corpus)
    assert (back.changed, back.unchanged) == (4, 0)
    assert local_chunks(settings.home) == default_chunks
    assert back.corpus_hash == first.corpus_hash


@pytest.mark.parametrize("damage", ["{not json", '{"docstore/metadata": 42}'])
def test_damaged_docstore_is_refused_with_a_rebuild_hint(corpus, damage):
    settings = load_settings()
    index(settings, corpus)
    (settings.index_dir / "docstore.json").write_text(damage)
    try:
        index(settings, corpus)
    except MemoError as exc:
        message = str(exc)
    else:
        pytest.fail("a damaged docstore.json was accepted")
    assert "docstore.json" in message and "--rebuild" in message and "\n" not in message
