"""The serving commands of the `memo` CLI: `memo serve` and `memo doctor`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from memo.errors import MemoError


def _plan_inputs(args: argparse.Namespace):
    """(settings, profile, base weights path, adapters, checks) shared by serve and doctor."""
    from memo.config import load_settings
    from memo.serving.adapter_checks import check_adapter, parse_adapter_specs
    from memo.serving.models import llm_path
    from memo.serving.profiles import get_profile
    from memo.serving.templates import TEMPLATES

    settings = load_settings(args.config, {"model.profile": args.profile, "model.llm": args.llm})
    profile = get_profile(settings.model.profile)
    base = llm_path(settings.model.llm, profile, settings.cache_dir)
    adapters = parse_adapter_specs(args.adapter)
    checks = [c for name, folder in adapters
              for c in check_adapter(name, folder, base, TEMPLATES[profile.template])]
    return settings, profile, base, adapters, checks


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check adapters the way `memo serve` does before launching vLLM, and print a table.

    For each --adapter NAME=DIR: a LoRA adapter, rank within vLLM's limit, no modules_to_save, no
    trained embeddings or lm_head, no added tokens, trained on this base model, and the same chat
    template as in training. Also finds the vLLM environment. Exit code 1 when anything fails.
    """
    from memo.serving.adapter_checks import Check
    from memo.serving.serve import find_vllm_python

    _, _, base, _, checks = _plan_inputs(args)
    try:
        checks.append(Check("-", "vLLM environment", True, find_vllm_python(args.vllm_python)))
    except MemoError as exc:
        checks.append(Check("-", "vLLM environment", False, str(exc)))
    if args.json:
        print(json.dumps({"base": base, "ok": all(c.ok for c in checks),
                          "checks": [c.as_dict() for c in checks]}, indent=2))
    else:
        from memo.terminal import print_checks

        print_checks(checks)
    return 0 if all(c.ok for c in checks) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the base model and LoRA adapters with vLLM's OpenAI-compatible server.

    Adapters are given as --adapter NAME=DIR (repeatable) and served under NAME; the base model is
    served under --served-model-name. Binds 127.0.0.1 unless --host says otherwise; with an API key
    (--api-key-env names the variable, MEMO_API_KEY by default) every request must carry it.
    vLLM runs from its own environment: scripts/install_vllm.sh, or MEMO_VLLM_PYTHON. Refuses
    adapters that vLLM would reject or answer differently with (see `memo doctor`), waits for the
    server to be healthy, logs to --log, and stops it cleanly on Ctrl-C.
    """
    from memo.serving.adapter_checks import adapter_rank
    from memo.serving.serve import (ServePlan, check_port_free, default_memory_fraction, find_vllm_python,
                                    last_error, launch, lora_rank_limit, stop, wait_healthy)
    from memo.serving.templates import TEMPLATES

    settings, profile, base, adapters, checks = _plan_inputs(args)
    failed = [c for c in checks if not c.ok]
    if failed:
        c = failed[0]
        raise MemoError(f"adapter {c.adapter}: {c.name} failed ({c.detail}); run `memo doctor` for all checks")
    template_file = settings.home / "serve" / f"{profile.template}.jinja"
    template_file.parent.mkdir(parents=True, exist_ok=True)
    template_file.write_text(TEMPLATES[profile.template], encoding="utf-8")
    plan = ServePlan(python=find_vllm_python(args.vllm_python), base=base, served_name=args.served_model_name,
                     template_file=template_file, adapters=adapters,
                     max_rank=lora_rank_limit([adapter_rank(folder) for _, folder in adapters]),
                     max_model_len=profile.context_length, host=args.host, port=args.port, dtype=args.dtype,
                     memory_fraction=args.memory_fraction or default_memory_fraction())
    check_port_free(plan.host, plan.port)
    log = Path(args.log) if args.log else settings.home / "serve" / "vllm.log"
    api_key = os.environ.get(args.api_key_env) or None
    if plan.host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        print(f"memo: warning: serving on {plan.host} without an API key (set {args.api_key_env})", file=sys.stderr)
    _stop_on_signals()
    process = launch(plan, log, api_key)
    try:
        wait_healthy(process, plan, log, args.startup_timeout)
        names = [plan.served_name, *(name for name, _ in adapters)]
        if args.json:
            print(json.dumps({"url": plan.url, "models": names, "log": str(log), "pid": process.pid}), flush=True)
        else:
            print(f"memo: serving {', '.join(names)} at {plan.url} (log: {log}); Ctrl-C stops it", flush=True)
        code = process.wait()
        raise MemoError(f"vLLM stopped with code {code}: {last_error(log)} (log: {log})")
    except KeyboardInterrupt:
        code = stop(process)
        print(f"memo: vLLM stopped (exit code {code})", file=sys.stderr)
        return 0
    finally:
        stop(process)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM (a service manager, `kill`) both stop vLLM cleanly, even where the shell
    started memo with SIGINT ignored (a background job)."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def add_serving_commands(add: Callable[[str, Callable], argparse.ArgumentParser]) -> None:
    for name, func in (("serve", cmd_serve), ("doctor", cmd_doctor)):
        sub = add(name, func)
        sub.add_argument("--adapter", action="append", default=[], metavar="NAME=DIR",
                         help="a LoRA adapter from `memo train` and its served name (repeatable)")
        sub.add_argument("--profile", help="model profile: smollm2-135m (default) or llama-2-7b-chat")
        sub.add_argument("--llm", metavar="PATH", help="base weights (folder or hub id) for the profile")
        sub.add_argument("--vllm-python", metavar="PATH", help="python of the vLLM environment "
                         "(default: $MEMO_VLLM_PYTHON, then .venv-vllm)")
        if func is cmd_serve:
            sub.add_argument("--served-model-name", default="memo-base", metavar="NAME",
                             help="the base model's name on the server")
            sub.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
            sub.add_argument("--port", type=int, default=8000)
            sub.add_argument("--api-key-env", default="MEMO_API_KEY", metavar="VAR",
                             help="environment variable holding the key clients must send")
            sub.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                             help="weights dtype (float32 on a CPU matches in-process answers exactly)")
            sub.add_argument("--memory-fraction", type=float, metavar="F", help="vLLM's --gpu-memory-utilization "
                             "(default: vLLM's on a GPU, 0.25 of RAM on a CPU)")
            sub.add_argument("--startup-timeout", type=float, default=300.0, metavar="S")
            sub.add_argument("--log", metavar="FILE", help="vLLM's log (default: $MEMO_HOME/serve/vllm.log)")
        group = sub.add_argument_group("common options")
        group.add_argument("--config", metavar="FILE", help="TOML settings file")
        group.add_argument("--json", action="store_true", help="print machine-readable JSON")
