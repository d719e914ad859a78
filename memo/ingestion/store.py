"""The index on disk: a Chroma collection (local or a `chroma run` server), the LlamaIndex docstore
that makes reindexing incremental, and a manifest stamping the embedder, chunker and corpus.

Layout under MEMO_HOME/indexes/NAME/:
    chroma/          the PersistentClient's files (absent when index.chroma_url is set)
    docstore.json    document id -> content hash, written atomically after every committed batch
    manifest.json    embedder, dimension, chunker settings, corpus hash, counts
    sources.json     what `memo index` was given (paths, company, role, kind): `memo repair` re-indexes it
    .lock            held by the one writer; the kernel releases it if the writer is killed

A damaged store is found before Chroma reads it (`store_check`: SQLite's own check, the HNSW
files' structure), and again when a read fails; either way the command says so in one line, with
whatever Chroma printed held back from the terminal (`held_stderr`) and kept in the error log. It
is never deleted: `--rebuild` and `memo repair` move it to MEMO_HOME/indexes/.set-aside/ and start
a new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from memo.core import notices
from memo.core.config import Settings
from memo.core.durable import replacing, write_atomic
from memo.core.errors import LibraryError, MemoError, NotIndexedError, failing_as, keep_in_log
from memo.core.held_stderr import holding_stderr
from memo.core.identity import CANDIDATE_MARK
from memo.ingestion.store_check import store_problem

MANIFEST_VERSION = 1
# Collection metadata: the embedder, and the heading weight its vectors were built with
# (index.heading_weight). An index created before heading-aware vectors has no weight stamped: it
# is searched by cosine on text-only vectors, and stays so until --rebuild.
EMBEDDER_KEY = "memo_embedder"
HEADING_KEY = "memo_heading_weight"


def heading_weight(collection) -> float:
    """The heading weight the collection's vectors carry (0 for an index older than the stamp)."""
    return float((collection.metadata or {}).get(HEADING_KEY, 0.0))


def chroma_client(settings: Settings, create: bool):
    """A Chroma client for the configured index: on-disk by default, HTTP when chroma_url is set."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    url = settings.index.chroma_url
    if url:
        parsed = urlparse(url)
        try:
            return chromadb.HttpClient(host=parsed.hostname, port=parsed.port or 8000,
                                       ssl=parsed.scheme == "https", settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError variants
            raise MemoError(f"cannot reach the Chroma server at {url} ({exc}); is `chroma run` up?") from None
    path = settings.index_dir / "chroma"
    if not create and not path.is_dir():
        raise NotIndexedError(f"no index at {settings.index_dir}; run `memo index PATH --company NAME` first")
    check_store(settings)
    with reading(settings):
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


REPAIR_HINT = "run `memo repair` to set the damaged store aside and re-index its recorded sources"


@contextmanager
def reading(settings: Settings) -> Iterator[None]:
    """A step that reads the index: whatever escapes it (Chroma's errors and panics) becomes one
    line, naming the damage found at its root when the store is damaged; what Chroma printed is
    held back from the terminal and kept in the error log."""
    try:
        with failing_as(f"reading the index {settings.index_dir}", REPAIR_HINT), holding_stderr() as held:
            yield
    except LibraryError as exc:
        forget_clients()  # a client whose open failed stays cached half-made: the next open must start clean
        if held.text:
            keep_in_log(f"what Chroma printed while {exc}", held.text)
        problem = None if settings.index.chroma_url else store_damage(settings, force=True)
        if problem:
            raise LibraryError(damaged(settings, problem)) from exc.__cause__
        raise


def damaged(settings: Settings, problem: str) -> str:
    return f"reading the index {settings.index_dir} failed, its store is damaged: {problem}; {REPAIR_HINT}"


def store_damage(settings: Settings, force: bool = False) -> str | None:
    """What is damaged in the index's local store (store_check, plus a database gone from an index
    memo built), or None; `force` checks again what this process found whole before."""
    chroma = settings.index_dir / "chroma"
    problem = store_problem(chroma, force=force)
    if problem is None and chroma.is_dir() and not (chroma / "chroma.sqlite3").exists() \
            and (settings.index_dir / "manifest.json").is_file():
        problem = "chroma.sqlite3 is missing"
    return problem


def check_store(settings: Settings) -> None:
    """Refuse a local store that is damaged before Chroma reads it (a damaged HNSW file crashes the
    process inside Chroma; a database cut to nothing would be taken for a new, empty one)."""
    problem = store_damage(settings)
    if problem:
        raise LibraryError(damaged(settings, problem))


def forget_clients() -> None:
    """Chroma keeps one client per path for the life of a process, and through it does not see
    what another process (`memo index`) wrote since: forget them, so that the next open reads the
    index as it is now (the warm process does this before reopening a changed index)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def collection_name(settings: Settings) -> str:
    return f"memo_{settings.index.name}"


