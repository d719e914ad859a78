"""Eval questions: `../shared/qa`-format JSONL files (question, reference_answer, company, role,
evidence, topic), checked line by line, sampled with --limit/--seed, and resolved against the index:
the company and role as indexed, and the evidence path to the indexed sources it names.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from memo.core import notices
from memo.core.errors import MemoError
from memo.core.identity import slug
from memo.core.qa_format import evidence_matches, read_qa

CATEGORIES = ("company-grounded", "behavioural", "technical")


@dataclass
class EvalQuestion:
    qid: str
    question: str
    reference: str | None
    company: str | None  # as written in the eval file (or --company)
    role: str | None
    evidence: str | None
    category: str
    topic: str | None = None
    key_facts: list[str] = field(default_factory=list)  # strings a correct answer must contain
    # filled by resolve(): the company and role as indexed, and the indexed evidence sources
    indexed_company: str | None = None
    indexed_role: str | None = None
    evidence_sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def category_of(row: dict) -> str:
    """A row's `category` when it has one; else behavioural by topic, company-grounded when it
    names evidence or a company, technical otherwise."""
    given = str(row.get("category") or "").lower().replace("behavioral", "behavioural")
    if given in CATEGORIES:
        return given
    if re.search(r"behavio", str(row.get("topic") or ""), re.I):
        return "behavioural"
    return "company-grounded" if row.get("evidence") or row.get("company") else "technical"


def load_questions(paths: list[Path], limit: int | None = None, seed: int = 0,
                   company: str | None = None, role: str | None = None) -> list[EvalQuestion]:
    """Every question of the files (a malformed line stops with file:line), or a seeded sample
    of `limit` of them in file order. `company`/`role` override the files' fields."""
    if limit is not None and limit < 1:
        raise MemoError(f"--limit must be at least 1, not {limit}")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for path in paths:
        rows = read_qa(path, can_skip=False)
        if not rows:
            raise MemoError(f"{path}: no questions in this file")
        for number, row in enumerate(rows, start=1):
            qid = row.get("id") or f"{path.stem}:{number}"
            if qid in seen:
                qid = f"{path.stem}:{qid}"
            seen.add(qid)
            questions.append(EvalQuestion(
                qid=qid, question=row["question"].strip(), reference=(row.get("reference_answer") or None),
                company=company or row.get("company"), role=role or row.get("role"),
                evidence=row.get("evidence"), category=category_of(row), topic=row.get("topic"),
                key_facts=[str(f) for f in row.get("key_facts") or []]))
    if limit is not None and limit < len(questions):
        keep = sorted(random.Random(seed).sample(range(len(questions)), limit))
        questions = [questions[i] for i in keep]
    return questions


def indexed_company(name: str, companies: dict[str, str]) -> str | None:
    """The indexed company a file's company names: the same name, or the name before a
    parenthesis ("TTS (GSA Technology Transformation Services)" -> "TTS")."""
    for candidate in (name, name.split("(")[0]):
        key = slug(candidate.strip())
        if key and key in companies:
            return companies[key]
    return None


def resolve(questions: list[EvalQuestion], retriever, needs_company: bool) -> list[str]:
    """Fill each question's indexed company, role and evidence sources; returns warnings.
    A question whose company is missing or not indexed stops the run when `needs_company`."""
    companies = retriever.companies()
    known = ", ".join(sorted(set(companies.values()))) or "none"
    warnings: list[str] = []
    for q in questions:
        if not q.company:
            if needs_company:
                raise MemoError(f"question {q.qid!r} has no company: pass --company NAME (every arm "
                                f"answers as a candidate for an indexed company, as `memo ask` does)")
            continue
        q.indexed_company = indexed_company(q.company, companies)
        if q.indexed_company is None:
            if needs_company:
                raise MemoError(f"question {q.qid!r}: company {q.company!r} is not indexed (indexed: "
                                f"{known}); pass --company NAME or index its documents")
            continue
        key = slug(q.indexed_company)
        roles = retriever.roles(key)
        if q.role and slug(q.role) in roles:
            q.indexed_role = roles[slug(q.role)]
        elif q.role:
            warnings.append(f"role {q.role!r} is not indexed for {q.indexed_company}: its questions "
                            f"use the company's documents only")
        sources = {c.meta["source"] for c in retriever.chunks(q.indexed_company)}
        if q.evidence:
            q.evidence_sources = sorted(s for s in sources if evidence_matches(q.evidence, s))
            if not q.evidence_sources:
                warnings.append(f"evidence {q.evidence!r} matches no indexed document of "
                                f"{q.indexed_company}: retrieval scores for it are unmeasured")
    return sorted(set(warnings))


def report_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        notices.warn(warning)
