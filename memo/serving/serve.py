"""`memo serve`: vLLM's OpenAI-compatible server for the base model and its LoRA adapters.

vLLM runs in its own environment (scripts/install_vllm.sh) and memo only launches it, waits for
it to be healthy, streams its log to a file and stops it cleanly; everything else talks to it over
HTTP (memo.serving.endpoint).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from memo.errors import MemoError

REPO_ENV = Path(__file__).resolve().parents[2] / ".venv-vllm" / "bin" / "python"
QUIET_ENV = {"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}  # no telemetry, ever


@dataclass
class ServePlan:
    python: str
    base: str
    served_name: str
    template_file: Path
    adapters: list[tuple[str, Path]] = field(default_factory=list)
    max_rank: int = 16
    max_model_len: int = 2048
    host: str = "127.0.0.1"  # loopback unless asked: an unprotected server must not be exposed
    port: int = 8000
    dtype: str = "auto"
    memory_fraction: float | None = None  # vLLM's --gpu-memory-utilization (on a CPU: of RAM)
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def argv(self) -> list[str]:
        argv = [self.python, "-m", "vllm.entrypoints.openai.api_server", "--model", self.base,
                "--served-model-name", self.served_name, "--host", self.host, "--port", str(self.port),
                "--max-model-len", str(self.max_model_len), "--chat-template", str(self.template_file),
                "--dtype", self.dtype]
        if self.memory_fraction:
            argv += ["--gpu-memory-utilization", str(self.memory_fraction)]
        if self.adapters:
            argv += ["--enable-lora", "--max-lora-rank", str(self.max_rank), "--max-loras", str(len(self.adapters)),
                     "--lora-modules", *(f"{name}={folder}" for name, folder in self.adapters)]
        return argv + self.extra


def default_memory_fraction() -> float | None:
    """On a GPU vLLM's own default (0.9 of its memory). On a CPU the same flag reserves a share of
    RAM and vLLM refuses to start when that much is not free: a quarter leaves room for memo."""
    import shutil

    return None if shutil.which("nvidia-smi") else 0.25


def find_vllm_python(explicit: str | None) -> str:
    """--vllm-python, then MEMO_VLLM_PYTHON, then the repository's .venv-vllm."""
    for candidate, origin in ((explicit, "--vllm-python"), (os.environ.get("MEMO_VLLM_PYTHON"), "MEMO_VLLM_PYTHON")):
        if candidate:
            if not Path(candidate).is_file():
                raise MemoError(f"{origin} {candidate}: no such python; create the vLLM environment "
                                f"with scripts/install_vllm.sh")
            return candidate
    if REPO_ENV.is_file():
        return str(REPO_ENV)
    raise MemoError("no vLLM environment found: create one with scripts/install_vllm.sh (or point "
                    "MEMO_VLLM_PYTHON at a python that has vllm)")


def lora_rank_limit(ranks: list[int]) -> int:
    """vLLM's --max-lora-rank takes one of a few sizes: the smallest that holds every adapter."""
    wanted = max(ranks, default=0)
    return next(size for size in (8, 16, 32, 64) if size >= wanted)


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise MemoError(f"port {port} on {host} is in use: pick another with --port") from None


def wait_healthy(process: subprocess.Popen, plan: ServePlan, log: Path, timeout: float) -> None:
    """Poll /health until the server answers, it exits, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    health = f"http://{plan.host}:{plan.port}/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MemoError(f"vLLM exited with code {process.returncode} while starting: {last_error(log)} "
                            f"(full log: {log})")
        try:
            with urllib.request.urlopen(health, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1.0)
    stop(process)
    raise MemoError(f"vLLM was not healthy after {timeout:.0f} s (raise --startup-timeout; log: {log})")


def last_error(log: Path) -> str:
    """The root cause in vLLM's log: the first `XError: ...` line (later ones are its echoes)."""
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    causes = [m.group(0) for line in lines if not re.search(r"\b(INFO|WARNING|DEBUG)\b", line)
              and (m := re.search(r"\b\w+(Error|Exception): .*", line))]
    return (causes or lines or ["no output"])[0][:300]


def launch(plan: ServePlan, log: Path, api_key: str | None) -> subprocess.Popen:
    env = {**os.environ, **QUIET_ENV}
    env.pop("VLLM_API_KEY", None)
    if api_key:
        env["VLLM_API_KEY"] = api_key  # by environment, so it never shows in the process list
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as handle:
        return subprocess.Popen(plan.argv(), stdout=handle, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def stop(process: subprocess.Popen, grace: float = 20.0) -> int:
    """SIGINT (vLLM shuts its engine down), then SIGKILL after `grace` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode
