"""The candidate's own documents in an answer: which of them, how many, and in what order beside
the company's, by the question's category (memo.core.categories).

A behavioural question is answered from the candidate's stories first; a motivation question from
the company's documents and the candidate's notes; a company or technical question from the
company's documents, with one passage of the candidate's at most. The shares were chosen by
measurement on the demo candidate (benchmarks/README.md, "Candidate documents").

A story retrieved in pieces is put back together: every chunk of its file, in order, as one
passage, so the answer can tell it whole and cite it once.
"""

from __future__ import annotations

from dataclasses import replace

from memo.core.categories import question_category
from memo.core.identity import DEFAULT_CANDIDATE, candidate_scope, scope_key
from memo.core.text import split_sentences
from memo.answering.stories import story_about, story_parts, topic_terms
from memo.ingestion.bm25 import terms
from memo.retrieval.hybrid import Hit

AUTO_CANDIDATE = "auto"  # `memo ask`'s default: the default candidate profile when it is indexed, else none
# category -> (the candidate's passages among the packed ones, whether they come first)
ROUTES = {"behavioural": (2, True), "motivation": (1, True), "company": (0, False), "technical": (1, False)}


def resolve_candidate(retriever, candidate: str | None) -> str | None:
    """The candidate scope to draw on ("@NAME"), or None: `auto` is the default profile if indexed;
    a named profile that is not indexed is an error (from the retriever)."""
    if candidate is None:
        return None
    if candidate == AUTO_CANDIDATE:
        scope = candidate_scope(DEFAULT_CANDIDATE)
        return scope if scope_key(scope) in retriever.companies() else None
    scope = candidate_scope(candidate)
    retriever.scope(scope, None)  # refuses a profile with nothing indexed, naming the fix
    return scope


def routed_hits(retriever, question: str, company: str, role: str | None, scope: str | None,
                slots: int) -> list[Hit]:
    """The hits to pack, best first: the company's (and role's), and the candidate's by route."""
    mine_count, mine_first = ROUTES[question_category(question, company)] if scope else (0, False)
    mine_count = min(mine_count, slots)
    theirs = retriever.retrieve(question, company, role, slots)
    if not mine_count:
        return theirs
    stories = story_hits(retriever, scope)
    retrieved = whole_stories(retriever.retrieve(question, scope, None, mine_count * 2), stories)
    mine = (fitting_first(question, retrieved, stories) if mine_first else retrieved)[:mine_count]
    keep = theirs[:slots - len(mine)]
    return mine + keep if mine_first else keep + mine


def fitting_first(question: str, retrieved: list[Hit], stories: list[Hit]) -> list[Hit]:
    """The candidate's passages for a behavioural question: stories whose title and skills meet the
    question's words first (most shared words first), then the retrieved passages in rank order."""
    topic = topic_terms(question)
    scored = [(len(topic & set(terms(story_about(h.text)))), h) for h in stories]
    fitting = [h for n, h in sorted(scored, key=lambda nh: -nh[0]) if n]
    out, seen = [], set()
    for hit in fitting + retrieved:
        if hit.source not in seen:
            seen.add(hit.source)
            out.append(hit)
    return out


def story_hits(retriever, scope: str) -> list[Hit]:
    """Every story of the candidate's as one whole-story hit (a candidate has tens, not thousands),
    read from the index once."""
    by_source: dict[str, list] = {}
    for chunk in retriever.chunks(scope):
        by_source.setdefault(chunk.meta.get("source", ""), []).append(chunk)
    hits = []
    for source, chunks in by_source.items():
        text = _joined([c.text for c in chunks])
        if story_parts(text):
            meta = chunks[0].meta
            hits.append(Hit(chunks[0].id, text, source, meta.get("company", ""), "", "candidate",
                            meta.get("title", ""), meta.get("section", ""), 0.0, None, None))
    return hits


def whole_stories(hits: list[Hit], stories: list[Hit]) -> list[Hit]:
    """One hit per file of the candidate's, in rank order, a story's pieces replaced by the whole
    story (from `story_hits`), keeping the retrieved hit's scores."""
    whole = {s.source: s.text for s in stories}
    out, seen = [], set()
    for hit in hits:
        if hit.source not in seen:
            seen.add(hit.source)
            out.append(replace(hit, text=whole[hit.source]) if hit.source in whole else hit)
    return out


def _joined(texts: list[str]) -> str:
    """A story's chunks as one text: the first whole, the others without their repeated heading and
    without the sentences the chunker repeats from the end of the previous chunk (chunk_overlap)."""
    joined = ""
    for text in texts:
        body = (text.partition("\n\n")[2] if joined and text.startswith("#") else text).strip()
        while joined and body:
            first = split_sentences(body.split("\n", 1)[0])[:1]
            if not first or first[0].strip() not in joined:
                break
            body = body[body.index(first[0]) + len(first[0]):].strip()
        joined = f"{joined}\n\n{body}".strip() if body else joined
    return joined
