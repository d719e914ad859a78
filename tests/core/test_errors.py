"""memo.core.errors: whatever a library raises becomes one MemoError line that names the step,
the cause and the way out, Rust panics and full disks included."""

from __future__ import annotations

import errno

import pytest

from memo.core.errors import LibraryError, MemoError, describe, disk_full, failing_as, record_failure


class PanicException(BaseException):
    """What pyo3 raises for a Rust panic inside chromadb: not an Exception."""


def test_library_errors_and_panics_become_one_line():
    for raised in (ValueError("bad\nsecond line"), PanicException("called `Result::unwrap()` on an `Err`")):
        with pytest.raises(LibraryError) as caught:
            with failing_as("reading the index /x", "run `memo repair`"):
                raise raised
        message = str(caught.value)
        assert message.startswith("reading the index /x failed: ") and message.endswith("run `memo repair`")
        assert "\n" not in message and type(raised).__name__ in message
        assert caught.value.exit_code != 0


def test_memo_errors_and_interrupts_pass_through_unchanged():
    with pytest.raises(MemoError, match="^as it was$"):
        with failing_as("x", "y"):
            raise MemoError("as it was")
    with pytest.raises(KeyboardInterrupt):
        with failing_as("x", "y"):
            raise KeyboardInterrupt


def test_a_full_disk_is_named_whatever_the_library_calls_it():
    sqlite = RuntimeError("error returned from database: (code: 13) database or disk is full")
    oserror = OSError(errno.ENOSPC, "No space left on device", "/m/chroma.sqlite3")
    wrapped = RuntimeError("compaction failed")
    wrapped.__cause__ = oserror
    for exc in (sqlite, oserror, wrapped):
        assert disk_full(exc)
        with pytest.raises(LibraryError, match="failed: the disk is full; free some space"):
            with failing_as("indexing into /m", "rerun"):
                raise exc
    assert not disk_full(ValueError("fine"))
    assert describe(OSError(errno.EACCES, "Permission denied", "/m/f")) == "Permission denied: /m/f"


def test_an_opaque_write_failure_on_a_nearly_full_disk_is_named_a_full_disk(tmp_path, monkeypatch):
    """Chroma's compaction can fail on a full disk with only "Failed to apply logs": the space
    left where the step writes decides."""
    opaque = RuntimeError("Error in compaction: Failed to apply logs to the metadata segment")
    monkeypatch.setattr("memo.core.errors.LOW_SPACE_BYTES", 2**62)  # every disk is "nearly full"
    with pytest.raises(LibraryError, match="failed: the disk is full \\(RuntimeError: Error in compaction"):
        with failing_as("indexing into /m", "rerun", writes_to=tmp_path / "not-yet" / "made"):
            raise opaque
    monkeypatch.setattr("memo.core.errors.LOW_SPACE_BYTES", 0)  # plenty of space: the cause as it was
    with pytest.raises(LibraryError, match="failed: RuntimeError: Error in compaction.*; rerun$"):
        with failing_as("indexing into /m", "rerun", writes_to=tmp_path):
            raise opaque


def test_unexpected_failures_are_logged_with_their_traceback_and_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMO_HOME", str(tmp_path))
    monkeypatch.setenv("MEMO_API_KEY", "sk-live-abcdefghijkl")
    try:
        raise RuntimeError("echoed sk-live-abcdefghijkl")
    except RuntimeError as exc:
        log = record_failure(exc, ["ask", "q"])
    text = log.read_text()
    assert log == tmp_path / "logs" / "errors.log"
    assert "Traceback" in text and "memo ask q" in text and "sk-live-abcdefghijkl" not in text
