"""Bounds memo enforces, each in one place.

What vLLM can serve: `memo train` refuses to produce anything else and `memo serve`/`memo doctor`
refuse to launch with it. How long a question may be: `memo ask`, `memo search`, the bench's and
synth's question files all refuse longer ones before any model runs.
"""

from memo.core.errors import MemoError

MAX_RANK = 64  # vLLM's --max-lora-rank tops out at 64 for most builds; memo refuses more
RANK_SIZES = (8, 16, 32, 64)  # the values vLLM's --max-lora-rank accepts, up to MAX_RANK
FORBIDDEN_TARGETS = ("embed_tokens", "lm_head")  # vLLM's LoRA cannot serve trained copies of these
ADDED_TOKEN_FILES = ("added_tokens.json", "new_embeddings.safetensors")  # vLLM serves no new tokens

# A question is a sentence or a paragraph: 2,000 characters (~500 tokens) leaves the documents most
# of even a 4k window, where a pasted 100,000-character "question" overflowed an 8k window 3 times
# over and prefilled for minutes.
MAX_QUESTION_CHARS = 2000


def question_problem(question: str) -> str | None:
    """Why `question` is refused (empty, or over MAX_QUESTION_CHARS), or None."""
    if not question.strip():
        return "the question is empty"
    if len(question) > MAX_QUESTION_CHARS:
        return (f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,} "
                f"(ask about one thing at a time)")
    return None


def check_question(question: str) -> str:
    """`question`, or a MemoError saying why it is refused."""
    problem = question_problem(question)
    if problem:
        raise MemoError(problem)
    return question
