"""memo.llm.fast_decode: the numpy LLaMA decoder against transformers' own forward and generate,
on tiny random models built here and on the packaged SmolLM2 with the shipped reader."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessor

from memo.llm.fast_decode import NumpyLlama, greedy, greedy_batch, supported


def tiny_llama(**overrides) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         rope_theta=500.0, tie_word_embeddings=True, **overrides)
    return LlamaForCausalLM(config).eval()


class BanEvery7th(LogitsProcessor):
    """A processor in transformers' protocol: ids divisible by 7 may never be written."""

    def __call__(self, input_ids, scores):
        scores[:, ::7] = -float("inf")
        return scores


def test_logits_equal_transformers_for_prompt_and_each_step():
    model = tiny_llama()
    ids = torch.randint(3, 300, (1, 40), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        reference = model(ids).logits[0].numpy()
    fast = NumpyLlama.from_model(model)
    fast.reset(64)
    assert np.abs(fast.forward(ids[0, :30].tolist()) - reference[29]).max() < 1e-4
    for position in range(30, 40):  # one token at a time against the cache
        assert np.abs(fast.forward([int(ids[0, position])]) - reference[position]).max() < 1e-4
    assert fast.length == 40


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_greedy_equals_generate_with_penalty_and_processors(penalty):
    model = tiny_llama()
    prompt = torch.randint(3, 300, (1, 25), generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=30, do_sample=False,
                             repetition_penalty=penalty, logits_processor=[BanEvery7th()], eos_token_id=5,
                             pad_token_id=0, temperature=None, top_p=None, top_k=None)
    expected = out[0, 25:].tolist()
    streamed: list[int] = []
    got = greedy(NumpyLlama.from_model(model), prompt[0].tolist(), 30, [5], penalty, [BanEvery7th()], streamed.append)
    assert got == expected and streamed == got
    assert all(token % 7 for token in got)


def test_greedy_stops_on_a_stop_id_and_keeps_it():
    model = tiny_llama()
    prompt = list(range(10, 30))
    free = greedy(NumpyLlama.from_model(model), prompt, 12, [])
    stop = free[3]
    stopped = greedy(NumpyLlama.from_model(model), prompt, 12, [stop])
    assert stopped == free[:free.index(stop) + 1]


def test_a_batch_gives_each_prompt_its_own_greedy_answer():
    """Prompts of different lengths, each with its own processor state and stop: the batch's
    answers are the one-at-a-time answers (the tiny model has no near ties at these sizes)."""
    fast = NumpyLlama.from_model(tiny_llama())
    prompts = [list(range(10, 40)), list(range(50, 55)), list(range(100, 117))]
    alone = [greedy(fast, prompt, 20, [5], 1.3, [BanEvery7th()]) for prompt in prompts]
    stop = alone[1][4]  # ends the second answer early, while the others go on
    alone = [greedy(fast, prompt, 20, [5, stop], 1.3, [BanEvery7th()]) for prompt in prompts]
    batch = greedy_batch(fast, prompts, 20, [5, stop], 1.3, [[BanEvery7th()] for _ in prompts])
    assert batch == alone
    assert batch[1][-1] == stop and len(batch[1]) <= 5 < max(len(b) for b in batch)


def test_a_bf16_prefill_is_close_to_float32_and_decoding_stays_float32():
    """generation.prefill_bf16: the prompt's products in bfloat16 move the logits a little (which is
    why it is off by default), and the tokens after it decode in float32 as before."""
    fast = NumpyLlama.from_model(tiny_llama())
    prompt = list(range(10, 40))
    fast.reset(41)
    reference = fast.forward(prompt)
    fast.prefill_bf16 = True
    fast.reset(41)
    got = fast.forward(prompt)
    assert not np.array_equal(got, reference)
    assert np.abs(got - reference).max() < 0.05 * np.abs(reference).max()
    step = fast.forward([7])
    assert step.dtype == np.float32 and fast.length == 31


def test_full_cache_is_refused():
    fast = NumpyLlama.from_model(tiny_llama())
    fast.reset(4)
    with pytest.raises(ValueError, match="KV cache is full"):
        fast.forward([1, 2, 3, 4, 5])


def test_supported_only_where_it_is_exact():
    assert supported(tiny_llama())
    assert not supported(tiny_llama().to(torch.bfloat16))
    assert not supported(tiny_llama(attention_bias=True))
    assert not supported(tiny_llama(rope_scaling={"rope_type": "linear", "factor": 2.0}))
    assert not supported(object())


def test_reader_answers_equal_the_transformers_path(demo_home, smollm2_dir, monkeypatch):
    """`memo ask --adapter @reader` (SmolLM2 + the shipped reader, loop guard on,
    phrasing the selected evidence): the fast answer is the reference answer, token for token,
    and streams the same text."""
    from memo.answering.ask import Answerer
    from memo.core.config import load_settings
    from memo.llm.adapter import READER_NAME, resolve_adapter
    from memo.llm.generator import Decoding

    monkeypatch.setenv("MEMO_HOME", str(demo_home))
    monkeypatch.setenv("MEMO_MODEL_LLM", str(smollm2_dir))
    settings = load_settings()
    answerer = Answerer(settings, adapter=resolve_adapter(READER_NAME))
    generator = answerer.generator_for("hybrid")
    decoding = Decoding.from_config(settings.generation)
    for question in ["How many days of paid leave does Tidewell offer?",
                     "How long does the hiring process usually take?"]:
        messages = answerer.prepare(question, "Tidewell", None, "hybrid").messages
        assert messages is not None
        streamed: list[str] = []
        generator.fast_decode = True
        fast = generator.generate(messages, decoding, streamed.append)
        assert generator.fast_decoder(decoding) is not None
        generator.fast_decode = False
        reference = generator.generate(messages, decoding)
        assert fast == reference
        assert "".join(streamed).strip() == fast


def test_save_and_load_map_the_same_decoder(tmp_path):
    model = tiny_llama()
    built = NumpyLlama.from_model(model)
    built.save(tmp_path / "fast")
    loaded = NumpyLlama.load(tmp_path / "fast")
    assert isinstance(loaded.lm_head, np.memmap)
    prompt = list(range(20, 40))
    assert greedy(loaded, prompt, 15, []) == greedy(built, prompt, 15, [])
    (tmp_path / "fast" / "1.down.npy").unlink()
    with pytest.raises(ValueError, match="not a fast-decode save"):
        NumpyLlama.load(tmp_path / "fast")


def test_a_later_process_maps_the_saved_decoder_without_loading_the_model(memo_env, smollm2_dir, monkeypatch):
    """The first generator saves the merged reader's arrays; the next one (a new process's) maps
    them, answers identically, and never loads the transformers model."""
    from memo.core.config import load_settings
    from memo.llm.adapter import shipped_reader
    from memo.llm.generator import Decoding, load_generator

    monkeypatch.setenv("MEMO_MODEL_LLM", str(smollm2_dir))
    settings = load_settings()
    messages = [{"role": "user", "content": "Name one benefit of written documentation."}]
    decoding = Decoding(24, 0.0, 1.0, 1.1)
    first = load_generator(settings, shipped_reader())
    answer = first.generate(messages, decoding)
    saved = list((settings.cache_dir / "fast").iterdir())
    assert len(saved) == 1 and (saved[0] / "meta.json").is_file()
    later = load_generator(settings, shipped_reader())
    assert later.llm.model is None
    assert later.generate(messages, decoding) == answer
    assert later.llm.model is None
    assert later.name == first.name
    base = load_generator(settings)  # other weights (no adapter): another save, not this one
    assert base.fast_cache != later.fast_cache
