"""Evidence selection: the sentences of the retrieved documents that answer the question.

    units   -> every sentence and list item of the best hits, with its heading trail and document
    score   -> a score per (question, unit): the MiniLM cosine baseline, or the trained selector
    select  -> the answer evidence: the best units above a calibrated threshold, a list's lead-in
               and a sentence's continuation merged, near-duplicates dropped, a word cap

An answer states only what `select` returns (memo.answering.compose phrases it); nothing above the
threshold means the documents do not cover the question, and the answer says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

from memo.core.text import content_words, split_sentences

_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_SEPARATOR = re.compile(r"^:?-{2,}:?$")  # a Markdown table's header separator cell
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
# A sentence that carries on from the one before it and means little without it.
_CONTINUES = re.compile(r"^(?:this|that|these|those|it|they|so|then|otherwise|however|but|also|if so|"
                        r"in that case|which)\b", re.IGNORECASE)
# A sentence about the page itself ("This page explains how we hire"): it answers no question.
_ABOUT_THE_PAGE = re.compile(r"^(?:this|the following)\s+(?:page|document|doc|handbook|section|guide|article)\b",
                             re.IGNORECASE)
MAX_UNITS = 5  # sentences an answer states (the [evidence] defaults: memo.core.config)
MAX_WORDS = 100  # a spoken answer of about 40 seconds
SHORT_LIST = 4  # items of a list said together: a longer list's items are selected one by one
DUPLICATE = 0.7  # content-word Jaccard above which two units say the same thing


@dataclass(frozen=True)
class Unit:
    """One sentence or list item of a retrieved chunk."""

    text: str  # as written, without list markers or emphasis
    doc: int  # the document number (1-based) of the hit it came from
    source: str
    section: str  # the heading trail, "Benefits > Time off"
    order: int  # position inside its hit
    lead: str = ""  # for a list item: the line that introduces its list ("You get:")
    score: float = 0.0
    mine: bool = False  # from the candidate's own documents: already in their voice

    def as_dict(self) -> dict:
        return asdict(self)


def clean(text: str) -> str:
    """Markdown emphasis, code ticks and link targets out; spaces collapsed."""
    return " ".join(_EMPHASIS.sub("", _LINK.sub(r"\1", text)).split())


def split_trail(text: str) -> tuple[list[str], str]:
    """(the heading trail, the body) of an indexed chunk (headings first, then a blank line)."""
    lines = text.split("\n")
    trail = []
    while lines and (lines[0].lstrip().startswith("#") or not lines[0].strip()):
        line = lines.pop(0).strip()
        if line:
            trail.append(line.lstrip("#").strip())
    return trail, "\n".join(lines)


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row ("\\|" inside a cell is a literal bar)."""
    return [clean(c.replace("\0", "|")) for c in line.replace("\\|", "\0").strip().strip("|").split("|")]


def _table_row(line: str, header: list[str] | None) -> tuple[str | None, list[str] | None]:
    """(the row as a sentence, the table's header) for a table line: "Game: Tidewright; Year:
    2020; ..." under its header; None for the header and the separator rows."""
    cells = _cells(line)
    if all(_SEPARATOR.match(c) for c in cells):
        return None, header
    if header is None:
        return None, cells
    return "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells) if c) + ".", header


def _pieces(line: str, header: list[str] | None) -> tuple[list[str], bool, list[str] | None]:
    """(the units of one body line, whether it is a list item, the current table's header)."""
    if line.lstrip().startswith("|"):
        row, header = _table_row(line, header)
        return ([row] if row else []), False, header
    if _ITEM.match(line):
        return [clean(_ITEM.sub("", line))], True, None
    return [clean(s) for s in split_sentences(line)], False, None


def units_of(hits: Sequence) -> list[Unit]:
    """Every sentence, list item and table row of `hits` (objects with text, source and section),
    in order, the first copy of a repeated sentence kept (chunks overlap by a sentence). A list
    item keeps the line that introduces its list, across a blank line."""
    out: list[Unit] = []
    seen: set[str] = set()
    for doc, hit in enumerate(hits, start=1):
        trail, body = split_trail(hit.text)
        section = " > ".join(trail) or getattr(hit, "section", "")
        lead, header = "", None
        for line in body.split("\n"):
            if not line.strip():
                continue
            pieces, item, header = _pieces(line, header)
            for piece in pieces:
                key = piece.lower()
                if len(content_words(piece)) < 2 or key in seen or _ABOUT_THE_PAGE.match(piece):
                    continue
                seen.add(key)
                out.append(Unit(piece, doc, hit.source, section, len(out), lead if item else "",
                                mine=getattr(hit, "kind", "") == "candidate"))
            if not item:
                lead = pieces[-1] if pieces and line.rstrip().endswith(":") else ""
    return out


