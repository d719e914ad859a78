"""A cross-encoder reranker over the fused candidates: it reads the question and each passage
together, where the bi-encoder and BM25 only compare them from afar.

No pretrained reranker ships offline, so memo trains its own (`memo train-reranker`, from the
packaged MiniLM weights and `memo synth`'s question -> oracle + mined hard negatives). A reranker
folder holds the sentence-transformers CrossEncoder and `memo.json`, its stamp: the base weights,
the companies and corpus hashes it learned from, and its validation scores.
"""

from __future__ import annotations

import json
from pathlib import Path

from memo.core.errors import MemoError
from memo.llm.models import stay_offline

STAMP = "memo.json"
MAX_LENGTH = 256  # word pieces of question + passage; chunks are at most 200 of MiniLM's pieces


def check_folder(path: Path) -> dict:
    """The stamp of a reranker folder; a clear error when the folder is not one."""
    stamp = path / STAMP
    if not path.is_dir() or not (path / "config.json").is_file() or not stamp.is_file():
        raise MemoError(f"{path} is not a memo reranker (no config.json and {STAMP}); "
                        f"train one with `memo train-reranker DATA_DIR --out {path}`")
    try:
        return json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MemoError(f"{stamp}: unreadable reranker stamp ({exc}); train the reranker again") from None


def load_cross_encoder(path: str | Path, num_labels: int | None = None, device: str = "cpu"):
    """A sentence-transformers CrossEncoder from a local folder (never a hub download)."""
    stay_offline()
    import logging

    from sentence_transformers import CrossEncoder

    # "Converting SentenceTransformer model ... to CrossEncoder": expected for the packaged MiniLM
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:
        return CrossEncoder(str(path), num_labels=num_labels, max_length=MAX_LENGTH, device=device,
                            local_files_only=True)
    except (OSError, ValueError) as exc:
        raise MemoError(f"cannot load the reranker {path}: {str(exc).splitlines()[0]}") from None


class Reranker:
    """Scores (question, passage) pairs; higher is more likely to answer the question."""

    def __init__(self, path: str | Path, device: str = "cpu"):
        self.path = Path(path)
        self.stamp = check_folder(self.path)
        self.model = load_cross_encoder(self.path, device=device)

    def scores(self, question: str, passages: list[str]) -> list[float]:
        if not passages:
            return []
        got = self.model.predict([(question, p) for p in passages], batch_size=16, show_progress_bar=False,
                                 convert_to_numpy=True)
        return [float(s) for s in got]
