"""A candidate's own documents: résumé, notes and STAR stories (memo.core.star), indexed in the
candidate's scope ("@NAME") and never in a company's.

A story (a Markdown file with STAR headings, or any file under a `stories/` folder) is indexed as
one passage: its title, what it shows, then its four parts labelled, so a retrieved story reads
whole and an answer can cite it. A story missing parts is indexed as written, with a warning that
names them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from memo.core import notices
from memo.core.star import PARTS, is_story, parse_story
from memo.ingestion.loaders import RawDocument

STORY_HEADINGS = ", ".join(f"## {p.capitalize()}" for p in PARTS)


def is_story_file(raw: RawDocument) -> bool:
    return "stories" in Path(raw.source).parts[:-1] or is_story(raw.text)


def as_candidate_document(raw: RawDocument) -> RawDocument:
    """`raw` as the candidate scope indexes it: a story as one labelled passage, the rest as is."""
    if not is_story_file(raw):
        return raw
    story = parse_story(raw.text, raw.front_matter.get("title", ""), raw.front_matter.get("skills"))
    if story.missing:
        notices.warn(f"{raw.source}: a story without {', '.join(p.capitalize() for p in story.missing)} "
                     f"(write it under the headings {STORY_HEADINGS}); indexed as written")
    if len(story.missing) == len(PARTS):
        return raw
    lines = [f"# {story.title}", ""]
    if story.skills:
        lines += [f"Shows: {', '.join(story.skills)}.", ""]
    for part in PARTS:
        if story.parts.get(part, "").strip():
            lines += [f"{part.capitalize()}: {' '.join(story.parts[part].split())}", ""]
    return replace(raw, text="\n".join(lines).strip() + "\n", title=story.title)
