"""Quotes that are copies: inside ##begin_quote## ... ##end_quote## the model may only write text
that is in its documents.

A RAFT answer quotes its evidence before it answers. Measured on TTS and Sourcegraph, the 135M
reader wrote 71 quotes of which 30 were in its documents word for word; the rest were sentences it
made up, and its final answer restated them. Copying is within reach of any model if decoding
keeps it on the documents: at each step inside an open quote only the likeliest tokens that keep
the quote a contiguous span of the documents' text (whitespace aside) stay allowed, and when none
of them does, the quote must close.

The rules are pure functions over strings (`quote_state`, `continues_copy`, `continues_close`), tested without a
model; `QuoteCopy` applies them in transformers' LogitsProcessor protocol.
"""

from __future__ import annotations

import re

from memo.core.text import echoes
from memo.llm.prompt import DOCS_CLOSE, DOCS_OPEN, QUOTE_BEGIN, QUOTE_END

LINE_END = ".\n"  # what follows ##end_quote## in a RAFT reasoning line
TOP_K = 40  # candidates checked per step: the allowed set is taken from the model's own likeliest
MIN_WORDS = 3  # a quote shorter than this may not close yet (unless nothing else can follow)
# Once it may close, a quote closes at the end of its sentence: synth's quotes are sentences, and
# quotes pushed past the question ran on for paragraphs.
# Nor may a quote close on a question mark or while it holds only the question's words: FAQ pages
# hold the interviewer's question word for word, and the reader quoted it (then restated it)
# instead of the answer that follows it.


# memo.llm.prompt.documents_block's label line: "Document [2] (faq.md - Will my equity vest?):"
_LABEL_LINE = re.compile(r"^Document \[\d+\] \((.*)\):$", re.MULTILINE)


def squash(text: str) -> str:
    return " ".join(text.split())


def documents_text(prompt: str) -> str:
    """The quotable text of a rendered prompt's documents, whitespace squashed ('' when there are
    none): each document's section title, then its text. The file name and the numbering are not
    quotable; the title is, since an FAQ's title is the question its text answers."""
    start = prompt.find(DOCS_OPEN)
    end = prompt.rfind(DOCS_CLOSE)
    if start < 0 or end <= start:
        return ""
    block = _LABEL_LINE.sub(lambda m: " " + m.group(1).partition(" - ")[2] + " ", prompt[start + len(DOCS_OPEN):end])
    return squash(block)


def question_text(prompt: str) -> str:
    """The interviewer's question in a rendered prompt (memo.llm.prompt.build_messages)."""
    _, sep, after = prompt.rpartition("Question:")
    return re.split(r"<\||\[/INST\]|\n", after.strip(), maxsplit=1)[0] if sep else ""


def quote_state(text: str) -> tuple[str, str] | None:
    """Where the answer `text` stands in its last quote: ("copy", the quote so far) while it
    quotes, ("close", the end marker so far) once a '#' began ##end_quote##, ("end", what
    followed the marker) until its line ends, None outside."""
    _, sep, after = text.rpartition(QUOTE_BEGIN)
    if not sep:
        return None
    if "#" not in after:
        return "copy", after
    tail = after[after.index("#"):]
    if not tail.startswith(QUOTE_END):
        return "close", tail
    rest = tail[len(QUOTE_END):]  # the RAFT line ends ".\n" (memo.llm.prompt.raft_answer)
    return None if rest.startswith(LINE_END) or "\n" in rest else ("end", rest)


def _as_source(text: str) -> str:
    """Quote text as it must appear in the squashed source (a trailing space kept: more follows)."""
    text = text.lstrip()
    return squash(text) + (" " if text[-1:].isspace() else "")


def continues_copy(partial: str, piece: str, source: str) -> bool:
    """Whether the quote `partial` followed by `piece` is still a span of `source` (a trailing
    space counts: it must be followed by more text there)."""
    candidate = _as_source(partial + piece)
    return bool(candidate.strip()) and candidate in source


