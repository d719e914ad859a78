"""`memo train-reranker`: a cross-encoder trained from `memo synth` data, for
`retrieval.reranker`.

A synth record is a question with its oracle chunk and the distractors memo's own retriever
mined for it: exactly a reranker's training data. Each record gives (question, oracle, 1) and
(question, negative, 0) pairs, the negatives being its distractors topped up with the retriever's
other best hits for the question. The model starts from the packaged MiniLM weights (the
embedder's), with a fresh one-logit head, and is trained with sentence-transformers'
CrossEncoderTrainer and binary cross-entropy. Questions close to an --exclude file's are left out
by synth's own leakage guard. The validation records measure the oracle's MRR among its
candidates in retrieval order and in the reranker's order, before and after training.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from memo.core import durable, notices
from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.identity import company_corpus_hash
from memo.core.jsonl import read_jsonl
from memo.core.progress import Progress
from memo.core.qa_format import read_qa
from memo.finetune.dataset import file_hash
from memo.finetune.gates import SimilarityGuard
from memo.llm.models import embedder_path, pick_device
from memo.retrieval.hybrid import HybridRetriever
from memo.retrieval.rerank import STAMP, load_cross_encoder

LEARNING_RATE = 5e-5  # a fresh head on a small encoder: sentence-transformers' reranker examples use 2e-5..1e-4
BATCH_SIZE = 16  # pairs per step; MiniLM-L6 at 256 pieces trains ~40 pairs/s on 2 cores


@dataclass
class RerankerOptions:
    data: list[Path]
    out: Path
    epochs: float = 1.0
    max_steps: int = 0
    negatives: int = 3  # negatives per question: RAFT's distractor count
    learning_rate: float = LEARNING_RATE
    exclude: list[Path] = field(default_factory=list)
    seed: int = 0


@dataclass
class RerankerReport:
    out: str
    questions: int
    pairs: int
    excluded: int
    skipped: int
    steps: int
    seconds: float
    val_questions: int
    val_mrr_retrieval: float | None
    val_mrr_before: float | None
    val_mrr_after: float | None
    companies: list[str]

    def as_dict(self) -> dict:
        return asdict(self)


def data_rows(paths: list[Path]) -> tuple[list[dict], list[dict]]:
    """(train, validation) synth records of every DATA_DIR (or JSONL file) given."""
    train: list[dict] = []
    val: list[dict] = []
    for path in paths:
        if path.is_file():
            train += read_jsonl(path, ("question", "oracle_ids", "company"), can_skip=False)
            continue
        if not (path / "train.jsonl").is_file():
            raise MemoError(f"{path}: no train.jsonl; give the --out folder of `memo synth`")
        train += read_jsonl(path / "train.jsonl", ("question", "oracle_ids", "company"), can_skip=False)
        if (path / "val.jsonl").is_file():
            val += read_jsonl(path / "val.jsonl", ("question", "oracle_ids", "company"), can_skip=False)
    return train, val


def candidates(row: dict, mined: list[str], negatives: int) -> tuple[list[str], list[str]]:
    """(positive ids, negative ids) of a record: its oracle(s); its distractors, then the mined
    ids in retrieval order, none an oracle, at most `negatives`."""
    positives = list(dict.fromkeys(row["oracle_ids"]))
    pool = [i for i in [*row.get("distractor_ids", []), *mined] if i not in positives]
    return positives, list(dict.fromkeys(pool))[:negatives]


def pairs(rows: list[dict], texts: dict[str, str], mined: dict[str, list[str]], negatives: int) -> list[tuple[str, str, float]]:
    """(question, passage, label) pairs; ids missing from the index are skipped."""
    out = []
    for row in rows:
        positives, negs = candidates(row, mined.get(row["question"], []), negatives)
        out += [(row["question"], texts[i], 1.0) for i in positives if i in texts]
        out += [(row["question"], texts[i], 0.0) for i in negs if i in texts]
    return out


def mrr(groups: list[tuple[list[float], int]]) -> float | None:
    """Mean reciprocal rank of the positive (its index in each score list), higher score first."""
    if not groups:
        return None
    ranks = [1 + sum(s > scores[pos] for s in scores) for scores, pos in groups]
    return sum(1 / r for r in ranks) / len(ranks)


class RerankerTraining:
    """One run: the index for chunk texts and mining, the data, the model, the stamp."""

    def __init__(self, settings: Settings, opts: RerankerOptions):
        self.settings, self.opts = settings, opts
        self.retriever = HybridRetriever(settings)
        self.texts: dict[str, str] = {}
        self.companies: dict[str, str] = {}
        self.excluded = 0

    def load(self) -> tuple[list[dict], list[dict]]:
        train, val = data_rows(self.opts.data)
        for company in dict.fromkeys(row["company"] for row in train + val):
            chunks = self.retriever.chunks(company)  # NotIndexedError names the company and the fix
            self.texts.update({c.id: c.text for c in chunks})
            self.companies[company] = company_corpus_hash(c.meta for c in chunks)
        questions = [q["question"] for path in self.opts.exclude for q in read_qa(path, can_skip=False)]
        if not questions:
            return train, val
        embed = self.retriever.embedder.encode
        guard = SimilarityGuard(embed(["probe"]).shape[1], embed(questions))
        return self._without_held_out(train, guard), self._without_held_out(val, guard)

    def _without_held_out(self, rows: list[dict], guard: SimilarityGuard) -> list[dict]:
        if not rows:
            return rows
        vectors = self.retriever.embedder.encode([r["question"] for r in rows])
        kept = [row for row, vector in zip(rows, vectors, strict=True) if guard.problem(vector) != "leaks_held_out"]
        self.excluded += len(rows) - len(kept)
        return kept

    def mine(self, rows: list[dict]) -> dict[str, list[str]]:
        """The retriever's best chunk ids for each question, in its own order."""
        depth = self.opts.negatives + 3
        return {row["question"]: [h.id for h in self.retriever.retrieve(row["question"], row["company"],
                                                                        row.get("role"), k=depth)]
                for row in rows}

    def validation_groups(self, rows: list[dict], mined: dict[str, list[str]]) -> list[tuple[str, list[str], int]]:
        """(question, passages in retrieval order, index of the oracle) for each validation record:
        the retriever's best hits, then the record's distractors and its oracle if not among them."""
        groups = []
        for row in rows:
            oracle = next((i for i in row["oracle_ids"] if i in self.texts), None)
            if oracle is None:
                continue
            ids = [i for i in dict.fromkeys([*mined[row["question"]], *row.get("distractor_ids", []), oracle])
                   if i in self.texts]
            groups.append((row["question"], [self.texts[i] for i in ids], ids.index(oracle)))
        return groups


