"""`memo questions`: the questions likely in an interview for a company and role, each with the
passages that ground it.

Five sources, mixed so a session covers each kind:
- a Q&A file's questions (`--qa FILE`, the ../shared/qa format), asked first;
- with `--generate N`, questions drafted by `memo synth`'s generator from the role's posting
  (memo.practice.generated);
- the motivation questions every interview has, about this company and role;
- behavioural questions from a bank written by the team, ranked by how much the role's posting
  (else the company's documents) speaks of what each one probes (on-call, deadlines, writing...);
- company questions on the sections of the company's documents that describe how it works.

Each question's passages are what `memo ask` would pack for it (memo.answering.candidate), so a
behavioural question is grounded in the candidate's story when they have one.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from memo.answering.candidate import routed_hits
from memo.core.categories import question_category
from memo.core.identity import slug
from memo.core.qa_format import read_qa
from memo.ingestion.bm25 import terms

# (question, the words of a posting that make it likely)
BEHAVIOURAL_BANK = (
    ("Tell me about a time you handled a production incident.", "on-call incident outage alert page rotation"),
    ("Tell me about a time you disagreed with a teammate.", "review collaboration colleagues feedback team"),
    ("Describe a project you delivered under a tight deadline.", "deadline ship deliver release quarter goal"),
    ("Tell me about a time your writing changed a decision.", "writing design notes documents proposals charts"),
    ("Give an example of a time you made a system more reliable.", "reliability failure modes monitoring safe"),
    ("Tell me about a time you worked closely with people outside engineering.",
     "operations field technicians product customers stakeholders"),
    ("Describe a time you had to learn a new language or tool quickly.", "learn language tool willingness both"),
    ("Tell me about a time you worked with a remote or distributed team.", "remote asynchronous time zones distributed"),
    ("Tell me about a time you made a mistake at work and what you learned.", "learning ownership blameless"),
    ("Give an example of improving a process for your team.", "process improve toil automate pipeline"),
)
MOTIVATION = ("Why do you want to work at {company}?", "What draws you to the {role} role?")
COMPANY_TOPICS = "how we work engineering practices values culture team process on-call remote"
_HIRING_STAGE = re.compile(r"\b(hiring|interviews?|conversation|screen|offer|stages?|apply|application)\b",
                           re.IGNORECASE)


@dataclass
class LikelyQuestion:
    question: str
    category: str
    origin: str  # qa | motivation | behavioural | company
    passages: list[dict] = field(default_factory=list)  # source, section, text, mine
    answer: str = ""  # memo's own answer (`memo ask`'s default path), when asked for
    answer_sources: list[str] = field(default_factory=list)  # the documents that answer cites

    def as_dict(self) -> dict:
        return asdict(self)


def likely_questions(retriever, company: str, role: str | None, n: int, qa_file: Path | None = None,
                     scope: str | None = None, generated: list[tuple[str, str]] | None = None) -> list[LikelyQuestion]:
    """Up to `n` questions for `company` (and `role`), each grounded; `scope` is the candidate's;
    `generated`: questions drafted by synth's generator (memo.practice.generated), mixed in second."""
    pools = [_from_qa(qa_file, company), list(generated or []), _motivation(company, role),
             _behavioural(retriever, company, role), _company(retriever, company, role)]
    mixed, seen = [], set()
    while len(mixed) < n and any(pools):
        for pool in pools:
            while pool and len(mixed) < n:
                question, origin = pool.pop(0)
                if question.lower() not in seen:
                    seen.add(question.lower())
                    mixed.append(LikelyQuestion(question, question_category(question, company), origin))
                    break
    for q in mixed:
        hits = routed_hits(retriever, q.question, company, role, scope, retriever.settings.retrieval.pack_candidates)
        q.passages = [{"source": h.source, "section": h.section, "text": h.text, "mine": h.kind == "candidate"}
                      for h in hits]
    return mixed


def _from_qa(qa_file: Path | None, company: str) -> list[tuple[str, str]]:
    if qa_file is None:
        return []
    rows = read_qa(qa_file, can_skip=False)
    return [(r["question"], "qa") for r in rows if not r.get("company") or slug(r["company"]) == slug(company)]


def _motivation(company: str, role: str | None) -> list[tuple[str, str]]:
    return [(q.format(company=company, role=role), "motivation") for q in MOTIVATION if role or "{role}" not in q]


def _behavioural(retriever, company: str, role: str | None) -> list[tuple[str, str]]:
    """The bank, most likely first: by the posting's (else the company's) words each one probes."""
    chunks = retriever.chunks(company)
    posting = [c.text for c in chunks if role and slug(c.meta.get("role", "")) == slug(role)] or [c.text for c in chunks]
    words = set(terms(" ".join(posting)))
    ranked = sorted(BEHAVIOURAL_BANK, key=lambda qp: -len(words & set(terms(qp[1]))))
    return [(q, "behavioural") for q, _ in ranked]


def _company(retriever, company: str, role: str | None) -> list[tuple[str, str]]:
    """A question on each company document that says how it works (by its title), most relevant
    first; the hiring process itself is what the candidate is going through, not a topic."""
    out = []
    for hit in retriever.retrieve(COMPANY_TOPICS, company, role, 12):
        title = re.sub(r"^our\s+", f"{company}'s ", hit.title.strip(), flags=re.IGNORECASE)
        if not title or hit.kind != "company" or _HIRING_STAGE.search(title):
            continue
        title = " ".join(w if w.isupper() or company.lower() in w.lower() else w.lower() for w in title.split())
        topic = title if company.lower() in title.lower() else f"{title} at {company}"
        out.append((f"What do you know about {topic}?", "company"))
    return out
