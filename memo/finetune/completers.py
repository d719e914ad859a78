"""The data generator behind `memo synth`, in the two styles its prompts come in: the in-process
model (few-shot text completion, batched by memo.llm.generator.LocalGenerator) or any
OpenAI-compatible chat endpoint (concurrent requests through memo.llm.endpoint.Endpoint). Both
answer lists of prompts in order; a request that fails transiently comes back as its exception,
so one bad reply never stops a run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from memo.core.config import Settings
from memo.llm.endpoint import Endpoint, EndpointError
from memo.llm.generator import Decoding, LocalGenerator, load_generator
from memo.llm.prompt import render

SYNTH_KEY_VARIABLES = ("MEMO_SYNTH_API_KEY", "OPENAI_API_KEY")  # read in this order, never logged


class LocalCompleter:
    """Greedy few-shot completions from the in-process model, `batch_size` prompts at a time."""

    style = "fewshot"

    def __init__(self, generator: LocalGenerator, decoding: Decoding, batch_size: int = 16):
        self.generator = generator
        # greedy whatever generation.temperature says: drafts are judged by gates, not sampled
        self.decoding = replace(decoding, temperature=0.0, top_p=1.0)
        self.batch_size = batch_size  # 16 measured 150 tok/s aggregate vs 17 at 1 (SmolLM2, 2 cores)
        self.name = generator.name

    def complete(self, prompts: list[str], max_new_tokens: int, stop_at_newline: bool = False) -> list[str]:
        stops = _newline_ids(self.generator.llm.tokenizer) if stop_at_newline else None
        return self.generator.complete(prompts, replace(self.decoding, max_new_tokens=max_new_tokens),
                                       self.batch_size, stops)

    def chat(self, conversations: list[list[dict]], max_new_tokens: int) -> list[str | Exception]:
        tokenizer, template = self.generator.llm.tokenizer, self.generator.template
        return list(self.complete([render(tokenizer, template, c) for c in conversations], max_new_tokens))


def _newline_ids(tokenizer) -> list[int]:
    ids = tokenizer("\n", add_special_tokens=False)["input_ids"]
    return ids[-1:] if ids else []


class EndpointCompleter:
    """Chat completions from an OpenAI-compatible server (OpenAI, vLLM, `transformers serve`)."""

    style = "json"

    def __init__(self, url: str, model: str, concurrency: int = 8, timeout: float = 120.0,
                 retries: int = 4, temperature: float = 0.7):
        self.endpoint = Endpoint(url, timeout, SYNTH_KEY_VARIABLES, retries=retries)
        self.url, self.name = url, model
        self.concurrency = concurrency
        self.temperature = temperature  # some diversity between drafts; gates catch the misses
        self.endpoint.check()  # fail fast, with the URL, when it is unreachable or refuses the key

    def chat(self, conversations: list[list[dict]], max_new_tokens: int) -> list[str | Exception]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda c: self._one(c, max_new_tokens), conversations))

    def _one(self, messages: list[dict], max_new_tokens: int) -> str | Exception:
        try:
            return self.endpoint.chat(self.name, messages, max_new_tokens, self.temperature)
        except EndpointError as exc:
            if exc.kind in ("not_found", "auth"):
                raise  # every other request would fail the same way
            return exc


def make_completer(settings: Settings, endpoint: str | None, model: str | None, concurrency: int = 8,
                   timeout: float = 120.0, retries: int = 4, batch_size: int = 16):
    """The endpoint's completer when `endpoint` is given, else the local model's (loaded here)."""
    if endpoint:
        return EndpointCompleter(endpoint, model, concurrency, timeout, retries)
    return LocalCompleter(load_generator(settings), Decoding.from_config(settings.generation), batch_size)
