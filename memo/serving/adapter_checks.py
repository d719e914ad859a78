"""What makes vLLM reject an adapter or silently change its answers, checked before serving.

`memo serve` refuses to launch when a check fails; `memo doctor` prints them all as a table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.limits import (  # shared with memo train
    ADDED_TOKEN_FILES,
    FORBIDDEN_TARGETS,
    MAX_RANK,
)
from memo.core.profiles import Profile
from memo.llm.adapter import base_fingerprint, read_adapter
from memo.llm.derive import resolve
from memo.llm.templates import template_text


@dataclass
class Check:
    adapter: str
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def adapter_rank(path: Path) -> int:
    config = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    ranks = [int(config.get("r") or 0), *map(int, (config.get("rank_pattern") or {}).values())]
    return max(ranks)


def weight_names(path: Path) -> list[str]:
    weights = path / "adapter_model.safetensors"
    if not weights.is_file():
        return []
    from safetensors import safe_open

    with safe_open(str(weights), framework="numpy") as handle:
        return list(handle.keys())


def check_adapter(name: str, path: Path, base_path: str, template_text: str) -> list[Check]:
    """Every check for one adapter; a folder that is not an adapter is a single failed check."""
    try:
        info = read_adapter(path)
    except MemoError as exc:
        return [Check(name, "is a LoRA adapter", False, str(exc))]
    config = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    rank = adapter_rank(path)
    checks = [Check(name, "is a LoRA adapter", True, str(path)),
              Check(name, "rank", rank <= MAX_RANK, f"r = {rank} (vLLM serves up to {MAX_RANK})")]
    saved = config.get("modules_to_save") or []
    checks.append(Check(name, "no modules_to_save", not saved, ", ".join(saved) or "none"))
    trained = sorted({part for key in weight_names(path) + list(config.get("target_modules") or [])
                      for part in FORBIDDEN_TARGETS if part in key})
    checks.append(Check(name, "no trained embeddings or lm_head", not trained, ", ".join(trained) or "none"))
    added = [f for f in ADDED_TOKEN_FILES if (path / f).exists()]
    checks.append(Check(name, "no added tokens", not added, ", ".join(added) or "none"))
    trained_on = info.get("base_fingerprint")
    same_base = not trained_on or trained_on == base_fingerprint(base_path)
    checks.append(Check(name, "trained on this base model", same_base,
                        f"trained on {info.get('base_model', 'unknown')}" if trained_on else
                        "no memo.json: base not verifiable"))
    template_file = path / "chat_template.jinja"
    same = not template_file.is_file() or template_file.read_text(encoding="utf-8") == template_text
    checks.append(Check(name, "chat template as in training", same,
                        "chat_template.jinja matches the served template" if template_file.is_file()
                        else "no chat_template.jinja: not verifiable"))
    return checks


def parse_adapter_specs(specs: list[str]) -> list[tuple[str, Path]]:
    """`NAME=DIR` pairs (a bare DIR is served under its folder name)."""
    pairs: list[tuple[str, Path]] = []
    for spec in specs:
        name, _, folder = spec.partition("=") if "=" in spec else (Path(spec).name, "", spec)
        if not folder or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise MemoError(f"--adapter {spec!r}: expected NAME=DIR with a plain name (letters, digits, - _ .)")
        if name in {n for n, _ in pairs}:
            raise MemoError(f"--adapter {spec!r}: the name {name!r} is given twice")
        pairs.append((name, Path(folder)))
    return pairs


@dataclass
class Plan:
    """What would be served: the profile, the base weights, the adapters and their checks."""

    profile: Profile
    base: str
    adapters: list[tuple[str, Path]]
    checks: list[Check] = field(default_factory=list)


def plan_adapters(settings: Settings, specs: list[str]) -> Plan:
    """The base model of the configured profile and every NAME=DIR adapter, each checked."""
    profile, base = resolve(settings)
    adapters = parse_adapter_specs(specs)
    checks = [c for name, folder in adapters for c in check_adapter(name, folder, base, template_text(profile.template))]
    return Plan(profile, base, adapters, checks)
