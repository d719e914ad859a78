"""`memo index`: read files, and run them through a LlamaIndex IngestionPipeline into Chroma.

Incremental and crash-safe:
- documents have stable ids (`company/source`), so the docstore's hashes tell unchanged files
  (skipped, nothing embedded), changed ones (their chunks replaced) and new ones apart;
- work is committed in batches: chunks go to Chroma first, then the docstore is written
  atomically; a run killed mid-batch (or stopped by a full disk) leaves chunks the docstore does
  not vouch for, and the next run's `reconcile` deletes them (and re-queues any document whose
  chunks are incomplete);
- what each run was given is recorded, so that `repair_index` (`memo repair`) can set a damaged
  store aside and index it all again.

Company boundaries: --company decides where a file goes (a front-matter `company:` that differs is
ignored, with a warning), and two names with one comparison key are refused.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from memo.core import notices
from memo.core.config import Settings
from memo.core.errors import MemoError, failing_as
from memo.core.identity import CANDIDATE_MARK, corpus_hash, scope_key, slug
from memo.core.progress import Progress
from memo.ingestion.candidate import as_candidate_document
from memo.ingestion.chunk_table import refresh_table
from memo.ingestion.embedder import LazyEmbedder
from memo.ingestion.loaders import (
    RawDocument,
    Skipped,
    SourceFile,
    UnreadableFile,
    discover,
    read_document,
)
from memo.ingestion.store import IndexWriter, Manifest, read_sources
from memo.llm.models import pick_device


@dataclass
class IndexReport:
    index: str
    company: str
    files: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    repaired: int = 0
    chunks_added: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    corpus_hash: str = ""

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["skipped"] = [s.__dict__ for s in self.skipped]
        return out


@dataclass
class Target:
    """Who the documents belong to: --company, and --role / --kind or per-file front matter."""

    company: str
    role: str | None = None
    kind: str | None = None

    def metadata(self, raw: RawDocument) -> dict[str, str]:
        meta = raw.front_matter
        if self.kind == "candidate" or meta.get("kind") == "candidate":
            return self._candidate_metadata(raw)
        in_roles_folder = "roles" in Path(raw.source).parts[:-1]
        if meta.get("company") and slug(meta["company"]) != slug(self.company):
            notices.warn(f"{raw.source}: its front matter says company {meta['company']!r}; indexed under "
                         f"--company {self.company!r} (index it with --company {meta['company']!r} if that is right)")
        role = meta.get("role") or self.role or ""
        kind = meta.get("kind") or self.kind or ("role" if role or in_roles_folder else "company")
        if kind not in ("company", "role"):
            raise UnreadableFile(f"front matter kind {kind!r} must be company, role or candidate")
        if kind == "role" and not role:
            role = raw.title  # a role document names its role in its title
        company = self.company
        return {"company": company, "company_key": slug(company), "role": role,
                "role_key": slug(role), "kind": kind, "source": raw.source, "title": raw.title}

    def _candidate_metadata(self, raw: RawDocument) -> dict[str, str]:
        """A candidate's document: in the candidate's own scope ("@NAME"), whatever its front matter
        says; a company's file that calls itself a candidate document is refused."""
        if self.kind != "candidate":
            raise UnreadableFile("front matter kind candidate: a candidate's documents are indexed with "
                                 "`memo index PATH --kind candidate`, never into a company")
        return {"company": self.company, "company_key": scope_key(self.company), "role": "", "role_key": "",
                "kind": "candidate", "source": raw.source, "title": raw.title}


def to_document(raw: RawDocument, target: Target, chunker_id: str):
    from llama_index.core.schema import Document

    meta = target.metadata(raw)
    if meta["kind"] == "candidate":
        raw = as_candidate_document(raw)
        meta["title"] = raw.title
    # The chunker's settings are part of the hash: changing them re-chunks every document.
    meta["chunker"] = chunker_id
    return Document(text=raw.text, id_=f"{meta['company_key']}/{raw.source}", metadata=meta)


def read_all(files: list[SourceFile], max_bytes: int, progress: Progress) -> tuple[list[RawDocument], list[Skipped]]:
    docs, skipped = [], []
    task = progress.task("reading", len(files))
    for file in files:
        try:
            docs.append(read_document(file, max_bytes))
        except UnreadableFile as exc:
            skipped.append(Skipped(str(file.path), str(exc)))
        progress.advance(task)
    return docs, skipped


