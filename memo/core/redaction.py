"""What memo shows or logs never carries a secret or a control sequence.

`redact` removes API keys from any text that may reach a terminal or a log: the actual values of
the key variables memo reads (and of any variable named like a secret), and anything shaped like a
key, since a server's error body may echo an Authorization header with a key memo never saw.
`printable` makes a name from the outside world (a file name, a server's message) safe to print:
ANSI escape sequences and other control characters are shown escaped, not interpreted.
Both are applied where memo writes for people: `memo.cli.app.main` and the notices handler.
"""

from __future__ import annotations

import logging
import os
import re

MASK = "[redacted]"
# Variables whose values are secrets wherever they appear (memo.llm.endpoint reads the first two).
SECRET_VARIABLES = ("MEMO_API_KEY", "OPENAI_API_KEY")
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$")
_SHORTEST_SECRET = 6  # a value this short ("EMPTY", "1") would mask ordinary words

_KEY_SHAPES = [
    re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}"),  # OpenAI-style keys (sk-..., sk-proj-...)
    re.compile(r"\b(?:hf|ghp|gho|ghs|github_pat|xox[abp])_[A-Za-z0-9_]{8,}"),  # Hugging Face, GitHub, Slack
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{6,}"),  # an echoed Authorization header
    re.compile(r"(?i)(\b(?:api[_-]?key|access[_-]?token|secret|password|authorization)[\"']?\s*[:=]\s*[\"']?)"
               r"[^\s\"',;}]{6,}"),
]
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def secret_values() -> list[str]:
    """The values of the environment's secret variables, longest first."""
    values = {os.environ.get(name, "") for name in SECRET_VARIABLES}
    values |= {value for name, value in os.environ.items() if _SECRET_NAME.search(name.upper())}
    return sorted((v for v in values if len(v) >= _SHORTEST_SECRET), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every secret value and key-shaped string replaced by [redacted]."""
    for value in secret_values():
        text = text.replace(value, MASK)
    for shape in _KEY_SHAPES:
        text = shape.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


def printable(text: str) -> str:
    """`text` with escape sequences and control characters (newline and tab excepted) written as
    visible escapes, so that a file name cannot recolour or rewrite the terminal."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def for_people(text: str) -> str:
    """What every line memo shows a person goes through: secrets removed, controls escaped."""
    return printable(redact(text))


class RedactingFormatter(logging.Formatter):
    """A log format whose every line, tracebacks included, goes through `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
