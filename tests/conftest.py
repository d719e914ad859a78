"""Shared fixtures: an isolated MEMO_HOME per test, the `memo` CLI as a real subprocess, and
readers for what actually landed in the Chroma index."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import typing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from memo.core.config import load_settings
from memo.core.demo import DEMO_COMPANY, DEMO_CORPUS

REPO_ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many days of paid leave does Tidewell offer?"


@pytest.fixture(scope="session", autouse=True)
def no_warm_process_outlives_the_suite(tmp_path_factory):
    """Stop any warm memo process serving a home of this test session when the session ends."""
    yield
    base = str(tmp_path_factory.getbasetemp())
    subprocess.run(["pkill", "-f", f"memo.serving.daemon {base}"], check=False, capture_output=True)


@pytest.fixture
def memo_env(tmp_path, monkeypatch) -> Path:
    """Give the test its own MEMO_HOME (returned), offline, with no telemetry and no API key.

    Any MEMO_* variable of the developer's shell is removed so it cannot change the settings,
    and the working directory is a fresh folder so no ./memo.toml is picked up.
    """
    home = tmp_path / "memo-home"
    isolate(monkeypatch, home)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return home


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} under `root` and return `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def run_memo(memo_env):
    """Run `python -m memo ARGS...` in a subprocess with the test's environment."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "memo", *args], capture_output=True, text=True,
                              env=full_env, timeout=timeout)

    return run


