"""`memo serve`: vLLM's OpenAI-compatible server for the base model and its LoRA adapters.

vLLM runs in its own environment (scripts/install_vllm.sh) and memo only launches it, waits for
it to be healthy, streams its log to a file and stops it cleanly; everything else talks to it over
HTTP (memo.llm.endpoint).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from memo.core import notices
from memo.core.durable import write_atomic
from memo.core.errors import MemoError
from memo.core.limits import RANK_SIZES
from memo.llm.templates import TEMPLATES, template_text
from memo.serving.adapter_checks import adapter_rank, plan_adapters

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
    return next(size for size in RANK_SIZES if size >= wanted)


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


@dataclass
class ServeOptions:
    """What `memo serve` was asked for besides the settings (model profile and weights)."""

    adapters: list[str] = field(default_factory=list)  # NAME=DIR specs
    vllm_python: str | None = None
    served_model_name: str = "memo-base"
    host: str = "127.0.0.1"
    port: int = 8000
    api_key_env: str = "MEMO_API_KEY"  # the variable holding the key clients must send
    dtype: str = "auto"
    memory_fraction: float | None = None
    startup_timeout: float = 300.0
    log: Path | None = None  # default: $MEMO_HOME/serve/vllm.log


@dataclass
class Serving:
    """A healthy server: where it answers and what it serves."""

    url: str
    models: list[str]
    log: str
    pid: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def build_plan(settings, opts: ServeOptions) -> ServePlan:
    """The launch plan, after the adapter checks pass; writes the chat template file vLLM reads."""
    checked = plan_adapters(settings, opts.adapters)
    failed = [c for c in checked.checks if not c.ok]
    if failed:
        c = failed[0]
        raise MemoError(f"adapter {c.adapter}: {c.name} failed ({c.detail}); run `memo doctor` for all checks")
    text = template_text(checked.profile.template)
    key = checked.profile.template if checked.profile.template in TEMPLATES else \
        "model-" + hashlib.sha256(text.encode()).hexdigest()[:12]  # a derived profile's own template
    template_file = settings.home / "serve" / f"{key}.jinja"
    template_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(template_file, text)
    return ServePlan(python=find_vllm_python(opts.vllm_python), base=checked.base,
                     served_name=opts.served_model_name, template_file=template_file, adapters=checked.adapters,
                     max_rank=lora_rank_limit([adapter_rank(folder) for _, folder in checked.adapters]),
                     max_model_len=checked.profile.context_length, host=opts.host, port=opts.port,
                     dtype=opts.dtype, memory_fraction=opts.memory_fraction or default_memory_fraction())


def serve(settings, opts: ServeOptions, on_ready: Callable[[Serving], None]) -> int:
    """`memo serve`: launch vLLM, call `on_ready` once it is healthy, and serve until Ctrl-C or
    SIGTERM, which stop it cleanly (returns vLLM's exit code). vLLM exiting by itself is an error."""
    plan = build_plan(settings, opts)
    check_port_free(plan.host, plan.port)
    log = opts.log or settings.home / "serve" / "vllm.log"
    api_key = os.environ.get(opts.api_key_env) or None
    if plan.host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        notices.warn(f"serving on {plan.host} without an API key (set {opts.api_key_env})")
    stop_on_signals()
    process = launch(plan, log, api_key)
    try:
        wait_healthy(process, plan, log, opts.startup_timeout)
        on_ready(Serving(plan.url, [plan.served_name, *(name for name, _ in plan.adapters)], str(log), process.pid))
        code = process.wait()
        raise MemoError(f"vLLM stopped with code {code}: {last_error(log)} (log: {log})")
    except KeyboardInterrupt:
        return stop(process)
    finally:
        stop(process)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (a service manager, `kill`) both stop vLLM cleanly, even where the shell
    started memo with SIGINT ignored (a background job)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
