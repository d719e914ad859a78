"""`memo practice`: a mock interview. memo asks the likely questions (memo.practice.questions), the
user answers (typed, or one line each from --answers FILE), and each answer is scored without a
judge (memo.practice.scoring), shown beside memo's own answer with its citations and a follow-up
question on the weakest part.

Every scored answer is appended to MEMO_HOME/practice/<candidate>/history.jsonl at once, so a
session stopped with Ctrl-C keeps the answers given so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from memo.answering.ask import Answerer, resolve_mode
from memo.answering.candidate import AUTO_CANDIDATE, resolve_candidate
from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.identity import DEFAULT_CANDIDATE, record_id, slug
from memo.core.jsonl import append_jsonl
from memo.llm.adapter import resolve_adapter
from memo.practice.feedback import Judge
from memo.practice.generated import predicted_questions
from memo.practice.questions import LikelyQuestion
from memo.practice.scoring import follow_up, score

MAX_QUESTIONS = 50


@dataclass
class PracticeOptions:
    company: str
    role: str | None = None
    candidate: str | None = AUTO_CANDIDATE  # None: the company's documents only
    n: int = 8
    qa: Path | None = None
    model_answers: bool = True  # memo's own answer to each question (the slow part on a CPU)
    judge_endpoint: str | None = None  # optional written feedback (memo.practice.feedback)
    judge_model: str | None = None
    generate: int = 0  # questions drafted by synth's generator (memo.practice.generated)
    endpoint: str | None = None  # the generator's endpoint (default: the local model)
    model: str | None = None


def history_file(settings: Settings, candidate: str | None) -> Path:
    """Where a candidate's practice answers are kept (the default profile's for `auto` or none)."""
    name = DEFAULT_CANDIDATE if candidate in (None, AUTO_CANDIDATE) else candidate.lstrip("@")
    return settings.home / "practice" / (slug(name) or DEFAULT_CANDIDATE) / "history.jsonl"


def practice(settings: Settings, opts: PracticeOptions, answer_for: Callable[[LikelyQuestion, int], str | None],
             on_result: Callable[[dict], None]) -> list[dict]:
    """Run one session: for each question, `answer_for(question, number)` gives the user's answer
    (None ends the session early), and `on_result` receives the scored record, saved first."""
    if not 1 <= opts.n <= MAX_QUESTIONS:
        raise MemoError(f"-n {opts.n}: ask for 1 to {MAX_QUESTIONS} questions")
    mode, adapter = resolve_mode(settings, "auto", None, None)
    answerer = Answerer(settings, adapter=resolve_adapter(adapter))
    scope = resolve_candidate(answerer.retriever, opts.candidate)
    if bool(opts.judge_endpoint) != bool(opts.judge_model):
        raise MemoError("--judge-endpoint and --judge-model go together: the judge's URL and its model name")
    judge = Judge(opts.judge_endpoint, opts.judge_model) if opts.judge_endpoint else None
    questions = predicted_questions(settings, answerer.retriever, opts.company, opts.role, opts.n, opts.qa, scope,
                                    opts.generate, opts.endpoint, opts.model)
    path, session = history_file(settings, opts.candidate), record_id(f"{time.time()}")[:8]
    records: list[dict] = []
    for number, q in enumerate(questions, start=1):
        given = answer_for(q, number)
        if given is None:
            break
        record = scored(q, given, opts, session)
        if opts.model_answers:
            model = answerer.ask(q.question, opts.company, opts.role, mode, None, opts.candidate)
            record.update(model_answer=model.answer, model_citations=model.citations, story=model.story)
        if judge is not None:
            record["feedback"] = judge.feedback(q.question, [p["text"] for p in q.passages], given)
        path.parent.mkdir(parents=True, exist_ok=True)
        append_jsonl(path, [record])  # before it is shown: a Ctrl-C later keeps it
        records.append(record)
        on_result(record)
    return records


def scored(q: LikelyQuestion, given: str, opts: PracticeOptions, session: str) -> dict:
    # a story is judged against the candidate's own stories (none: no coverage to judge); anything
    # else against the company's documents
    evidence = [p["text"] for p in q.passages if (p["mine"] and "Situation:" in p["text"]) == (q.category == "behavioural")]
    # the company's name is in every passage: it says nothing about which facts answer the question
    result = score(q.question.replace(opts.company, " "), q.category, given, evidence)
    return {"session": session, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "company": opts.company, "role": opts.role, "question": q.question, "category": q.category,
            "origin": q.origin, "answer": given, "score": result.as_dict(), "follow_up": follow_up(result),
            "sources": sorted({p["source"] for p in q.passages})}
