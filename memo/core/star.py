"""STAR stories: the candidate's own experiences, one Markdown file each, in four parts.

The format (documented in the README, "Your own documents"):

    ---
    title: Moving billing to a new database without downtime   # optional; else the first heading
    skills: ownership, conflict, deadline                      # optional: what the story shows
    ---
    # Moving billing to a new database without downtime
    ## Situation
    ...
    ## Task
    ...
    ## Action
    ...
    ## Result
    ...

Headings match case-insensitively and may carry more words ("Result and what I learned"). A
story missing parts is still indexed, with a warning naming them. `star_parts` finds the same
four parts in a free-text answer (a practice answer has no headings) by their usual signal phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PARTS = ("situation", "task", "action", "result")
_HEADING = re.compile(r"^#{1,6}\s*(situation|task|actions?|results?)\b[^\n]*$", re.IGNORECASE | re.MULTILINE)
_TITLE = re.compile(r"^#\s+(.+)$", re.MULTILINE)


@dataclass
class Story:
    title: str
    parts: dict[str, str] = field(default_factory=dict)  # part -> its text
    skills: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [p for p in PARTS if not self.parts.get(p, "").strip()]

    def as_text(self) -> str:
        """The story as one passage: its title, then each part labelled (what is indexed and cited)."""
        lines = [self.title] + [f"{p.capitalize()}: {' '.join(self.parts[p].split())}"
                                for p in PARTS if self.parts.get(p, "").strip()]
        return "\n".join(lines)


def is_story(text: str) -> bool:
    """Whether a Markdown document is written as a STAR story (has at least one STAR heading)."""
    return bool(_HEADING.search(text))


def parse_story(text: str, title: str = "", skills: str | list | None = None) -> Story:
    """The STAR parts of a story document (text under each STAR heading, up to the next heading
    of the same or a higher level, or the next STAR heading)."""
    found = list(_HEADING.finditer(text))
    parts: dict[str, str] = {}
    for n, match in enumerate(found):
        part = match.group(1).lower().rstrip("s")
        end = found[n + 1].start() if n + 1 < len(found) else len(text)
        parts[part] = (parts.get(part, "") + "\n" + text[match.end():end]).strip()
    if not title:
        heading = _TITLE.search(text)
        title = heading.group(1).strip() if heading else ""
    if isinstance(skills, str):
        skills = [s.strip() for s in skills.split(",")]
    return Story(title or "Untitled story", parts, [s for s in (skills or []) if s])


# Signal phrases of each part in spoken answers (first person, past tense).
_SIGNALS = {
    "situation": r"\b(when I was|at my (last|previous)|in my (last|previous|current) (job|role|team)|we were|"
                 r"there was|the (team|project|company) (was|had)|back in|while working)\b",
    "task": r"\b(my (job|task|goal|role|responsibility) was|I (was asked|needed|had) to|I was responsible|"
            r"the goal was|we needed to)\b",
    "action": r"\b(I (decided|started|set up|wrote|built|talked|met|proposed|organi[sz]ed|led|worked|asked|"
              r"created|changed|fixed|took|made|reached out|scheduled|suggested|introduced))\b",
    "result": r"\b(as a result|in the end|eventually|the result|which (led|meant|cut|saved|reduced|increased)|"
              r"we (shipped|delivered|reduced|cut|saved|increased|launched)|I learned|since then|\d+\s?%)",
}


def star_parts(answer: str) -> dict[str, bool]:
    """Which STAR parts a free-text answer has, by signal phrases (or by labels such as 'Task:')."""
    found = {}
    for part, pattern in _SIGNALS.items():
        labelled = re.search(rf"\b{part}s?\s*:", answer, re.IGNORECASE)
        found[part] = bool(labelled or re.search(pattern, answer, re.IGNORECASE))
    return found
