"""holding_stderr keeps what a library writes to file descriptor 2 off the terminal while a step
fails (a Rust panic's text), and lets it through when the step succeeds (checked at the descriptor,
where a native library writes)."""

from __future__ import annotations

import os
import threading

import pytest

from memo.core.held_stderr import holding_stderr


def test_a_failing_step_shows_nothing_and_hands_the_text_over(capfd):
    with pytest.raises(RuntimeError):
        with holding_stderr() as held:
            os.write(2, b"thread '<unnamed>' panicked at rust/sqlite/src/db.rs:245:14\n")
            raise RuntimeError("Expect it to be fetched")
    assert "panicked" not in capfd.readouterr().err
    assert "panicked at rust/sqlite" in held.text
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"  # descriptor 2 is the terminal again


def test_a_succeeding_step_shows_what_the_library_wrote(capfd):
    with holding_stderr() as held:
        os.write(2, b"a library warning\n")
    assert capfd.readouterr().err == "a library warning\n" and held.text == ""


def test_steps_of_two_threads_share_one_hold_and_a_failure_keeps_it_all(capfd):
    inside, release = threading.Event(), threading.Event()

    def slow_step():
        with holding_stderr():
            os.write(2, b"from the other thread\n")
            inside.set()
            release.wait(10)

    other = threading.Thread(target=slow_step)
    other.start()
    inside.wait(10)
    with pytest.raises(ValueError):
        with holding_stderr():
            os.write(2, b"panic text\n")
            raise ValueError("failed")
    release.set()
    other.join()
    err = capfd.readouterr().err
    assert "panic text" not in err and "from the other thread" not in err
