"""The light query path: a BERT sentence embedder (the packaged MiniLM and its kind) run with the
`tokenizers` library and numpy, without importing torch, sentence-transformers or transformers.

A cold `memo search` spent ~13 s loading sentence-transformers and building its model (scikit-learn
and transformers come with it) to embed one short question; this path reads the same folder's
`tokenizer.json` and `model.safetensors` and runs the same computation: BERT, mean pooling over
the tokens, L2 normalisation. Its vectors equal sentence-transformers' (cosine >= 0.9999, checked
by tests/retrieval/test_query_encoder.py). A folder of another kind (another architecture or
pooling) is not `supported`, and the retriever embeds its queries with sentence-transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from memo.llm.models import embedder_path

# sentence-transformers' module list for BERT + mean pooling (+ normalisation): what this path runs
_MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
            "sentence_transformers.models.Normalize")
_FILES = ("config.json", "modules.json", "tokenizer.json", "model.safetensors")


def _read_json(path: Path) -> dict | list:
    return json.loads(path.read_text(encoding="utf-8"))


def supported(name: str) -> bool:
    """Is the embedder `name` a local BERT sentence embedder with mean pooling this path runs?"""
    try:
        folder = Path(embedder_path(name))
        if not all((folder / f).is_file() for f in _FILES):
            return False
        config = _read_json(folder / "config.json")
        listed = _read_json(folder / "modules.json")
        modules = tuple(m["type"] for m in listed)
        pooling = next((folder / m["path"] / "config.json" for m in listed if m["type"].endswith("Pooling")), None)
        mean = pooling is not None and pooling.is_file() and _mean_pooling(_read_json(pooling))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and modules in (_MODULES, _MODULES[:2]) and mean)


def _mean_pooling(pooling: dict) -> bool:
    modes = {k: v for k, v in pooling.items() if k.startswith("pooling_mode_")}
    return modes.get("pooling_mode_mean_tokens") is True and sum(bool(v) for v in modes.values()) == 1


class QueryEncoder:
    """`encode_query(text)`: the unit vector sentence-transformers would give, computed with numpy
    (one short sequence: a few million multiply-adds, no torch import needed)."""

    def __init__(self, name: str):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(embedder_path(name))
        self.config = _read_json(folder / "config.json")
        settings = folder / "sentence_bert_config.json"
        max_tokens = _read_json(settings).get("max_seq_length", 512) if settings.is_file() else 512
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=int(max_tokens))
        self.weights = {k.removeprefix("bert."): v.astype(np.float32)
                        for k, v in load_file(str(folder / "model.safetensors")).items()}

    def encode_query(self, text: str) -> np.ndarray:
        ids = np.asarray(self.tokenizer.encode(text).ids)
        pooled = self._forward(ids).mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        """BERT's encoder over one unpadded sequence: its last hidden states, (tokens, hidden)."""
        w, cfg = self.weights, self.config
        n, heads = len(ids), cfg["num_attention_heads"]
        size = cfg["hidden_size"] // heads
        eps = cfg.get("layer_norm_eps", 1e-12)

        def norm(x, name):
            centred = x - x.mean(axis=-1, keepdims=True)
            scaled = centred / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + eps)
            return scaled * w[f"{name}.weight"] + w[f"{name}.bias"]

        def linear(x, name):
            return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = norm(x, "embeddings.LayerNorm")
        for i in range(cfg["num_hidden_layers"]):
            layer = f"encoder.layer.{i}"
            q, k, v = (linear(x, f"{layer}.attention.self.{part}").reshape(n, heads, size).transpose(1, 0, 2)
                       for part in ("query", "key", "value"))
            attended = (_softmax(q @ k.transpose(0, 2, 1) / np.sqrt(size)) @ v).transpose(1, 0, 2).reshape(n, -1)
            x = norm(x + linear(attended, f"{layer}.attention.output.dense"), f"{layer}.attention.output.LayerNorm")
            x = norm(x + linear(_gelu(linear(x, f"{layer}.intermediate.dense")), f"{layer}.output.dense"),
                     f"{layer}.output.LayerNorm")
        return x


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 (Abramowitz and Stegun 7.1.26): numpy has none, and scipy would cost an import."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x)."""
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))
