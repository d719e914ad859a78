"""Retrieval at scale: an index of 100k synthetic chunks (random unit vectors, texts drawn from a
Zipf vocabulary, 20 companies with 5 roles each), opened and searched the way `memo search` does.

    .venv/bin/python benchmarks/bench_scale.py [--chunks 100000] [--queries 40] [--json]

Measured, each in a fresh process where it matters:
- index time: writing the chunk table (ids, scope codes, BM25 postings) once, as `memo index` does
  after each run; that full read + BM25 build is what every reader paid before the table existed;
- open: import of memo's retrieval + chromadb, then `HybridRetriever(settings)` (table mapped,
  collection opened), and the process's resident memory after it;
- search: the first query (Chroma loads its HNSW graph) and the p50 of the rest, company-filtered
  (and role-filtered for half), query encoding included (the light MiniLM encoder);
- BM25 alone: memo's memory-mapped postings against bm25s (saved, loaded with mmap) on the same
  tokens and mask.
Targets (issue 13): open <= 1 s, hybrid search p50 <= 50 ms at 100k chunks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import HOME, emit, memo_settings, parse_args, percentile

WORDS = 20_000
COMPANIES, ROLES = 20, 5
QUERIES = ["How many days of paid leave do I get?", "What is the on-call rotation like?",
           "How are expenses reimbursed?", "Is remote work allowed?", "What does the hiring process look like?"]


def configure(parser) -> None:
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # MEMO_HOME of the index, in the timed process


def vocabulary() -> list[str]:
    """Pronounceable made-up words plus the queries' own words (so BM25 has hits)."""
    rng = np.random.default_rng(0)
    syllables = ["ka", "lo", "mi", "ner", "tus", "ba", "ve", "ro", "shi", "dan", "pel", "qua", "zo", "fi"]
    made = {"".join(rng.choice(syllables, size=rng.integers(2, 4))) for _ in range(WORDS * 2)}
    real = {w.strip("?").lower() for q in QUERIES for w in q.split() if len(w) > 3}
    return sorted(real) + sorted(made)[:WORDS]


