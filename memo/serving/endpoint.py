"""Answering through any OpenAI-compatible endpoint (vLLM, OpenAI, `transformers serve`).

The same messages (memo.serving.prompt) and the same decoding settings (generator.Decoding) as the
in-process generator; the prompt is counted for packing with the profile's own tokenizer and
template, which is what a server started by `memo serve` renders. The model name is chosen per
request: the base model for `base`/`rag`, the adapter's served name for `ft`/`hybrid`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from memo.errors import MemoError, require
from memo.serving.generator import Decoding
from memo.serving.prompt import encode, render

API_KEY_VARIABLES = ("MEMO_API_KEY", "OPENAI_API_KEY")  # read in this order, never logged or written
RETRIES = 3  # the client retries connection errors, 408/409/429 and 5xx with exponential backoff


def api_key(variables: tuple[str, ...] = API_KEY_VARIABLES) -> str:
    """The first of `variables` that is set (local servers without a key accept "EMPTY")."""
    return next((os.environ[v] for v in variables if os.environ.get(v)), "EMPTY")


class Endpoint:
    """One OpenAI-compatible server: its client and the models it serves."""

    def __init__(self, url: str, timeout: float = 120.0, key_variables: tuple[str, ...] = API_KEY_VARIABLES,
                 label: str | None = None):
        """`key_variables`: where the API key is read from; `label`: how errors name the server."""
        openai = require("openai", "pip install openai")
        self.openai = openai
        self.url = url.rstrip("/")
        self.label = label or self.url
        self.timeout = timeout
        self.key_variables = key_variables
        self.client = openai.OpenAI(base_url=self.url, api_key=api_key(key_variables), timeout=timeout,
                                    max_retries=RETRIES)
        self._models: list | None = None

    def models(self) -> list:
        """`/v1/models` entries (vLLM marks LoRA adapters with a `parent`)."""
        if self._models is None:
            with self.errors(None):
                self._models = list(self.client.models.list())
        return self._models

    def pick(self, wanted: str | None, adapter: bool) -> str:
        """The served name to use: `wanted` when served, else the only base model or adapter."""
        models = self.models()
        names = [m.id for m in models]
        if wanted:
            if wanted not in names:
                raise MemoError(f"{self.label} does not serve {wanted!r} (it serves: {', '.join(names) or 'nothing'})")
            return wanted
        kind = [m.id for m in models if bool(getattr(m, "parent", None)) == adapter]
        if len(kind) != 1:
            flag, what = ("--adapter NAME", "adapters") if adapter else ("--model NAME", "base models")
            raise MemoError(f"{self.url} serves {len(kind)} {what} ({', '.join(kind) or 'none'}); "
                            f"choose one with {flag}")
        return kind[0]

    @contextmanager
    def errors(self, model: str | None) -> Iterator[None]:
        """The client's exceptions as one-line MemoErrors naming the URL and what to do."""
        openai = self.openai
        try:
            yield
        except openai.APITimeoutError:
            raise MemoError(f"{self.label} did not answer within {self.timeout:.0f} s "
                            f"(raise --timeout, or check the server's load)") from None
        except openai.APIConnectionError:
            raise MemoError(f"cannot reach {self.label}: is the server running and the URL right "
                            f"(start one with `memo serve`)?") from None
        except openai.AuthenticationError:
            first, *others = self.key_variables
            raise MemoError(f"{self.label} rejected the API key: set {first}"
                            + (f" (or {', '.join(others)})" if others else "") + " to the server's key") from None
        except openai.NotFoundError:
            served = ", ".join(m.id for m in self.models()) if model else ""
            raise MemoError(f"{self.url} has no model {model!r} (it serves: {served or 'nothing'})"
                            if model else f"{self.url} has no /models route: is it an OpenAI-"
                            f"compatible base URL (usually ending in /v1)?") from None
        except openai.APIStatusError as exc:
            raise MemoError(f"{self.url} answered HTTP {exc.status_code}: {_message(exc)}") from None


def _message(exc) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body)
    text = inner.get("message") if isinstance(inner, dict) else None
    return str(text or exc.message).splitlines()[0][:300]


class EndpointGenerator:
    """A generator with LocalGenerator's interface, answered by a served model."""

    def __init__(self, endpoint: Endpoint, model: str, tokenizer, template: str, context_length: int):
        self.endpoint = endpoint
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.context_length = context_length

    @property
    def name(self) -> str:
        return self.model

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        return len(encode(self.tokenizer, render(self.tokenizer, self.template, messages)))

    def request(self, messages: list[dict[str, str]], decoding: Decoding) -> dict:
        kwargs: dict = {"model": self.model, "messages": messages, "max_tokens": decoding.max_new_tokens,
                        "temperature": decoding.temperature}
        if decoding.temperature > 0:
            kwargs["top_p"] = decoding.top_p
        if decoding.repetition_penalty != 1.0 and "api.openai.com" not in self.endpoint.url:
            # vLLM and transformers apply it the same way (HF semantics); OpenAI has no such field
            kwargs["extra_body"] = {"repetition_penalty": decoding.repetition_penalty}
        return kwargs

    def generate(self, messages: list[dict[str, str]], decoding: Decoding,
                 on_text: Callable[[str], None] | None = None) -> str:
        chat = self.endpoint.client.chat.completions
        with self.endpoint.errors(self.model):
            if on_text is None:
                reply = chat.create(**self.request(messages, decoding))
                return (reply.choices[0].message.content or "").strip()
            parts: list[str] = []
            for chunk in chat.create(**self.request(messages, decoding), stream=True):
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    parts.append(delta)
                    on_text(delta)
            return "".join(parts).strip()

    def generate_batch(self, conversations: list[list[dict[str, str]]], decoding: Decoding,
                       batch_size: int = 8, on_done: Callable[[int], None] | None = None) -> list[str]:
        """Answers to many conversations, in order, with `batch_size` requests in flight (the
        server batches them)."""
        from concurrent.futures import ThreadPoolExecutor

        def one(messages: list[dict[str, str]]) -> str:
            text = self.generate(messages, decoding)
            if on_done:
                on_done(1)
            return text

        with ThreadPoolExecutor(max_workers=batch_size) as pool:
            return list(pool.map(one, conversations))
