"""memo.core.redaction: no key and no terminal control sequence in anything memo shows or logs."""

from __future__ import annotations

import logging

from memo.core.redaction import MASK, RedactingFormatter, for_people, printable, redact

KEY = "sk-proj-4f9Qx7Lm2Zt8Vb1Nc6"


def test_the_configured_key_is_removed_wherever_it_appears(monkeypatch):
    monkeypatch.setenv("MEMO_API_KEY", "plain-secret-value-42")
    echoed = 'HTTP 400: {"headers": {"authorization": "plain-secret-value-42"}} and again plain-secret-value-42'
    assert "plain-secret-value-42" not in redact(echoed)
    assert redact(echoed).count(MASK) == 2


def test_key_shaped_strings_are_removed_even_when_memo_never_saw_them(monkeypatch):
    monkeypatch.delenv("MEMO_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for text in (f"Authorization: Bearer {KEY}", f"the key {KEY} is invalid", "api_key=abcdef123456",
                 '"api-key": "zz9plural-z-alpha"', "token hf_abcdefghijklmnop used"):
        out = redact(text)
        assert MASK in out, text
        for secret in (KEY, "abcdef123456", "zz9plural-z-alpha", "hf_abcdefghijklmnop"):
            assert secret not in out
    assert redact("Bearer") == "Bearer" and redact("25 days of paid leave") == "25 days of paid leave"


def test_short_environment_values_do_not_mask_ordinary_words(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "EMPTY")
    assert redact("EMPTY handed") == "EMPTY handed"


def test_control_sequences_are_shown_not_interpreted():
    name = "\x1b[31mred\x1b[0m.md\x07"
    out = printable(name)
    assert "\x1b" not in out and "\x07" not in out
    assert out == "\\x1b[31mred\\x1b[0m.md\\x07"
    assert printable("line one\n\ttwo é") == "line one\n\ttwo é"  # newlines, tabs and letters stay
    assert "\x1b" not in for_people(f"\x1b]0;title\x07{KEY}") and KEY not in for_people(KEY)


def test_the_log_formatter_redacts_tracebacks(monkeypatch):
    monkeypatch.setenv("MEMO_API_KEY", "log-secret-123456")
    try:
        raise ValueError("server said log-secret-123456")
    except ValueError:
        import sys

        record = logging.LogRecord("memo", logging.ERROR, __file__, 1, "failed with %s", ("log-secret-123456",),
                                   sys.exc_info())
    text = RedactingFormatter("%(message)s").format(record)
    assert "log-secret-123456" not in text and "Traceback" in text
