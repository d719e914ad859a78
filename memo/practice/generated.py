"""Questions drafted by `memo synth`'s question generator from the role's (else the company's)
most informative sentences: `memo questions --generate N` and `memo practice --generate N`, with
the local model or an OpenAI-compatible --endpoint (the passages are sent there). Drafts pass
synth's question gates; the rest of a session comes from memo.practice.questions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from memo.answering.ask import Answerer, resolve_mode
from memo.answering.candidate import AUTO_CANDIDATE
from memo.core.config import Settings
from memo.core.identity import slug
from memo.finetune import gates
from memo.finetune.completers import make_completer
from memo.finetune.synth_plan import plan
from memo.finetune.synth_prompts import (
    DraftError,
    fewshot_question,
    fewshot_question_prompt,
    json_messages,
    parse_json_draft,
)
from memo.llm.adapter import resolve_adapter
from memo.practice.questions import LikelyQuestion, likely_questions


def predicted_questions(settings: Settings, retriever, company: str, role: str | None, n: int,
                        qa_file: Path | None = None, scope: str | None = None, generate: int = 0,
                        endpoint: str | None = None, model: str | None = None,
                        answers: bool = False) -> list[LikelyQuestion]:
    """The questions of `memo questions` and of a practice session: `likely_questions`, with
    `generate` questions drafted by synth's generator (the local model, or `endpoint`) mixed in;
    with `answers`, each with memo's own answer (`with_answers`)."""
    drafted = generated_questions(settings, retriever, company, role, generate, endpoint, model) if generate else []
    questions = likely_questions(retriever, company, role, n, qa_file, scope, drafted)
    return with_answers(settings, retriever, questions, company, role, AUTO_CANDIDATE) if answers else questions


def with_answers(settings: Settings, retriever, questions: list[LikelyQuestion], company: str, role: str | None,
                 candidate: str | None = None) -> list[LikelyQuestion]:
    """`questions`, each with memo's own answer: `memo ask`'s default (auto) path, the evidence
    said in the candidate's voice, with the documents it cites."""
    mode, adapter = resolve_mode(settings, "auto", None, None)
    answerer = Answerer(settings, retriever=retriever, adapter=resolve_adapter(adapter))
    out = []
    for q in questions:
        answer = answerer.ask(q.question, company, role, mode, None, candidate)
        cited = [answer.contexts[c["n"] - 1]["source"] for c in answer.citations]
        out.append(replace(q, answer=answer.answer, answer_sources=list(dict.fromkeys(cited))))
    return out


def generated_questions(settings: Settings, retriever, company: str, role: str | None, count: int,
                        endpoint: str | None = None, model: str | None = None) -> list[tuple[str, str]]:
    """Up to `count` (question, "generated") pairs for `company` and `role`."""
    chunks = [(c.id, c.text, c.meta) for c in retriever.chunks(company)]
    posting = [c for c in chunks if role and slug(c[2].get("role", "")) == slug(role)]
    attempts = plan(posting or chunks, [role], 1)[:count * 2]
    if not attempts:
        return []
    completer = make_completer(settings, endpoint, model, batch_size=8)
    if completer.style == "json":
        texts = {chunk_id: text for chunk_id, text, _ in chunks}
        replies = completer.chat([json_messages(texts[a.chunk_id], a.kind, company, a.role) for a in attempts], 400)
        questions = [_question(r) for r in replies]
    else:
        completions = completer.complete([fewshot_question_prompt(a.quote, a.kind) for a in attempts], 48,
                                         stop_at_newline=True)
        questions = [fewshot_question(c, a.kind) for a, c in zip(attempts, completions)]
    kept = [q for q, a in zip(questions, attempts) if q and not gates.question_problem(q, a.kind)]
    return [(q, "generated") for q in dict.fromkeys(kept)][:count]


def _question(reply) -> str:
    if isinstance(reply, Exception):
        return ""
    try:
        return parse_json_draft(reply).question
    except DraftError:
        return ""
