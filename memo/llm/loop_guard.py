"""Repetition control that leaves copying alone, and a stop at the end of the final answer.

transformers' own controls both punish what a grounded answer must do: `repetition_penalty`
penalizes every token already in the sequence (the documents included), and
`no_repeat_ngram_size` forbids any n-gram of the prompt, so a model may not copy a figure or a
name from its context. memo's guard looks at the generated tokens only:
- an n-gram the model already wrote may not be written again, unless the n-gram is in the prompt,
  where it may appear twice (a RAFT answer quotes a sentence, then restates it), or is part of
  the format's own markers (##begin_quote## opens every quote);
- once the final-answer marker was written, the first line break ends the answer (the model
  otherwise runs on into another quote or another question).

The rules are pure functions over token lists (`banned_next`), tested without a model;
`LoopGuard` applies them in transformers' LogitsProcessor protocol.
"""

from __future__ import annotations

from collections.abc import Sequence

from memo.llm.prompt import ANSWER_MARK, QUOTE_BEGIN, QUOTE_END


def ngrams(tokens: Sequence[int], n: int) -> set[tuple[int, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def in_marker(generated: Sequence[int], width: int, markers: Sequence[tuple[int, ...]]) -> bool:
    """Whether any of the last `width` tokens belongs to a format marker (##begin_quote##, ...),
    complete or still being written: the RAFT format repeats its markers by design."""
    covered: set[int] = set()
    size = len(generated)
    for marker in markers:
        m = len(marker)
        for i in range(max(0, size - width - m), size):
            window = tuple(generated[i:i + m])
            if window == marker or (i + len(window) == size and window == marker[:len(window)]):
                covered.update(range(i, i + len(window)))
    return any(pos in covered for pos in range(size - width, size))


def banned_next(generated: Sequence[int], n: int, in_prompt: set[tuple[int, ...]],
                markers: Sequence[tuple[int, ...]] = ()) -> set[int]:
    """Tokens that would repeat an n-gram of `generated` beyond its allowance: once for an n-gram
    the model made up, twice for one it copied from the prompt (`in_prompt`); never an n-gram
    that is part of a format marker."""
    if n < 2 or len(generated) < n - 1 or (markers and in_marker(generated, n - 1, markers)):
        return set()
    prefix = tuple(generated[len(generated) - n + 1:])
    counts: dict[int, int] = {}
    for i in range(len(generated) - n + 1):
        if tuple(generated[i:i + n - 1]) == prefix:
            token = generated[i + n - 1]
            counts[token] = counts.get(token, 0) + 1
    return {token for token, count in counts.items()
            if count >= (2 if prefix + (token,) in in_prompt else 1)}


def marker_tokens(tokenizer) -> list[tuple[int, ...]]:
    """The token sequences of the RAFT format's markers, as a model writes them mid-line."""
    texts = [QUOTE_BEGIN, " " + QUOTE_BEGIN, QUOTE_END, ANSWER_MARK, "\n" + ANSWER_MARK]
    found = {tuple(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts}
    return sorted(m for m in found if m)


class LoopGuard:
    """A transformers LogitsProcessor for one (batched) `generate` call whose prompts are the
    first `width` columns of input_ids."""

    def __init__(self, tokenizer, width: int, n: int, stop_ids: list[int], stop_after_answer: bool = True):
        self.tokenizer, self.width, self.n = tokenizer, width, n
        self.stop_ids = stop_ids
        self.stop_after_answer = stop_after_answer
        self._prompt_ngrams: list[set] | None = None
        self._answer_started: dict[int, bool] = {}
        self.markers = marker_tokens(tokenizer)

    def __call__(self, input_ids, scores):
        rows = input_ids.tolist()
        if self._prompt_ngrams is None:
            self._prompt_ngrams = [ngrams(row[:self.width], self.n) for row in rows]
        for r, row in enumerate(rows):
            generated = row[self.width:]
            if self.stop_after_answer and self._answer_done(r, generated):
                keep = scores[r, self.stop_ids[0]].clone()
                scores[r, :] = -float("inf")
                scores[r, self.stop_ids[0]] = keep if keep > -float("inf") else 0.0
                continue
            banned = banned_next(generated, self.n, self._prompt_ngrams[r], self.markers) if self.n else set()
            if banned:
                scores[r, sorted(banned)] = -float("inf")
        return scores

    def _answer_done(self, r: int, generated: list[int]) -> bool:
        """Whether row r wrote the final-answer marker, some answer, and then a line break."""
        if not generated:
            return False
        last = self.tokenizer.decode(generated[-1:])
        if not self._answer_started.get(r):
            if ">" not in last and ":" not in last:
                return False
            self._answer_started[r] = ANSWER_MARK in self.tokenizer.decode(generated)
            return False
        if "\n" not in last:
            return False
        text = self.tokenizer.decode(generated)
        return bool(text.rpartition(ANSWER_MARK)[2].strip())
