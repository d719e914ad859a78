"""In-process generation with transformers: the CPU default, and the reference for other backends.
The one local generator: `memo ask` (one answer, streamed), the bench (batches of answers) and
`memo synth` (batches of raw few-shot completions) all decode through it.

A generator takes chat messages (from memo.llm.prompt) and returns the answer text, streaming
it through a callback as it decodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo.core import notices
from memo.core.config import GenerationConfig, Settings
from memo.core.durable import replacing
from memo.core.profiles import Profile
from memo.llm.adapter import attach, base_fingerprint, check_base, check_template, read_adapter
from memo.llm.fast_decode import FORMAT, NumpyLlama, greedy, greedy_batch, supported
from memo.llm.loop_guard import LoopGuard
from memo.llm.derive import resolve
from memo.llm.models import LoadedLLM, fast_bf16, inference_tokenizer, load_llm, pick_device
from memo.llm.prompt import encode, end_of_turn, render


@dataclass(frozen=True)
class Decoding:
    """Decoding settings, identical whichever backend answers."""

    max_new_tokens: int
    temperature: float
    top_p: float
    repetition_penalty: float
    loop_ngram: int = 0  # memo.llm.loop_guard; 0 = off
    stop_after_answer: bool = False

    @classmethod
    def from_config(cls, cfg: GenerationConfig) -> Decoding:
        return cls(cfg.max_new_tokens, cfg.temperature, cfg.top_p, cfg.repetition_penalty,
                   cfg.loop_ngram, cfg.stop_after_answer)

    def generate_kwargs(self) -> dict:
        sampling = self.temperature > 0
        kwargs = {"max_new_tokens": self.max_new_tokens, "do_sample": sampling,
                  "repetition_penalty": self.repetition_penalty}
        if sampling:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
        else:  # silence the model's sampling defaults under greedy decoding
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs


class LocalGenerator:
    def __init__(self, llm: LoadedLLM, template: str, context_length: int, fast_decode: bool = False,
                 fast_cache: Path | None = None, load_model: Callable[[], Any] | None = None,
                 prefill_bf16: bool = False):
        """`fast_decode`: decode greedy answers, one or a batch, with memo.llm.fast_decode where the
        model allows (built on first use and saved to `fast_cache`); sampling always decodes
        through transformers. `llm.model` may be None when `load_model` loads it on first use."""
        self.llm = llm
        self.template = template
        self.context_length = context_length
        self.fast_decode = fast_decode
        self.fast_cache = fast_cache
        self._load_model = load_model
        self.prefill_bf16 = prefill_bf16  # memo.llm.fast_decode's NumpyLlama.prefill_bf16
        self._fast = None

    @property
    def model(self):
        """The transformers model (the reference path, batches, sampling), loaded on first use
        when the generator was opened from the fast-decode cache."""
        if self.llm.model is None:
            self.llm.model = self._load_model()
        return self.llm.model

    @property
    def name(self) -> str:
        return self.llm.name

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        return len(encode(self.llm.tokenizer, render(self.llm.tokenizer, self.template, messages)))

    def generate(self, messages: list[dict[str, str]], decoding: Decoding,
                 on_text: Callable[[str], None] | None = None) -> str:
        import torch

        tokenizer = self.llm.tokenizer
        ids = encode(tokenizer, render(tokenizer, self.template, messages))
        streamer = callback_streamer(tokenizer, on_text) if on_text else None
        fast = self.fast_decoder(decoding)
        if fast is not None:
            return self._generate_fast(fast, ids, decoding, streamer)
        input_ids = torch.tensor([ids], device=self.llm.device)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                pad_token_id=tokenizer.pad_token_id, eos_token_id=_stop_ids(tokenizer, self.template),
                streamer=streamer, logits_processor=_guard(tokenizer, len(ids), decoding, self.template),
                **decoding.generate_kwargs())
        return tokenizer.decode(output[0, len(ids):], skip_special_tokens=True).strip()

    def fast_decoder(self, decoding: Decoding):
        """The numpy decoder for this greedy decoding, or None where transformers decodes."""
        if not self.fast_decode or decoding.temperature > 0:
            return None
        if self._fast is None:
            if not supported(self.model):
                return None
            self._fast = NumpyLlama.from_model(self.model)
            self._save_fast()
        self._fast.prefill_bf16 = self.prefill_bf16
        return self._fast

    def _save_fast(self) -> None:
        """Keep the decoder's arrays for the next process (a failed write costs only speed)."""
        if self.fast_cache is None:
            return
        try:
            with replacing(self.fast_cache) as tmp:
                self._fast.save(tmp)
        except OSError as exc:
            notices.warn(f"could not save the fast-decode weights to {self.fast_cache} ({exc.strerror}); "
                         f"the next process will rebuild them")

    def _generate_fast(self, fast, ids: list[int], decoding: Decoding, streamer) -> str:
        """`generate` through memo.llm.fast_decode: the same processors in the same order as
        transformers' generate (repetition penalty, then memo's)."""
        import torch

        tokenizer = self.llm.tokenizer
        processors = _guard(tokenizer, len(ids), decoding, self.template)
        if streamer is not None:
            streamer.put(torch.tensor(ids))  # the prompt, which the streamer skips
        on_token = (lambda token: streamer.put(torch.tensor([token]))) if streamer is not None else None
        new = greedy(fast, ids, decoding.max_new_tokens, _stop_ids(tokenizer, self.template), decoding.repetition_penalty,
                     processors, on_token)
        if streamer is not None:
            streamer.end()
        return tokenizer.decode(new, skip_special_tokens=True).strip()

    def generate_batch(self, conversations: list[list[dict[str, str]]], decoding: Decoding,
                       batch_size: int = 8, on_done: Callable[[int], None] | None = None) -> list[str]:
        """Answers to many conversations, in order, decoded `batch_size` at a time (similar prompt
        lengths batched together, so little padding). Greedy batched answers can differ from
        one-at-a-time ones in late tokens where two candidates nearly tie (padding changes the
        float sums)."""
        prompts = [render(self.llm.tokenizer, self.template, c) for c in conversations]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        texts = self.complete([prompts[i] for i in order], decoding, batch_size, on_done=on_done)
        answers: list[str] = [""] * len(prompts)
        for i, text in zip(order, texts):
            answers[i] = text.strip()
        return answers

    def complete(self, prompts: list[str], decoding: Decoding, batch_size: int = 8,
                 extra_stops: list[int] | None = None, on_done: Callable[[int], None] | None = None) -> list[str]:
        """Completions of already-rendered prompts, decoded `batch_size` at a time in the order
        given; `extra_stops` are token ids that also end a completion."""
        out: list[str] = []
        fast = self.fast_decoder(decoding)
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start:start + batch_size]
            if fast is not None:
                out.extend(self._batch_fast(fast, batch, decoding, extra_stops))
            else:
                out.extend(self._batch(batch, decoding, extra_stops))
            if on_done:
                on_done(len(batch))
        return out

    def _batch_fast(self, fast, prompts: list[str], decoding: Decoding, extra_stops: list[int] | None) -> list[str]:
        """One batch through memo.llm.fast_decode: each prompt prefilled alone, every unfinished
        answer decoded together, each with its own processors (as it would be alone)."""
        tokenizer = self.llm.tokenizer
        ids = [encode(tokenizer, prompt) for prompt in prompts]
        processors = [_guard(tokenizer, len(row), decoding, self.template) for row in ids]
        new = greedy_batch(fast, ids, decoding.max_new_tokens, _stop_ids(tokenizer, self.template) + (extra_stops or []),
                           decoding.repetition_penalty, processors)
        return [tokenizer.decode(row, skip_special_tokens=True) for row in new]

    def _batch(self, prompts: list[str], decoding: Decoding, extra_stops: list[int] | None) -> list[str]:
        """One left-padded batch: a forward pass per step for all of its prompts."""
        import torch

        llm, tokenizer = self.llm, self.llm.tokenizer
        tokenizer.padding_side = "left"
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(llm.device)
        with torch.inference_mode():
            output = self.model.generate(**enc, pad_token_id=tokenizer.pad_token_id,
                                        eos_token_id=_stop_ids(tokenizer, self.template) + (extra_stops or []),
                                        logits_processor=_guard(tokenizer, enc["input_ids"].shape[1], decoding, self.template),
                                        **decoding.generate_kwargs())
        width = enc["input_ids"].shape[1]
        return [tokenizer.decode(row[width:], skip_special_tokens=True) for row in output]