def reconcile(writer: IndexWriter) -> int:
    """Make Chroma and the docstore agree after an interrupted run; return documents repaired."""
    got = writer.collection.get(include=["metadatas"])
    by_doc: dict[str, list[tuple[str, dict]]] = {}
    for chunk_id, meta in zip(got["ids"], got["metadatas"]):
        by_doc.setdefault(meta.get("document_id", ""), []).append((chunk_id, meta))
    stored = writer.docstore.get_all_document_hashes()  # hash -> doc id
    vouched = {doc_id: doc_hash for doc_hash, doc_id in stored.items()}
    repaired = 0
    for doc_id, chunks in by_doc.items():
        want = vouched.get(doc_id)
        complete = all(m.get("doc_hash") == want and m.get("chunk_count") == len(chunks) for _, m in chunks)
        if want is None or not complete:
            writer.collection.delete(ids=[chunk_id for chunk_id, _ in chunks])
            repaired += 1
            if want is not None:
                writer.docstore.delete_document(doc_id, raise_error=False)
    for doc_id in set(vouched) - set(by_doc):  # vouched for, but its chunks are gone
        writer.docstore.delete_document(doc_id, raise_error=False)
        repaired += 1
    if repaired:
        writer.commit()
    return repaired


def prune(writer: IndexWriter, company_key: str, seen: set[str]) -> int:
    """Delete this company's documents that were not found in this run."""
    stored = writer.docstore.get_all_document_hashes().values()
    gone = [doc_id for doc_id in stored if doc_id.startswith(company_key + "/") and doc_id not in seen]
    for doc_id in gone:
        writer.collection.delete(where={"document_id": doc_id})
        writer.docstore.delete_document(doc_id, raise_error=False)
    if gone:
        writer.commit()
    return len(gone)


def _chunker_and_id(settings: Settings, tokenizer, hard_limit: int):
    from memo.ingestion.chunking import SectionChunker, TokenCounter

    cfg = settings.index
    chunker = SectionChunker(TokenCounter(tokenizer), cfg.chunk_tokens, hard_limit, cfg.chunk_overlap)
    return chunker, f"sections-v1/{cfg.chunk_tokens}/{cfg.chunk_overlap}/{hard_limit}"


def _embedder_tokenizer(name: str):
    """The embedder's tokenizer and window, without loading its weights (a no-op run needs none)."""
    import json

    from memo.llm.models import embedder_path, load_tokenizer, stay_offline

    stay_offline()
    path = Path(embedder_path(name))
    window = 512
    config = path / "sentence_bert_config.json"
    if config.is_file():
        window = json.loads(config.read_text()).get("max_seq_length", window)
    return load_tokenizer(str(path)), window - 2  # [CLS] and [SEP] take two positions


def index_corpus(settings: Settings, paths: list[Path], target: Target, prune_missing: bool = False,
                 rebuild: bool = False, show_progress: bool = True) -> IndexReport:
    """Index `paths` for `target.company` into the configured index and return what happened."""
    if not target.company.strip() or not slug(target.company):
        raise MemoError(f"--company {target.company!r} must contain letters or digits")
    if (target.kind == "candidate") != target.company.startswith(CANDIDATE_MARK):
        raise MemoError(f"--company {target.company!r}: a name starting with {CANDIDATE_MARK} is a candidate "
                        f"profile; index a candidate's documents with --kind candidate --candidate NAME")
    missing = [str(path) for path in paths if not os.path.lexists(path)]
    if missing:  # a typo in a path given on purpose is an error, not a skipped file
        raise MemoError(f"{', '.join(missing)} does not exist; give existing files or folders")
    started = time.perf_counter()
    report = IndexReport(index=settings.index.name, company=target.company)
    files, report.skipped = discover(paths)
    writer = IndexWriter(settings, rebuild=rebuild)
    try:
        with failing_as(f"indexing into {settings.index_dir}",
                        "run `memo index` again: the next run repairs what this one left (or `memo repair`)",
                        writes_to=settings.index_dir):
            _index(writer, settings, files, target, prune_missing, report, show_progress)
            writer.record_sources({"paths": [str(Path(p).resolve()) for p in paths], "company": target.company,
                                   "role": target.role, "kind": target.kind})
    finally:
        writer.close()
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _index(writer: IndexWriter, settings: Settings, files: list[SourceFile], target: Target, prune_missing: bool,
           report: IndexReport, show_progress: bool) -> None:
    """The run behind `index_corpus`, inside its lock: repair, read, chunk, embed, commit, prune."""
    headings = writer.check_embedder(settings.model.embedder)
    check_company(writer.collection, target.company)
    report.repaired = reconcile(writer)
    tokenizer, hard_limit = _embedder_tokenizer(settings.model.embedder)
    chunker, chunker_id = _chunker_and_id(settings, tokenizer, hard_limit)
    embedder = LazyEmbedder(settings.model.embedder, settings.index.embed_batch, pick_device(settings.model.device))
    with Progress(show_progress) as progress:
        raws, unreadable = read_all(files, int(settings.index.max_file_mb * 1e6), progress)
        report.skipped += unreadable
        documents = _documents(raws, target, chunker_id, report)
        _count_changes(writer, documents, report)
        pipeline = _pipeline(writer, chunker, embedder, headings, progress)
        committing = progress.task("indexing", len(documents))
        step = settings.index.batch_docs
        for start in range(0, len(documents), step):
            batch = documents[start:start + step]
            report.chunks_added += len(pipeline.run(documents=batch, store_doc_text=False))
            writer.commit()
            progress.advance(committing, len(batch))
    if prune_missing:
        report.removed = prune(writer, scope_key(target.company), {d.doc_id for d in documents})
    report.files = len(documents)
    _write_manifest(writer, settings, {"id": chunker_id, "heading_weight": headings}, embedder.loaded, report)
    refresh_table(writer.root, writer.collection, settings.retrieval.stemming)


