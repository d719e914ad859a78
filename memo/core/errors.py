"""User-facing errors: one line, naming the file or value and what to do, and an exit code.

Library failures become such lines at the boundary where memo knows what it was doing:
`failing_as(what, hint)` wraps a step that calls a library (Chroma, an HTTP client, the file
system) and turns whatever escapes it, a Rust panic included, into a MemoError naming the step,
the cause and the way out. `memo.cli.app.main` turns anything left over into one line too, with
the traceback kept in MEMO_HOME/logs/errors.log (`record_failure`).
"""

from __future__ import annotations

import errno
import os
import shutil
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memo.core.redaction import redact

# pyo3's PanicException (a Rust panic inside chromadb) derives from BaseException: only these are
# let through as what they are.
PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)


class MemoError(Exception):
    """An error caused by input or environment the user can fix; printed without a traceback."""

    exit_code = 2


class NotIndexedError(MemoError):
    """The index has nothing for the company (or role) the user asked about."""

    exit_code = 3


class MissingDependencyError(MemoError):
    """An optional package is not installed; the message carries the install command."""

    exit_code = 4


class LibraryError(MemoError):
    """A library failed under memo (a damaged index, a full disk, a server's bad reply)."""

    exit_code = 5


def require(module: str, install: str):
    """Import `module` or raise MissingDependencyError with the pip command that fixes it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"the package {module!r} is missing ({exc.msg}); install it with: {install}"
        ) from None


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) says the disk or a quota is full, as OSError or as SQLite's
    text inside a library's own error."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(exc).lower()
        if "no space left" in text or "disk is full" in text or "disk quota" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# Below this many free bytes, a library failing while it writes is taken for a full disk even when
# its own message hides the cause (Chroma's compaction reports only "Failed to apply logs"): one
# commit batch of embeddings and its SQLite journal need a few MiB.
LOW_SPACE_BYTES = 32 * 2**20


def low_on_space(path: Path | None) -> bool:
    """Whether the file system that holds `path` (or its nearest existing parent) has less than
    LOW_SPACE_BYTES free; False when it cannot be told."""
    if path is None:
        return False
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free < LOW_SPACE_BYTES
    except OSError:
        return False


def describe(exc: BaseException) -> str:
    """The cause in a few words: a full disk, an OS error on a file, else the exception's type and
    the first line of its message."""
    if disk_full(exc):
        return "the disk is full"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    lines = str(exc).strip().splitlines()
    first = lines[0][:240] if lines else ""
    return redact(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


@contextmanager
def failing_as(what: str, hint: str, kind: type[MemoError] = LibraryError,
               writes_to: Path | None = None) -> Iterator[None]:
    """Run a step; anything but a MemoError or an interrupt that escapes it becomes `kind` with
    the message "`what` failed: <cause>; `hint`". A full disk says so, whatever the library: from
    the error itself, or, for a step that writes under `writes_to`, from the space left there."""
    try:
        yield
    except (MemoError, *PASS_THROUGH):
        raise
    except BaseException as exc:  # noqa: BLE001 - every library failure, Rust panics included
        cause, full = describe(exc), disk_full(exc)
        if not full and low_on_space(writes_to):  # the library's words hide the cause; the disk tells it
            cause, full = f"the disk is full ({cause})", True
        if full:
            hint = "free some space, then run the command again (what this run left is repaired then)"
        raise kind(f"{what} failed: {cause}; {hint}") from exc


def record_failure(exc: BaseException, command: list[str]) -> Path | None:
    """Append the traceback of an unexpected failure (secrets redacted) to MEMO_HOME/logs/errors.log;
    the log's path, or None when it cannot be written."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return keep_in_log(f"memo {' '.join(command)}", text)


def keep_in_log(title: str, text: str) -> Path | None:
    """Append `text` under a stamped `title` (secrets redacted) to MEMO_HOME/logs/errors.log: the
    place for what a user need not read but a bug report does. The log's path, or None."""
    home = Path(os.environ.get("MEMO_HOME") or Path.home() / ".memo").expanduser()
    log = home / "logs" / "errors.log"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(redact(f"--- {stamp} {title}\n{text}\n"))
    except OSError:
        return None
    return log