def scoring_text(unit: Unit) -> str:
    """What a scorer reads of a unit: its heading trail, its list's lead-in, its text. (The whole
    trail, not the closest heading alone: answer-sentence MRR 0.64 -> 0.70 with the rank prior on
    the team's selector sets, and no worse on a held-out set; benchmarks/README.md.)"""
    trail = unit.section.replace(" > ", ", ")
    return " ".join(p for p in (f"{trail}:" if trail else "", unit.lead, unit.text) if p)


class CosineScorer:
    """The untrained baseline: cosine of MiniLM embeddings of the question and each unit. Vectors of
    units already seen are kept (the warm process reads the same chunks again and again)."""

    name = "minilm-cosine"
    threshold = 0.3  # chosen on the team's selector sets (benchmarks/eval_evidence.py): no answerable
    # question refused there; 0.35 refused 4% of them and still answered 73% of the unanswerable
    rank_prior = 0.05  # a unit of the hit ranked r loses 0.05 x sqrt(r - 1): retrieval's order counts too

    def __init__(self, embedder: Callable[[], object]):
        self._load = embedder
        self._embedder = None
        self._cache: dict[str, object] = {}

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = self._load()
        return self._embedder

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        import numpy as np

        new = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if len(self._cache) + len(new) > 20000:  # a long-lived process reads many companies
            self._cache.clear()
            new = list(dict.fromkeys(texts))
        if new:
            self._cache.update(zip(new, self.embedder.encode(new), strict=True))
        query = self.embedder.encode([question])[0]
        vectors = np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, len(query)))
        return [float(v) for v in vectors @ query]


def scored(question: str, units: Sequence[Unit], scorer) -> list[Unit]:
    """`units` with their scores from `scorer` (less its rank prior for a unit of a lower hit), in
    their own order."""
    values = scorer.score(question, [scoring_text(u) for u in units]) if units else []
    prior = getattr(scorer, "rank_prior", 0.0)
    return [replace(u, score=round(s - prior * (u.doc - 1) ** 0.5, 4)) for u, s in zip(units, values, strict=True)]


def _duplicate(unit: Unit, chosen: Sequence[Unit]) -> bool:
    words = set(content_words(unit.text))
    for other in chosen:
        theirs = set(content_words(other.text))
        if words and theirs and len(words & theirs) / len(words | theirs) >= DUPLICATE:
            return True
    return False


def _with_continuation(unit: Unit, units: Sequence[Unit]) -> list[Unit]:
    """`unit`, then what completes it: the items of the list it introduces, or the next sentence
    of its paragraph when that one carries on from it ("This means...")."""
    after = [u for u in units if u.doc == unit.doc and u.order > unit.order]
    if unit.text.endswith(":"):
        return [unit] + [u for u in after if u.lead == unit.text][:SHORT_LIST]
    if unit.lead:  # an item of a short list is said with its lead-in and the other items
        lead = [u for u in units if u.doc == unit.doc and u.text == unit.lead and u.order < unit.order][-1:]
        siblings = [u for u in units if u.doc == unit.doc and u.lead == unit.lead and
                    (not lead or u.order > lead[0].order)]
        return lead + siblings if len(siblings) <= SHORT_LIST else [unit]
    if after and not after[0].lead and not unit.lead and _CONTINUES.match(after[0].text):
        return [unit, after[0]]
    return [unit]


def select(units: Sequence[Unit], threshold: float, margin: float = 0.3,
           max_units: int = MAX_UNITS, max_words: int = MAX_WORDS) -> list[Unit]:
    """The answer evidence among scored `units`: the best unit when it clears `threshold`, then
    others within `margin` of it (and above the threshold), each with its continuation, no two
    saying the same thing, at most `max_units` heads and `max_words` words. [] when none clears."""
    ranked = sorted(units, key=lambda u: -u.score)
    if not ranked or ranked[0].score < threshold:
        return []
    floor = max(threshold, ranked[0].score - margin)
    chosen: list[Unit] = []
    heads = 0
    for unit in ranked:
        if unit.score < floor or heads >= max_units:
            break
        if unit in chosen or _duplicate(unit, chosen):
            continue
        group = [u for u in _with_continuation(unit, units) if u not in chosen]
        words = sum(len(u.text.split()) for u in chosen + group)
        if chosen and words > max_words:
            continue
        chosen.extend(group)
        heads += 1
    return chosen


def evidence_for(question: str, hits: Sequence, scorer, config) -> list[Unit]:
    """The answer evidence for `question` among `hits` (best first, numbered from 1), by `scorer`
    and the `[evidence]` settings."""
    units = scored(question, units_of(hits), scorer)
    return select(units, config.threshold or scorer.threshold, margin=config.margin, max_units=config.max_units,
                  max_words=config.max_words)