def _guard(tokenizer, width: int, decoding: Decoding, template: str):
    """memo's loop guard for one generate call (an empty list when it is off)."""
    from transformers import LogitsProcessorList

    processors = LogitsProcessorList()
    if decoding.loop_ngram or decoding.stop_after_answer:
        processors.append(LoopGuard(tokenizer, width, decoding.loop_ngram, _stop_ids(tokenizer, template),
                                    decoding.stop_after_answer))
    return processors


def _stop_ids(tokenizer, template: str) -> list[int]:
    """Where an answer ends: EOS, and the token that closes an assistant turn in `template`
    (<|im_end|>, <|eot_id|>, <end_of_turn>, ...), found once per tokenizer and template."""
    cache = tokenizer.__dict__.setdefault("_memo_stops", {})
    if template not in cache:
        stops = {tokenizer.eos_token_id, *end_of_turn(tokenizer, template)}
        cache[template] = sorted(s for s in stops if s is not None)
    return cache[template]


def callback_streamer(tokenizer, on_text: Callable[[str], None]):
    from transformers import TextStreamer

    class CallbackStreamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                on_text(text)

    return CallbackStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def context_length(settings: Settings, profile: Profile) -> int:
    """Tokens the prompt plus the answer may use: the setting, else the profile's window."""
    return settings.generation.context_length or profile.context_length


