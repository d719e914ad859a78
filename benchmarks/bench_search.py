"""Warm in-process search latency: memo's HybridRetriever vs plain dense LlamaIndex retrieval.

    .venv/bin/python benchmarks/bench_search.py [--corpus PATH] [--qa FILE] [--queries N] [--json]
                                                [--llamaindex-ingest]

memo indexes the corpus into a fresh MEMO_HOME (company "TTS"), opens one HybridRetriever and
times `retrieve(query, "TTS")` per query: query embedding, Chroma dense search with the company
filter, BM25, rank fusion and near-duplicate collapsing, k = 5.

Baseline: VectorStoreIndex.from_vector_store(ChromaVectorStore(<a fresh PersistentClient
collection>), HuggingFaceEmbedding(<the packaged MiniLM>)).as_retriever(similarity_top_k=5)
.retrieve(query). By default its collection holds memo's own chunks and vectors (the same data,
so only the retrieval paths differ); --llamaindex-ingest builds it with the textbook LlamaIndex
ingestion instead (SentenceSplitter(200, 20), as in bench_index.py; several minutes more).

Queries: the questions of tts_join_faq.jsonl plus handbook-style questions made from the corpus's
section headings, up to --queries. Both retrievers are warmed up, then answer each query in turn,
alternating which goes first, so machine noise hits both alike. Target: memo p50 under 20 ms.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

# common first: it isolates MEMO_HOME before memo is imported
from common import (
    COMPANY,
    chroma_collection,
    emit,
    llama_build,
    llama_embed_model,
    memo_settings,
    parse_args,
    percentile,
)

DEFAULT_QA = Path(__file__).resolve().parents[2] / "shared" / "qa" / "tts_join_faq.jsonl"
TEMPLATES = ("What does the handbook say about {}?", "How does TTS handle {}?",
             "Where do I find information on {}?", "{}")
TARGET_MS = 20.0


def make_queries(qa: Path, headings: list[str], count: int) -> list[str]:
    """The FAQ's questions, then heading-based questions spread evenly over the corpus."""
    queries = [json.loads(line)["question"] for line in qa.read_text().splitlines() if line.strip()]
    headings = sorted({re.sub(r"^[\d.)\s]+|[\s?.!:]+$", "", h).lower() for h in headings})
    headings = [h for h in headings if len(h.split()) >= 2]
    need = max(0, count - len(queries))
    step = max(1, len(headings) // max(need, 1))
    for number, heading in enumerate(headings[::step][:need]):
        queries.append(TEMPLATES[number % len(TEMPLATES)].format(heading))
    return queries[:count]


def copy_into_llamaindex(retriever) -> object:
    """memo's chunks and vectors as LlamaIndex TextNodes in a fresh Chroma collection."""
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    got = retriever._collection.get(include=["embeddings", "documents", "metadatas"])
    store = ChromaVectorStore(chroma_collection=chroma_collection("llamaindex"))
    rows = zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])
    store.add([TextNode(id_=i, text=text, metadata=meta, embedding=[float(x) for x in vector])
               for i, text, meta, vector in rows])
    return store


def stage_latencies(retriever, queries: list[str]) -> dict[str, float]:
    """p50 ms of memo's stages, timed apart: query embedding, Chroma search with memo's company
    filter (and without, for comparison), BM25."""
    where, mask = retriever.scope(COMPANY, None)
    depth = min(retriever.settings.retrieval.candidates, int(mask.sum()))
    stages = {"embed_query": lambda q, v: retriever.embedder.encode_query(q),
              "chroma_query": lambda q, v: retriever._collection.query(
                  query_embeddings=[v], n_results=depth, where=where, include=["distances"]),
              "chroma_query_unfiltered": lambda q, v: retriever._collection.query(
                  query_embeddings=[v], n_results=depth, include=["distances"]),
              "bm25": lambda q, v: retriever.bm25.top(q, mask, depth)}  # memo internals, timed apart
    times: dict[str, list[float]] = {stage: [] for stage in stages}
    for query in queries:
        vector = retriever.embedder.encode_query(query).tolist()
        for stage, run in stages.items():
            started = time.perf_counter()
            run(query, vector)
            times[stage].append(time.perf_counter() - started)
    return {stage: round(percentile(values, 50) * 1000, 2) for stage, values in times.items()}


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--qa", type=Path, default=DEFAULT_QA, help="JSONL with a 'question' per line"),
        p.add_argument("--queries", type=int, default=100, help="how many queries to time"),
        p.add_argument("--llamaindex-ingest", action="store_true",
                       help="build the baseline with LlamaIndex's own ingestion, not memo's vectors")))
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from memo.ingestion.indexer import Target, index_corpus
    from memo.retrieval.hybrid import HybridRetriever

    settings = memo_settings()
    report = index_corpus(settings, [args.corpus], Target(COMPANY), show_progress=False)
    started = time.perf_counter()
    memo = HybridRetriever(settings)
    open_s = time.perf_counter() - started
    queries = make_queries(args.qa, [c.meta.get("section", "") for c in memo.chunks(COMPANY)], args.queries)

    embed_model = llama_embed_model()
    if args.llamaindex_ingest:
        store = ChromaVectorStore(chroma_collection=llama_build(args.corpus, embed_model)[1])
    else:
        store = copy_into_llamaindex(memo)
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
    llama = index.as_retriever(similarity_top_k=5)

    runs = {"memo": lambda q: memo.retrieve(q, COMPANY, k=5), "llamaindex": llama.retrieve}
    for query in queries[:5]:  # warm-up: model load, first-call caches
        for run in runs.values():
            run(query)
    latency: dict[str, list[float]] = {name: [] for name in runs}
    for number, query in enumerate(queries):
        for name in list(runs) if number % 2 == 0 else list(runs)[::-1]:
            started = time.perf_counter()
            hits = runs[name](query)
            latency[name].append(time.perf_counter() - started)
            assert hits, f"{name} found nothing for {query!r}"
    stats = {name: {"p50_ms": round(percentile(values, 50) * 1000, 2),
                    "p95_ms": round(percentile(values, 95) * 1000, 2),
                    "mean_ms": round(sum(values) / len(values) * 1000, 2)}
             for name, values in latency.items()}
    ratio = stats["memo"]["p50_ms"] / stats["llamaindex"]["p50_ms"]
    met = "met" if stats["memo"]["p50_ms"] < TARGET_MS else "MISSED"
    line = (f"search: memo p50 {stats['memo']['p50_ms']:.1f} ms / p95 {stats['memo']['p95_ms']:.1f} ms, "
            f"llamaindex dense p50 {stats['llamaindex']['p50_ms']:.1f} ms / p95 "
            f"{stats['llamaindex']['p95_ms']:.1f} ms, memo/llamaindex p50 x{ratio:.2f} "
            f"({len(queries)} queries); target p50 < {TARGET_MS:.0f} ms {met}")
    emit(line, {
        "corpus": str(args.corpus), "queries": len(queries), "chunks": report.chunks_total,
        "baseline_data": "llamaindex ingestion" if args.llamaindex_ingest else "memo's chunks and vectors",
        **stats, "memo_over_llamaindex_p50": round(ratio, 3), "target_p50_ms": TARGET_MS,
        "memo_open_seconds": round(open_s, 2), "memo_stage_p50_ms": stage_latencies(memo, queries),
    }, args.json)


if __name__ == "__main__":
    main()
