"""`memo synth`: RAFT training data from a company's indexed chunks, through quality gates.

Every attempt (kept or rejected, with its reason) is appended to OUT/attempts.jsonl as soon as it
is judged, so an interrupted run resumes where it stopped and nothing is generated twice; the
train/validation files are rewritten from that log at the end of every run.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from memo.core.config import Settings
from memo.core.durable import write_atomic
from memo.core.errors import MemoError
from memo.core.identity import company_corpus_hash, record_id, slug
from memo.core.jsonl import append_jsonl, read_log
from memo.core.progress import Progress
from memo.core.qa_format import read_qa
from memo.finetune import gates
from memo.finetune.completers import make_completer
from memo.finetune.raft import Passage, assemble
from memo.finetune.synth_data import from_qa, write_dataset
from memo.finetune.synth_plan import Attempt, plan
from memo.finetune.synth_prompts import (
    PROMPT_VERSION,
    Draft,
    DraftError,
    fewshot_answer_prompt,
    fewshot_question,
    fewshot_question_prompt,
    first_line,
    json_messages,
    parse_json_draft,
)
from memo.finetune.synth_stories import story_records
from memo.finetune.voice import candidate_answer, honest_answer
from memo.retrieval.hybrid import HybridRetriever

GROUNDED_SHARE = 0.3  # below this share of its words in the quotes, an answer is not grounded
ROUNDTRIP_EXTRA = 4  # the question must retrieve its own oracle within distractors + this many hits


@dataclass
class SynthOptions:
    """What `memo synth` was asked for; `validate` names the offending flag."""

    company: str
    out: Path
    role: str | None = None
    limit: int | None = None
    endpoint: str | None = None
    model: str | None = None
    oracle_fraction: float = 0.8  # RAFT's P: the paper found 40-100% best; 80% is its common default
    distractors: int = 3  # oracle + 3 = the 4 documents `memo ask` packs (retrieval.pack_candidates)
    per_chunk: int = 2  # company questions per chunk (from its two most informative sentences)
    exclude: list[Path] = field(default_factory=list)
    from_qa: list[Path] = field(default_factory=list)
    val_fraction: float = 0.1
    seed: int = 0
    concurrency: int = 8
    batch_size: int = 16
    timeout: float = 120.0
    retries: int = 4
    skip_bad: bool = False
    # when the oracle is left out: recall = RAFT's own (the same answer, the fact recalled);
    # honest = the candidate says the documents shown don't cover it (no invented facts)
    absent: str = "recall"
    stories: str | None = None  # a candidate profile: also make records from its STAR stories

    def validate(self) -> None:
        checks = [("--oracle-fraction", 0.0 <= self.oracle_fraction <= 1.0, "a fraction from 0 to 1"),
                  ("--limit", self.limit is None or self.limit > 0, "a positive number"),
                  ("--distractors", 0 <= self.distractors <= 10, "from 0 to 10"),
                  ("--per-chunk", 1 <= self.per_chunk <= 10, "from 1 to 10"),
                  ("--val-fraction", 0.0 <= self.val_fraction < 1.0, "a fraction from 0 to below 1"),
                  ("--concurrency", self.concurrency >= 1, "at least 1"),
                  ("--batch-size", self.batch_size >= 1, "at least 1"),
                  ("--model", bool(self.model) or not self.endpoint, "given with --endpoint"),
                  ("--absent", self.absent in ("recall", "honest"), "recall or honest")]
        for flag, ok, expected in checks:
            if not ok:
                raise MemoError(f"{flag} must be {expected}")
        if not self.skip_bad:  # a bad line is named in a second, not after the embedder loads
            for path in [*self.from_qa, *self.exclude]:
                read_qa(path)


@dataclass
class SynthReport:
    out: str
    generator: str
    style: str
    attempted: int = 0
    kept: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    train: int = 0
    val: int = 0
    resumed: int = 0
    seconds: float = 0.0
    corpus_hash: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Synthesizer:
    """Holds the retriever, the generator and the run's state; `run` does the work."""

    def __init__(self, settings: Settings, opts: SynthOptions, completer=None):
        opts.validate()
        self.opts = opts
        self.retriever = HybridRetriever(settings)
        self.retriever.scope(opts.company, opts.role)  # unknown company or role: clear error now
        self.company_key = slug(opts.company)
        self._chunks = {c.id: c for c in self.retriever.chunks(opts.company)}
        self.corpus_hash = company_corpus_hash(c.meta for c in self._chunks.values())
        self.completer = completer
        self.settings = settings
        opts.out.mkdir(parents=True, exist_ok=True)
        self.log_path = opts.out / "attempts.jsonl"
        self.log = read_log(self.log_path)
        self.guard = gates.SimilarityGuard(self._embed(["probe"]).shape[1], self._held_out())
        kept_questions = [row["record"]["question"] for row in self.log if row.get("status") == "kept"]
        for vector in self._embed(kept_questions) if kept_questions else []:
            self.guard.keep(vector)

    def _embed(self, texts: list[str]):
        return self.retriever.embedder.encode(texts)

    def _held_out(self):
        questions: list[str] = []
        for path in self.opts.exclude:
            questions += [row["question"] for row in read_qa(path, self.opts.skip_bad)]
        return self._embed(questions) if questions else None

    def roles(self) -> list[str | None]:
        if self.opts.role:
            return [self.opts.role]
        return sorted(self.retriever.roles(self.company_key).values()) or [None]

    def chunks(self) -> list[tuple[str, str, dict]]:
        return [(c.id, c.text, c.meta) for c in self._chunks.values()]

    def passage(self, chunk_id: str) -> Passage:
        chunk = self._chunks[chunk_id]
        return Passage(chunk_id, chunk.meta.get("source", ""), chunk.meta.get("section", ""), chunk.text)

    def run(self, show_progress: bool = False) -> SynthReport:
        started = time.monotonic()
        done = {row["key"] for row in self.log}
        report = SynthReport(out=str(self.opts.out), generator=self.completer.name,
                             style=self.completer.style, resumed=len(done), corpus_hash=self.corpus_hash)
        todo = [a for a in plan(self.chunks(), self.roles(), self.opts.per_chunk) if a.key not in done]
        kept = sum(row.get("status") == "kept" for row in self.log)
        step = self.opts.batch_size if self.completer.style == "fewshot" else self.opts.concurrency * 2
        with Progress(enabled=show_progress) as bar:
            task = bar.task("synthesize", len(todo))
            for start in range(0, len(todo), step):
                if self.opts.limit and kept >= self.opts.limit:
                    break
                rows = [self.judge(a, d) for a, d in zip(todo[start:start + step], self.draft(todo[start:start + step]))]
                append_jsonl(self.log_path, rows)
                self.log += rows
                kept += sum(row["status"] == "kept" for row in rows)
                bar.advance(task, len(rows))
                bar.note(task, f"{kept} kept")
        return self.finish(report, started)

    def run_from_qa(self) -> SynthReport:
        """Convert --from-qa files (no generator): leakage and duplicate gates still apply."""
        started = time.monotonic()
        style = "+".join(s for s, on in (("from-qa", self.opts.from_qa), ("from-stories", self.opts.stories)) if on)
        report = SynthReport(out=str(self.opts.out), generator="reference", style=style,
                             corpus_hash=self.corpus_hash)
        self.log, self.guard.kept = [], self.guard.kept[:0]
        records = from_qa(self, self.opts.from_qa) if self.opts.from_qa else []
        if self.opts.stories:
            records += story_records(self, self.opts.stories, random.Random(self.opts.seed))
        vectors = self._embed([r["question"] for r in records]) if records else []
        for record, vector in zip(records, vectors):
            problem = self.guard.problem(vector)
            if problem:
                self.log.append({"key": record["id"], "status": "rejected", "reason": problem})
            else:
                self.guard.keep(vector)
                self.log.append({"key": record["id"], "status": "kept", "record": record})
        return self.finish(report, started)

    def finish(self, report: SynthReport, started: float) -> SynthReport:
        reasons = Counter(row.get("reason") for row in self.log if row.get("status") == "rejected")
        records = [row["record"] for row in self.log if row.get("status") == "kept"]
        report.attempted, report.kept, report.rejected = len(self.log), len(records), dict(reasons)
        # kept = passed the gates; --limit caps what is written (the rest waits in the log)
        report.train, report.val = write_dataset(self.opts.out, records[:self.opts.limit or None],
                                                 self.opts.val_fraction, self.opts.seed)
        report.seconds = round(time.monotonic() - started, 1)
        write_atomic(self.opts.out / "synth.json", json.dumps(
            {**report.as_dict(), "company": self.opts.company, "role": self.opts.role,
             "oracle_fraction": self.opts.oracle_fraction, "distractors": self.opts.distractors,
             "absent": self.opts.absent,
             "exclude": [str(p) for p in self.opts.exclude], "seed": self.opts.seed,
             "prompt_version": PROMPT_VERSION}, indent=2))
        return report

    def draft(self, attempts: list[Attempt]) -> list[Draft | str]:
        """One draft per attempt, or the reason there is none."""
        if self.completer.style == "json":
            conversations = [json_messages(self.passage(a.chunk_id).text, a.kind, self.opts.company, a.role)
                             for a in attempts]
            out: list[Draft | str] = []
            for reply in self.completer.chat(conversations, 700):
                if isinstance(reply, Exception):
                    out.append("endpoint_error")
                    continue
                try:
                    out.append(parse_json_draft(reply))
                except DraftError as exc:
                    out.append(str(exc))
            return out
        return self._draft_fewshot(attempts)

    def _draft_fewshot(self, attempts: list[Attempt]) -> list[Draft | str]:
        completions = self.completer.complete([fewshot_question_prompt(a.quote, a.kind) for a in attempts],
                                               48, stop_at_newline=True)
        questions = [fewshot_question(c, a.kind) for a, c in zip(attempts, completions)]
        ok = [i for i, (a, q) in enumerate(zip(attempts, questions)) if not gates.question_problem(q, a.kind)]
        ok = [i for i in ok if attempts[i].kind == "behavioural"]  # company answers: memo writes them
        answers = self.completer.complete(
            [fewshot_answer_prompt(attempts[i].quote, questions[i], attempts[i].kind) for i in ok],
            160, stop_at_newline=True) if ok else []
        out: list[Draft | str] = [Draft(q, [a.quote]) for a, q in zip(attempts, questions)]
        for i, answer in zip(ok, answers):
            out[i].answer = first_line(answer)
        return out

    def judge(self, attempt: Attempt, draft: Draft | str) -> dict:
        row = {"key": attempt.key, "prompt_version": PROMPT_VERSION}
        reason, record = self._judge(attempt, draft) if isinstance(draft, Draft) else (draft, None)
        if record is None:
            row.update(status="rejected", reason=reason)
            if isinstance(draft, Draft):
                row["draft"] = draft.__dict__
            return row
        return {**row, "status": "kept", "record": record}

    def _judge(self, attempt: Attempt, draft: Draft) -> tuple[str | None, dict | None]:
        problem = gates.question_problem(draft.question, attempt.kind)
        if problem:
            return problem, None
        oracle = self.passage(attempt.chunk_id)
        quotes = [gates.snap_quote(q, oracle.text) for q in draft.quotes]
        if not quotes or None in quotes:
            return ("no_quotes" if not quotes else "quote_not_in_oracle"), None
        vector = self._embed([draft.question])[0]
        problem = self.guard.problem(vector)
        if problem:
            return problem, None
        hits = [Passage(h.id, h.source, h.section, h.text) for h in self.retriever.retrieve(
            draft.question, self.opts.company, attempt.role, self.opts.distractors + ROUNDTRIP_EXTRA)]
        if attempt.kind == "company" and oracle.id not in {h.id for h in hits}:
            return "oracle_not_retrieved", None
        answer, answer_from = self._answer(attempt, draft, quotes)
        if not answer:
            return answer_from, None
        self.guard.keep(vector)
        rng = random.Random(f"{self.opts.seed}|{attempt.key}")
        absent = honest_answer(random.Random(f"{self.opts.seed}|{attempt.key}|absent")) \
            if self.opts.absent == "honest" else None
        record = assemble(draft.question, answer, quotes, oracle, hits, self.opts.company, attempt.role,
                          self.opts.distractors, self.opts.oracle_fraction, rng, absent)
        record.update(id=record_id(attempt.key), company=self.opts.company, role=attempt.role,
                      kind=attempt.kind, question=draft.question, answer=answer, quotes=quotes,
                      answer_from=answer_from, source=oracle.source, generator=self.completer.name,
                      style=self.completer.style, corpus_hash=self.corpus_hash)
        return None, record

    def _answer(self, attempt: Attempt, draft: Draft, quotes: list[str]) -> tuple[str, str]:
        """(answer, where it came from), or ("", rejection reason)."""
        if attempt.kind == "behavioural":
            return (draft.answer, "model") if len(draft.answer.split()) >= 20 else ("", "answer_too_short")
        if self.completer.style == "fewshot":  # memo states the quoted fact in the candidate's voice
            return candidate_answer(quotes, random.Random(f"{self.opts.seed}|{attempt.key}|voice")), "quote"
        if gates.grounded_share(draft.answer, quotes, draft.question) >= GROUNDED_SHARE:
            return draft.answer, "model"
        return "", "answer_ungrounded"


def synthesize(settings: Settings, opts: SynthOptions, show_progress: bool = False) -> SynthReport:
    """`memo synth`: convert --from-qa files, or generate drafts with the local model or
    --endpoint and keep those that pass the gates. Flags, company and role are checked before
    a model loads."""
    synth = Synthesizer(settings, opts)
    if opts.from_qa or opts.stories:
        return synth.run_from_qa()
    synth.completer = make_completer(settings, opts.endpoint, opts.model, opts.concurrency, opts.timeout,
                                     opts.retries, opts.batch_size)
    return synth.run(show_progress=show_progress)