def load_generator(settings: Settings, adapter: Path | None = None) -> LocalGenerator:
    """The in-process generator for the configured profile and weights, with a LoRA adapter merged
    in (refused before any weights load when it is not an adapter, or fits another base or
    chat format). On the CPU with fast decoding, a process that finds the decoder's saved arrays
    maps them and loads the transformers model only if something needs it (batches, sampling)."""
    info = read_adapter(adapter) if adapter is not None else None
    profile, path = resolve(settings)
    if adapter is not None:
        check_template(info, adapter, profile.template)
        check_base(info, adapter, path)
    name = Path(path).name or path
    name = f"{name}+{adapter.name}" if adapter is not None else name

    def load_model():
        llm = load_llm(path, profile, settings.model.device, settings.model.threads)
        return attach(llm.model, adapter) if adapter is not None else llm.model

    fast = settings.generation.fast_decode and pick_device(settings.model.device) == "cpu"
    cache = settings.cache_dir / "fast" / fast_key(path, adapter) if fast else None
    generator = LocalGenerator(LoadedLLM(None, None, name, "cpu", path), profile.template, context_length(settings, profile),
                               settings.generation.fast_decode, cache, load_model,
                               fast and settings.generation.prefill_bf16 and fast_bf16("cpu"))
    try:
        generator._fast = NumpyLlama.load(cache) if cache is not None and cache.is_dir() else None
    except ValueError:
        generator._fast = None  # rebuilt (and saved again) on first use
    if generator._fast is None:
        llm = load_llm(path, profile, settings.model.device, settings.model.threads)
        generator.llm = llm
        generator.llm.model = attach(llm.model, adapter) if adapter is not None else llm.model
        generator.llm.name = name
    else:
        generator.llm.tokenizer = inference_tokenizer(path, settings.model.threads)
    return generator


def fast_key(path: str, adapter: Path | None) -> str:
    """Names the saved fast-decode arrays of these base weights with this adapter merged in."""
    digest = hashlib.sha256(f"{FORMAT}\0{base_fingerprint(path)}\0".encode())
    if adapter is not None:
        for part in ("adapter_config.json", "adapter_model.safetensors"):
            file = adapter / part
            digest.update(file.read_bytes() if file.is_file() else b"")
    return digest.hexdigest()[:20]
