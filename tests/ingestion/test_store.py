"""Indexing into, and searching, a real `chroma run` server (index.chroma_url), and a clear
one-line error when the server cannot be reached."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.ingestion.indexer import Target, index_corpus
from memo.ingestion.store import index_status
from memo.retrieval.hybrid import HybridRetriever
from tests.conftest import collection_chunks, write_files

pytestmark = pytest.mark.usefixtures("memo_env")

CORPUS = {
    "kayaks.md": "# Kayak Rentals\n\nAcme rents sea kayaks from the harbour every morning. "
                 "Guided tours leave at nine and return before noon.\n",
    "bikes.md": "# Bicycle Workshop\n\nThe workshop repairs mountain bicycles and replaces brake pads "
                "within a day.\n",
    "roles/guide.md": "---\nrole: Tour Guide\n---\n# Tour Guide\n\nGuides lead kayak tours, check life "
                      "jackets and teach paddling strokes to beginners.\n",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_client(port: int):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))


@pytest.fixture
def chroma_server(tmp_path):
    """A real `chroma run` on a free port; yields its URL and port, and stops it afterwards."""
    chroma = Path(sys.executable).parent / "chroma"
    assert chroma.exists(), f"no chroma console script next to {sys.executable}"
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")
    server = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "chroma-server-data"),
                               "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, last = time.monotonic() + 30, None
        while True:
            assert server.poll() is None, (tmp_path / "chroma.log").read_text(errors="replace")
            try:
                http_client(port).heartbeat()
                break
            except Exception as exc:  # not listening yet
                last = exc
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer its heartbeat in 30 s: {last}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_index_and_search_on_a_chroma_server(tmp_path, monkeypatch, chroma_server):
    url, port = chroma_server
    monkeypatch.setenv("MEMO_INDEX_CHROMA_URL", url)
    settings = load_settings()
    assert settings.index.chroma_url == url
    corpus = write_files(tmp_path / "corpus", CORPUS)

    first = index_corpus(settings, [corpus], Target("Acme"), show_progress=False)
    assert (first.files, first.new, first.skipped) == (3, 3, [])
    assert first.chunks_added == first.chunks_total >= 3
    assert not (settings.index_dir / "chroma").exists(), "chunks went to disk, not to the server"

    server_collection = http_client(port).get_collection("memo_default")
    assert server_collection.count() == first.chunks_total
    assert server_collection.metadata["memo_embedder"] == "all-MiniLM-L6-v2"
    stored = collection_chunks(server_collection)
    assert {meta["source"] for _, meta in stored.values()} == set(CORPUS)
    guide = [meta for _, meta in stored.values() if meta["source"] == "roles/guide.md"]
    assert guide and all((m["kind"], m["role"], m["role_key"]) == ("role", "Tour Guide", "tour-guide") for m in guide)

    hits = HybridRetriever(settings).retrieve("Who repairs brake pads on bicycles?", "Acme", k=2)
    assert hits and hits[0].source == "bikes.md"
    assert hits[0].dense is not None and hits[0].dense > 0.3
    role_hits = HybridRetriever(settings).retrieve("teach paddling strokes", "Acme", role="Tour Guide", k=3)
    assert role_hits[0].source == "roles/guide.md"

    # incremental over HTTP: nothing embedded on a re-run; one changed file replaces only its chunks
    again = index_corpus(settings, [corpus], Target("Acme"), show_progress=False)
    assert (again.new, again.changed, again.unchanged, again.chunks_added) == (0, 0, 3, 0)
    assert again.corpus_hash == first.corpus_hash
    assert collection_chunks(server_collection) == stored

    (corpus / "bikes.md").write_text("# Bicycle Workshop\n\nThe workshop now only sells electric scooters.\n")
    changed = index_corpus(settings, [corpus], Target("Acme"), show_progress=False)
    assert (changed.changed, changed.unchanged, changed.chunks_added) == (1, 2, 1)
    after = collection_chunks(server_collection)
    assert {i: v for i, v in after.items() if v[1]["source"] != "bikes.md"} == \
        {i: v for i, v in stored.items() if v[1]["source"] != "bikes.md"}
    bikes = [text for text, meta in after.values() if meta["source"] == "bikes.md"]
    assert len(bikes) == 1 and "electric scooters" in bikes[0] and "brake pads" not in bikes[0]
    assert server_collection.count() == changed.chunks_total

    status = index_status(settings)
    assert status["location"] == url and status["chunks"] == changed.chunks_total
    assert status["companies"]["Acme"]["roles"] == ["Tour Guide"]


def memo_error(call) -> str:
    """The MemoError message `call()` raises (nothing else is kept: no traceback, no frames)."""
    try:
        call()
    except MemoError as exc:
        return str(exc)
    pytest.fail("no MemoError raised")


def test_unreachable_chroma_url_is_a_one_line_error(tmp_path, monkeypatch, run_memo):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    corpus = write_files(tmp_path / "corpus", CORPUS)
    monkeypatch.setenv("MEMO_INDEX_CHROMA_URL", url)
    settings = load_settings()
    message = memo_error(lambda: index_corpus(settings, [corpus], Target("Acme"), show_progress=False))
    assert "cannot reach" in message and url in message and "\n" not in message
    message = memo_error(lambda: HybridRetriever(settings))
    assert "cannot reach" in message and url in message

    for args in (["index", str(corpus), "--company", "Acme"], ["search", "kayak tours", "--company", "Acme"],
                 ["index", str(corpus), "--company", "Acme", "--chroma-url", url, "--json"]):
        result = run_memo(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("memo: error:") and url in lines[0], result.stderr
        assert result.stdout == ""


def test_failed_open_releases_the_index_lock(tmp_path, monkeypatch):
    """After `index_corpus` fails to open the index (here: the server is down), the index must not
    stay locked while the caller still holds the error, as a notebook (sys.last_traceback), a
    server's error log or a test's pytest.raises does."""
    corpus = write_files(tmp_path / "corpus", CORPUS)
    monkeypatch.setenv("MEMO_INDEX_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(MemoError, match="cannot reach") as kept_error:
        index_corpus(load_settings(), [corpus], Target("Acme"), show_progress=False)
    monkeypatch.delenv("MEMO_INDEX_CHROMA_URL")  # the same index, now on disk
    report = index_corpus(load_settings(), [corpus], Target("Acme"), show_progress=False)
    assert report.new == 3
    assert kept_error.value is not None
