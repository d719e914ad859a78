"""`memo doctor` and `memo serve` without vLLM: the adapter checks, the launch command, and the
process handling (health wait, report, clean stop on SIGTERM, a start that fails) against a
stand-in `vllm.entrypoints.openai.api_server` module that serves /health and /v1/models.
vLLM itself is exercised by hand (README) until the vLLM integration test lands in CI.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memo.llm.templates import TEMPLATES
from memo.serving.adapter_checks import check_adapter, parse_adapter_specs
from memo.serving.serve import ServePlan, lora_rank_limit
from tests.conftest import (
    env_for,
    free_port,
    make_tiny_llama,
    train_adapter,
    training_rows,
)

STAND_IN = '''
import json, os, sys, argparse
from http.server import BaseHTTPRequestHandler, HTTPServer
p = argparse.ArgumentParser()
p.add_argument("--port", type=int); p.add_argument("--host"); p.add_argument("--served-model-name")
p.add_argument("--lora-modules", nargs="*", default=[])
args, _ = p.parse_known_args()
if os.environ.get("STAND_IN_FAIL"):
    print("ValueError: Available memory on node 0 is less than desired", flush=True); sys.exit(1)
print("argv " + json.dumps(sys.argv[1:]), "key " + str(bool(os.environ.get("VLLM_API_KEY"))), flush=True)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"data": [{"id": args.served_model_name}]}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
try:
    HTTPServer((args.host, args.port), H).serve_forever()
except KeyboardInterrupt:
    print("stand-in: clean shutdown", flush=True)
'''


@pytest.fixture(scope="module")
def base_and_adapter(tmp_path_factory, smollm2_dir):
    root = tmp_path_factory.mktemp("serve")
    base = make_tiny_llama(root / "tiny", smollm2_dir, seed=0)
    adapter = train_adapter(root / "synth", root / "adapter", base, training_rows("hash"))
    return base, adapter


@pytest.fixture
def stand_in(tmp_path) -> Path:
    module = tmp_path / "stand-in" / "vllm" / "entrypoints" / "openai"
    module.mkdir(parents=True)
    for folder in (module.parent.parent, module.parent, module):
        (folder / "__init__.py").write_text("", encoding="utf-8")
    (module / "api_server.py").write_text(STAND_IN, encoding="utf-8")
    return tmp_path / "stand-in"


def memo(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "memo", *args], capture_output=True, text=True, env=env, timeout=120)


def spoiled(adapter: Path, tmp_path: Path, how: str) -> Path:
    copy = tmp_path / how
    shutil.copytree(adapter, copy)
    config_file = copy / "adapter_config.json"
    config = json.loads(config_file.read_text())
    if how == "rank":
        config["r"] = 128
    elif how == "modules_to_save":
        config["modules_to_save"] = ["lm_head"]
    elif how == "embeddings":
        config["target_modules"] = ["q_proj", "embed_tokens"]
    elif how == "added_tokens":
        (copy / "added_tokens.json").write_text('{"<new>": 49152}')
    elif how == "template":
        (copy / "chat_template.jinja").write_text("{{ messages }}")
    config_file.write_text(json.dumps(config))
    return copy


CHECK_OF = {"rank": "rank", "modules_to_save": "no modules_to_save", "embeddings": "no trained embeddings or lm_head",
            "added_tokens": "no added tokens", "template": "chat template as in training"}


@pytest.mark.parametrize("how", list(CHECK_OF))
def test_each_check_catches_what_vllm_would_reject_or_change(base_and_adapter, tmp_path, how):
    base, adapter = base_and_adapter
    assert all(c.ok for c in check_adapter("a", adapter, str(base), TEMPLATES["chatml"]))
    failed = [c.name for c in check_adapter("a", spoiled(adapter, tmp_path, how), str(base), TEMPLATES["chatml"])
              if not c.ok]
    assert failed == [CHECK_OF[how]]


def test_doctor_table_and_json_flag_another_base(base_and_adapter, tmp_path, smollm2_dir):
    base, adapter = base_and_adapter
    other = make_tiny_llama(tmp_path / "other", smollm2_dir, seed=1)
    done = memo(env_for(tmp_path, base), "doctor", "--adapter", f"ok={adapter}", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and {c["name"] for c in report["checks"]} >= set(CHECK_OF.values()) | {"vLLM environment"}
    done = memo(env_for(tmp_path, other), "doctor", "--adapter", f"ok={adapter}", "--adapter", f"no={tmp_path}")
    assert done.returncode == 1 and "FAIL" in done.stdout  # the table
    done = memo(env_for(tmp_path, other), "doctor", "--adapter", f"ok={adapter}", "--adapter", f"no={tmp_path}",
                "--json")
    failed = [(c["adapter"], c["name"]) for c in json.loads(done.stdout)["checks"] if not c["ok"]]
    assert done.returncode == 1 and failed == [("ok", "trained on this base model"), ("no", "is a LoRA adapter")]


def test_launch_command_and_specs():
    assert parse_adapter_specs(["interview=/a", "/b/tidewell"]) == [("interview", Path("/a")), ("tidewell", Path("/b/tidewell"))]
    for bad in (["x y=/a"], ["a=/1", "a=/2"], ["=/a"]):
        with pytest.raises(Exception, match="--adapter"):
            parse_adapter_specs(bad)
    assert [lora_rank_limit(r) for r in ([4], [16], [17, 8], [64])] == [8, 16, 32, 64]
    plan = ServePlan("py", "/m", "base", Path("/t.jinja"), [("i", Path("/a"))], 16, 2048, port=9000)
    argv = plan.argv()
    assert argv[:3] == ["py", "-m", "vllm.entrypoints.openai.api_server"] and plan.url == "http://127.0.0.1:9000/v1"
    joined = " ".join(argv)
    for part in ("--enable-lora", "--max-lora-rank 16", "--lora-modules i=/a", "--max-model-len 2048",
                 "--chat-template /t.jinja", "--served-model-name base", "--host 127.0.0.1"):
        assert part in joined


def test_serve_reports_waits_and_stops_cleanly_on_sigterm(base_and_adapter, tmp_path, stand_in):
    base, adapter = base_and_adapter
    port, log = free_port(), tmp_path / "vllm.log"
    env = env_for(tmp_path, base, stand_in, MEMO_API_KEY="sk-serve-test-secret")
    server = subprocess.Popen([sys.executable, "-m", "memo", "serve", "--adapter", f"interview={adapter}",
                               "--port", str(port), "--log", str(log), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        report = json.loads(server.stdout.readline())
        assert report["url"] == f"http://127.0.0.1:{port}/v1" and report["models"] == ["memo-base", "interview"]
        busy = memo(env, "serve", "--port", str(port))
        assert busy.returncode != 0 and f"port {port} on 127.0.0.1 is in use" in busy.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0 and "vLLM stopped" in err and "Traceback" not in err
    text = log.read_text()
    assert "stand-in: clean shutdown" in text and f"interview={adapter}" in text and "key True" in text
    assert "sk-serve-test-secret" not in text + out + err


@pytest.mark.parametrize("case, needle", [
    ("no-env", "no such python; create the vLLM environment with scripts/install_vllm.sh"),
    ("fails", "vLLM exited with code 1 while starting: ValueError: Available memory"),
    ("bad-adapter", "adapter bad: rank failed"),
])
def test_serve_errors_are_one_line(base_and_adapter, tmp_path, stand_in, case, needle):
    base, adapter = base_and_adapter
    env = env_for(tmp_path, base, stand_in, **({"STAND_IN_FAIL": "1"} if case == "fails" else {}))
    if case == "no-env":
        env["MEMO_VLLM_PYTHON"] = str(tmp_path / "missing" / "python")
    spec = f"bad={spoiled(adapter, tmp_path, 'rank')}" if case == "bad-adapter" else f"ok={adapter}"
    started = time.monotonic()
    done = memo(env, "serve", "--adapter", spec, "--port", str(free_port()), "--startup-timeout", "60")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert needle in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 60
