"""Full indexing time of memo vs a plain LlamaIndex pipeline, and memo's no-op reindex.

    .venv/bin/python benchmarks/bench_index.py [--corpus PATH] [--json]

Baseline: the textbook LlamaIndex ingestion of the same folder, in the same process:
SimpleDirectoryReader(corpus, recursive=True, required_exts=[".md"]) ->
VectorStoreIndex.from_documents(..., SentenceSplitter(chunk_size=200, chunk_overlap=20),
HuggingFaceEmbedding(<the packaged MiniLM>), a fresh Chroma PersistentClient collection).
memo runs `index_corpus` into a fresh MEMO_HOME (company "TTS"). Both timings include loading
the embedding model, not importing the libraries (done before either is timed). The JSON also
counts the word pieces each pipeline embedded and the chunks MiniLM silently truncated.

Then memo reindexes the unchanged corpus (nothing to embed); its time is reported as a fraction
of memo's full index time (target: under 5%).

Prints one line, e.g.
    index: memo 125.5 s (3377 chunks), llamaindex 161.1 s (2686 chunks), speedup x1.28;
    no-op reindex 0.52 s = 0.4% of full [other processes used 0.3 of 2 cores]
"""

from __future__ import annotations

import time
from pathlib import Path

# common first: it isolates MEMO_HOME before memo is imported
from common import (
    COMPANY,
    emit,
    llama_build,
    llama_embed_model,
    memo_settings,
    minilm_path,
    parse_args,
    warm_imports,
)

WINDOW = 256  # MiniLM's input window in word pieces, [CLS] and [SEP] included


def index_memo(corpus: Path) -> tuple[float, object]:
    from memo.ingestion.indexer import Target, index_corpus

    started = time.perf_counter()
    report = index_corpus(memo_settings(), [corpus], Target(COMPANY), show_progress=False)
    return time.perf_counter() - started, report


def index_llamaindex(corpus: Path) -> tuple[float, object]:
    started = time.perf_counter()
    _, collection = llama_build(corpus, llama_embed_model())  # the model load is timed too
    return time.perf_counter() - started, collection


def token_stats(texts: list[str]) -> dict:
    """Word pieces MiniLM embeds (its window is 256, [CLS] and [SEP] included) and how many texts
    it silently truncates."""
    from memo.llm.models import load_tokenizer

    lengths = [len(ids) for ids in load_tokenizer(minilm_path())(texts)["input_ids"]]
    return {"tokens_embedded": sum(min(n, WINDOW) for n in lengths),
            "chunks_truncated": sum(n > WINDOW for n in lengths)}


def embedded_texts(collection, llama: bool) -> list[str]:
    """What each index actually embedded: memo embeds the stored chunk; LlamaIndex embeds the
    node's text with its embed-mode metadata (file_path) prepended."""
    got = collection.get(include=["documents", "metadatas"])
    if not llama:
        return got["documents"]
    from llama_index.core.schema import MetadataMode
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    return [metadata_dict_to_node(meta, text=text).get_content(metadata_mode=MetadataMode.EMBED)
            for text, meta in zip(got["documents"], got["metadatas"])]


def main() -> None:
    args = parse_args(__doc__)
    warm_imports()
    memo_s, full = index_memo(args.corpus)
    llama_s, llama_collection = index_llamaindex(args.corpus)
    noop_s, noop = index_memo(args.corpus)
    if noop.chunks_added or noop.unchanged != full.new:
        raise SystemExit(f"the reindex was not a no-op: {noop.as_dict()}")
    from memo.ingestion.store import open_collection

    memo_collection = open_collection(memo_settings())
    speedup, noop_share = llama_s / memo_s, noop_s / memo_s
    line = (f"index: memo {memo_s:.1f} s ({full.chunks_total} chunks), llamaindex {llama_s:.1f} s "
            f"({llama_collection.count()} chunks), speedup x{speedup:.2f}; no-op reindex "
            f"{noop_s:.2f} s = {noop_share:.1%} of full")
    emit(line, {
        "corpus": str(args.corpus),
        "memo": {"seconds": round(memo_s, 2), "files": full.files, "skipped": len(full.skipped),
                 "chunks": full.chunks_total, **token_stats(embedded_texts(memo_collection, llama=False))},
        "llamaindex": {"seconds": round(llama_s, 2), "chunks": llama_collection.count(),
                       **token_stats(embedded_texts(llama_collection, llama=True))},
        "speedup": round(speedup, 3),
        "noop_reindex": {"seconds": round(noop_s, 3), "fraction_of_full": round(noop_share, 4),
                         "target": 0.05, "unchanged": noop.unchanged},
    }, args.json)


if __name__ == "__main__":
    main()
