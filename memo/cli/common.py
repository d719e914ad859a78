"""What every command of the CLI shares: the settings from flags, JSON output, the common options.

Only the standard library and memo.core are imported here, so `memo --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from memo.core.config import Settings, load_settings

Adder = Callable[[str, Callable[[argparse.Namespace], int]], argparse.ArgumentParser]


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    """The settings for this command: defaults < --config file < MEMO_* < these flag values."""
    if getattr(args, "index", None) is not None:
        overrides["index.name"] = args.index
    if getattr(args, "reranker", None):
        overrides["retrieval.reranker"] = args.reranker
    return load_settings(args.config, overrides)


def print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


def show_progress(args: argparse.Namespace) -> bool:
    """Progress on stderr (a bar on a terminal, plain lines otherwise), never under --json."""
    return not args.json


def add_common(parser: argparse.ArgumentParser, chroma: bool = True, index: bool = True) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument("--config", metavar="FILE", help="TOML settings file (default: ./memo.toml, "
                                                         "then $MEMO_HOME/config.toml)")
    group.add_argument("--index", metavar="NAME", help="which index under $MEMO_HOME (default: default)"
                       if index else argparse.SUPPRESS)
    if chroma:
        group.add_argument("--chroma-url", metavar="URL", help="a `chroma run` server instead of on-disk")
    group.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_scope(parser: argparse.ArgumentParser, company_required: bool = True) -> None:
    parser.add_argument("--company", required=company_required, help="company name, as indexed")
    parser.add_argument("--role", help="role name, as indexed (adds that role's documents)")


def add_reranker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reranker", metavar="DIR", help="a `memo train-reranker` folder: rerank the "
                        "fused candidates (default: retrieval.reranker, none)")


PROFILE_HELP = ("model profile: auto (the default: smollm2-135m, or derived from --llm's own files), "
                "smollm2-135m, llama-2-7b-chat, llama-3-instruct, mistral-instruct, qwen2.5-instruct")
LLM_HELP = ("any chat model: a Hugging Face folder or cached hub id with a chat template, or a .gguf "
            "file; without --profile its profile is derived from its files (`memo doctor --llm X`)")


def add_model(parser: argparse.ArgumentParser, what: str = "") -> None:
    parser.add_argument("--profile", help=PROFILE_HELP)
    parser.add_argument("--llm", metavar="PATH", help=f"{what}{': ' if what else ''}{LLM_HELP}")


def add_no_daemon(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-daemon", action="store_true", help="load the index and model in this "
                        "process instead of the warm memo process (daemon.enabled = false)")
