"""`memo ask --endpoint`: answering through an OpenAI-compatible server.

The server here is real and local: an HTTP server speaking the OpenAI chat API (JSON and
server-sent-event streaming, /v1/models with a LoRA entry marked by `parent`, bearer keys) whose
answers come from memo's own in-process SmolLM2 with the decoding settings each request carries.
So the greedy answer through the endpoint equals the in-process answer only if the client sends
the same messages and the same decoding settings. vLLM itself is exercised by the serving tests.
"""

from __future__ import annotations

import json
import socket
import threading
import typing
from http.server import ThreadingHTTPServer

import pytest

from tests.conftest import JsonHandler
from tests.test_synth import DEMO_COMPANY, demo, demo_home  # noqa: F401  (fixtures)

KEY = "sk-memo-endpoint-test-0123456789"
BASE, ADAPTER = "smol", "interview"
QUESTION = "How many days of paid leave does Tidewell offer?"


class ChatServer(JsonHandler):
    state: typing.ClassVar[dict] = {}

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self._send(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return False
        return True

    def do_GET(self):
        if not self._authorized():
            return
        models = [{"id": BASE, "object": "model", "created": 0, "owned_by": "memo", "parent": None},
                  {"id": ADAPTER, "object": "model", "created": 0, "owned_by": "memo", "parent": BASE}]
        self._send(200, {"object": "list", "data": models})

    def do_POST(self):
        if not self._authorized():
            return
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if request["model"] not in (BASE, ADAPTER):
            return self._send(404, {"error": {"message": f"The model `{request['model']}` does not exist."}})
        self.state["requests"].append(request)
        from memo.serving.generator import Decoding

        decoding = Decoding(request["max_tokens"], request["temperature"], request.get("top_p", 1.0),
                            request.get("repetition_penalty", 1.0))
        with self.state["lock"]:
            text = self.state["generator"].generate(request["messages"], decoding)
        if not request.get("stream"):
            return self._send(200, {"id": "c", "object": "chat.completion", "created": 0, "model": request["model"],
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": text}}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in [text[i:i + 7] for i in range(0, len(text), 7)]:
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": request["model"],
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def server(demo_home, smollm2_dir):  # noqa: F811
    from memo.serving.generator import LocalGenerator
    from memo.serving.models import load_llm
    from memo.serving.profiles import get_profile

    profile = get_profile("smollm2-135m")
    llm = load_llm(str(smollm2_dir), profile, "cpu", 0)
    ChatServer.state = {"requests": [], "lock": threading.Lock(),
                        "generator": LocalGenerator(llm, profile.template, profile.context_length)}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ChatServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", ChatServer.state
    httpd.shutdown()
    httpd.server_close()


def ask(run_memo, *args: str, key: str | None = KEY):
    env = {"MEMO_API_KEY": key} if key else {}
    return run_memo("ask", QUESTION, "--company", DEMO_COMPANY, *args, env=env)


def test_endpoint_answer_equals_the_in_process_answer(demo, run_memo, server):  # noqa: F811
    url, state = server
    local = ask(run_memo, "--json", key=None)
    remote = ask(run_memo, "--endpoint", url, "--json")
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert b["model"] == BASE and b["mode"] == "rag"
    assert b["answer"] == a["answer"] and b["contexts"] == a["contexts"]  # same prompt, same greedy text
    request = state["requests"][-1]
    assert request["model"] == BASE and request["temperature"] == 0.0 and request["max_tokens"] == 320
    assert request["repetition_penalty"] == 1.1 and "top_p" not in request
    assert KEY not in remote.stdout + remote.stderr


def test_endpoint_streams_and_picks_the_served_adapter_per_mode(demo, run_memo, server):  # noqa: F811
    url, state = server
    streamed = ask(run_memo, "--endpoint", url, "--mode", "base")
    assert streamed.returncode == 0 and streamed.stdout.strip()
    assert state["requests"][-1]["stream"] is True and state["requests"][-1]["model"] == BASE
    hybrid = ask(run_memo, "--endpoint", url, "--mode", "hybrid", "--json")
    assert hybrid.returncode == 0, hybrid.stderr
    assert json.loads(hybrid.stdout)["model"] == ADAPTER == state["requests"][-1]["model"]
    assert "Document [1]" in state["requests"][-1]["messages"][1]["content"]  # retrieval + adapter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("case, needle", [
    ("down", "cannot reach http://127.0.0.1:"),
    ("key", "rejected the API key: set MEMO_API_KEY"),
    ("model", "does not serve 'gpt-9' (it serves: smol, interview)"),
    ("local-model", "--model names a model served at --endpoint"),
])
def test_endpoint_errors_are_one_line(demo, run_memo, server, case, needle):  # noqa: F811
    url, _ = server
    args = {"down": ("--endpoint", f"http://127.0.0.1:{free_port()}/v1"),
            "key": ("--endpoint", url), "model": ("--endpoint", url, "--model", "gpt-9"),
            "local-model": ("--model", "gpt-9")}[case]
    done = ask(run_memo, *args, key="wrong" if case == "key" else KEY)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert needle in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert KEY not in done.stderr and "wrong" not in done.stderr