def _score_groups(model, groups: list[tuple[str, list[str], int]]) -> list[tuple[list[float], int]]:
    return [([float(s) for s in model.predict([(q, p) for p in passages], batch_size=BATCH_SIZE,
                                             show_progress_bar=False)], pos)
            for q, passages, pos in groups]


def fit_cross_encoder(model, train_pairs: list[tuple[str, str, float]], opts: RerankerOptions, show_progress: bool) -> int:
    """CrossEncoderTrainer over the pairs; returns the optimizer steps taken."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import TrainerCallback

    data = Dataset.from_dict({"query": [p[0] for p in train_pairs], "passage": [p[1] for p in train_pairs],
                              "label": [p[2] for p in train_pairs]})
    positive_share = max(sum(p[2] for p in train_pairs) / len(train_pairs), 1e-6)
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor((1 - positive_share) / positive_share))
    with tempfile.TemporaryDirectory(prefix="memo-reranker-") as scratch, Progress(enabled=show_progress) as bar:
        args = CrossEncoderTrainingArguments(
            output_dir=scratch, num_train_epochs=opts.epochs, max_steps=opts.max_steps or -1,
            per_device_train_batch_size=BATCH_SIZE, learning_rate=opts.learning_rate, warmup_steps=0.1,
            seed=opts.seed, save_strategy="no", report_to="none", disable_tqdm=True, logging_strategy="no",
            use_cpu=pick_device("auto") == "cpu", dataloader_num_workers=0)

        class _Ticks(TrainerCallback):
            task = None

            def on_train_begin(self, targs, state, control, **kw):
                self.task = bar.task("rerank", state.max_steps)

            def on_step_end(self, targs, state, control, **kw):
                bar.advance(self.task, 1)

        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss, callbacks=[_Ticks()])
        with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints its run summary; the report has it
            trainer.train()
        return int(trainer.state.global_step)


def train_reranker(settings: Settings, opts: RerankerOptions, show_progress: bool = False) -> RerankerReport:
    """Train a reranker on synth data; writes the CrossEncoder and its stamp to `opts.out`."""
    started = time.monotonic()
    run = RerankerTraining(settings, opts)
    train, val = run.load()
    if not train:
        raise MemoError(f"no training records left in {', '.join(map(str, opts.data))} "
                        f"(excluded as held out: {run.excluded}); synthesize more with `memo synth`")
    mined = run.mine(train + val)
    train_pairs = pairs(train, run.texts, mined, opts.negatives)
    if not any(p[2] for p in train_pairs):
        raise MemoError("no training record's oracle chunk is in the index; index the companies "
                        "the data was synthesized from, then train again")
    import transformers

    transformers.set_seed(opts.seed)  # the fresh head's initial weights, then the data order
    model = load_cross_encoder(embedder_path(settings.model.embedder), num_labels=1,
                               device=pick_device(settings.model.device))
    groups = run.validation_groups(val, mined)
    before = _score_groups(model, groups)
    steps = fit_cross_encoder(model, train_pairs, opts, show_progress)
    after = _score_groups(model, groups)
    retrieval_order = [([-float(i) for i in range(len(p))], pos) for _, p, pos in groups]
    report = RerankerReport(
        out=str(opts.out), questions=len(train), pairs=len(train_pairs), excluded=run.excluded,
        skipped=sum(1 for r in train if not any(i in run.texts for i in r["oracle_ids"])), steps=steps,
        seconds=round(time.monotonic() - started, 1), val_questions=len(groups),
        val_mrr_retrieval=_round(mrr(retrieval_order)), val_mrr_before=_round(mrr(before)),
        val_mrr_after=_round(mrr(after)), companies=sorted(run.companies))
    _save(model, opts, settings, run, report)
    return report


def _save(model, opts: RerankerOptions, settings: Settings, run: RerankerTraining, report: RerankerReport) -> None:
    opts.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(opts.out))
    data = [str(p) for p in opts.data]
    stamp = {"kind": "reranker", "base": settings.model.embedder, "data": data,
             "data_hashes": {d: file_hash(Path(d) / "train.jsonl" if Path(d).is_dir() else Path(d)) for d in data},
             "companies": run.companies, "options": {**asdict(opts), "data": data, "out": str(opts.out),
                                                     "exclude": [str(p) for p in opts.exclude]},
             "report": report.as_dict()}
    durable.write_atomic(opts.out / STAMP, json.dumps(stamp, indent=2))
    if report.val_mrr_after is not None and report.val_mrr_retrieval is not None \
            and report.val_mrr_after < report.val_mrr_retrieval:
        notices.warn(f"the reranker's validation MRR {report.val_mrr_after:.3f} is below retrieval's own "
                     f"order ({report.val_mrr_retrieval:.3f}); more data or epochs may help")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