def next_in_source(partial: str, source: str, chars: int = 24) -> str:
    """The source text that follows the quote `partial` where it first occurs ('' at the end)."""
    candidate = _as_source(partial)
    at = source.find(candidate) if candidate.strip() else -1
    return source[at + len(candidate):at + len(candidate) + chars] if at >= 0 else ""


def continues_close(tail: str, piece: str, target: str = QUOTE_END) -> bool:
    """Whether what was written so far, `tail`, followed by `piece` is still `target` (the end
    marker, or the line end after it), or completes it."""
    grown = tail + piece
    return target.startswith(grown) or grown.startswith(target)


def sentence_done(partial: str, source: str) -> bool:
    """Whether the quote so far ends a sentence of `source`: a full stop followed there by a space
    or the end ("join.tts.gov" is no sentence end)."""
    return bool(re.search(r"[.!]\s*$", partial)) and next_in_source(partial.rstrip(), source, 1) in ("", " ")


def at_word_end(partial: str, source: str) -> bool:
    """Whether the quote so far ends where the source's words do: not inside a word or a piece of
    markup ("receives *" of "receives **27 days**" is no place to stop)."""
    text = partial.rstrip()
    following = next_in_source(text, source, 1)
    return bool(text) and (following == "" or following in " .,;:!?)")


def closes(piece: str) -> bool:
    return piece.lstrip().startswith("#")


class QuoteCopy:
    """A transformers LogitsProcessor for one (batched) `generate` call whose prompts are the
    first `width` columns of input_ids."""

    def __init__(self, tokenizer, width: int):
        self.tokenizer, self.width = tokenizer, width
        self._sources: list[str] | None = None
        self._questions: list[str] = []
        self._close_ids = sorted({self._first_token(text) for text in ("##", " ##")} - {None})

    def _first_token(self, text: str) -> int | None:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids[0] if ids else None

    def __call__(self, input_ids, scores):
        rows = input_ids.tolist()
        if self._sources is None:
            prompts = [self.tokenizer.decode(row[:self.width]) for row in rows]
            self._sources = [documents_text(p) for p in prompts]
            self._questions = [question_text(p) for p in prompts]
        for r, row in enumerate(rows):
            state = quote_state(self.tokenizer.decode(row[self.width:])) if self._sources[r] else None
            if state is None:
                continue
            kind, text = state
            if kind == "copy":
                allowed, may_close = self._copying(scores, r, text, self._sources[r], self._questions[r])
                if may_close and sentence_done(text, self._sources[r]):  # whole sentences, as in training
                    allowed = [t for t in allowed if t in self._close_ids]
                following = "" if may_close else next_in_source(text, self._sources[r])
                self._only(scores, r, allowed, [self._first_token(following)] if following else self._close_ids)
            else:  # a closing quote writes the whole end marker and its line end, nothing else
                target = QUOTE_END if kind == "close" else LINE_END
                allowed = [t for t in self._top(scores, r) if continues_close(text, self.tokenizer.decode([t]), target)]
                self._only(scores, r, allowed, [self._first_token(target[len(text):])])
        return scores

    def _top(self, scores, r: int) -> list[int]:
        return scores[r].topk(TOP_K).indices.tolist()

    def _copying(self, scores, r: int, partial: str, source: str, question: str) -> tuple[list[int], bool]:
        """(the likeliest tokens at row r that keep copying, or close a quote that says something;
        whether it may close). When none is allowed, the document's own next token is written."""
        may_close = (len(partial.split()) >= MIN_WORDS and not partial.rstrip().endswith("?")
                     and at_word_end(partial, source) and not echoes(partial, question))
        allowed = []
        for token in self._top(scores, r):
            piece = self.tokenizer.decode([token])
            if (may_close if closes(piece) else continues_copy(partial, piece, source)):
                allowed.append(token)
        return allowed, may_close

    @staticmethod
    def _only(scores, r: int, allowed: list[int], fallback: list[int]) -> None:
        """Leave only `allowed` at row r, with their scores; `fallback` (forced) when it is empty."""
        keep = scores[r, allowed].clone() if allowed else None
        scores[r, :] = -float("inf")
        if keep is None:
            scores[r, [t for t in fallback if t is not None]] = 0.0
        else:
            scores[r, allowed] = keep
