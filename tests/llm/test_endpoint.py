"""memo.llm.endpoint against local servers that misbehave in each way a real one can: every
failure is one line naming the server and what to do, with a non-zero exit code, no traceback,
no key on the terminal, and one deadline for a request whatever the retries."""

from __future__ import annotations

import json
import threading
import time
import typing
from http.server import ThreadingHTTPServer

import pytest

from memo.core.demo import DEMO_COMPANY
from memo.core.errors import MemoError
from memo.llm.endpoint import Endpoint, EndpointError
from tests.conftest import KEY, QUESTION, JsonHandler


class Misbehaving(JsonHandler):
    """/v1/models and /v1/chat/completions, answering as `mode` says."""

    mode: typing.ClassVar[str] = "ok"
    chats: typing.ClassVar[list] = []

    def do_GET(self):
        if self.mode == "models":
            return self._send(200, {"object": "list", "data": [{"name": "no id here"}]})
        self._send(200, {"object": "list", "data": [{"id": "smol", "object": "model", "created": 0,
                                                     "owned_by": "t"}]})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.chats.append(time.monotonic())
        if self.mode == "hang":
            time.sleep(8)
            return self._send(200, {})
        if self.mode == "json":
            return self._raw(200, "application/json", b'{"id": "c", "choices": [')
        if self.mode == "html":
            return self._raw(200, "text/html", b"<html><body>Sign in to continue</body></html>")
        if self.mode == "echo":  # a gateway that echoes the request headers in its error
            return self._send(400, {"error": {"message": f"bad request (Authorization: {self.headers['Authorization']})"}})
        if self.mode == "busy":
            return self._send(503, {"error": {"message": "overloaded"}})
        if request.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            empty = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "smol", "choices": []}
            self.wfile.write(f"data: {json.dumps(empty)}\n\ndata: [DONE]\n\n".encode())
            return None
        return self._send(200, {"id": "c", "object": "chat.completion", "created": 0, "model": "smol",
                                "choices": []})

    def _raw(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def bad_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def one_line_failure(done, *needles: str) -> str:
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memo: error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert KEY not in done.stderr + done.stdout
    return lines[0]


@pytest.mark.parametrize("mode, flags, needle", [
    ("json", ["--json"], "not an OpenAI-compatible response"),
    ("html", ["--json"], "not an OpenAI-compatible response"),
    ("models", [], "not an OpenAI-compatible response"),
    ("empty", ["--json"], "holds no choices"),
    ("empty", [], "held no choices"),  # streamed
    ("echo", [], "answered HTTP 400"),
])
def test_a_misbehaving_endpoint_is_one_line(demo, run_memo, bad_server, mode, flags, needle):  # noqa: F811
    Misbehaving.mode = mode
    done = run_memo("ask", QUESTION, "--company", DEMO_COMPANY, "--mode", "rag", "--endpoint", bad_server,
                    *flags, env={"MEMO_API_KEY": KEY})
    line = one_line_failure(done, needle, bad_server.split("/v1")[0])
    if mode == "echo":
        assert "[redacted]" in line


def test_a_hanging_endpoint_costs_one_deadline_and_says_how_long(bad_server, monkeypatch):
    Misbehaving.mode = "hang"
    Misbehaving.chats.clear()
    endpoint = Endpoint(bad_server, timeout=2.0, retries=3)
    started = time.monotonic()
    with pytest.raises(EndpointError, match=r"did not answer within [23] s \(raise --timeout") as caught:
        endpoint.chat("smol", [{"role": "user", "content": "hi"}], 8, 0.0)
    assert time.monotonic() - started < 4.5  # 4 tries of 2 s would be 8 s or more
    assert caught.value.kind == "timeout"


def test_transient_errors_are_retried_within_the_deadline(bad_server):
    Misbehaving.mode = "busy"
    Misbehaving.chats.clear()
    endpoint = Endpoint(bad_server, timeout=30.0, retries=2)
    with pytest.raises(EndpointError, match="answered HTTP 503: overloaded"):
        endpoint.chat("smol", [{"role": "user", "content": "hi"}], 8, 0.0)
    assert len(Misbehaving.chats) == 3  # the first try and two retries
    gaps = [b - a for a, b in zip(Misbehaving.chats, Misbehaving.chats[1:])]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9  # backoff 1 s, then 2 s


@pytest.mark.parametrize("url", ["http://[::1", "localhost:8000/v1", "ftp://host/v1", "http://host:99999/v1"])
def test_malformed_urls_are_refused_before_any_request(url):
    with pytest.raises(MemoError, match="the endpoint URL") as caught:
        Endpoint(url)
    assert url in str(caught.value)


def test_a_malformed_url_on_the_command_line_is_one_line(memo_env, run_memo):
    done = run_memo("ask", QUESTION, "--company", DEMO_COMPANY, "--endpoint", "http://[::1")
    one_line_failure(done, "is not a valid URL")
