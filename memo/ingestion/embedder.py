"""The sentence-transformers embedder, shared by indexing (documents) and retrieval (queries).

Speed: all texts of a commit are sorted by length, so batches carry little padding; batches stay
small (16), since MiniLM's activations for large batches overflow the CPU caches; and on CPUs with
native bf16 (AVX512-BF16 or AMX) documents are embedded under bf16 autocast, about 2x faster at
cosine >= 0.9999 to fp32 (benchmarks/bench_embed.py). Queries stay fp32.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

from memo.core.errors import MemoError
from memo.llm.models import embedder_path, fast_bf16, pick_device, stay_offline


class Embedder:
    """Normalised embeddings from a sentence-transformers model (cosine = dot product)."""

    def __init__(self, name: str, batch_size: int = 16, device: str = "cpu"):
        stay_offline()
        from sentence_transformers import SentenceTransformer


        self.name = name
        self.batch_size = batch_size
        try:
            self.model = SentenceTransformer(embedder_path(name), device=device)
        except (OSError, ValueError) as exc:
            raise MemoError(f"cannot load the embedder {name!r}: {str(exc).splitlines()[0]}") from None
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)  # word pieces, [CLS] and [SEP] included
        self.dimension = int(self.model.get_embedding_dimension())
        self.bf16 = fast_bf16(device)

    def encode(self, texts: list[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed `texts` (any order); `on_progress(n)` is called as each slice of n texts is done."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        step = self.batch_size * 8  # a progress tick every few batches
        for start in range(0, len(texts), step):
            idx = order[start:start + step]
            with torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext():
                out[idx] = self.model.encode([texts[i] for i in idx], batch_size=self.batch_size,
                                             normalize_embeddings=True, convert_to_numpy=True,
                                             show_progress_bar=False)
            if on_progress:
                on_progress(len(idx))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)[0]


class LazyEmbedder:
    """Loads the embedder on first use, so a run with nothing new to embed never loads it."""

    def __init__(self, name: str, batch_size: int = 16, device: str = "cpu"):
        self.name, self.batch_size, self.device = name, batch_size, device
        self.loaded: Embedder | None = None

    def __call__(self) -> Embedder:
        if self.loaded is None:
            self.loaded = Embedder(self.name, self.batch_size, self.device)
        return self.loaded


def load_embedder(settings) -> Embedder:
    """The configured sentence-transformers embedder on the configured device."""
    return Embedder(settings.model.embedder, device=pick_device(settings.model.device))
