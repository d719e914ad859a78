"""The answer from the selected evidence, in the candidate's voice, stating nothing else.

    compose_rules  the deterministic composer (the floor): each evidence sentence in the
                   candidate's voice (memo.core.voice), a list's items joined under its lead-in,
                   each sentence cited with its document's number
    check          a model's phrasing of the same evidence is accepted only when every number,
                   name and named policy of the evidence is in it, it adds none, it does not speak
                   as a reader of documents, and nearly all of its words come from the evidence
                   or the question; otherwise the answer is `compose_rules`' (never a patched text)

Pure functions, no model: the generator's call lives in memo.answering.ask.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memo.answering.evidence import Unit
from memo.core.text import CITATION, content_words, split_sentences, without_citations
from memo.core.voice import in_candidate_voice

NO_EVIDENCE = ("I haven't found that in what I've read about {company}, so I won't guess at it; "
               "it's something I'd like to ask you about.")
# A number with its currency, unit or range glued on: "€1,500", "14:00–17:00", "20%", "3".
_NUMBER = re.compile(r"[€$£¥]?\d[\d,.:]*(?:[–-]\d[\d,.:]*)?%?")
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][\w’'&-]*[A-Za-z0-9])")
_READER_VOICE = re.compile(r"\b(?:document\s*\[?\d*\]?\s*(?:says|states|mentions)|according to the "
                           r"(?:text|document|documents|handbook)|the documents? (?:say|says|state))\b",
                           re.IGNORECASE)
GROUNDED = 0.8  # share of a phrasing's content words that must come from the evidence or question
_PRONOUNS = frozenset({"I", "I'm", "I'd", "I've", "I'll", "You", "My", "Me"})


def numbers(text: str) -> set[str]:
    return {m.group(0).rstrip(".,:") for m in _NUMBER.finditer(without_citations(text))}


def names(text: str) -> set[str]:
    """Capitalised words not opening a sentence: names of people, tools, places and policies."""
    found: set[str] = set()
    for sentence in split_sentences(without_citations(text)):
        found |= {m.group(1) for m in _NAME.finditer(sentence.strip())}
    return found - _PRONOUNS


def facts(text: str) -> set[str]:
    """What an answer must carry over from its evidence: its numbers and names."""
    return numbers(text) | names(text)


def _sentence(text: str) -> str:
    text = text.strip().rstrip(";,")
    return text if text.endswith((".", "!", "?")) else text + "."


def _groups(evidence: Sequence[Unit]) -> list[tuple[int, str, bool]]:
    """(document number, text, the candidate's own) per spoken sentence: a lead-in and its items
    become one."""
    out: list[tuple[int, str, bool]] = []
    i = 0
    while i < len(evidence):
        unit = evidence[i]
        items = []
        if unit.text.endswith(":"):
            while i + 1 < len(evidence) and evidence[i + 1].lead == unit.text:
                i += 1
                items.append(evidence[i].text.rstrip(".;,"))
        if items:
            joined = "; ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1]
            out.append((unit.doc, f"{unit.text[:-1]}: {joined}", unit.mine))
        elif unit.lead and unit.lead not in [e.text for e in evidence]:
            out.append((unit.doc, f"{unit.lead.rstrip(':')} {unit.text}", unit.mine))
        else:
            out.append((unit.doc, unit.text, unit.mine))
        i += 1
    return out


def spoken_order(evidence: Sequence[Unit]) -> list[Unit]:
    """The evidence as it is said: the best unit's document first, each document's units in the
    order they are written (a list after its lead-in, a rule before its exception)."""
    first = {}
    for unit in evidence:
        first.setdefault(unit.doc, len(first))
    return sorted(evidence, key=lambda u: (first[u.doc], u.order))


def compose_rules(evidence: Sequence[Unit], company: str) -> str:
    """The deterministic answer: the evidence in the candidate's voice, in spoken order, each
    document cited once, after its last sentence."""
    if not evidence:
        return NO_EVIDENCE.format(company=company or "the company")
    groups = _groups(spoken_order(evidence))
    spoken = []
    for i, (doc, text, mine) in enumerate(groups):
        said = _sentence(text if mine else in_candidate_voice(text))
        last = i + 1 == len(groups) or groups[i + 1][0] != doc
        spoken.append(f"{said[:-1]} [{doc}]{said[-1]}" if last else said)
    return " ".join(spoken)


def check(phrasing: str, evidence: Sequence[Unit], question: str, company: str) -> str | None:
    """Why a model's phrasing of `evidence` is refused (one short reason), or None when it keeps
    every fact of the evidence and adds none."""
    if not content_words(phrasing):
        return "empty"
    if _READER_VOICE.search(phrasing):
        return "speaks as a reader of documents"
    source = " ".join(in_candidate_voice(u.text) + " " + u.text + " " + u.lead for u in evidence)
    allowed = source + " " + question + " " + company
    voiced = " ".join(in_candidate_voice(u.text) for u in evidence)
    dropped = sorted(f for f in numbers(source) | names(voiced) if f not in phrasing)
    if dropped:
        return f"dropped {', '.join(dropped[:3])}"
    lowered = set(content_words(allowed))
    added = sorted(f for f in facts(phrasing) if f.lower() not in allowed.lower() and f.lower() not in lowered)
    if added:
        return f"added {', '.join(added[:3])}"
    said = content_words(CITATION.sub(" ", phrasing))
    if sum(w in lowered for w in said) < GROUNDED * len(said):
        return "words not in the evidence"
    if len(said) > 1.6 * len(content_words(source)) / 2 + 20:
        return "longer than its evidence"
    return None


def cited_phrasing(phrasing: str, evidence: Sequence[Unit]) -> str:
    """A phrasing whose sentences carry no marker gets its evidence's document numbers at the end."""
    if CITATION.search(phrasing):
        return phrasing.strip()
    docs = ", ".join(map(str, sorted({u.doc for u in evidence})))
    text = phrasing.strip()
    return f"{text[:-1]} [{docs}]{text[-1]}" if text.endswith((".", "!", "?")) else f"{text} [{docs}]"
