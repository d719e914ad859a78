"""Helpers shared by the benchmarks: an isolated environment, the corpus and its memo chunks, the
plain LlamaIndex baseline, timing and output.

Importing this module points MEMO_HOME at a fresh temporary folder (removed at exit), makes memo
use its default settings, and keeps every library offline, so a benchmark never touches ~/.memo
or a model hub.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

HOME = Path(tempfile.mkdtemp(prefix="memo-bench-"))
os.environ["MEMO_HOME"] = str(HOME)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
for _var in [v for v in os.environ if v.startswith("MEMO_") and v not in ("MEMO_HOME", "MEMO_VLLM_PYTHON")]:
    del os.environ[_var]  # memo's defaults, not the caller's MEMO_CONFIG / MEMO_INDEX_* ...
(HOME / "config.toml").write_text("# memo's defaults\n")  # also shadows a ./memo.toml
atexit.register(shutil.rmtree, HOME, True)

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "tts-handbook"
COMPANY = "TTS"
DEMO = Path(__file__).resolve().parents[1] / "memo" / "demo_corpus"
# The demo's questions beyond its eval file: why, values, growth, remote work.
DEMO_EXTRA = ["Why do you want to work at Tidewell?", "What are Tidewell's values?",
              "How does Tidewell support learning and growth?", "Can I work remotely?"]


def demo_settings(home: Path | None):
    """memo's settings over `home`, a MEMO_HOME with the demo indexed; without one, the fresh
    benchmark home with the demo corpus indexed into it first."""
    if home:
        os.environ["MEMO_HOME"] = str(home.resolve())
    from memo.core.config import load_settings
    from memo.ingestion.indexer import Target, index_corpus

    settings = load_settings()
    if not home:
        index_corpus(settings, [DEMO / "tidewell"], Target("Tidewell"), show_progress=False)
    return settings


def demo_questions() -> list[str]:
    """The demo's eval questions, then DEMO_EXTRA."""
    lines = (DEMO / "tidewell-eval.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()] + DEMO_EXTRA
EMBEDDER = "all-MiniLM-L6-v2"


def parse_args(doc: str, configure=None) -> argparse.Namespace:
    """--corpus and --json, plus whatever `configure(parser)` adds."""
    parser = argparse.ArgumentParser(description=" ".join(doc.strip().split("\n\n")[0].split()))
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of Markdown files")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a line")
    if configure:
        configure(parser)
    args = parser.parse_args()
    args.corpus = args.corpus.resolve()
    if not args.corpus.is_dir():
        parser.error(f"corpus folder {args.corpus} does not exist")
    return args


def open_or_index(home: Path | None, corpus: Path, company: str) -> None:
    """Point MEMO_HOME at `home`'s existing index, or (no `home`) index `corpus` as `company` into
    the fresh temporary home."""
    if home:
        os.environ["MEMO_HOME"] = str(home.resolve())
        return
    from memo.core.config import load_settings
    from memo.ingestion.indexer import Target, index_corpus

    index_corpus(load_settings(), [corpus], Target(company), show_progress=False)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _busy_seconds() -> float:
    """CPU seconds all processes of the machine have used since boot (0 where /proc is absent)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


_STARTED = (time.perf_counter(), _busy_seconds(), sum(os.times()[:4]))


def machine() -> dict:
    """What the numbers were measured on, and how busy it was: `other_cores` is how many cores
    other processes (not this benchmark or its own waited-for children) kept busy on average
    during the run (they slow every timing down)."""
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    wall = time.perf_counter() - _STARTED[0]
    others = (_busy_seconds() - _STARTED[1]) - (sum(os.times()[:4]) - _STARTED[2])
    return {"cpus": os.cpu_count(), "cpu": model, "torch_threads": torch.get_num_threads(),
            "other_cores": round(max(0.0, others) / wall, 2), "loadavg_1m": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d")}


def emit(line: str, data: dict, as_json: bool) -> None:
    """The one-line result (or JSON with everything), plus how busy the machine was."""
    info = machine()
    line += f" [other processes used {info['other_cores']:.1f} of {info['cpus']} cores]"
    print(json.dumps({**data, "summary": line, "machine": info}, indent=2, default=str) if as_json else line)


def warm_imports() -> None:
    """Import the heavy libraries up front, so whichever pipeline is timed first is not charged
    for them (loading the model stays inside each timing)."""
    import chromadb  # noqa: F401
    import llama_index.core  # noqa: F401
    import llama_index.embeddings.huggingface  # noqa: F401
    import llama_index.vector_stores.chroma  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    import memo.ingestion.indexer  # noqa: F401


# --- memo ---------------------------------------------------------------------------------------

def memo_settings(index: str = "bench"):
    """memo's default settings, for an index named `index` in the temporary MEMO_HOME."""
    from memo.core.config import load_settings

    return load_settings(str(HOME / "config.toml"), overrides={"index.name": index})


def minilm_path() -> str:
    from memo.llm.models import embedder_path

    return embedder_path(EMBEDDER)


def memo_chunks(corpus: Path, settings=None) -> list[str]:
    """The chunk texts `memo index` embeds for `corpus`, in corpus order (same reader and chunker
    as memo.ingestion.indexer, without embedding anything)."""
    from memo.ingestion.indexer import _chunker_and_id, _embedder_tokenizer
    from memo.ingestion.loaders import UnreadableFile, discover, read_document

    settings = settings or memo_settings()
    tokenizer, hard_limit = _embedder_tokenizer(settings.model.embedder)
    chunker, _ = _chunker_and_id(settings, tokenizer, hard_limit)
    texts = []
    for file in discover([corpus])[0]:
        try:
            raw = read_document(file, int(settings.index.max_file_mb * 1e6))
        except UnreadableFile:
            continue
        texts += [chunk.text for chunk in chunker.chunk(raw.text, raw.title)]
    return texts


# --- the plain LlamaIndex baseline --------------------------------------------------------------

def llama_embed_model():
    """LlamaIndex's HuggingFaceEmbedding of the packaged MiniLM, with its defaults (batches of 10);
    the global LLM is a MockLLM so nothing can reach OpenAI."""
    from llama_index.core import Settings
    from llama_index.core.llms import MockLLM
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed_model = HuggingFaceEmbedding(model_name=minilm_path(), device="cpu")
    Settings.llm = MockLLM()
    Settings.embed_model = embed_model
    return embed_model


def chroma_collection(name: str):
    """A fresh collection of a fresh on-disk PersistentClient (Chroma's default settings)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path = HOME / "llamaindex" / name
    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_or_create_collection(name)


def llama_build(corpus: Path, embed_model, name: str = "llamaindex"):
    """The textbook LlamaIndex pipeline: read .md files, split, embed, store in Chroma.
    Returns the index and its Chroma collection."""
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    docs = SimpleDirectoryReader(str(corpus), recursive=True, required_exts=[".md"]).load_data()
    collection = chroma_collection(name)
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    index = VectorStoreIndex.from_documents(
        docs, storage_context=storage, embed_model=embed_model,
        transformations=[SentenceSplitter(chunk_size=200, chunk_overlap=20)])
    return index, collection
