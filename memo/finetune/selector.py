"""Training the evidence selector (memo.answering.selector): a cross-encoder on (question, unit,
label) pairs memo makes from team-written question files whose answer sentences are known.

    scripts/train_selector.sh       # the recipe, on training/corpora/selector/*.jsonl only
    scripts/train_selector.py       # its last step: train_selector on indexed companies

For each question the index is searched as `memo ask` searches it (the best `evidence.hits`); the
units of those hits and of the evidence file's own chunks are the candidates. A unit is positive
when it holds one of the row's `answer_sentences` (or is held by one); the hard negatives are the
other units of the same hits and file, closest to the question by the cosine baseline first. A
question the documents do not answer (`evidence` null) gives negatives only. The model starts from
the packaged MiniLM weights with a fresh one-logit head (memo.finetune.reranker's trainer). The
threshold is calibrated on the training questions: the score that best separates answerable
questions' best unit from unanswerable ones'.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from memo.answering.evidence import CosineScorer, Unit, clean, scored, scoring_text, units_of
from memo.answering.selector import STAMP
from memo.core import durable
from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.jsonl import read_jsonl
from memo.finetune.reranker import RerankerOptions, fit_cross_encoder
from memo.llm.models import embedder_path, pick_device
from memo.retrieval.hybrid import HybridRetriever
from memo.retrieval.rerank import load_cross_encoder

NEGATIVES = 12  # hard negatives per question (the cosine's closest non-answers first)


@dataclass
class SelectorOptions:
    data: list[Path]
    out: Path
    epochs: float = 2.0
    negatives: int = NEGATIVES
    learning_rate: float = 5e-5
    seed: int = 0


def _norm(text: str) -> str:
    return " ".join(clean(text).lower().split()).rstrip(".")


def is_answer(unit: Unit, sentences: list[str]) -> bool:
    """Whether `unit` holds one of the answer sentences, or one of them holds it."""
    mine = _norm(unit.text)
    return any(s and (s in mine or (len(mine) > 20 and mine in s)) for s in map(_norm, sentences))


def candidates(row: dict, retriever: HybridRetriever, hits: int) -> list[Unit]:
    """The units a selector ranks for `row`: its retrieved hits', then its evidence file's."""
    found = retriever.retrieve(row["question"], row["company"], row.get("role"), hits)
    extra = []
    if row.get("evidence"):
        name = Path(row["evidence"]).name
        extra = [SimpleNamespace(text=c.text, source=c.meta["source"], section=c.meta.get("section", ""),
                                 kind=c.meta.get("kind", "")) for c in retriever.chunks(row["company"])
                 if c.meta.get("source", "").endswith(name)]
    seen, out = set(), []
    for unit in units_of([*found, *extra]):
        if unit.text.lower() not in seen:
            seen.add(unit.text.lower())
            out.append(unit)
    return out


def pairs_of(row: dict, units: list[Unit], negatives: int) -> list[tuple[str, str, float]]:
    """(question, unit as scored, label): every answer unit, then the closest others."""
    answers = row.get("answer_sentences") or []
    positive = [u for u in units if is_answer(u, answers)]
    others = sorted((u for u in units if u not in positive), key=lambda u: -u.score)[:negatives]
    return [(row["question"], scoring_text(u), 1.0) for u in positive] + \
           [(row["question"], scoring_text(u), 0.0) for u in others]


def calibrate(best_answerable: list[float], best_unanswerable: list[float]) -> float:
    """The threshold with the most questions on the right side of it (answerable above)."""
    values = sorted(set(best_answerable + best_unanswerable))
    if not values:
        return 0.5
    def right(t: float) -> int:
        return sum(v >= t for v in best_answerable) + sum(v < t for v in best_unanswerable)
    return max(values, key=right)


def train_selector(settings: Settings, opts: SelectorOptions) -> dict:
    """Train and save the selector; returns its report (also in the folder's stamp)."""
    started = time.monotonic()
    rows = [r for path in opts.data for r in read_jsonl(path, ("question", "company"), can_skip=False)]
    if not rows:
        raise MemoError(f"no questions in {', '.join(map(str, opts.data))}")
    retriever = HybridRetriever(settings)
    cosine = CosineScorer(lambda: retriever.embedder)
    grouped = [(row, scored(row["question"], candidates(row, retriever, settings.evidence.hits), cosine))
               for row in rows]
    train = [p for row, units in grouped for p in pairs_of(row, units, opts.negatives)]
    if not any(label for _, _, label in train):
        raise MemoError("no answer sentence was found among the indexed units; index training/corpora first")
    import transformers

    transformers.set_seed(opts.seed)
    model = load_cross_encoder(embedder_path(settings.model.embedder), num_labels=1,
                               device=pick_device(settings.model.device))
    steps = fit_cross_encoder(model, train, RerankerOptions(data=opts.data, out=opts.out, epochs=opts.epochs,
                                               learning_rate=opts.learning_rate, seed=opts.seed), False)
    best = [(row.get("evidence") is not None,
             max(model.predict([(row["question"], scoring_text(u)) for u in units], show_progress_bar=False)))
            for row, units in grouped if units]
    threshold = calibrate([float(v) for a, v in best if a], [float(v) for a, v in best if not a])
    report = {"questions": len(rows), "pairs": len(train), "positives": int(sum(p[2] for p in train)),
              "steps": steps, "threshold": round(threshold, 4), "seconds": round(time.monotonic() - started, 1),
              "data": [str(p) for p in opts.data]}
    opts.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(opts.out))
    durable.write_atomic(opts.out / STAMP, json.dumps({"kind": "selector", "base": settings.model.embedder,
                                                       "threshold": report["threshold"], "report": report},
                                                      indent=2))
    return report
