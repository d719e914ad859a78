"""The trained evidence selector: a cross-encoder that reads the question and a sentence together.

The cosine baseline compares a question and a sentence from afar (two embeddings); a cross-encoder
reads them as one input, so "How much time off do I get?" can meet "26 working days of paid leave".
It is trained by `scripts/train_selector.sh` (memo.finetune.selector) from the packaged MiniLM
weights on the team's own corpora. Reading every sentence of 12 hits would take ~0.5 s on 2 cores,
so the cosine baseline first keeps the `DEPTH` closest units and only those are read; the rest keep
a score below any threshold.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from memo.answering.evidence import CosineScorer
from memo.core.errors import MemoError
from memo.retrieval.rerank import load_cross_encoder

STAMP = "memo.json"
DEPTH = 24  # units the cross-encoder reads: the answer sentence was in the cosine's best 24 for ~97%
# of the team's selector questions (benchmarks/bench_selector.py)


def read_stamp(path: Path) -> dict:
    stamp = path / STAMP
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("kind") != "selector":
        raise MemoError(f"evidence.selector {path}: not a memo selector (no {STAMP} of kind 'selector'); "
                        f"train one with scripts/train_selector.sh, or set evidence.selector = \"\" for the baseline")
    return data


class CrossEncoderScorer:
    """Scores (question, unit) pairs with a trained cross-encoder, after a cosine pre-selection."""

    def __init__(self, path: str | Path, embedder: Callable[[], object], device: str = "cpu"):
        self.path = Path(path)
        self.stamp = read_stamp(self.path)
        self.name = f"selector:{self.path.name}"
        self.threshold = float(self.stamp.get("threshold", 0.5))
        self.first = CosineScorer(embedder)
        self._model = None
        self.device = device

    @property
    def model(self):
        if self._model is None:
            self._model = load_cross_encoder(self.path, device=self.device)
        return self._model

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        first = self.first.score(question, texts)
        keep = sorted(range(len(texts)), key=lambda i: -first[i])[:DEPTH]
        read = self.model.predict([(question, texts[i]) for i in keep], batch_size=DEPTH,
                                  show_progress_bar=False, convert_to_numpy=True)
        out = [-1.0] * len(texts)
        for i, value in zip(keep, read, strict=True):
            out[i] = float(value)
        return out


def load_scorer(settings, embedder: Callable[[], object]):
    """The configured evidence selector: the cosine baseline over `embedder()` (loaded on first
    use) when `evidence.selector` is empty, else the trained cross-encoder in that folder."""
    if not settings.evidence.selector:
        return CosineScorer(embedder)
    return CrossEncoderScorer(settings.evidence.selector, embedder, settings.model.device)
