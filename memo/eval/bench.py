"""The `memo bench` recipe: load and resolve the questions, answer them in every arm, score the
answers (without and, when asked, with a judge), summarize and write the report.

    memo bench ../shared/qa/tts_join_faq.jsonl --company TTS --adapter runs/tts-adapter --out runs/bench
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from memo.core.errors import MemoError
from memo.core.identity import company_corpus_hash
from memo.eval.answering import ArmAnswerer
from memo.eval.arms import ADAPTER_ARMS, ARMS, DEFAULT_ARMS, DSF_ARMS, RETRIEVAL_ARMS
from memo.eval.cache import BenchCache
from memo.eval.judge import Judge
from memo.eval.questions import EvalQuestion, load_questions, report_warnings, resolve
from memo.eval.report import write_report
from memo.eval.scoring import TextVectors, score_all
from memo.eval.summary import compare, read_baseline, result_rows, summarize
from memo.ingestion.embedder import load_embedder
from memo.llm.endpoint import Endpoint


@dataclass
class BenchOptions:
    files: list[Path]
    out: Path
    arms: list[str] = field(default_factory=lambda: list(DEFAULT_ARMS))
    adapter: str | None = None  # a folder, or with --endpoint the adapter's served name
    dsf_adapter: str | None = None  # the `memo train --dsf` adapter, for the dsf arms (same forms)
    endpoint: str | None = None
    model: str | None = None  # the base model's served name at --endpoint
    company: str | None = None
    role: str | None = None
    limit: int | None = None
    seed: int = 0
    batch_size: int = 8  # answers decoded together: x2.5 answers/min over one at a time (bench_serve)
    timeout: float = 120.0
    judge_endpoint: str | None = None
    judge_model: str | None = None
    judge_runs: int = 1
    judge_timeout: float = 180.0
    baseline: Path | None = None
    candidate: str | None = None  # a candidate profile: its documents join retrieval (behavioural slice)

    @classmethod
    def parse_arms(cls, text: str) -> list[str]:
        arms = [a.strip() for a in text.split(",") if a.strip()]
        unknown = [a for a in arms if a not in ARMS]
        if unknown or not arms:
            raise MemoError(f"--arms {text!r}: use a comma-separated subset of {','.join(ARMS)}")
        return list(dict.fromkeys(arms))

    def validate(self) -> None:
        if any(a in ADAPTER_ARMS for a in self.arms) and not self.adapter and not self.endpoint:
            raise MemoError(f"--arms {','.join(self.arms)} includes ft/hybrid, which need --adapter DIR "
                            f"(the --out folder of `memo train`); or drop them from --arms")
        if any(a in DSF_ARMS for a in self.arms) and not self.dsf_adapter:
            raise MemoError(f"--arms {','.join(self.arms)} includes dsf/dsf+rag, which need --dsf-adapter DIR "
                            f"(the --out folder of `memo train --dsf`); or drop them from --arms")
        for flag, value in (("--adapter", self.adapter), ("--dsf-adapter", self.dsf_adapter)):
            if value and not self.endpoint and not Path(value).is_dir():
                raise MemoError(f"{flag} {value}: no such folder")
        if bool(self.judge_endpoint) != bool(self.judge_model):
            raise MemoError("--judge-endpoint and --judge-model go together (the judge's URL and model name)")
        for flag, value in (("--judge-runs", self.judge_runs), ("--batch-size", self.batch_size)):
            if value < 1:
                raise MemoError(f"{flag} must be at least 1, not {value}")
        if self.baseline and not self.baseline.is_file():
            raise MemoError(f"--baseline {self.baseline}: no such file (give an earlier run's summary.json)")
        if self.out.exists() and not self.out.is_dir():
            raise MemoError(f"--out {self.out} is a file; give a folder")


def _load(opts: BenchOptions, settings) -> tuple[list[EvalQuestion], ArmAnswerer]:
    questions = load_questions(opts.files, opts.limit, opts.seed, opts.company, opts.role)
    endpoint = Endpoint(opts.endpoint, opts.timeout) if opts.endpoint else None
    adapter = Path(opts.adapter) if opts.adapter and not endpoint else None
    dsf = Path(opts.dsf_adapter) if opts.dsf_adapter and not endpoint else None
    arms = ArmAnswerer(settings, adapter, endpoint, opts.model, opts.adapter if endpoint else None,
                       opts.batch_size, dsf, opts.dsf_adapter if endpoint else None, opts.candidate)
    # every arm, as `memo ask` in every mode, answers only for companies that are indexed
    warnings = resolve(questions, arms.retriever, needs_company=True)
    for answerer in (arms.tuned, arms.dsf):  # an adapter trained on older documents of a company
        for name in sorted({q.indexed_company for q in questions}) if answerer.adapter else []:
            warnings += answerer.warnings(name)
    report_warnings(warnings)
    return questions, arms


def _corpus_hashes(questions: list[EvalQuestion], arms: ArmAnswerer) -> dict[str, str]:
    names = {q.indexed_company for q in questions if q.indexed_company}
    return {name: company_corpus_hash(c.meta for c in arms.retriever.chunks(name)) for name in names}


def run_bench(opts: BenchOptions, settings, progress) -> dict:
    """Answer, score and report; returns the summary (also written to OUT/summary.json)."""
    opts.validate()
    baseline = read_baseline(opts.baseline) if opts.baseline else None
    started = time.monotonic()
    questions, arms = _load(opts, settings)
    retrieval = any(a in RETRIEVAL_ARMS for a in opts.arms)
    vectors = TextVectors(_embedder_loader(settings, arms.retriever if retrieval else None))
    judge = _judge(opts, vectors)  # an unreachable judge stops the run here, before any answering
    corpus = _corpus_hashes(questions, arms)
    cache = BenchCache(opts.out)
    clock = {"load": time.monotonic() - started}
    answers, scores, judged = _answer_and_score(opts, questions, arms, vectors, judge, cache, corpus, progress, clock)
    rows = result_rows(questions, answers, scores, judged)
    available = len(load_questions(opts.files, None, opts.seed, opts.company, opts.role)) if opts.limit else None
    summary = summarize(rows, opts.arms, opts.seed, _settings_record(opts, settings, arms), available=available)
    clock["total"] = time.monotonic() - started
    summary["seconds"] = {k: round(v, 1) for k, v in clock.items()}
    if judge is not None:
        summary["judge"] = {"model": judge.model, "runs": judge.runs, "failures_this_run": dict(judge.failures)}
    if baseline is not None:
        summary["baseline"] = {"path": str(opts.baseline), "changes": compare(summary, baseline)}
    write_report(opts.out, summary, rows)
    return summary


def _answer_and_score(opts, questions, arms: ArmAnswerer, vectors, judge, cache, corpus, progress, clock) -> tuple:
    """(answers, scores, judged scores), each {arm: {qid: ...}}; `clock` gets where time went."""
    answers: dict[str, dict] = {}
    t0 = time.monotonic()
    for arm in opts.arms:
        task = progress.task(arm, len(questions))
        answers[arm] = arms.answer_all(arm, questions, cache, corpus, lambda n, t=task: progress.advance(t, n))
    clock["answering"] = time.monotonic() - t0  # model loads + retrieval + generation
    clock.update(arms.seconds)
    t0 = time.monotonic()
    task = progress.task("scoring", sum(len(rows) for rows in answers.values()))
    retriever = arms.retriever if any(a in RETRIEVAL_ARMS for a in opts.arms) else None
    scores = score_all(questions, answers, retriever, vectors, cache, lambda n: progress.advance(task, n))
    clock["scoring"] = time.monotonic() - t0
    judged: dict = {}
    if judge is not None:
        t0 = time.monotonic()
        task = progress.task("judging", None)
        judged = judge.score_all(questions, answers, cache, lambda n: progress.advance(task, n))
        clock["judge"] = time.monotonic() - t0
    return answers, scores, judged


def _embedder_loader(settings, retriever):
    """The retriever's embedder (already loaded for queries), or, with no retrieval arm, one of
    its own (the bench may run on questions with no index), loaded once on first use."""
    if retriever is not None:
        return lambda: retriever.embedder
    return functools.cache(functools.partial(load_embedder, settings))


def _judge(opts: BenchOptions, vectors):
    if not opts.judge_endpoint:
        return None
    return Judge(opts.judge_endpoint, opts.judge_model, vectors.ragas(), opts.judge_runs, opts.judge_timeout)


def _settings_record(opts: BenchOptions, settings, arms: ArmAnswerer) -> dict:
    """What the report says it ran with (no secrets: keys are never part of the options)."""
    return {"files": [str(f) for f in opts.files], "arms": opts.arms, "adapter": opts.adapter,
            "dsf_adapter": opts.dsf_adapter,
            "endpoint": opts.endpoint, "model": opts.model, "limit": opts.limit, "seed": opts.seed,
            "company": opts.company, "role": opts.role, "batch_size": opts.batch_size,
            "profile": settings.model.profile, "embedder": settings.model.embedder,
            "decoding": json.loads(json.dumps(arms.decoding.__dict__)),
            "judge_endpoint": opts.judge_endpoint, "judge_model": opts.judge_model, "judge_runs": opts.judge_runs}
