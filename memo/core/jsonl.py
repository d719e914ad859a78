"""JSON Lines in and out: Q&A files (the ../shared/qa format), training data, synth logs, the
bench cache. A malformed line is named by file and line number; `skip_bad=True` warns and
continues.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from memo.core import notices
from memo.core.durable import append_lines, write_atomic
from memo.core.errors import MemoError


def read_jsonl(path: Path, required: tuple[str, ...] = (), skip_bad: bool = False,
               problems: list[str] | None = None,
               check: Callable[[dict], str | None] | None = None, can_skip: bool = True) -> list[dict]:
    """Every object in `path`. Blank lines are ignored; a line that is not a JSON object with the
    `required` fields (and that `check` finds no problem with) stops the read (MemoError) or, with
    `skip_bad`, is reported and skipped. `can_skip=False`: the command has no --skip-bad to suggest."""
    if not path.is_file():
        raise MemoError(f"{path}: no such file")
    rows = []
    for number, problem, row in _parse(path):
        if problem is None and row is not None:
            missing = [f for f in required if f not in row]
            if missing:
                problem = f"missing field(s) {', '.join(missing)}"
            elif check is not None:
                problem = check(row)
        if problem:
            message = f"{path}:{number}: {problem}"
            if not skip_bad:
                raise MemoError(message + (" (fix the line, or pass --skip-bad to skip such lines)" if can_skip
                                           else " (fix the line)"))
            notices.warn(f"{message}; skipped")
            if problems is not None:
                problems.append(message)
            continue
        if row is not None:
            rows.append(row)
    return rows


def _parse(path: Path) -> Iterator[tuple[int, str | None, dict | None]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise MemoError(f"{path}: not UTF-8 text; is it a JSONL file?") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            yield number, None, None
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield number, f"malformed JSON ({exc.msg})", None
            continue
        yield (number, None, row) if isinstance(row, dict) else (number, "not a JSON object", None)


def read_log(path: Path) -> list[dict]:
    """An append-only log written by memo; a torn last line (a killed run) is dropped."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def _line(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def append_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Append rows durably (fsynced), so a kill loses at most the line being written."""
    append_lines(path, [_line(row) for row in rows])


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Replace `path` atomically with `rows`."""
    write_atomic(path, "".join(_line(row) for row in rows))
