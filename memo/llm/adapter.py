"""A trained adapter on disk: PEFT files (what vLLM serves) plus memo.json (what it was trained
from), and the checks that keep an adapter from being used with the wrong base or a stale corpus.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from memo.core.durable import write_atomic
from memo.core.errors import MemoError, require
from memo.core.identity import slug
from memo.core.profiles import PROFILES
from memo.llm.templates import template_name, template_text

MEMO_FILE = "memo.json"
EDGE = 1 << 20  # bytes hashed from each end of a weight file


# memo's own reader adapter (scripts/train_reader.sh): trained on fictional companies the team
# wrote, to read the retrieved documents and restate them in the candidate's voice. `memo ask`
# answers with it by default on the default model.
SHIPPED_READER = Path(__file__).resolve().parent.parent / "adapters" / "reader"
READER_NAME = "@reader"  # how --adapter names it


def shipped_reader() -> Path | None:
    """The shipped reader adapter's folder, when this installation has it."""
    return SHIPPED_READER if (SHIPPED_READER / "adapter_config.json").is_file() else None


def resolve_adapter(value: str | None) -> Path | None:
    """An --adapter value as a folder: `@reader` is the shipped reader."""
    if value != READER_NAME:
        return Path(value) if value else None
    reader = shipped_reader()
    if reader is None:
        raise MemoError(f"--adapter {READER_NAME}: this installation has no shipped reader adapter "
                        f"(memo/adapters/reader); reinstall memo or give an adapter folder")
    return reader


def base_fingerprint(path: str) -> str:
    """A fast identity of base weights: config.json plus each weight file's name, size and first
    and last MiB (a full SHA-256 of 13 GB of LLaMA-2-7B weights would take minutes)."""
    folder = Path(path)
    if not folder.is_dir():
        return f"name:{path}"
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        size = weights.stat().st_size
        digest.update(f"{weights.name}\0{size}\0".encode())
        with open(weights, "rb") as handle:
            digest.update(handle.read(EDGE))
            handle.seek(max(0, size - EDGE))
            digest.update(handle.read(EDGE))
    return digest.hexdigest()[:16]


def write_memo_json(out: Path, info: dict[str, Any]) -> None:
    write_atomic(out / MEMO_FILE, json.dumps(info, indent=2) + "\n")


def read_adapter(path: Path) -> dict[str, Any]:
    """The adapter's memo.json (empty when the adapter came from elsewhere); refuses folders that
    are not PEFT LoRA adapters or that vLLM would reject."""
    if not path.is_dir():
        raise MemoError(f"--adapter {path}: no such folder")
    config_file = path / "adapter_config.json"
    if not config_file.is_file():
        raise MemoError(f"--adapter {path} is not a LoRA adapter (no adapter_config.json); "
                        f"give the --out folder of `memo train`")
    if not any((path / name).is_file() for name in ("adapter_model.safetensors", "adapter_model.bin")):
        raise MemoError(f"--adapter {path} has no adapter weights (adapter_model.safetensors)")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except ValueError:
        raise MemoError(f"{config_file} is not valid JSON") from None
    if config.get("peft_type") != "LORA":
        raise MemoError(f"--adapter {path} is a {config.get('peft_type')} adapter; memo uses LoRA")
    memo_file = path / MEMO_FILE
    try:
        return json.loads(memo_file.read_text(encoding="utf-8")) if memo_file.is_file() else {}
    except ValueError:
        raise MemoError(f"{memo_file} is not valid JSON") from None


def adapter_model(path: Path) -> tuple[str | None, str | None]:
    """(profile, base model) to answer with an adapter when --profile and --llm are left out: its
    named profile, or for a profile derived from its base model, that model (when still there)."""
    info = read_adapter(path)
    profile = info.get("profile")
    if profile in PROFILES:
        return profile, None
    base = info.get("base_model")
    return None, base if isinstance(base, str) and Path(base).exists() else None


def check_base(info: dict[str, Any], adapter: Path, base_path: str) -> None:
    """Refuse an adapter trained on other base weights than the ones loaded."""
    trained_on = info.get("base_fingerprint")
    if trained_on and trained_on != base_fingerprint(base_path):
        raise MemoError(f"--adapter {adapter} was trained on {info.get('base_model', 'another model')!r}, "
                        f"not on {base_path!r}; use its base (--profile/--llm) or retrain")


def check_template(info: dict[str, Any], adapter: Path, template: str) -> None:
    """Refuse to prompt an adapter in another chat format than it was trained with: the template
    text saved beside it (or, for older adapters, the name in its memo.json) against `template`."""
    saved = adapter / "chat_template.jinja"
    trained = saved.read_text(encoding="utf-8") if saved.is_file() else template_text(info.get("template") or template)
    if trained != template_text(template):
        hint = (f"pass --profile {info['profile']}" if info.get("profile") in PROFILES
                else f"pass --llm {info.get('base_model', 'its base model')}")
        raise MemoError(f"--adapter {adapter} was trained with another chat template "
                        f"({template_name(info.get('template') or 'unknown')}) than this model's profile uses "
                        f"({template_name(template)}); {hint}")


def stale_warning(info: dict[str, Any], corpus_hash: str, company: str) -> str | None:
    """A warning when the adapter was trained on another company, or on the company's documents
    as they were before they changed."""
    if info.get("purpose") == "reader":  # trained to read any company's documents
        return None
    companies = info.get("companies") or []
    if companies and slug(company) not in {slug(c) for c in companies}:
        return f"the adapter was trained on {', '.join(companies)}'s documents, not {company}'s"
    trained = info.get("corpus_hashes") or []
    if trained and corpus_hash not in trained:
        return (f"the adapter was trained on an older version of {company}'s documents (corpus "
                f"{', '.join(trained)}, index now {corpus_hash}); rerun memo synth and memo train")
    return None


def attach(model: Any, adapter: Path) -> Any:
    """The model with the adapter's LoRA weights merged in for inference (peft): as fast as the
    base model (unmerged LoRA adds a matmul pair per layer and token), equal up to float rounding."""
    peft = require("peft", "pip install 'memo[finetune]'")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # transformers' rename notices inside peft
            return peft.PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().eval()
    except (RuntimeError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise MemoError(f"--adapter {adapter} does not fit this base model ({first})") from None
