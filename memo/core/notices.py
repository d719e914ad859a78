"""The one path for what library code has to tell the user besides its result: warnings and notes
go to the `memo` logger, never to print(). The CLI renders them on stderr as `memo: warning: ...`
and `memo: note: ...` lines (`render_on_stderr`); a program using memo as a library sees them as
ordinary log records.
"""

from __future__ import annotations

import logging
import sys

from memo.core.redaction import for_people

LOGGER = logging.getLogger("memo")
NOTE = 25  # between INFO and WARNING: worth showing, not a problem
logging.addLevelName(NOTE, "NOTE")
_PREFIX = {logging.WARNING: "warning: ", NOTE: "note: ", logging.INFO: ""}


def warn(message: str) -> None:
    """Something the user should act on or know about the result (a stale adapter, a skipped line)."""
    LOGGER.warning(message)


def note(message: str) -> None:
    """A remark about what memo is doing differently from what was asked (no checkpoint to resume)."""
    LOGGER.log(NOTE, message)


def status(message: str) -> None:
    """A status line for slow one-off work (preparing the default model once)."""
    LOGGER.info(message)


class _StderrLines(logging.Handler):
    """`memo: <kind>: message` on whatever sys.stderr is at the time of the message."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = _PREFIX.get(record.levelno, record.levelname.lower() + ": ")
        print(f"memo: {prefix}{for_people(record.getMessage())}", file=sys.stderr, flush=True)


def render_on_stderr() -> None:
    """Show notices as stderr lines (the CLI's rendering); installed once per process."""
    if not any(isinstance(h, _StderrLines) for h in LOGGER.handlers):
        LOGGER.addHandler(_StderrLines())
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
