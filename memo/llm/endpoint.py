"""The one OpenAI-compatible client (vLLM, OpenAI, `transformers serve`): API key lookup, a
reachability check, retries with backoff, and every client error mapped to one line naming the
server and what to do. `memo ask`, `memo synth` and the bench's judge all talk through it.

`EndpointGenerator` answers with LocalGenerator's interface: the same messages (memo.llm.prompt)
and decoding settings (memo.llm.generator.Decoding) as the in-process model; the prompt is counted
for packing with the profile's own tokenizer and template, which is what a server started by
`memo serve` renders. The model name is chosen per request: the base model for `base`/`rag`, the
adapter's served name for `ft`/`hybrid`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from memo.core.config import check_url
from memo.core.errors import MemoError, describe, require
from memo.core.redaction import redact
from memo.llm.generator import Decoding
from memo.llm.prompt import encode, render

API_KEY_VARIABLES = ("MEMO_API_KEY", "OPENAI_API_KEY")  # read in this order, never logged or written
RETRIES = 3  # connection errors, timeouts, 408/409/429 and 5xx are retried, within the one deadline


def api_key(variables: tuple[str, ...] = API_KEY_VARIABLES) -> str:
    """The first of `variables` that is set (local servers without a key accept "EMPTY")."""
    return next((os.environ[v] for v in variables if os.environ.get(v)), "EMPTY")


class EndpointError(MemoError):
    """A request failed; `kind` says how: timeout, unreachable, auth, not_found, status or
    bad_reply (an answer that is not an OpenAI-compatible response). The
    transient ones (timeouts, connection errors, 408/409/429 and 5xx after the client's retries)
    may succeed later; a refused key or an unknown model will not."""

    def __init__(self, message: str, kind: str, status: int = 0):
        super().__init__(message)
        self.kind = kind
        self.transient = kind in ("timeout", "unreachable") or status in (408, 409, 429) or status >= 500


class Endpoint:
    """One OpenAI-compatible server: its client and the models it serves."""

    def __init__(self, url: str, timeout: float = 120.0, key_variables: tuple[str, ...] = API_KEY_VARIABLES,
                 label: str | None = None, retries: int = RETRIES):
        """`timeout`: the deadline of one request in seconds, its retries included;
        `key_variables`: where the API key is read from; `label`: how errors name the server."""
        self.openai = require("openai", "pip install openai")
        self.url = check_url(url, "the endpoint URL").rstrip("/")
        self.label = label or self.url
        self.timeout = timeout
        self.retries = retries
        self.key_variables = key_variables
        self.client = self.openai.OpenAI(base_url=self.url, api_key=api_key(key_variables), timeout=timeout,
                                         max_retries=0)
        self._models: list | None = None

    def models(self) -> list:
        """`/v1/models` entries (vLLM marks LoRA adapters with a `parent`)."""
        if self._models is None:
            self._models = self._request(None, lambda client: _model_list(client.models.list()))
        return self._models

    def check(self) -> None:
        """Fail fast when the server is unreachable or refuses the key (one quick try); a server
        without a /models route passes, and its first chat call tells the rest."""
        try:
            self._models = self._request(None, lambda client: _model_list(client.models.list()), deadline=15, tries=1)
        except EndpointError as exc:
            if exc.kind in ("timeout", "unreachable", "auth", "bad_reply"):
                raise

    def _request(self, model: str | None, send: Callable, deadline: float | None = None, tries: int | None = None):
        """`send(client)` with transient failures retried (backoff 1, 2, 4 s) until one deadline
        (`self.timeout` unless given) runs out: a hanging server costs the deadline, not tries x it."""
        started = time.monotonic()
        limit = started + (self.timeout if deadline is None else deadline)
        tries = self.retries + 1 if tries is None else tries
        attempt = 1
        while True:
            client = self.client.with_options(timeout=max(limit - time.monotonic(), 0.1), max_retries=0)
            try:
                with self.errors(model, started, attempt):
                    return send(client)
            except EndpointError as exc:
                backoff = 2.0 ** (attempt - 1)
                if not exc.transient or attempt >= tries or time.monotonic() + backoff >= limit:
                    raise
                time.sleep(backoff)
                attempt += 1

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

    def chat(self, model: str, messages: list[dict[str, str]], max_tokens: int, temperature: float,
             on_text: Callable[[str], None] | None = None, **extra) -> str:
        """One chat completion's text (streamed through `on_text` when given)."""
        request = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                   **extra}
        if on_text is None:
            return self._request(model, lambda client: _content(client.chat.completions.create(**request)))
        parts: list[str] = []

        def stream(client) -> str:
            if parts:  # a retry after text was shown would show it twice
                raise EndpointError(f"{self.label} broke off its answer midway; ask again", "status")
            chose = False
            for chunk in client.chat.completions.create(**request, stream=True):
                choices = chunk.choices
                chose = chose or bool(choices)
                delta = choices[0].delta.content if choices else None
                if delta:
                    parts.append(delta)
                    on_text(delta)
            if not chose:
                raise ValueError("the stream held no choices")
            return "".join(parts)

        return self._request(model, stream)

    def async_client(self, max_retries: int = 1):
        """An asyncio client for the same server and key (Ragas' judge metrics need one)."""
        return self.openai.AsyncOpenAI(base_url=self.url, api_key=api_key(self.key_variables),
                                       timeout=self.timeout, max_retries=max_retries)

    @contextmanager
    def errors(self, model: str | None, started: float | None = None, attempt: int = 1) -> Iterator[None]:
        """The client's exceptions as one-line EndpointErrors naming the URL and what to do."""
        openai = self.openai
        started = time.monotonic() if started is None else started
        try:
            yield
        except openai.APITimeoutError:
            tries = f" over {attempt} tries" if attempt > 1 else ""
            raise EndpointError(f"{self.label} did not answer within {time.monotonic() - started:.0f} s{tries} "
                                f"(raise --timeout, or check the server's load)", "timeout") from None
        except openai.APIConnectionError:
            raise EndpointError(f"cannot reach {self.label}: is the server running and the URL right "
                                f"(start one with `memo serve`)?", "unreachable") from None
        except openai.AuthenticationError:
            first, *others = self.key_variables
            raise EndpointError(f"{self.label} rejected the API key: set {first}"
                                + (f" (or {', '.join(others)})" if others else "") + " to the server's key", "auth") from None
        except openai.NotFoundError:
            raise EndpointError(f"{self.url} has no model {model!r} (it serves: {self._served() or 'nothing'})"
                                if model else f"{self.url} has no /models route: is it an OpenAI-"
                                f"compatible base URL (usually ending in /v1)?", "not_found") from None
        except openai.APIStatusError as exc:
            raise EndpointError(f"{self.url} answered HTTP {exc.status_code}: {_message(exc)}", "status",
                                exc.status_code) from None
        except (openai.APIResponseValidationError, ValueError, TypeError, AttributeError, KeyError,
                IndexError) as exc:  # an HTML page, invalid JSON, a body of the wrong shape
            raise EndpointError(f"{self.label} answered with something that is not an OpenAI-compatible "
                                f"response ({describe(exc)}); check that the URL is the API's base "
                                f"(usually ending in /v1)", "bad_reply") from None

    def _served(self) -> str:
        try:
            return ", ".join(m.id for m in self.models())
        except MemoError:
            return ""


