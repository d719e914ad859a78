"""`memo ask --endpoint`: answering through an OpenAI-compatible server.

The server here is real and local: an HTTP server speaking the OpenAI chat API (JSON and
server-sent-event streaming, /v1/models with a LoRA entry marked by `parent`, bearer keys) whose
answers come from memo's own in-process SmolLM2 with the decoding settings each request carries.
So the greedy answer through the endpoint equals the in-process answer only if the client sends
the same messages and the same decoding settings. vLLM itself is exercised by the serving tests.
"""

from __future__ import annotations

import json

import pytest

from memo.core.demo import DEMO_COMPANY
from tests.conftest import ADAPTER, BASE, KEY, free_port

QUESTION = "How many days of paid leave does Tidewell offer?"


def ask(run_memo, *args: str, key: str | None = KEY):
    env = {"MEMO_API_KEY": key} if key else {}
    return run_memo("ask", QUESTION, "--company", DEMO_COMPANY, *args, env=env)


def test_endpoint_answer_equals_the_in_process_answer(demo, run_memo, server):  # noqa: F811
    url, state = server
    # an endpoint runs its own decoding: memo's loop guard is in-process only, off here
    # for the comparison (the prompt and the sent settings are what must match)
    local = run_memo("ask", QUESTION, "--company", DEMO_COMPANY, "--mode", "rag", "--json",
                     env={"MEMO_GENERATION_LOOP_NGRAM": "0", "MEMO_GENERATION_STOP_AFTER_ANSWER": "false"})
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
    assert state["requests"][-1]["messages"][1]["content"].startswith("Notes:\n- ")  # the evidence, to the adapter


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