def open_collection(settings: Settings):
    """The index's collection for reading; a clear error when nothing was indexed yet."""
    client = chroma_client(settings, create=False)
    with reading(settings):
        try:
            collection = client.get_collection(collection_name(settings), embedding_function=None)
        except Exception as exc:
            if not not_found(exc):
                raise
            raise NotIndexedError(
                f"index {settings.index.name!r} is empty; run `memo index PATH --company NAME` first") from None
        collection.count()  # a damaged store fails here, not in the middle of a search
        return collection


def not_found(exc: Exception) -> bool:
    """Whether Chroma says the collection does not exist (NotFoundError or ValueError by version)."""
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


@dataclass
class Manifest:
    embedder: str
    dimension: int
    chunker: dict[str, Any]
    corpus_hash: str = ""
    documents: int = 0
    chunks: int = 0
    updated: str = ""
    version: int = MANIFEST_VERSION

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise MemoError(f"{path} is damaged ({exc}); rerun with --rebuild") from None

    def write(self, path: Path) -> None:
        self.updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_atomic(path, json.dumps(self.__dict__, indent=2))


class IndexWriter:
    """Exclusive write access to one index: lock, collection, docstore and manifest."""

    def __init__(self, settings: Settings, rebuild: bool = False):
        self.settings = settings
        self.root = settings.index_dir
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.root / ".lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise MemoError(f"another `memo index` is writing {self.root}; wait for it to finish") from None
        try:
            self._open(rebuild)
        except BaseException:
            self.close()  # a failed open must not leave the index locked
            raise

    def _open(self, rebuild: bool) -> None:
        self.docstore_path = self.root / "docstore.json"
        self.manifest_path = self.root / "manifest.json"
        try:
            self.client = chroma_client(self.settings, create=True)
            if rebuild:
                self._wipe()
            self.collection = self._collection()
        except MemoError:
            if not rebuild or self.settings.index.chroma_url:
                raise
            set_aside(self.settings)  # the store is damaged: start a new one beside it
            self.client = chroma_client(self.settings, create=True)
            self.collection = self._collection()
        self.docstore = self._load_docstore()

    def _collection(self):
        """The index's collection; a new one is searched by inner product, so that a chunk's text
        vector plus its share of heading vector scores exactly as the two similarities summed."""
        name = collection_name(self.settings)
        with reading(self.settings):
            try:
                return self.client.get_collection(name, embedding_function=None)
            except Exception as exc:
                if not not_found(exc):
                    raise
            collection = self.client.create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "ip"}},
                metadata={HEADING_KEY: float(self.settings.index.heading_weight)})
            collection.count()
            return collection

    def record_sources(self, entry: dict[str, Any]) -> None:
        """Remember what was indexed (once per distinct entry), for `memo repair`."""
        path = self.root / "sources.json"
        entries = read_sources(self.settings)
        if entry not in entries:
            write_atomic(path, json.dumps(entries + [entry], indent=2))

    def _wipe(self) -> None:
        """Delete the collection through the client (removing the live database folder would leave
        chromadb's cached client of this process writing into deleted files)."""
        with reading(self.settings):
            try:
                self.client.delete_collection(collection_name(self.settings))
            except Exception as exc:
                if not not_found(exc):  # not found: nothing to delete
                    raise
        for path in (self.docstore_path, self.manifest_path):
            path.unlink(missing_ok=True)

    def _load_docstore(self):
        from llama_index.core.storage.docstore import SimpleDocumentStore

        if not self.docstore_path.is_file():
            return SimpleDocumentStore()
        try:
            docstore = SimpleDocumentStore.from_persist_path(str(self.docstore_path))
            docstore.get_all_document_hashes()  # valid JSON of the wrong shape fails here
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MemoError(f"{self.docstore_path} is damaged ({type(exc).__name__}); "
                            f"rerun `memo index` with --rebuild") from None
        return docstore

    def check_embedder(self, embedder: str) -> float:
        """Refuse to mix embedders or heading weights: such vectors are not comparable. Returns
        the heading weight to embed with.

        Both are stamped on the Chroma collection itself, so an index on a shared `chroma run`
        server carries them too.
        """
        metadata = dict(self.collection.metadata or {})
        stamped = metadata.get(EMBEDDER_KEY)
        if stamped is None:
            self.collection.modify(metadata={**metadata, EMBEDDER_KEY: embedder})
        elif stamped != embedder:
            raise MemoError(
                f"index {self.settings.index.name!r} was built with embedder {stamped!r}, not "
                f"{embedder!r}; set model.embedder back or rerun `memo index` with --rebuild")
        weight, wanted = heading_weight(self.collection), float(self.settings.index.heading_weight)
        if HEADING_KEY not in metadata:
            if wanted:
                notices.note(f"index {self.settings.index.name!r} predates heading-aware vectors; "
                             f"rerun `memo index` with --rebuild to re-embed it (better retrieval)")
        elif weight != wanted:
            raise MemoError(
                f"index {self.settings.index.name!r} was built with index.heading_weight {weight:g}, "
                f"not {wanted:g}; set it back or rerun `memo index` with --rebuild")
        return weight

    def commit(self) -> None:
        """Persist the docstore after a batch whose chunks are in Chroma."""
        with replacing(self.docstore_path) as tmp:
            self.docstore.persist(str(tmp))

    def close(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()


def read_sources(settings: Settings) -> list[dict[str, Any]]:
    """What `memo index` was given for this index, in order ([] when nothing was recorded)."""
    path = settings.index_dir / "sources.json"
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise MemoError(f"{path} is damaged ({exc}); index the folders again by hand") from None
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("paths"), list)]


