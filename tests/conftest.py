"""Shared fixtures: an isolated MEMO_HOME per test, the `memo` CLI as a real subprocess, and
readers for what actually landed in the Chroma index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def memo_env(tmp_path, monkeypatch) -> Path:
    """Give the test its own MEMO_HOME (returned), offline, with no telemetry and no API key.

    Any MEMO_* variable of the developer's shell is removed so it cannot change the settings,
    and the working directory is a fresh folder so no ./memo.toml is picked up.
    """
    home = tmp_path / "memo-home"
    for var in list(os.environ):
        if var.startswith("MEMO_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("MEMO_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
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
    from memo.serving.models import materialize_smollm2

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