def _message(exc) -> str:
    """The server's error message, first line, secrets removed (a gateway may echo the request)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body)
    text = inner.get("message") if isinstance(inner, dict) else None
    lines = str(text or exc.message).splitlines()
    return redact(lines[0][:300] if lines else "")


def _model_list(page) -> list:
    """The entries of a `/v1/models` reply, each with a string id (else a ValueError)."""
    models = list(page)
    if not all(isinstance(getattr(m, "id", None), str) for m in models):
        raise ValueError("a /v1/models entry has no string id")
    return models


def _content(reply) -> str:
    """The text of a chat completion (a ValueError when the reply holds no choice)."""
    choices = getattr(reply, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise ValueError("the reply holds no choices")
    return choices[0].message.content or ""


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

    def sampling(self, decoding: Decoding) -> dict:
        """The request fields besides the messages that carry `decoding`."""
        extra: dict = {}
        if decoding.temperature > 0:
            extra["top_p"] = decoding.top_p
        if decoding.repetition_penalty != 1.0 and "api.openai.com" not in self.endpoint.url:
            # vLLM and transformers apply it the same way (HF semantics); OpenAI has no such field
            extra["extra_body"] = {"repetition_penalty": decoding.repetition_penalty}
        return extra

    def generate(self, messages: list[dict[str, str]], decoding: Decoding,
                 on_text: Callable[[str], None] | None = None) -> str:
        return self.endpoint.chat(self.model, messages, decoding.max_new_tokens, decoding.temperature,
                                  on_text, **self.sampling(decoding)).strip()

    def generate_batch(self, conversations: list[list[dict[str, str]]], decoding: Decoding,
                       batch_size: int = 8, on_done: Callable[[int], None] | None = None) -> list[str]:
        """Answers to many conversations, in order, with `batch_size` requests in flight (the
        server batches them)."""

        def one(messages: list[dict[str, str]]) -> str:
            text = self.generate(messages, decoding)
            if on_done:
                on_done(1)
            return text

        with ThreadPoolExecutor(max_workers=batch_size) as pool:
            return list(pool.map(one, conversations))