def set_aside(settings: Settings) -> Path:
    """Move the local store (Chroma, docstore, manifest, chunk table) to
    MEMO_HOME/indexes/.set-aside/NAME-<time>/ and forget Chroma's clients; its path. The
    recorded sources and the lock stay."""
    root = settings.index_dir
    target = settings.home / "indexes" / ".set-aside" / f"{settings.index.name}-{time.strftime('%Y%m%dT%H%M%S')}"
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(root.iterdir()):
        if item.name not in ("sources.json", ".lock"):
            item.rename(target / item.name)
    forget_clients()
    notices.warn(f"the index store at {root} could not be opened; it was moved to {target} "
                 f"(delete it once the new index works)")
    return target


def index_status(settings: Settings) -> dict[str, Any]:
    """What is in the index: location, manifest, and per company its documents, chunks and roles."""
    collection = open_collection(settings)
    with reading(settings):
        got = collection.get(include=["metadatas"])
    companies: dict[str, dict[str, Any]] = {}
    for meta in got["metadatas"]:
        entry = companies.setdefault(meta.get("company", ""), {"documents": set(), "chunks": 0, "roles": set()})
        entry["documents"].add(meta.get("document_id"))
        entry["chunks"] += 1
        if meta.get("kind") == "role":
            entry["roles"].add(meta.get("role", ""))
    manifest = Manifest.read(settings.index_dir / "manifest.json")
    return {
        "index": settings.index.name,
        "location": settings.index.chroma_url or str(settings.index_dir),
        "manifest": manifest.__dict__ if manifest else None,
        "chunks": collection.count(),
        "companies": {name: {"documents": len(e["documents"]), "chunks": e["chunks"],
                             "roles": sorted(e["roles"])} for name, e in sorted(companies.items())
                      if not name.startswith(CANDIDATE_MARK)},
        "candidates": {name[len(CANDIDATE_MARK):]: {"documents": len(e["documents"]), "chunks": e["chunks"]}
                       for name, e in sorted(companies.items()) if name.startswith(CANDIDATE_MARK)},
    }