def collection_chunks(collection) -> dict[str, tuple[str, dict]]:
    """chunk id -> (text, metadata) of everything in a Chroma collection."""
    got = collection.get(include=["documents", "metadatas"])
    return {i: (text, meta) for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"])}


def local_collection(home: Path, index: str = "default", fresh: bool = False):
    """The on-disk Chroma collection memo wrote under `home`.

    chromadb caches one client per path for the whole process; `fresh=True` drops that cache, for
    reading an index that another process rewrote (e.g. a `memo index --rebuild` subprocess).
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if fresh:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()

    client = chromadb.PersistentClient(path=str(home / "indexes" / index / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_collection(f"memo_{index}")


def local_chunks(home: Path, index: str = "default", fresh: bool = False) -> dict[str, tuple[str, dict]]:
    return collection_chunks(local_collection(home, index, fresh))


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory) -> Path:
    """The default LLM materialized once per test session (it takes ~20 s), shared by all tests
    through MEMO_MODEL_LLM so each test's own MEMO_HOME need not repeat it."""
    from memo.llm.models import materialize_smollm2

    return materialize_smollm2(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny_llama2(tmp_path_factory, smollm2_dir):
    """A 2-layer random LLaMA with a tokenizer given LLaMA-2's <s>/</s> markers."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama2")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    tokenizer.add_special_tokens({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "</s>"})
    tokenizer.model_max_length = 4096
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class JsonHandler(BaseHTTPRequestHandler):
    """Base for the tests' local HTTP servers: quiet, with a JSON reply helper."""

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


KEY = "sk-memo-endpoint-test-0123456789"
BASE, ADAPTER = "smol", "interview"  # what the local chat server serves


class ChatServer(JsonHandler):
    state: typing.ClassVar[dict] = {}

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self._send(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return False
        return True

    def do_GET(self):
        if not self._authorized():
            return
        models = [{"id": BASE, "object": "model", "created": 0, "owned_by": "memo", "parent": None},
                  {"id": ADAPTER, "object": "model", "created": 0, "owned_by": "memo", "parent": BASE}]
        self._send(200, {"object": "list", "data": models})

    def do_POST(self):
        if not self._authorized():
            return
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if request["model"] not in (BASE, ADAPTER):
            return self._send(404, {"error": {"message": f"The model `{request['model']}` does not exist."}})
        self.state["requests"].append(request)
        from memo.llm.generator import Decoding

        decoding = Decoding(request["max_tokens"], request["temperature"], request.get("top_p", 1.0),
                            request.get("repetition_penalty", 1.0))
        with self.state["lock"]:
            text = self.state["generator"].generate(request["messages"], decoding)
        if not request.get("stream"):
            return self._send(200, {"id": "c", "object": "chat.completion", "created": 0, "model": request["model"],
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": text}}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in [text[i:i + 7] for i in range(0, len(text), 7)]:
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": request["model"],
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def server(demo_home, smollm2_dir):  # noqa: F811
    from memo.core.profiles import get_profile
    from memo.llm.generator import LocalGenerator
    from memo.llm.models import load_llm

    profile = get_profile("smollm2-135m")
    llm = load_llm(str(smollm2_dir), profile, "cpu", 0)
    ChatServer.state = {"requests": [], "lock": threading.Lock(),
                        "generator": LocalGenerator(llm, profile.template, profile.context_length)}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ChatServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", ChatServer.state
    httpd.shutdown()
    httpd.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    """The demo corpus indexed once for this module."""
    from memo.ingestion.indexer import Target, index_corpus

    home = tmp_path_factory.mktemp("synth-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMO_HOME", str(home))
        report = index_corpus(load_settings(), [DEMO_CORPUS], Target(DEMO_COMPANY), show_progress=False)
    assert report.files == 12 and not report.skipped
    return home


@pytest.fixture
def demo(memo_env, demo_home, smollm2_dir, monkeypatch) -> Path:
    """run_memo sees the indexed demo corpus and the session's SmolLM2 folder."""
    monkeypatch.setenv("MEMO_HOME", str(demo_home))
    monkeypatch.setenv("MEMO_MODEL_LLM", str(smollm2_dir))
    return demo_home


def index_demo_and_candidate(home: Path) -> Path:
    """`home` with the demo company and the demo candidate (profile @me) indexed, in-process."""
    from memo.core.demo import DEMO_CANDIDATE
    from memo.ingestion.indexer import Target, index_corpus

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMO_HOME", str(home))
        settings = load_settings()
        index_corpus(settings, [DEMO_CORPUS], Target(DEMO_COMPANY), show_progress=False)
        index_corpus(settings, [DEMO_CANDIDATE], Target("@me", kind="candidate"), show_progress=False)
    return home


def make_tiny_llama(folder: Path, tokenizer_dir: Path, seed: int = 0) -> Path:
    """A 2-layer random LlamaForCausalLM with the given tokenizer (its chat markers included);
    `seed` makes a different base."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """No MEMO_* variable of the developer's shell, `home` as MEMO_HOME, offline, no telemetry."""
    for var in [v for v in os.environ if v.startswith("MEMO_")]:
        mp.delenv(var)
    mp.setenv("MEMO_HOME", str(home))
    # Commands answer in-process: a warm process per test home would outlive the test.
    # tests/serving/test_daemon.py turns it on and stops it.
    mp.setenv("MEMO_DAEMON_ENABLED", "false")
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    mp.setenv("ANONYMIZED_TELEMETRY", "False")
    mp.setenv("TOKENIZERS_PARALLELISM", "false")


def training_rows(corpus_hash: str) -> list[dict]:
    """Two RAFT records about the demo company, stamped with `corpus_hash`."""
    from memo.finetune.raft import Passage, attach_contexts

    passages = [Passage("c1", "benefits.md", "Leave", "Tidewell offers 25 days of paid leave."),
                Passage("c2", "about.md", "", "Tidewell was founded in 2015.")]
    rows = []
    for i, (question, answer) in enumerate([(QUESTION, "25 days a year."), ("When was Tidewell founded?", "In 2015.")]):
        row = attach_contexts(question, answer, passages, DEMO_COMPANY, None, [(i + 1, passages[i].text)])
        rows.append({"id": str(i), **row, "company": DEMO_COMPANY, "corpus_hash": corpus_hash})
    return rows


def train_adapter(data_dir: Path, out: Path, base: Path, rows: list[dict], **cfg) -> Path:
    """A tiny adapter trained by memo's own recipe on `rows`, with `cfg` as [train] settings."""
    from memo.finetune.lora import train

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    train_settings = {"base": str(base), "max_steps": 3, "precision": "fp32", "learning_rate": 5e-2,
                      "warmup_ratio": 0.0, "lora_r": 4, "lora_alpha": 8, **cfg}
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, data_dir / "home")
        settings = load_settings(None, {f"train.{key}": value for key, value in train_settings.items()})
        train(data_dir, out, settings)
    return out


def env_for(tmp_path: Path, base: Path, stand_in: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    path = [str(REPO_ROOT)] + ([str(stand_in)] if stand_in else [])
    env.update(MEMO_HOME=str(tmp_path / "home"), MEMO_MODEL_LLM=str(base), MEMO_DAEMON_ENABLED="false", HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(path), MEMO_VLLM_PYTHON=sys.executable)
    env.update(extra)
    return env


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a `memo` subprocess: isolated in `home`, offline, this checkout first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    # in-process answers: a warm process started here would outlive the test (tests/serving/test_daemon.py
    # turns it on where it is the subject)
    env.update(MEMO_HOME=str(home), MEMO_DAEMON_ENABLED="false", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               ANONYMIZED_TELEMETRY="False", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return env


def memo_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m memo ARGS` in a subprocess, isolated in `home`."""
    return subprocess.run([sys.executable, "-m", "memo", *args], capture_output=True, text=True,
                          check=False, env=clean_env(home), cwd=home.parent, timeout=300)


def one_line_error(done: subprocess.CompletedProcess, *needles: str) -> str:
    """The command failed with exit code 2 and one `memo: error:` line holding every needle."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memo: error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


NOTES_COMPANY = "Notesco"


@pytest.fixture(scope="session")
def notes_home(tmp_path_factory) -> Path:
    """A home whose index holds 1,100 one-line notes of Notesco: past Chroma's HNSW sync threshold
    (1,000 vectors), so its vector segment has a persisted graph in data_level0.bin (a smaller index
    keeps every vector in Chroma's log and its graph files stay empty). About 15 s to build."""
    root = tmp_path_factory.mktemp("notes")
    words = "harbour ledger crane tide anchor signal rota review budget laptop travel leave pension".split()
    files = {f"note{i:04d}.md": f"# Note {i}\n\nCrew {i} keeps the {words[i % 13]} {words[(i * 7) % 13]} "
             f"{words[(i * 5) % 13]} list number {i}.\n" for i in range(1100)}
    files["lighthouse.md"] = "# Lighthouse\n\nThe lighthouse keeper rings the copper bell at dawn.\n"
    docs = write_files(root / "docs", files)
    home = root / "home"
    done = memo_cli(home, "index", str(docs), "--company", NOTES_COMPANY, "--json")
    assert done.returncode == 0, done.stderr
    return home
