"""Progress off a terminal: plain lines every 10% or 30 s and a final line, nothing when disabled."""

from __future__ import annotations

import io

from memo.core.progress import Progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_every_tenth_and_a_final_line():
    out, clock = io.StringIO(), Clock()
    with Progress(stream=out, clock=clock) as progress:
        task = progress.task("rag", 27)
        for _ in range(27):
            clock.now += 1
            progress.advance(task)
    lines = out.getvalue().splitlines()
    assert lines[:4] == ["memo: rag 3/27 (11%)", "memo: rag 6/27 (22%)", "memo: rag 9/27 (33%)",
                         "memo: rag 11/27 (41%)"]
    assert lines[-1] == "memo: rag 27/27 (100%) in 27 s"
    assert len(lines) == 10  # 9 tenths crossed before the end, then the final line
    assert all(line.startswith("memo: rag ") for line in lines)


def test_slow_tasks_report_every_30_seconds_and_unfinished_ones_at_close():
    out, clock = io.StringIO(), Clock()
    with Progress(stream=out, clock=clock) as progress:
        task = progress.task("scoring", 1000)
        judging = progress.task("judging", None)
        progress.advance(task)  # 0.1%: no line yet
        clock.now += 31
        progress.advance(task)
        progress.note(task, "2 kept")
        clock.now += 5
        progress.advance(judging, 4)
        clock.now += 31
        progress.advance(judging, 2)
        unused = progress.task("indexing", 0)  # nothing to do: never reported
        assert unused is not None
    assert out.getvalue().splitlines() == [
        "memo: scoring 2/1000 (0%)", "memo: judging 4 done", "memo: judging 6 done",
        "memo: scoring 2/1000 (0%) in 67 s, 2 kept", "memo: judging 6 done in 67 s"]


def test_a_growing_task_ends_at_close_not_each_time_it_catches_up():
    out, clock = io.StringIO(), Clock()
    with Progress(stream=out, clock=clock) as progress:
        task = progress.task("embedding", 0)
        for _ in range(3):
            progress.grow(task, 10)
            progress.advance(task, 10)
    lines = out.getvalue().splitlines()
    assert lines[-1] == "memo: embedding 30/30 (100%) in 0 s"
    assert sum("in 0 s" in line for line in lines) == 1


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    with Progress(enabled=False, stream=out) as progress:
        task = progress.task("rag", 3)
        progress.advance(task, 3)
        progress.grow(task, 1)
        progress.note(task, "x")
    assert task is None and out.getvalue() == ""


def test_a_terminal_gets_the_rich_bar(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    with Progress(stream=out) as progress:
        task = progress.task("rag", 2)
        progress.advance(task, 2)
    assert progress._lines is None and progress._bar is not None
    assert "memo: rag" not in out.getvalue()
