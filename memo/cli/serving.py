"""The serving commands of the CLI: `memo serve`, `memo doctor` and `memo daemon`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from memo.cli.common import Adder, add_common, add_model, print_json, settings_from


def cmd_doctor(args: argparse.Namespace) -> int:
    """Show the model's profile and check adapters the way `memo serve` does before launching vLLM.

    The profile is the named one (--profile), or with --llm alone derived from the model's files:
    chat template, context length, special and end-of-turn tokens, GPU dtype, LoRA targets and
    whether its template allows loss on the answer only.

    For each --adapter NAME=DIR: a LoRA adapter, rank within vLLM's limit, no modules_to_save, no
    trained embeddings or lm_head, no added tokens, trained on this base model, and the same chat
    template as in training. Also finds the vLLM environment. Exit code 1 when anything fails.
    """
    from memo.cli.render import print_checks, print_profile
    from memo.serving.doctor import doctor

    report = doctor(settings_from(args, **{"model.profile": args.profile, "model.llm": args.llm}),
                    args.adapter, args.vllm_python)
    if args.json:
        print_json(report.as_dict())
    else:
        print_profile(report.profile)
        print_checks(report.checks)
    return 0 if report.ok else 1


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the base model and LoRA adapters with vLLM's OpenAI-compatible server.

    Adapters are given as --adapter NAME=DIR (repeatable) and served under NAME; the base model is
    served under --served-model-name. Binds 127.0.0.1 unless --host says otherwise; with an API key
    (--api-key-env names the variable, MEMO_API_KEY by default) every request must carry it.
    vLLM runs from its own environment: scripts/install_vllm.sh, or MEMO_VLLM_PYTHON. Refuses
    adapters that vLLM would reject or answer differently with (see `memo doctor`), waits for the
    server to be healthy, logs to --log, and stops it cleanly on Ctrl-C.
    """
    from memo.serving.serve import ServeOptions, serve

    opts = ServeOptions(adapters=args.adapter, vllm_python=args.vllm_python, served_model_name=args.served_model_name,
                        host=args.host, port=args.port, api_key_env=args.api_key_env, dtype=args.dtype,
                        memory_fraction=args.memory_fraction, startup_timeout=args.startup_timeout,
                        log=Path(args.log) if args.log else None)

    def ready(serving) -> None:
        if args.json:
            print(json.dumps(serving.as_dict()), flush=True)
        else:
            print(f"memo: serving {', '.join(serving.models)} at {serving.url} (log: {serving.log}); "
                  f"Ctrl-C stops it", flush=True)

    code = serve(settings_from(args, **{"model.profile": args.profile, "model.llm": args.llm}), opts, ready)
    print(f"memo: vLLM stopped (exit code {code})", file=sys.stderr)
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    """Show or stop the warm memo process that answers `memo ask` and `memo search`.

    The first `ask` or `search` starts it; it keeps this MEMO_HOME's index and models loaded, so
    later commands skip loading them, and exits after `daemon.idle_timeout` seconds (900) without
    a request. It listens only for this user (a Unix socket in a private folder). `--no-daemon`
    on a command, or `daemon.enabled = false`, answers in-process instead.
    """
    from memo.serving.daemon_client import log_path, status, stop

    settings = settings_from(args)
    if args.action == "stop":
        stopped = stop(settings)
        if args.json:
            print_json({"stopped": stopped})
        else:
            print("memo: the warm process stopped" if stopped else "memo: no warm process was running")
        return 0
    info = status(settings)
    if args.json:
        print_json({"running": info is not None, **(info or {})})
    elif info is None:
        print("memo: no warm process is running (the next `memo ask` or `memo search` starts one)")
    else:
        print(f"memo: warm process {info['pid']}, up {info['uptime_s']:.0f} s, {info['requests']} requests; "
              f"indexes: {', '.join(info['indexes']) or 'none'}; models: {', '.join(info['models']) or 'none'}; "
              f"exits after {info['idle_timeout_s']:.0f} s idle; log: {log_path(settings.home)}")
    return 0


def add_serving_commands(add: Adder) -> None:
    daemon = add("daemon", cmd_daemon)
    daemon.add_argument("action", nargs="?", default="status", choices=["status", "stop"])
    add_common(daemon, chroma=False, index=False)
    for name, func in (("serve", cmd_serve), ("doctor", cmd_doctor)):
        sub = add(name, func)
        sub.add_argument("--adapter", action="append", default=[], metavar="NAME=DIR",
                         help="a LoRA adapter from `memo train` and its served name (repeatable)")
        add_model(sub, "the base model")
        sub.add_argument("--vllm-python", metavar="PATH", help="python of the vLLM environment "
                         "(default: $MEMO_VLLM_PYTHON, then .venv-vllm)")
        if func is cmd_serve:
            _add_serve_options(sub)
        add_common(sub, chroma=False, index=False)


def _add_serve_options(sub: argparse.ArgumentParser) -> None:
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
