"""The light query path: the packaged MiniLM run with plain torch and `tokenizers` gives the
vectors sentence-transformers gives, and a search through it never imports sentence-transformers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from memo.core.config import DEFAULT_EMBEDDER
from memo.llm.models import embedder_path
from memo.retrieval.query_encoder import QueryEncoder, supported
from tests.conftest import REPO_ROOT

QUERIES = [
    "How many days of paid leave does Tidewell offer?",
    "on-call",
    "Qu'est-ce que l'astreinte ? Ünïcödé, emoji 🚀 and CamelCaseWords_with_underscores",
    "word " * 600,  # past the 256-piece window: truncated exactly as sentence-transformers does
]


def test_light_vectors_equal_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(embedder_path(DEFAULT_EMBEDDER), device="cpu").encode(
        QUERIES, normalize_embeddings=True, convert_to_numpy=True)
    light = QueryEncoder(DEFAULT_EMBEDDER)
    for query, expected in zip(QUERIES, reference):
        vector = light.encode_query(query)
        assert vector.shape == expected.shape and vector.dtype == np.float32
        assert float(vector @ expected) >= 0.9999
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def copy_model(tmp_path):
    folder = tmp_path / "minilm"
    shutil.copytree(embedder_path(DEFAULT_EMBEDDER), folder)
    return folder


@pytest.mark.parametrize("change", ["no tokenizer.json", "cls pooling", "another architecture", "gelu_new"])
def test_other_embedders_are_not_run_by_the_light_path(tmp_path, change):
    folder = copy_model(tmp_path)
    assert supported(str(folder))
    if change == "no tokenizer.json":
        (folder / "tokenizer.json").unlink()
    elif change == "cls pooling":
        pooling = folder / "1_Pooling" / "config.json"
        config = json.loads(pooling.read_text())
        pooling.write_text(json.dumps({**config, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    else:
        config = json.loads((folder / "config.json").read_text())
        config.update({"model_type": "mpnet"} if change == "another architecture" else {"hidden_act": "gelu_new"})
        (folder / "config.json").write_text(json.dumps(config))
    assert not supported(str(folder))
    assert not supported(str(tmp_path / "missing"))


def test_a_search_never_imports_sentence_transformers(demo_home):
    """The retriever embeds the query on the light path; sentence-transformers stays unloaded, and
    with retrieval.light_query off the same search loads it and returns the same hits."""
    script = (
        "import json, sys\n"
        "from memo.core.config import load_settings\n"
        "from memo.retrieval.hybrid import search\n"
        "hits = search(load_settings(), 'How many days of paid leave does Tidewell offer?', 'Tidewell')\n"
        "print(json.dumps({'st': 'sentence_transformers' in sys.modules, 'hits': [h.id for h in hits],\n"
        "                  'dense': [h.dense for h in hits]}))\n")
    runs = {}
    for light in ("true", "false"):
        env = {"MEMO_HOME": str(demo_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT),
               "MEMO_RETRIEVAL_LIGHT_QUERY": light, "PATH": "/usr/bin:/bin"}
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        runs[light] = json.loads(done.stdout.strip().splitlines()[-1])
    assert runs["true"]["st"] is False and runs["false"]["st"] is True
    assert runs["true"]["hits"] == runs["false"]["hits"]
    assert runs["true"]["dense"] == pytest.approx(runs["false"]["dense"], abs=1e-3)
