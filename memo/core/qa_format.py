"""The Q&A file format (the ../shared/qa format): one JSON object per line with `question` and,
optionally, `reference_answer`, `company`, `role`, `evidence` (a document path), `topic`,
`category` and `id`. Read by `memo bench` (questions), `memo synth --exclude` (held-out questions)
and `memo synth --from-qa` (training records).
"""

from __future__ import annotations

from pathlib import Path

from memo.core.jsonl import read_jsonl
from memo.core.limits import question_problem

STRING_FIELDS = ("reference_answer", "evidence", "role", "company", "topic", "id")


def qa_row_problem(row: dict) -> str | None:
    """Why a Q&A row cannot be used, or None."""
    if not isinstance(row.get("question"), str) or not row["question"].strip():
        return "`question` must be a non-empty string"
    if problem := question_problem(row["question"]):
        return problem
    for name in STRING_FIELDS:
        if row.get(name) is not None and not isinstance(row[name], str):
            return f"`{name}` must be a string or null, not {type(row[name]).__name__}"
    return None


def read_qa(path: Path, skip_bad: bool = False, can_skip: bool = True) -> list[dict]:
    """The rows of a Q&A file, each checked (a bad line names file:line; `can_skip=False` where the
    command has no --skip-bad)."""
    return read_jsonl(path, ("question",), skip_bad, check=qa_row_problem, can_skip=can_skip)


def evidence_matches(evidence: str, source: str) -> bool:
    """An evidence path names an indexed source when one's path components end the other's
    (path suffix match, whichever folder was indexed): `hb/benefits.md` matches `benefits.md`,
    `old-benefits.md` does not."""
    wanted = [p for p in evidence.replace("\\", "/").split("/") if p]
    have = [p for p in source.replace("\\", "/").split("/") if p]
    if not wanted or not have:
        return False
    shorter, longer = sorted((wanted, have), key=len)
    return longer[len(longer) - len(shorter):] == shorter
