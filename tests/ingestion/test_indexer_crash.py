"""Crash safety with a real SIGKILL: a `memo index` killed mid-run, then run again, leaves exactly
the index a clean run builds (same chunk ids, texts and vectors; nothing duplicated or stale)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from memo.core.config import load_settings
from memo.ingestion.indexer import Target, index_corpus
from tests.conftest import REPO_ROOT, local_collection, write_files

pytestmark = pytest.mark.usefixtures("memo_env")

N_FILES = 150
BATCH = 10
CHUNK_TOKENS = 32  # small chunks: most documents have several, so a kill can leave one half-written
COMPANY = "Crashco"

# Run the real CLI in a process that SIGKILLs itself in the middle of its 2nd Chroma write: the
# chunks of the batch's first document(s) are in Chroma, one document only in part, and the
# docstore does not vouch for any of them. (Not a fake: real Chroma, real embedder, real SIGKILL,
# only at a moment a timer cannot hit reliably.)
SELF_KILL = """
import os, signal, sys
from llama_index.vector_stores.chroma import ChromaVectorStore
original, calls = ChromaVectorStore.add, []
def add(self, nodes, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        cut = next(i for i, n in enumerate(nodes) if n.metadata["chunk"] == 1)  # mid-document
        original(self, nodes[:cut], **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, nodes, **kwargs)
ChromaVectorStore.add = add
from memo.cli import main
sys.exit(main(sys.argv[1:]))
"""


def make_corpus(root: Path) -> Path:
    files = {}
    for i in range(N_FILES):
        body = " ".join(f"Item {j} covers topic{(i * 7 + j) % 50}." for j in range(8))
        folder = f"part{i % 3}/" if i % 2 else ""
        files[f"{folder}doc{i:03d}.md"] = f"# Document {i}\n\n{body}\n"
    return write_files(root, files)


def index_state(home: Path) -> dict:
    collection = local_collection(home)
    got = collection.get(include=["documents", "metadatas", "embeddings"])
    return {"count": collection.count(), "ids": got["ids"], "texts": dict(zip(got["ids"], got["documents"])),
            "metas": dict(zip(got["ids"], got["metadatas"])),
            "vectors": {i: np.asarray(v) for i, v in zip(got["ids"], got["embeddings"])}}


def vouched(home: Path) -> set[str]:
    path = home / "indexes" / "default" / "docstore.json"
    return set(json.loads(path.read_text())["docstore/metadata"]) if path.exists() else set()


def start_and_kill(corpus: Path, home: Path, moment: str, delay: float, log: Path) -> dict:
    """Run `memo index` in a subprocess, SIGKILL it at `moment` (+ `delay` s); say what happened."""
    env = dict(os.environ, MEMO_HOME=str(home), MEMO_INDEX_BATCH_DOCS=str(BATCH),
               MEMO_INDEX_CHUNK_TOKENS=str(CHUNK_TOKENS),
               PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    docstore = home / "indexes" / "default" / "docstore.json"
    program = ["-c", SELF_KILL] if moment == "mid-chroma-write" else ["-m", "memo"]
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, *program, "index", str(corpus), "--company", COMPANY],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            if moment == "mid-chroma-write":  # the process kills itself
                proc.wait(timeout=180)
                assert proc.returncode == -signal.SIGKILL, log.read_text()
                return {"killed": True, "commits_seen": None}
            deadline = time.monotonic() + 180
            commits, last_size = 0, None
            while proc.poll() is None and time.monotonic() < deadline:
                size = docstore.stat().st_size if docstore.exists() else None
                if size is not None and size != last_size:
                    commits, last_size = commits + 1, size
                if commits >= 1:
                    break
                time.sleep(0.005)
            assert proc.poll() is None or proc.returncode == 0, log.read_text()
            time.sleep(delay)
            finished = proc.poll() is not None
            if not finished:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert finished or proc.returncode == -signal.SIGKILL
    return {"killed": not finished, "commits_seen": commits}


@pytest.fixture(scope="module")
def crash_corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("crash") / "corpus")


@pytest.mark.slow  # 65-120 s on 2 shared cores: three `memo index` processes, four full embeddings
def test_sigkill_then_rerun_equals_a_clean_index(tmp_path, monkeypatch, crash_corpus):
    monkeypatch.setenv("MEMO_INDEX_BATCH_DOCS", str(BATCH))
    monkeypatch.setenv("MEMO_INDEX_CHUNK_TOKENS", str(CHUNK_TOKENS))
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)

    # the reference: a clean, uninterrupted index of the same corpus
    monkeypatch.setenv("MEMO_HOME", str(tmp_path / "clean"))
    clean_report = index_corpus(load_settings(), [crash_corpus], Target(COMPANY), show_progress=False)
    assert clean_report.files == N_FILES and clean_report.chunks_total >= 2 * N_FILES
    clean = index_state(tmp_path / "clean")
    assert clean["count"] == len(clean["ids"]) == len(set(clean["ids"])) == clean_report.chunks_total

    moments = [("first-commit", 0.0), ("first-commit", rng.uniform(0.05, 1.5)), ("mid-chroma-write", 0.0)]
    outcomes = []
    for n, (moment, delay) in enumerate(moments):
        home = tmp_path / f"killed{n}"
        what = f"kill #{n} at {moment} + {delay:.2f}s (seed {seed})"
        outcome = start_and_kill(crash_corpus, home, moment, delay, tmp_path / f"log{n}.txt")
        outcomes.append(outcome)
        before = vouched(home)
        assert before, f"{what}: no batch was committed before the kill"
        if delay == 0.0:  # killed right after the first commit, long before the last one
            assert outcome["killed"] and len(before) < N_FILES, f"{what}: {outcome}, {len(before)} vouched"
        killed_state = index_state(home)
        unvouched = {m["document_id"] for m in killed_state["metas"].values()} - before
        if moment == "mid-chroma-write":
            assert outcome["killed"] and len(before) == BATCH, f"{what}: {outcome}, {len(before)} vouched"
            assert unvouched, f"{what}: the 2nd batch wrote nothing to Chroma before the kill"

        monkeypatch.setenv("MEMO_HOME", str(home))
        rerun = index_corpus(load_settings(), [crash_corpus], Target(COMPANY), show_progress=False)
        assert rerun.repaired >= len(unvouched) and not rerun.skipped, what
        assert rerun.files == N_FILES and rerun.new + rerun.unchanged == N_FILES and rerun.changed == 0, what
        assert rerun.unchanged <= len(before), what
        assert rerun.chunks_total == clean_report.chunks_total, what
        assert rerun.corpus_hash == clean_report.corpus_hash, what

        state = index_state(home)
        assert state["count"] == clean["count"] == len(state["ids"]), what
        assert len(state["ids"]) == len(set(state["ids"])), f"{what}: duplicate chunk ids"
        assert set(state["ids"]) == set(clean["ids"]), what
        assert state["texts"] == clean["texts"], what
        assert state["metas"] == clean["metas"], what
        per_doc: dict[str, list[int]] = {}
        for meta in state["metas"].values():
            per_doc.setdefault(meta["document_id"], []).append(meta["chunk"])
        assert all(sorted(c) == list(range(len(c))) for c in per_doc.values()), f"{what}: duplicated chunks"
        for chunk_id, vector in state["vectors"].items():
            assert np.allclose(vector, clean["vectors"][chunk_id], atol=1e-3), f"{what}: {chunk_id} vector differs"
        assert vouched(home) == vouched(tmp_path / "clean"), what

        again = index_corpus(load_settings(), [crash_corpus], Target(COMPANY), show_progress=False)
        assert (again.repaired, again.chunks_added, again.unchanged) == (0, 0, N_FILES), what
    assert any(o["killed"] for o in outcomes), f"no run was killed before it finished: {outcomes}"
