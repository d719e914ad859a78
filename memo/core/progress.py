"""Progress for long work, on stderr so `--json` output on stdout stays clean: rich's bars on a
terminal, plain lines (`memo: rag 8/27 (30%)`) when stderr is a file or a pipe, such as a log.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

LINE_EVERY_SHARE = 0.1  # a plain line each time a task crosses another 10% of its total...
LINE_EVERY_SECONDS = 30.0  # ...or when this long has passed since its last line


class Progress:
    """A thin wrapper over rich.progress (on a terminal) or plain progress lines (anywhere else)
    that does nothing when disabled. `stream` is where it writes (default: sys.stderr)."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._bar: Any = None
        self._lines: PlainLines | None = None
        if not enabled:
            return
        out = stream if stream is not None else sys.stderr
        if not _is_terminal(out):
            self._lines = PlainLines(out, clock)
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        console = Console(stderr=True) if stream is None else Console(file=stream)
        self._bar = RichProgress(TextColumn("{task.description:<10}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[note]}"),
                                 console=console, transient=False)

    def __enter__(self) -> Progress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()
        if self._lines is not None:
            self._lines.close()

    def task(self, description: str, total: int | None) -> Any:
        if self._lines is not None:
            return self._lines.task(description, total)
        return self._bar.add_task(description, total=total, note="") if self._bar else None

    def advance(self, task: Any, amount: int = 1) -> None:
        if self._lines is not None and task is not None:
            self._lines.advance(task, amount)
        elif self._bar is not None and task is not None:
            self._bar.advance(task, amount)

    def grow(self, task: Any, amount: int) -> None:
        """Raise a task's total as more work is discovered (chunks to embed, batch by batch)."""
        if self._lines is not None and task is not None:
            self._lines.grow(task, amount)
        elif self._bar is not None and task is not None:
            total = self._bar.tasks[task].total or 0
            self._bar.update(task, total=total + amount)

    def note(self, task: Any, text: str) -> None:
        """Show a short live status beside the bar (kept records, loss and tokens/s...)."""
        if self._lines is not None and task is not None:
            self._lines.tasks[task].note = text
        elif self._bar is not None and task is not None:
            self._bar.update(task, note=text)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


@dataclass
class _Task:
    description: str
    total: int | None
    started: float
    done: int = 0
    note: str = ""
    said_at: float = 0.0  # when its last line was written
    said_done: int = 0  # how far it was then
    finished: bool = False
    grown: bool = False  # its total moves as work is found: it ends at close, not on reaching it


class PlainLines:
    """Progress as occasional lines: `memo: rag 8/27 (30%)` each time a task crosses another
    LINE_EVERY_SHARE of its total or after LINE_EVERY_SECONDS without a line, then a final line
    with the time taken (when a task completes, or at close for one that did not or whose total
    grew as it went)."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic):
        self.stream, self.clock = stream, clock
        self.tasks: list[_Task] = []

    def task(self, description: str, total: int | None) -> int:
        now = self.clock()
        self.tasks.append(_Task(description, total, started=now, said_at=now))
        return len(self.tasks) - 1

    def advance(self, task: int, amount: int = 1) -> None:
        t = self.tasks[task]
        t.done += amount
        now = self.clock()
        if t.total and t.done >= t.total and not t.finished and not t.grown:
            self._final(t, now)
        elif not t.finished and (self._crossed(t) or now - t.said_at >= LINE_EVERY_SECONDS):
            self._say(t, self._count(t), now)

    def grow(self, task: int, amount: int) -> None:
        t = self.tasks[task]
        t.total, t.grown = (t.total or 0) + amount, True

    def close(self) -> None:
        """The final line of every task that moved or has work, and did not complete."""
        now = self.clock()
        for t in self.tasks:
            if not t.finished and (t.done or t.total):
                self._final(t, now)

    def _crossed(self, t: _Task) -> bool:
        if not t.total:
            return False
        steps = round(1 / LINE_EVERY_SHARE)
        return math.floor(t.done * steps / t.total) > math.floor(t.said_done * steps / t.total)

    def _count(self, t: _Task) -> str:
        if not t.total:
            return f"{t.done} done"
        share = t.done / t.total
        percent = round(100 * share) if share >= 1 else min(99, round(100 * share))
        return f"{t.done}/{t.total} ({percent}%)"

    def _final(self, t: _Task, now: float) -> None:
        t.finished = True
        self._say(t, f"{self._count(t)} in {now - t.started:.0f} s", now)

    def _say(self, t: _Task, text: str, now: float) -> None:
        t.said_at, t.said_done = now, t.done
        self.stream.write(f"memo: {t.description} {text}" + (f", {t.note}" if t.note else "") + "\n")
        self.stream.flush()
