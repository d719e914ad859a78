"""`memo ask`'s default mode and the stream of an adapter's final answer, without a model."""

from pathlib import Path

import pytest

from memo.answering import ask as ask_module
from memo.answering.ask import final_answer_only, resolve_mode
from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.llm.adapter import READER_NAME, resolve_adapter


def test_auto_is_hybrid_with_the_shipped_reader_on_the_default_model(monkeypatch, tmp_path):
    settings = load_settings(None, {})
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "adapter_config.json").write_text('{"peft_type": "LORA"}')
    (reader / "adapter_model.safetensors").write_bytes(b"")
    (reader / "memo.json").write_text('{"base_fingerprint": "abc"}')
    monkeypatch.setattr(ask_module, "shipped_reader", lambda: reader)
    assert resolve_mode(settings, "auto", None, None) == ("hybrid", str(tmp_path / "reader"))
    assert resolve_mode(settings, "auto", "runs/mine", None) == ("hybrid", "runs/mine")
    assert resolve_mode(settings, "auto", None, "http://127.0.0.1:8000/v1") == ("rag", None)
    assert resolve_mode(settings, "rag", None, None) == ("rag", None)
    other = load_settings(None, {"model.profile": "llama-2-7b-chat"})
    assert resolve_mode(other, "auto", None, None) == ("rag", None)  # the reader fits SmolLM2 only
    elsewhere = load_settings(None, {"model.llm": str(tmp_path / "some-other-weights")})
    assert resolve_mode(elsewhere, "auto", None, None) == ("rag", None)  # --llm: only the same weights
    monkeypatch.setattr(ask_module, "shipped_reader", lambda: None)
    assert resolve_mode(settings, "auto", None, None) == ("rag", None)


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
