"""`memo ask`'s default mode and the stream of an adapter's final answer, without a model."""

from pathlib import Path

import pytest

from memo.answering.ask import final_answer_only, resolve_mode
from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.llm.adapter import READER_NAME, resolve_adapter


def test_auto_says_the_evidence_without_a_model_unless_one_is_named():
    settings = load_settings(None, {})
    assert resolve_mode(settings, "auto", None, None) == ("extractive", None)
    assert resolve_mode(settings, "auto", "runs/mine", None) == ("hybrid", "runs/mine")  # an adapter phrases it
    assert resolve_mode(settings, "auto", None, "http://127.0.0.1:8000/v1") == ("rag", None)  # a server's model does
    assert resolve_mode(settings, "rag", None, None) == ("rag", None)
    assert resolve_mode(settings, "base", "runs/mine", None) == ("base", "runs/mine")  # a named mode as given


def test_the_stream_shows_only_what_follows_the_answer_marker():
    shown: list[str] = []
    forward = final_answer_only(shown.append)
    for piece in ["Document [1] says ##begin_quote##27 days##end_quote##.\n<ANS", "WER>: You offer", " 27 days."]:
        forward(piece)
    assert "".join(shown) == "You offer 27 days."


def test_at_reader_names_the_shipped_adapter_or_says_it_is_missing(monkeypatch):
    assert resolve_adapter("runs/x") == Path("runs/x") and resolve_adapter(None) is None
    monkeypatch.setattr("memo.llm.adapter.shipped_reader", lambda: None)
    with pytest.raises(MemoError, match="no shipped reader adapter"):
        resolve_adapter(READER_NAME)
