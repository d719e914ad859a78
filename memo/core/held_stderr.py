"""What a native library writes straight to the process's standard error while memo runs one step
of it, held back from the terminal.

A Rust panic inside chromadb prints `thread '<unnamed>' panicked at ...`, the panic's message and
a note about RUST_BACKTRACE on file descriptor 2 before pyo3 turns it into an exception; memo's own
line says what failed and what to do, and the panic text above it reads as a crash. So a step that
calls such a library runs with descriptor 2 pointed at a temporary file: when the step succeeds the
held bytes are written to the real standard error as they would have been (a library's warning
still shows), when it fails they are handed to the caller to keep in memo's error log.

Descriptor 2 belongs to the whole process: steps of several threads share one redirection, and the
held bytes are released when the last of them ends (shown if none failed, else kept).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Held:
    """What the library wrote while held; filled in when the step has failed."""

    text: str = ""


class _Redirect:
    """The one redirection of descriptor 2, counted by the steps inside it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.depth = 0
        self.failed = False
        self.saved: int | None = None
        self.spill = None

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                _flush()
                try:
                    self.spill = tempfile.TemporaryFile()
                    self.saved = os.dup(2)
                    os.dup2(self.spill.fileno(), 2)
                except OSError:  # no descriptor 2 or no temporary space: nothing is held
                    self._close()
                self.failed = False
            self.depth += 1

    def leave(self, failed: bool) -> str:
        """End one step; the held text when this step failed and was the last one out."""
        with self.lock:
            self.depth -= 1
            self.failed = self.failed or failed
            if self.depth or self.saved is None:
                return ""
            _flush()
            os.dup2(self.saved, 2)
            self.spill.seek(0)
            data = self.spill.read()
            self._close()
        if data and not self.failed:
            _write_through(data)
            return ""
        return data.decode("utf-8", "replace")

    def _close(self) -> None:
        if self.saved is not None:
            os.close(self.saved)
        if self.spill is not None:
            self.spill.close()
        self.saved, self.spill = None, None


_REDIRECT = _Redirect()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # closed or replaced streams
            pass


def _write_through(data: bytes) -> None:
    try:
        os.write(2, data)
    except OSError:
        pass


@contextmanager
def holding_stderr() -> Iterator[Held]:
    """Run the block with descriptor 2 held (see the module's text); `held.text` is what the
    library wrote when the block raised."""
    held = Held()
    _REDIRECT.enter()
    try:
        yield held
    except BaseException:
        held.text = _REDIRECT.leave(failed=True)
        raise
    _REDIRECT.leave(failed=False)