def check_company(collection, company: str) -> None:
    """Refuse a company name whose comparison key already belongs to another indexed name ("C# Labs"
    after "C++ Labs"): their documents would overwrite each other. Case and spacing may differ."""
    got = collection.get(where={"company_key": scope_key(company)}, limit=1, include=["metadatas"])
    indexed = got["metadatas"][0].get("company", "") if got["metadatas"] else ""
    if indexed and " ".join(indexed.casefold().split()) != " ".join(company.casefold().split()):
        raise MemoError(f"--company {company!r} has the same key {scope_key(company)!r} as the indexed company "
                        f"{indexed!r}; add to it with --company {indexed!r}, or choose a name that differs "
                        f"in its letters or digits")


def repair_index(settings: Settings, show_progress: bool = True) -> list[IndexReport]:
    """`memo repair`: set the store aside when Chroma cannot open it (else clear it), and index
    every recorded source again; one report per recorded `memo index` run."""
    entries = read_sources(settings)
    if not entries:
        raise MemoError(f"index {settings.index.name!r} has no recorded sources (it predates them, or was never "
                        f"built); run `memo index PATH --company NAME --rebuild` for each of its folders")
    reports: list[IndexReport] = []
    for entry in entries:
        paths = [Path(p) for p in entry["paths"] if os.path.lexists(p)]
        gone = [p for p in entry["paths"] if not os.path.lexists(p)]
        if gone:
            notices.warn(f"{', '.join(gone)} no longer exist(s); not re-indexed for {entry['company']!r}")
        if paths:
            target = Target(entry["company"], entry.get("role"), entry.get("kind"))
            reports.append(index_corpus(settings, paths, target, rebuild=not reports, show_progress=show_progress))
    if not reports:
        raise MemoError(f"none of the recorded sources of index {settings.index.name!r} exist any more; "
                        f"index them again with `memo index PATH --company NAME --rebuild`")
    return reports


def _pipeline(writer: IndexWriter, chunker, embedder: LazyEmbedder, headings: float, progress: Progress):
    """Chunk -> embed (text plus `headings` x section heading) -> Chroma, deduplicated against the
    docstore by document hash."""
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from memo.ingestion.transforms import ChunkDocuments, EmbedNodes

    embedding = progress.task("embedding", 0)
    embed = EmbedNodes(embedder, headings, on_start=lambda n: progress.grow(embedding, n),
                       on_progress=lambda n: progress.advance(embedding, n))
    return IngestionPipeline(transformations=[ChunkDocuments(chunker), embed],
                             vector_store=ChromaVectorStore(chroma_collection=writer.collection),
                             docstore=writer.docstore, docstore_strategy=DocstoreStrategy.UPSERTS,
                             disable_cache=True)


def _documents(raws: list[RawDocument], target: Target, chunker_id: str, report: IndexReport) -> list:
    documents, seen = [], set()
    for raw in raws:
        try:
            doc = to_document(raw, target, chunker_id)
        except UnreadableFile as exc:
            report.skipped.append(Skipped(raw.source, str(exc)))
            continue
        if doc.doc_id not in seen:  # the same file given twice
            seen.add(doc.doc_id)
            documents.append(doc)
    return documents


def _count_changes(writer: IndexWriter, documents: list, report: IndexReport) -> None:
    for doc in documents:
        stored = writer.docstore.get_document_hash(doc.doc_id)
        if stored is None:
            report.new += 1
        elif stored != doc.hash:
            report.changed += 1
        else:
            report.unchanged += 1


def _write_manifest(writer: IndexWriter, settings: Settings, vectors: dict, embedder,
                    report: IndexReport) -> None:
    hashes = {doc_id: doc_hash for doc_hash, doc_id in writer.docstore.get_all_document_hashes().items()}
    report.corpus_hash = corpus_hash(hashes)
    report.chunks_total = writer.collection.count()
    old = Manifest.read(writer.manifest_path)
    dimension = embedder.dimension if embedder else (old.dimension if old else 0)
    Manifest(embedder=settings.model.embedder, dimension=dimension,
             chunker={**vectors, "chunk_tokens": settings.index.chunk_tokens,
                      "chunk_overlap": settings.index.chunk_overlap},
             corpus_hash=report.corpus_hash, documents=len(hashes),
             chunks=report.chunks_total).write(writer.manifest_path)

