"""Progress bars for long work, on stderr so `--json` output on stdout stays clean."""

from __future__ import annotations

from typing import Any


class Progress:
    """A thin wrapper over rich.progress that does nothing when disabled."""

    def __init__(self, enabled: bool = True):
        self._bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description:<10}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     TextColumn("{task.fields[note]}"),
                                     console=Console(stderr=True), transient=False)

    def __enter__(self) -> Progress:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._bar.stop()

    def task(self, description: str, total: int | None) -> Any:
        return self._bar.add_task(description, total=total, note="") if self._bar else None

    def advance(self, task: Any, amount: int = 1) -> None:
        if self._bar is not None and task is not None:
            self._bar.advance(task, amount)

    def grow(self, task: Any, amount: int) -> None:
        """Raise a task's total as more work is discovered (chunks to embed, batch by batch)."""
        if self._bar is not None and task is not None:
            total = self._bar.tasks[task].total or 0
            self._bar.update(task, total=total + amount)

    def note(self, task: Any, text: str) -> None:
        """Show a short live status beside the bar (kept records, loss and tokens/s...)."""
        if self._bar is not None and task is not None:
            self._bar.update(task, note=text)
