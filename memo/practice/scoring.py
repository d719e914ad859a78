"""Scoring a practice answer without a judge: pure functions, no model.

- coverage: the share of the key facts of the question's evidence passages that the answer says
  (a fact is said when most of its stemmed content words, and all its numbers, are in the answer);
- STAR: for a behavioural question, which of situation, task, action and result the answer has;
- length and filler: words against the range an interviewer expects, and filler words per 100;
- contradictions: a number the answer gives for something the company's documents give another
  number for ("25 days of leave" where the handbook says 27).

`score` combines them into 0-100 and names the weakest part, which the follow-up question probes.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from memo.core.categories import CANDIDATE_SIDE
from memo.core.star import PARTS, star_parts
from memo.core.text import content_words, split_sentences
from memo.ingestion.bm25 import terms

FILLERS = ("um", "uh", "erm", "like", "you know", "basically", "actually", "literally", "sort of", "kind of",
           "i mean", "just")
# Spoken answers: about 130 words a minute. A story takes one to two minutes; a fact, under one.
LENGTH = {"behavioural": (100, 320), "motivation": (60, 250), "company": (25, 180), "technical": (40, 250)}
FACTS = 3  # key facts per question
_NUMBER_NOUN = re.compile(r"\b(\d+(?:[.,]\d+)?)\s*(%|percent|[a-z]+)", re.IGNORECASE)


@dataclass
class Score:
    overall: int
    coverage: float | None  # None: no evidence passages
    facts_missed: list[str] = field(default_factory=list)
    star: dict[str, bool] | None = None  # behavioural questions only
    words: int = 0
    length: str = "ok"  # ok | short | long
    filler_per_100: float = 0.0
    contradictions: list[str] = field(default_factory=list)
    weakest: str = ""  # coverage | situation | task | action | result | length | filler | contradiction | ""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


_GENERIC = frozenset(terms("know knowledge tell think describe explain work working company role team"))
_LABEL = re.compile(r"^(Situation|Task|Action|Result|Shows):\s*")


def key_facts(question: str, passages: list[str], count: int = FACTS) -> list[str]:
    """The evidence sentences that answer `question` most. From a story: its result, action and
    situation. From documents: the sentences sharing most words with the question, numbers first."""
    lines = [line.strip().lstrip("-*• ").strip() for p in passages for line in p.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    story = {m.group(1).lower(): _LABEL.sub("", line) for line in lines if (m := _LABEL.match(line))}
    if story:
        return [split_sentences(story[p])[0] for p in ("result", "action", "situation") if story.get(p)][:count]
    asked = set(terms(question)) - _GENERIC
    if not asked:  # "What do you know about ...?" names nothing: the best passage's own sentences
        lines = [line.strip().lstrip("-*• ").strip() for line in passages[0].splitlines()
                 if line.strip() and not line.startswith("#")] if passages else []
        return [s.strip() for line in lines for s in split_sentences(line) if len(content_words(s)) >= 4][:count]
    sentences = {s.strip() for line in lines for s in split_sentences(line) if len(content_words(s)) >= 4}
    ranked = sorted(sentences, key=lambda s: (-len(asked & set(terms(s))), not re.search(r"\d", s), s))
    return [s for s in ranked if asked & set(terms(s))][:count]


def said(fact: str, answer: str) -> bool:
    """Whether `answer` says `fact`: most of its stemmed content words and all of its numbers."""
    fact_terms, answer_terms = set(terms(fact)), set(terms(answer))
    numbers = set(re.findall(r"\d+(?:[.,]\d+)?", fact))
    if numbers - set(re.findall(r"\d+(?:[.,]\d+)?", answer)):
        return False
    return bool(fact_terms) and len(fact_terms & answer_terms) / len(fact_terms) >= 0.5


def filler_rate(answer: str) -> float:
    text = " " + " ".join(re.findall(r"[a-z']+", answer.lower())) + " "
    count = sum(text.count(f" {f} ") for f in FILLERS)
    return round(100 * count / max(len(text.split()), 1), 1)


def contradictions(answer: str, passages: list[str]) -> list[str]:
    """Numbers the answer gives for a thing that the passages number differently."""
    found = []
    for number, noun in _NUMBER_NOUN.findall(answer):
        stated = {n for p in passages for n, m in _NUMBER_NOUN.findall(p) if m.lower() == noun.lower()}
        if stated and number not in stated:
            found.append(f"you said {number} {noun}; the documents say {' or '.join(sorted(stated))} {noun}")
    return found


def score(question: str, category: str, answer: str, passages: list[str]) -> Score:
    """The answer's score (0-100) and its parts."""
    facts = key_facts(question, passages)
    missed = [f for f in facts if not said(f, answer)]
    coverage = round(1 - len(missed) / len(facts), 2) if facts else None
    star = star_parts(answer) if category == "behavioural" else None
    words = len(answer.split())
    low, high = LENGTH.get(category, LENGTH["company"])
    length = "short" if words < low else "long" if words > high else "ok"
    result = Score(0, coverage, missed, star, words, length, filler_rate(answer),
                   contradictions(answer, passages) if category not in CANDIDATE_SIDE else [])
    if length == "long" and words > 3 * high:
        result.warnings.append(f"{words} words is far longer than an interviewer will listen to ({low}-{high})")
    result.overall, result.weakest = _overall(result)
    return result


def _overall(s: Score) -> tuple[int, str]:
    """Weighted parts (each 0-1) and the weakest one."""
    parts: dict[str, tuple[float, float]] = {}  # name -> (weight, value)
    if s.star is not None:
        for part in PARTS:
            parts[part] = (0.1, 1.0 if s.star[part] else 0.0)
    if s.coverage is not None:
        parts["coverage"] = (0.3 if s.star is not None else 0.6, s.coverage)
    parts["length"] = (0.15, 1.0 if s.length == "ok" else 0.4)
    parts["filler"] = (0.15, max(0.0, 1 - s.filler_per_100 / 10))
    total = sum(w for w, _ in parts.values())
    value = sum(w * v for w, v in parts.values()) / total
    value -= 0.2 * len(s.contradictions)
    missing_part = [p for p in PARTS if p in parts and parts[p][1] < 1.0]
    if s.contradictions:
        weakest = "contradiction"
    elif missing_part:  # a story without its situation or result: ask for that first
        weakest = missing_part[0] if "result" not in missing_part else "result"
    else:
        lowest = min(parts, key=lambda k: (parts[k][1], -parts[k][0]))
        weakest = lowest if parts[lowest][1] < 1.0 else ""
    return max(0, min(100, round(100 * value))), weakest


FOLLOW_UPS = {
    "situation": "Can you set the scene first: where were you working, and what was going on?",
    "task": "What exactly was your responsibility there?",
    "action": "What did you do yourself, step by step?",
    "result": "How did it turn out, and what would you do differently?",
    "length": "Can you go into more detail?",
    "filler": "Could you say that again, more directly, in two or three sentences?",
}


def follow_up(s: Score) -> str:
    """The interviewer's next question, on the weakest part of the answer."""
    if s.weakest == "contradiction":
        return f"Are you sure? {s.contradictions[0][0].upper()}{s.contradictions[0][1:]}."
    if s.weakest == "coverage" and s.facts_missed:
        return f"What else do you know here? For instance, did you know that: {s.facts_missed[0]}"
    if s.weakest == "length" and s.length == "long":
        return "Can you give me the short version, in two or three sentences?"
    return FOLLOW_UPS.get(s.weakest, "What would you add if you had another minute?")