def build(settings, count: int) -> float:
    """Write `count` synthetic chunks into the index's Chroma collection; return the seconds the
    chunk table took to build and save (memo index's last step)."""
    from memo.ingestion.chunk_table import refresh_table
    from memo.ingestion.store import IndexWriter

    rng = np.random.default_rng(1)
    words = np.array(vocabulary())
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    writer = IndexWriter(settings)
    try:
        writer.check_embedder(settings.model.embedder)
        for start in range(0, count, 5000):
            n = min(5000, count - start)
            vectors = rng.standard_normal((n, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            texts = [" ".join(rng.choice(words, size=60, p=weights)) for _ in range(n)]
            metas = [_meta(start + i, rng) for i in range(n)]
            writer.collection.add(ids=[f"c{start + i}" for i in range(n)], embeddings=vectors, documents=texts,
                                  metadatas=metas)
        started = time.perf_counter()
        refresh_table(writer.root, writer.collection, settings.retrieval.stemming)
        return time.perf_counter() - started
    finally:
        writer.close()


def _meta(i: int, rng) -> dict:
    company = i % COMPANIES
    role = int(rng.integers(ROLES)) if rng.random() < 0.1 else None
    meta = {"company": f"Company {company}", "company_key": f"company-{company}", "kind": "company",
            "source": f"doc{i // 8}.md", "chunk": i % 8, "title": "t", "section": "s"}
    if role is not None:
        meta.update(kind="role", role=f"Role {role}", role_key=f"role-{role}")
    return meta


def child(home: str, queries: int) -> dict:
    """In a fresh process: import, open, search; what one cold `memo search` process pays."""
    os.environ["MEMO_HOME"] = home
    started = time.perf_counter()
    import chromadb  # noqa: F401

    from memo.core.config import load_settings
    from memo.retrieval.hybrid import HybridRetriever

    imported = time.perf_counter()
    rss_imported = _rss_mb()
    retriever = HybridRetriever(load_settings(str(Path(home) / "config.toml"), {"index.name": "scale"}))
    opened = time.perf_counter()
    rss = _rss_mb()
    first = _timed(lambda: retriever.retrieve(QUERIES[0], "Company 3"))
    times = []
    for i in range(queries):
        role = "Role 2" if i % 2 else None
        times.append(_timed(lambda: retriever.retrieve(QUERIES[i % len(QUERIES)], f"Company {i % COMPANIES}", role)))
    return {"import_s": imported - started, "open_s": opened - imported, "rss_after_imports_mb": rss_imported,
            "rss_after_open_mb": rss,
            "first_query_ms": first * 1000, "search_p50_ms": percentile(times, 50) * 1000,
            "search_p90_ms": percentile(times, 90) * 1000,
            "rss_after_search_mb": _rss_mb(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _rss_mb() -> float:
    """Resident memory now (Linux /proc; the peak where that is missing)."""
    try:
        return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bm25_race(settings, queries: int) -> dict:
    """memo's saved postings against bm25s (save + mmap load), same tokens, same company mask."""
    import bm25s

    from memo.ingestion.bm25 import terms
    from memo.ingestion.chunk_table import FOLDER, ChunkTable
    from memo.retrieval.hybrid import HybridRetriever

    opened = _timed(lambda: ChunkTable.load(settings.index_dir / FOLDER))
    table = ChunkTable.load(settings.index_dir / FOLDER)
    texts = [c.text for c in HybridRetriever(settings).fetch(table.ids)]
    started = time.perf_counter()
    engine = bm25s.BM25()
    engine.index([terms(t) for t in texts], show_progress=False)
    built = time.perf_counter() - started
    engine.save(str(HOME / "bm25s"))
    loaded = {}
    load_s = _timed(lambda: loaded.update(engine=bm25s.BM25.load(str(HOME / "bm25s"), mmap=True)))
    mask = table.mask("company-3")
    memo_t, bm25s_t = [], []
    for i in range(queries):
        query = QUERIES[i % len(QUERIES)]
        memo_t.append(_timed(lambda: table.bm25.top(query, mask, 40)))
        bm25s_t.append(_timed(lambda: loaded["engine"].retrieve([terms(query)], k=40, weight_mask=mask.astype(np.float32),
                                                                show_progress=False)))
    return {"memo_table_load_s": opened, "memo_bm25_p50_ms": percentile(memo_t, 50) * 1000,
            "bm25s_build_s": built, "bm25s_load_s": load_s, "bm25s_p50_ms": percentile(bm25s_t, 50) * 1000}


def main() -> None:
    args = parse_args(__doc__, configure)
    if args.child:
        print(json.dumps(child(args.child, args.queries)))
        return
    settings = memo_settings("scale")
    started = time.perf_counter()
    table_s = build(settings, args.chunks)
    written = time.perf_counter() - started
    out = subprocess.run([sys.executable, __file__, "--child", str(HOME), "--queries", str(args.queries)],
                         capture_output=True, text=True, check=True)
    cold = json.loads(out.stdout.strip().splitlines()[-1])
    race = bm25_race(settings, args.queries)
    line = (f"scale ({args.chunks:,} chunks): open {cold['open_s']:.2f} s (+ imports {cold['import_s']:.2f} s; "
            f"target 1 s), search p50 {cold['search_p50_ms']:.1f} ms (p90 {cold['search_p90_ms']:.1f}; first "
            f"{cold['first_query_ms']:.0f} ms; target 50), RSS {cold['rss_after_imports_mb']:.0f} MB after "
            f"imports, {cold['rss_after_open_mb']:.0f} MB after open, {cold['rss_after_search_mb']:.0f} MB after "
            f"searching; chunk table built at index time in "
            f"{table_s:.1f} s (what each reader paid before); BM25 p50 memo {race['memo_bm25_p50_ms']:.1f} ms "
            f"(load {race['memo_table_load_s']:.2f} s) vs bm25s {race['bm25s_p50_ms']:.1f} ms (load "
            f"{race['bm25s_load_s']:.2f} s); corpus written in {written:.0f} s")
    emit(line, {"chunks": args.chunks, "table_build_s": table_s, **cold, **race}, args.json)


if __name__ == "__main__":
    main()
