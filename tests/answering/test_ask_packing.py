"""Packing fills the model's window exactly, counted with its own tokenizer."""

from memo.core.config import load_settings


def test_packing_fills_the_window_exactly(demo, monkeypatch):
    from memo.answering.ask import Answerer

    monkeypatch.setenv("MEMO_RETRIEVAL_PACK_CANDIDATES", "30")
    monkeypatch.setenv("MEMO_GENERATION_CONTEXT_LENGTH", "1200")
    monkeypatch.setenv("MEMO_GENERATION_MAX_NEW_TOKENS", "200")
    answerer = Answerer(load_settings())
    messages, contexts = answerer.prepare("What benefits does Tidewell offer?", "Tidewell", None, "rag")
    used = answerer.generator_for("rag").prompt_tokens(messages)
    assert 1 <= len(contexts) < 30
    assert used <= 1000  # context length minus the answer budget
    assert used > 1000 - 400  # nearly full: a further ~250-token chunk would not have fit
