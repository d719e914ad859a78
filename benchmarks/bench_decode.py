"""Batch-1 decoding of the default model: transformers' generate (the reference) against memo's
numpy decoder (memo.llm.fast_decode), the memory-bandwidth floor of the weight format, and
whether their greedy answers agree.

    .venv/bin/python benchmarks/bench_decode.py [--home MEMO_HOME] [--tokens 100] [--json]

The floor: at batch 1 each token reads every weight once, so tokens/s cannot exceed the measured
read bandwidth (torch summing a 1 GB array on all cores, best of 3) over the weights' bytes
(float32 here).
Both decoders are timed on the same 700-token demo prompt for `--tokens` steps after its prefill
(prefill reported apart). Agreement: the demo's questions answered the way `memo ask` answers them
(the shipped reader, loop guard and quote copy), once per path, compared token for token.
Without `--home` the demo corpus is indexed into a fresh MEMO_HOME and the model prepared there.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from common import demo_questions, demo_settings, emit, parse_args


def configure(parser) -> None:
    parser.add_argument("--home", type=Path, help="use the demo index and model in this MEMO_HOME")
    parser.add_argument("--tokens", type=int, default=100, help="decode steps timed per path")


def read_bandwidth() -> float:
    """Bytes per second the machine reads from memory with all its cores: torch summing a 1 GB
    float32 array (numpy's sum uses one core, which reads only ~55% as fast here), best of 3."""
    import torch

    data = torch.ones(256 * 1024 * 1024, dtype=torch.float32)
    data.sum()
    best = min(_timed(data.sum) for _ in range(3))
    return data.numel() * 4 / best


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def reference_rate(model, prompt: list[int], tokens: int) -> tuple[float, float]:
    """(prefill seconds, decode tokens/s) of transformers' greedy generate."""
    import torch

    ids = torch.tensor([prompt])
    common = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None, "pad_token_id": 0,
              "attention_mask": torch.ones_like(ids)}
    with torch.inference_mode():
        prefill = _timed(lambda: model.generate(ids, max_new_tokens=1, **common))
        total = _timed(lambda: model.generate(ids, max_new_tokens=tokens + 1, min_new_tokens=tokens + 1, **common))
    return prefill, tokens / (total - prefill)


def fast_rate(fast, prompt: list[int], tokens: int) -> tuple[float, float]:
    """(prefill seconds, decode tokens/s) of the numpy decoder, same prompt, greedy steps."""
    fast.reset(len(prompt) + 1)
    fast.forward(prompt)  # once untimed: bf16 weight copies are made on a process's first prompt
    fast.reset(len(prompt) + tokens + 1)
    started = time.perf_counter()
    logits = fast.forward(prompt)
    prefill = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(tokens):
        logits = fast.forward([int(np.argmax(logits))])
    return prefill, tokens / (time.perf_counter() - started)


def agreement(answerer, generator, mode: str, decoding) -> tuple[int, int, list[str]]:
    questions = demo_questions()
    same, differ = 0, []
    for question in questions:
        messages, _ = answerer.prepare(question, "Tidewell", None, mode)
        generator.fast_decode = True
        fast = generator.generate(messages, decoding)
        generator.fast_decode = False
        reference = generator.generate(messages, decoding)
        same += fast == reference
        if fast != reference:
            differ.append(question)
    return same, len(questions), differ


def main() -> None:
    args = parse_args(__doc__, configure)
    settings = demo_settings(args.home)
    from memo.answering.ask import Answerer, resolve_mode
    from memo.llm.adapter import resolve_adapter
    from memo.llm.generator import Decoding
    from memo.llm.prompt import encode, render

    mode, adapter = resolve_mode(settings, "auto", None, None)
    answerer = Answerer(settings, adapter=resolve_adapter(adapter))
    generator = answerer.generator_for(mode)
    decoding = Decoding.from_config(settings.generation)
    messages, _ = answerer.prepare("What is the on-call rotation like for engineers?", "Tidewell", None, mode)
    prompt = encode(generator.llm.tokenizer, render(generator.llm.tokenizer, generator.template, messages))
    weights = sum(p.numel() * p.element_size() for p in generator.model.parameters())
    bandwidth = read_bandwidth()
    floor = bandwidth / weights
    ref_prefill, ref_rate = reference_rate(generator.model, prompt, args.tokens)
    fast_prefill, rate = fast_rate(generator.fast_decoder(decoding), prompt, args.tokens)
    same, total, differ = agreement(answerer, generator, mode, decoding)
    line = (f"decode: transformers {ref_rate:.1f} tok/s, memo fast_decode {rate:.1f} tok/s (x{rate / ref_rate:.2f}); "
            f"floor {floor:.1f} tok/s ({weights / 1e6:.0f} MB float32 at {bandwidth / 1e9:.1f} GB/s read): "
            f"fast = {rate / floor:.0%} of floor, transformers {ref_rate / floor:.0%}; prefill of {len(prompt)} "
            f"tokens {fast_prefill:.2f} s vs {ref_prefill:.2f} s; greedy answers equal {same}/{total}")
    emit(line, {"reference_tok_s": ref_rate, "fast_tok_s": rate, "floor_tok_s": floor, "weights_bytes": weights,
                "read_bandwidth": bandwidth, "prompt_tokens": len(prompt), "prefill_fast_s": fast_prefill,
                "prefill_reference_s": ref_prefill, "agree": same, "questions": total, "differ": differ},
         args.json)


if __name__ == "__main__":
    main()
