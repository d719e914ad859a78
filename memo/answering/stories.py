"""Answering a question about the candidate's experience: with one of their STAR stories, cited,
or by saying which kind of story would answer it; never with an invented story.

The story is the evidence, chosen before any model runs: its four parts in order, in the
candidate's own words, cited (a model told to tell the candidate's story invented one instead:
benchmarks/README.md, "Candidate documents"). A story fits a question when the words of its title
and skills meet the question's (stemmed), or its passage is very close to the question. Pure
functions: no model.
"""

from __future__ import annotations

import re

from memo.answering.evidence import Unit
from memo.core.categories import question_category
from memo.core.star import PARTS
from memo.ingestion.bm25 import terms

# Words of a behavioural question that say "tell me a story", not what about.
_ASKING = frozenset(terms("tell me about a time describe give example share situation talk walk through "
                          "recall instance story experience ever when how handle handled deal dealt team "
                          "work worked working job role company project"))
_PART_LINE = re.compile(r"^(Situation|Task|Action|Result):\s*(.+)$", re.MULTILINE)
_SKILLS = re.compile(r"^Shows:\s*(.+)$", re.MULTILINE)
CLOSE = 0.6  # a story passage this similar (dense, text + heading) fits even without a shared word
TOLD = 0.35  # an answer with this share of its content words from the story tells it


def story_parts(text: str) -> dict[str, str]:
    """The labelled STAR parts of an indexed story passage (memo.ingestion.candidate)."""
    return {m.group(1).lower(): m.group(2).strip() for m in _PART_LINE.finditer(text)}


def topic_terms(question: str) -> set[str]:
    return set(terms(question)) - _ASKING


def story_about(story: str) -> str:
    """What a story passage says it is about: its title and its skills line."""
    title = story.strip().splitlines()[0].lstrip("# ") if story.strip() else ""
    skills = _SKILLS.search(story)
    return title + " " + (skills.group(1) if skills else "")


def fits(question: str, story: str, similarity: float | None = None) -> bool:
    """Whether the story passage answers the behavioural `question`."""
    about = set(terms(story_about(story)))
    return bool(topic_terms(question) & about) or (similarity is not None and similarity >= CLOSE)


def told(story: str, number: int) -> str:
    """The story as a spoken STAR answer: its parts in order, cited as document `number`."""
    parts = story_parts(story)
    return " ".join(parts[p] for p in PARTS if parts.get(p)) + f" [{number}]"


_STORY_ASK = re.compile(r"^(?:tell (?:me|us) about|describe|give (?:me |us )?an example of|share|talk about|"
                        r"walk (?:me|us) through|recall)\s+", re.IGNORECASE)
_YOU = {"you": "I", "your": "my", "yours": "mine", "yourself": "myself", "you've": "I've", "you're": "I'm",
        "you’ve": "I’ve", "you’re": "I’m", "were": "was"}


def kind_of_story(question: str) -> str:
    """What the question asks a story about, in the candidate's words ("a time I failed")."""
    first = re.split(r"(?<=[.?!])\s", question.strip())[0].rstrip(".?! ")
    rest = _STORY_ASK.sub("", first)
    words = [_YOU.get(w.lower(), w) if w.lower() in _YOU else w for w in rest.split()]
    if rest == first:  # not "tell me about ...": the question itself says what it is about
        return "a time that shows how I handle this"
    return " ".join(words)


def no_story(question: str) -> str:
    return (f"I don't have a story written down for that yet. I would tell you about {kind_of_story(question)}: "
            f"what the situation was, what I had to do, what I did, and how it turned out.")


_ASKS_STORY = re.compile(r"\b(a time|an example|a situation|an instance|a project|a moment|tell (me|us) about (a|an|the)\b|"
                         r"describe (a|an)\b|walk (me|us) through (a|an)\b|recall)", re.IGNORECASE)


def asks_for_story(question: str) -> bool:
    """Whether the question asks for one experience ("Tell me about a time...", "Give an example
    of..."), not for an opinion or a wish ("What are you hoping to learn?")."""
    return bool(_ASKS_STORY.search(question))


def story_evidence(question: str, company: str, contexts: list[dict]) -> tuple[str, list[Unit], str] | None:
    """(the story's source, its parts as evidence, the answer) for a question about the
    candidate's experience: the best fitting story of theirs among `contexts`, told in STAR order
    and cited; or ("none", [], which kind of story would answer) for a question that asks for a
    story none fits. None for any other question (its evidence is selected like a company fact's)."""
    if question_category(question, company) != "behavioural":
        return None
    stories = [(n, c) for n, c in enumerate(contexts, start=1) if c.get("mine") and story_parts(c["text"])]
    fitting = [(n, c) for n, c in stories if fits(question, c["text"], c.get("dense"))]
    if not fitting:
        return ("none", [], no_story(question)) if asks_for_story(question) else None
    number, best = max(fitting, key=lambda nc: (len(topic_terms(question) & set(terms(nc[1]["text"]))), -nc[0]))
    parts = story_parts(best["text"])
    units = [Unit(parts[p], number, best["source"], best.get("section", ""), i, score=1.0, mine=True)
             for i, p in enumerate(PARTS) if parts.get(p)]
    return best["source"], units, told(best["text"], number)
