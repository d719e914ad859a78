"""The real vLLM (the CPU build, in its own environment): `memo serve` with SmolLM2 and a LoRA adapter
trained here, then `memo ask --endpoint` in all four modes. `.ci/run` creates the environment (cached
between runs) and sets MEMO_VLLM_PYTHON; elsewhere the test needs scripts/install_vllm.sh first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from memo.core.demo import DEMO_COMPANY
from memo.serving.serve import REPO_ENV
from tests.conftest import env_for, free_port, train_adapter, training_rows

VLLM_PYTHON = os.environ.get("MEMO_VLLM_PYTHON") or (str(REPO_ENV) if REPO_ENV.is_file() else None)
pytestmark = pytest.mark.skipif(VLLM_PYTHON is None, reason="no vLLM environment (scripts/install_vllm.sh)")
QUESTION = "How many days of paid leave does Tidewell offer?"


@pytest.fixture(scope="module")
def smol_adapter(tmp_path_factory, smollm2_dir):
    """A rank-8 adapter on the real SmolLM2, trained hard enough on one answer to change its output."""
    root = tmp_path_factory.mktemp("vllm")
    return train_adapter(root / "synth", root / "adapter", smollm2_dir, training_rows("hash") * 4,
                         max_steps=6, learning_rate=2e-3, lora_r=8, lora_alpha=16)


def test_memo_serve_runs_vllm_with_the_adapter_and_ask_uses_it(demo_home, smollm2_dir, smol_adapter, tmp_path):  # noqa: F811
    env = env_for(tmp_path, smollm2_dir, MEMO_VLLM_PYTHON=VLLM_PYTHON, MEMO_HOME=str(demo_home),
                  MEMO_GENERATION_MAX_NEW_TOKENS="24")
    port, log = free_port(), tmp_path / "vllm.log"
    server = subprocess.Popen([sys.executable, "-m", "memo", "serve", "--adapter", f"interview={smol_adapter}",
                               "--port", str(port), "--log", str(log), "--dtype", "float32", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        assert line, f"memo serve ended: {server.stderr.read()} / {log.read_text()[-2000:]}"
        url = json.loads(line)["url"]
        with urllib.request.urlopen(f"{url}/models", timeout=10) as reply:
            served = {m["id"]: m.get("parent") for m in json.load(reply)["data"]}
        assert served == {"memo-base": None, "interview": "memo-base"}
        answers, replies = {}, {}
        for mode in ("base", "rag", "ft", "hybrid"):
            done = subprocess.run([sys.executable, "-m", "memo", "ask", QUESTION, "--company", DEMO_COMPANY,
                                   "--mode", mode, "--endpoint", url, "--json"],
                                  capture_output=True, text=True, env=env, timeout=300)
            assert done.returncode == 0, done.stderr
            answer = json.loads(done.stdout)
            assert answer["model"] == ("interview" if mode in ("ft", "hybrid") else "memo-base")
            answers[mode], replies[mode] = answer["reasoning"] + answer["answer"], answer
            assert answers[mode].strip()
        assert answers["ft"] != answers["base"]  # the adapter changes what the model writes
        # rag and hybrid say the same selected sentences; the served model (base or adapter) was asked to
        # phrase them, and its draft was either kept or refused by the check, never silently skipped
        assert replies["hybrid"]["evidence"] == replies["rag"]["evidence"] != []
        assert all(replies[m]["composer"] == "model" or replies[m]["composer"].startswith("rules (model refused")
                   for m in ("rag", "hybrid")), {m: replies[m]["composer"] for m in ("rag", "hybrid")}
        local = subprocess.run([sys.executable, "-m", "memo", "ask", QUESTION, "--company", DEMO_COMPANY,
                                "--mode", "rag", "--json"], capture_output=True, text=True,
                               env={**env, "MEMO_VLLM_PYTHON": "", "MEMO_GENERATION_LOOP_NGRAM": "0",
                                    "MEMO_GENERATION_STOP_AFTER_ANSWER": "false"}, timeout=300)
        # fp32 greedy: the same text (memo's loop guard is in-process only, so off here)
        assert json.loads(local.stdout)["answer"] == answers["rag"]
        bench = subprocess.run([sys.executable, "-m", "memo", "bench", "--demo", "--limit", "2", "--endpoint", url,
                                "--out", str(tmp_path / "bench"), "--json"],
                               capture_output=True, text=True, env=env, timeout=600)
        assert bench.returncode == 0, bench.stderr
        summary = json.loads(bench.stdout)  # the four model arms through vLLM (8 concurrent requests), and extractive
        assert summary["arms"] == ["base", "extractive", "rag", "ft", "hybrid"] and "rouge_l" in summary["table"]["hybrid"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=90)
    assert server.returncode == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
