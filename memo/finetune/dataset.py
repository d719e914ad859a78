"""Training examples: chat records rendered with the same prompt code and chat template as
`memo ask`, loss only on the assistant's tokens, grouped into length-sorted token-budget batches.

Why length grouping and not one packed row: on a CPU without varlen flash attention a packed row
of 4096 tokens attends over the whole row (~4x the FLOPs of its ~800-token examples); batches of
similar lengths waste only a few padding tokens.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from memo.core.errors import MemoError
from memo.core.jsonl import read_jsonl
from memo.core.text import without_citations
from memo.llm.derive import not_a_prefix
from memo.llm.prompt import build_messages, encode, render, split_answer
from memo.llm.templates import template_name

IGNORE = -100  # label of tokens the loss skips (system, user, documents)


@dataclass
class Example:
    ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Dataset:
    examples: list[Example]
    path: Path
    dropped: int = 0  # longer than max_seq_len (overlong = drop)
    truncated: int = 0  # answer cut to fit (overlong = truncate)
    bad_lines: list[str] = field(default_factory=list)
    corpus_hashes: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(len(e) for e in self.examples)


def check_messages(row: dict) -> str | None:
    """Why a record cannot train, or None: chat messages ending with the assistant's answer."""
    messages = row.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return "no `messages` list"
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str) \
                or message.get("role") not in ("system", "user", "assistant"):
            return "each message needs a role (system/user/assistant) and a string content"
    if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
        return "the last message must be the assistant's non-empty answer"
    return None


def tokenize_messages(tokenizer, template: str, messages: list[dict]) -> Example:
    """Prompt tokens (label IGNORE) + answer tokens: the prompt is exactly what `memo ask` sends."""
    prompt = render(tokenizer, template, messages[:-1])
    full = render(tokenizer, template, messages[:-1], answer=messages[-1]["content"])
    if not full.startswith(prompt):  # the answer's tokens cannot be told apart: refuse, with where
        raise MemoError(f"chat template {template_name(template)!r} cannot train with loss on the answer "
                        f"only: {not_a_prefix(prompt, full)}")
    prompt_ids = encode(tokenizer, prompt)
    # the template's trailing newline after the end-of-turn token is never generated: not a label
    answer_ids = encode(tokenizer, full[len(prompt):].rstrip("\n"))
    return Example(prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids)




def without_documents(row: dict, where: str) -> list[dict]:
    """A record's DSF form: the same question and final answer with the no-documents prompt, the
    quoted reasoning and the citations gone (RAFT's domain-specific fine-tune baseline)."""
    question, company = row.get("question"), row.get("company")
    if not isinstance(question, str) or not isinstance(company, str):
        raise MemoError(f"{where}: data_style dsf needs `memo synth` records (with question and company)")
    final = without_citations(split_answer(row["messages"][-1]["content"])[1]).strip()
    messages = build_messages(question, company, row.get("role"), None)
    return messages + [{"role": "assistant", "content": final}]


def closed_book_copy(row: dict, n: int, fraction: float) -> bool:
    """Whether record n is also trained without documents (a stable choice by its id)."""
    key = str(row.get("id", n))
    return int(hashlib.sha256(f"closed-book|{key}".encode()).hexdigest()[:8], 16) % 10_000 < fraction * 10_000


def conversations(rows: list[dict], path: Path, data_style: str, closed_book: float) -> list[list[dict]]:
    """The chat messages each record trains as: raft as written, dsf without documents, and with
    `closed_book` a share of raft records a second time in their dsf form."""
    out = []
    for n, row in enumerate(rows, start=1):
        where = f"{path} record {n}"
        out.append(row["messages"] if data_style == "raft" else without_documents(row, where))
        if data_style == "raft" and closed_book and closed_book_copy(row, n, closed_book):
            out.append(without_documents(row, where))
    return out


def load_dataset(path: Path, tokenizer, template: str, max_seq_len: int, overlong: str,
                 skip_bad: bool = False, data_style: str = "raft", closed_book: float = 0.0) -> Dataset:
    rows = read_jsonl(path, skip_bad=skip_bad, check=check_messages)
    data = Dataset([], path)
    for messages in conversations(rows, path, data_style, closed_book):
        example = tokenize_messages(tokenizer, template, messages)
        if len(example) > max_seq_len:
            answer_start = example.labels.index(next(t for t in example.labels if t != IGNORE))
            if overlong == "drop" or answer_start >= max_seq_len - 8:
                data.dropped += 1
                continue
            example = Example(example.ids[:max_seq_len], example.labels[:max_seq_len])
            data.truncated += 1
        data.examples.append(example)
    data.corpus_hashes = sorted({r["corpus_hash"] for r in rows if r.get("corpus_hash")})
    data.companies = sorted({r["company"] for r in rows if r.get("company")})
    return data


def token_batches(lengths: list[int], batch_tokens: int, seed: int) -> list[list[int]]:
    """Indices grouped so each batch's (count x longest) stays within `batch_tokens`; lengths
    sorted within shuffled windows so batches are similar in length but not in content order."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = 64  # examples sorted by length within windows of 64: little padding, still random
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        current: list[int] = []
        for i in sorted(order[start:start + window], key=lambda i: lengths[i]):
            if current and (len(current) + 1) * max(lengths[j] for j in current + [i]) > batch_tokens:
                batches.append(current)
                current = []
            current.append(i)
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def data_files(data: Path) -> tuple[Path, Path | None]:
    """(train file, validation file or None) of DATA: a `memo synth` folder or one JSONL file."""
    if data.is_file():
        return data, None
    train = data / "train.jsonl"
    if not train.is_file():
        raise MemoError(f"{data} has no train.jsonl; give the --out folder of `memo synth` or a JSONL file")
    val = data / "val.jsonl"
    return train, val if val.is_file() and val.stat().st_size else None
