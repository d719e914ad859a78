"""The bench's resumable cache: one append-only JSONL file in the output folder holding every
answer, retrieval ranking and score by a key of everything that determines it, so a rerun (after a
kill, with more questions, another arm or a judge) computes only what is missing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from memo.core.jsonl import append_jsonl, read_log

CACHE_FILE = "cache.jsonl"


def key_of(*parts: Any) -> str:
    """A stable key for JSON-able parts (dataclasses as dicts, paths as strings)."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class BenchCache:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / CACHE_FILE
        self.rows: dict[str, dict] = {row["key"]: row for row in read_log(self.path) if "key" in row}

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def put(self, rows: list[dict]) -> None:
        """Store rows (each with a `key`), fsynced before returning."""
        if rows:
            append_jsonl(self.path, rows)
            self.rows.update((row["key"], row) for row in rows)
