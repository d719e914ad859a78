"""Structure-aware chunking that never exceeds the embedder's input window.

A document is split at Markdown headings into sections; each chunk starts with its heading trail
(`# Title` / `## Section`), so a heading always travels with its text. Sections are packed
paragraph by paragraph, falling back to sentences and then to word runs, up to `chunk_tokens`
word pieces of the embedder's own tokenizer. Every chunk is checked against the embedder's hard
limit (MiniLM silently truncates past 256 word pieces, [CLS] and [SEP] included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from memo.core.text import split_sentences

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass
class Section:
    trail: list[str]  # heading texts from the top level down to this section
    body: str


@dataclass
class Chunk:
    text: str
    section: str  # the innermost heading, "" before the first one


def split_sections(text: str, title: str) -> list[Section]:
    """Split Markdown at ATX headings (ignoring `#` lines inside code fences)."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    fence = ""  # the open fence's marker; it closes only with the same character, at least as long

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section([h for _, h in stack], body))
        lines.clear()

    for line in text.splitlines():
        marker = _FENCE.match(line)
        if marker and not fence:
            fence = marker.group(1)
        elif marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence) \
                and not line.strip()[len(marker.group(1)):]:
            fence = ""
            lines.append(line)
            continue
        heading = None if fence else _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading.group(2).strip()))
        else:
            lines.append(line)
    flush()
    for section in sections:  # the document title leads every trail, once
        if not section.trail or section.trail[0] != title:
            section.trail.insert(0, title)
    return sections


class TokenCounter:
    """Counts word pieces with the embedder's tokenizer, without special tokens."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def many(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]


class SectionChunker:
    """Packs each section's paragraphs into chunks of at most `chunk_tokens` word pieces."""

    def __init__(self, count: TokenCounter, chunk_tokens: int, hard_limit: int, overlap: int = 1):
        self.count = count
        self.hard_limit = hard_limit  # content word pieces the embedder keeps (window minus 2)
        self.chunk_tokens = min(chunk_tokens, hard_limit)
        self.overlap = overlap

    def chunk(self, text: str, title: str) -> list[Chunk]:
        chunks: list[Chunk] = []
        for section in split_sections(text, title):
            header = self._header(section.trail)
            budget = self.chunk_tokens - self.count(header)
            if budget < 16:  # absurdly long headings: keep only the innermost one
                header = self._header(section.trail[-1:])[:400]
                budget = self.chunk_tokens - self.count(header)
            label = section.trail[-1] if len(section.trail) > 1 else ""
            for body in self._pack(self._units(section.body, budget), budget):
                chunks.append(Chunk(f"{header}\n\n{body}", label))
        return [piece for chunk in chunks for piece in self._enforce_limit(chunk)]

    @staticmethod
    def _header(trail: list[str]) -> str:
        return "\n".join("#" * (depth + 1) + " " + heading for depth, heading in enumerate(trail))

    def _units(self, body: str, budget: int) -> list[tuple[str, int]]:
        """Paragraphs that fit the budget, else their sentences, else runs of words."""
        units: list[tuple[str, int]] = []
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
        for paragraph, size in zip(paragraphs, self.count.many(paragraphs)):
            if size <= budget:
                units.append((paragraph, size))
                continue
            sentences = split_sentences(paragraph)
            for sentence, sentence_size in zip(sentences, self.count.many(sentences)):
                if sentence_size <= budget:
                    units.append((sentence, sentence_size))
                else:
                    units.extend(self._word_runs(sentence, budget))
        return units

    def _word_runs(self, text: str, budget: int) -> list[tuple[str, int]]:
        """Runs of whole words; a word longer than the budget (or unspaced CJK) is sliced."""
        runs: list[tuple[str, int]] = []
        current, used = [], 0
        words = text.split()
        for word, size in zip(words, self.count.many(words)):
            pieces = [(word, size)] if size <= budget else self._slices(word, size, budget)
            for piece, piece_size in pieces:
                if current and used + piece_size > budget:
                    runs.append((" ".join(current), used))
                    current, used = [], 0
                current.append(piece)
                used += piece_size
        if current:
            runs.append((" ".join(current), used))
        return runs

    def _slices(self, word: str, size: int, budget: int) -> list[tuple[str, int]]:
        """Cut a too-long word into consecutive character slices that each fit the budget."""
        step = max(1, len(word) * budget // (size * 2))  # half the proportional share: safe margin
        pieces = [word[i:i + step] for i in range(0, len(word), step)]
        out = []
        for piece, piece_size in zip(pieces, self.count.many(pieces)):
            out.extend(self._slices(piece, piece_size, budget) if piece_size > budget and len(piece) > 1
                       else [(piece, piece_size)])
        return out

    def _pack(self, units: list[tuple[str, int]], budget: int) -> list[str]:
        bodies, current, used = [], [], 0
        for text, size in units:
            if current and used + size > budget:
                bodies.append("\n\n".join(t for t, _ in current))
                current, used = self._carry_over(current, budget - size), 0
                used = sum(s for _, s in current)
            current.append((text, size))
            used += size
        if current:
            bodies.append("\n\n".join(t for t, _ in current))
        return bodies

    def _carry_over(self, previous: list[tuple[str, int]], room: int) -> list[tuple[str, int]]:
        """The last `overlap` sentences of the previous chunk, if they fit beside the next unit."""
        if not self.overlap or room <= 0:
            return []
        sentences = split_sentences(previous[-1][0])[-self.overlap:]
        tail = " ".join(sentences)
        size = self.count(tail)
        return [(tail, size)] if size <= room // 2 and tail != previous[-1][0] else []

    def _enforce_limit(self, chunk: Chunk) -> list[Chunk]:
        """Word-piece counts of joined text can exceed the sum of parts; split until all fit."""
        if self.count(chunk.text) <= self.hard_limit:
            return [chunk]
        header, _, body = chunk.text.partition("\n\n")
        if len(body) < 2:  # only an absurd heading can get here: keep its innermost line
            return [Chunk(header.splitlines()[-1][:200] + "\n\n" + body, chunk.section)]
        words = body.split(" ")
        if len(words) > 1:
            halves = [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2:])]
        else:
            halves = [body[: len(body) // 2], body[len(body) // 2:]]
        return [piece for half in halves if half.strip()
                for piece in self._enforce_limit(Chunk(f"{header}\n\n{half}", chunk.section))]
