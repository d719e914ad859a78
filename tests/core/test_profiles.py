"""The production profile (LLaMA-2-7B-chat: [INST] <<SYS>> format, 4096 tokens) end to end, with a
tiny random LlamaForCausalLM standing in for the 7B weights."""

from memo.core.config import load_settings
from memo.core.profiles import PROFILES, get_profile


def test_llama2_profile_is_configured():
    profile = get_profile("llama-2-7b-chat")
    assert (profile.model, profile.template, profile.context_length) == \
        ("meta-llama/Llama-2-7b-chat-hf", "llama2", 4096)
    assert set(PROFILES) >= {"smollm2-135m", "llama-2-7b-chat"}


def test_llama2_profile_answers_end_to_end(memo_env, tiny_llama2, monkeypatch):
    from memo.answering.ask import Answerer
    from memo.core.demo import DEMO_CORPUS
    from memo.ingestion.indexer import Target, index_corpus
    from memo.llm.prompt import render

    index_corpus(load_settings(), [DEMO_CORPUS / "benefits.md"], Target("Tidewell"), show_progress=False)
    monkeypatch.setenv("MEMO_MODEL_PROFILE", "llama-2-7b-chat")
    monkeypatch.setenv("MEMO_MODEL_LLM", str(tiny_llama2))
    monkeypatch.setenv("MEMO_GENERATION_MAX_NEW_TOKENS", "8")
    answerer = Answerer(load_settings())
    assert answerer.generator_for("rag").context_length == 4096
    prepared = answerer.prepare("What leave do I get?", "Tidewell", None, "rag")
    prompt = render(answerer.generator_for("rag").llm.tokenizer, "llama2", prepared.messages)
    assert prompt.startswith("<s>[INST] <<SYS>>\nYou are a job candidate") and prompt.endswith(" [/INST]")
    assert "Notes:\n- " in prompt and prepared.evidence  # the 7B model phrases the same selected evidence
    answer = answerer.ask("What leave do I get?", "Tidewell", mode="rag")
    assert answer.model == tiny_llama2.name and isinstance(answer.answer, str)
