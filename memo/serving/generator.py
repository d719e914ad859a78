"""In-process generation with transformers: the CPU default, and the reference for other backends.

A generator takes chat messages (from memo.serving.prompt) and returns the answer text, streaming
it through a callback as it decodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from memo.config import GenerationConfig
from memo.serving.models import LoadedLLM
from memo.serving.prompt import encode, render


@dataclass(frozen=True)
class Decoding:
    """Decoding settings, identical whichever backend answers."""

    max_new_tokens: int
    temperature: float
    top_p: float
    repetition_penalty: float

    @classmethod
    def from_config(cls, cfg: GenerationConfig) -> Decoding:
        return cls(cfg.max_new_tokens, cfg.temperature, cfg.top_p, cfg.repetition_penalty)

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
    def __init__(self, llm: LoadedLLM, template: str, context_length: int):
        self.llm = llm
        self.template = template
        self.context_length = context_length

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
        input_ids = torch.tensor([ids], device=self.llm.device)
        streamer = callback_streamer(tokenizer, on_text) if on_text else None
        with torch.inference_mode():
            output = self.llm.model.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                pad_token_id=tokenizer.pad_token_id, eos_token_id=_stop_ids(tokenizer),
                streamer=streamer, **decoding.generate_kwargs())
        return tokenizer.decode(output[0, len(ids):], skip_special_tokens=True).strip()


def _stop_ids(tokenizer) -> list[int]:
    """End of turn for every template memo knows: EOS, and ChatML's <|im_end|> when present."""
    stops = {tokenizer.eos_token_id}
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id:
        stops.add(im_end)
    return sorted(s for s in stops if s is not None)


def callback_streamer(tokenizer, on_text: Callable[[str], None]):
    from transformers import TextStreamer

    class CallbackStreamer(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                on_text(text)

    return CallbackStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
