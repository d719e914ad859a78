"""Profiles for any chat model: read from the model's own files instead of written by hand.

`--llm PATH` without `--profile` (the `auto` profile) derives everything memo needs from the
model folder, hub id or .gguf file:
- the chat template: the tokenizer's `chat_template` or a `chat_template.jinja`. One that refuses a
  system turn (Gemma's) is wrapped so the system text opens the first user turn; one that renders
  memo's prompts exactly like a template of memo's own is replaced by that one (by name), so
  adapters trained through a named profile and through the model's files stay interchangeable;
- the context length: the window in its config, capped by `model.max_context`;
- its special tokens (fenced out of documents by memo.llm.prompt) and its end-of-turn token;
- the dtype on a GPU; and, for `memo doctor`, the LoRA targets of its architecture.

`resolve` is the one place that turns `[model] profile` and `llm` into a profile and weights.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.limits import FORBIDDEN_TARGETS
from memo.core.profiles import AUTO, DEFAULT_PROFILE, Profile, get_profile, profile_names
from memo.llm.models import llm_path, load_tokenizer, pick_device, stay_offline
from memo.llm.prompt import end_of_turn, render, special_strings
from memo.llm.templates import FOLD_SYSTEM, TEMPLATES

# Two probe conversations (plain, and with the padding templates often trim): a template that
# renders both like one of memo's own is that template.
PROBES = ([{"role": "system", "content": "Rules here."}, {"role": "user", "content": "Question here?"}],
          [{"role": "system", "content": " Rules\n"}, {"role": "user", "content": "\nWhy? "}])
PROBE_ANSWER = "Answer here."
WINDOW_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")


def resolve(settings: Settings, profile: str | None = None, llm: str | None = None) -> tuple[Profile, str]:
    """(profile, weights path) for `profile` and `llm` (default: settings.model's). A named profile
    takes `llm` as its weights; `auto` is smollm2-135m without `llm`, else derived from it."""
    name = settings.model.profile if profile in (None, AUTO) else profile
    llm = settings.model.llm if llm is None else llm
    if name != AUTO or not llm:
        named = get_profile(DEFAULT_PROFILE if name == AUTO else name)
        return named, llm_path(llm, named, settings.cache_dir)
    path = llm_path(llm, None, settings.cache_dir)
    return derive_profile(path, context_cap(settings)), path


def context_cap(settings: Settings) -> int:
    if settings.model.max_context:
        return settings.model.max_context
    return 8192 if pick_device(settings.model.device).startswith("cuda") else 2048


def derive_profile(path: str, cap: int) -> Profile:
    """The profile of the chat model at `path` (a folder or an offline hub id)."""
    return _derive(path, cap, _stamp(path))


def _stamp(path: str) -> float:
    """Changes when the model's files do, so a process re-derives an edited folder."""
    folder = Path(path)
    files = [folder / n for n in ("config.json", "tokenizer_config.json", "chat_template.jinja")]
    return sum(f.stat().st_mtime for f in files if f.is_file())


@functools.lru_cache(maxsize=8)
def _derive(path: str, cap: int, stamp: float) -> Profile:  # noqa: ARG001 - `stamp` keys the cache
    stay_offline()
    config = load_config(path)
    tokenizer = load_tokenizer(path)
    template = usable_template(tokenizer, own_template(tokenizer, path), path)
    window = model_window(config)
    facts = {"architecture": (getattr(config, "architectures", None) or [config.model_type])[0],
             "window": window, "special_tokens": len(special_strings(tokenizer)),
             "end_of_turn": [tokenizer.convert_ids_to_tokens(i) for i in end_of_turn(tokenizer, template)],
             "template": template if template in TEMPLATES else "the model's own",
             "folds_system": template.startswith(FOLD_SYSTEM)}
    return Profile(f"derived:{Path(path).name or path}", path, template, min(window or cap, cap),
                   gpu_dtype(config), derived=True, facts=facts)


def load_config(path: str) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(path)
    except (OSError, ValueError, KeyError) as exc:
        raise MemoError(f"cannot read the model config of {path!r}: {str(exc).splitlines()[0]}; "
                        "--llm takes a Hugging Face model folder, a .gguf file or a cached hub id") from None


def own_template(tokenizer: Any, path: str) -> str:
    """The model's chat template: its tokenizer's, else a chat_template.jinja beside it."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # several named templates: the default one
        template = template.get("default")
    jinja = Path(path) / "chat_template.jinja"
    if not template and jinja.is_file():
        template = jinja.read_text(encoding="utf-8")
    if not template:
        raise MemoError(f"{path} has no chat template (none in its tokenizer_config.json, no "
                        f"chat_template.jinja); add one, or pass --profile NAME to use a named "
                        f"profile's template ({profile_names()})")
    return template


def usable_template(tokenizer: Any, own: str, path: str) -> str:
    """`own`, folded when it refuses or drops the system turn, or memo's equal template's name."""
    problem = ""
    for candidate in (own, FOLD_SYSTEM + own):
        try:
            rendered = [render(tokenizer, candidate, p) for p in PROBES]
        except Exception as exc:  # noqa: BLE001 - a template raises anything (jinja, TypeError, its own)
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            continue
        if "Rules here." not in rendered[0]:  # it silently dropped the system turn
            problem = "it leaves out the system turn"
            continue
        return known_template(tokenizer, candidate) or candidate
    raise MemoError(f"the chat template of {path} cannot render a system and a user turn ({problem}); "
                    f"pass --profile NAME ({profile_names()})")


def known_template(tokenizer: Any, template: str) -> str | None:
    """The name of memo's template that renders the probes exactly like `template`, if any."""
    def renders(t: str) -> list[str]:
        return [render(tokenizer, t, p, answer=a) for p in PROBES for a in (None, PROBE_ANSWER)]

    mine = renders(template)
    for name, text in TEMPLATES.items():
        try:
            if renders(text) == mine:
                return name
        except Exception:  # noqa: BLE001 - memo's template needs a token this tokenizer lacks
            continue
    return None


def model_window(config: Any) -> int:
    """The context window in the model's config (0 when it names none)."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    for key in WINDOW_KEYS:
        value = getattr(text, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return 0


def gpu_dtype(config: Any) -> str:
    """float16 for a model published in it (bf16 could overflow nothing but changes its numbers),
    else bfloat16."""
    dtype = str(getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or "")
    return "float16" if dtype.endswith("float16") and "bfloat16" not in dtype else "bfloat16"


def lora_targets(model: Any) -> list[str]:
    """The names of the linear projections of `model` that LoRA adapts, as peft's target_modules:
    every nn.Linear (or GPT-2's Conv1D) but the LM head and embeddings."""
    import torch
    from transformers.pytorch_utils import Conv1D

    names: list[str] = []
    for full, module in model.named_modules():
        leaf = full.rsplit(".", 1)[-1]
        if isinstance(module, (torch.nn.Linear, Conv1D)) and leaf not in names \
                and not any(f in full for f in FORBIDDEN_TARGETS):
            names.append(leaf)
    return names


def architecture_targets(path: str) -> list[str]:
    """lora_targets of the model at `path`, built on the meta device (no weights read)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return lora_targets(AutoModelForCausalLM.from_config(load_config(path)))


def prefix_problem(tokenizer: Any, template: str) -> str | None:
    """Why `template` cannot train with loss on the answer only (its rendering of the prompt is not
    the start of its rendering with the answer), or None."""
    for probe in PROBES:
        prompt = render(tokenizer, template, probe)
        full = render(tokenizer, template, probe, answer=PROBE_ANSWER)
        if not full.startswith(prompt):
            return not_a_prefix(prompt, full)
    return None


def not_a_prefix(prompt: str, full: str) -> str:
    """Where the rendering of a prompt stops being the start of its rendering with the answer."""
    at = next((i for i, (a, b) in enumerate(zip(prompt, full)) if a != b), min(len(prompt), len(full)))
    return (f"its rendering of the prompt is not the start of its rendering with the answer: "
            f"{prompt[max(0, at - 25):at + 25]!r} alone, {full[max(0, at - 25):at + 25]!r} before an answer")


def describe(profile: Profile, path: str) -> dict:
    """What `memo doctor` shows of the profile in use: derived facts are read from the model's
    files; the LoRA targets from its architecture, built on the meta device."""
    info = {"profile": profile.name, "weights": path, "derived": profile.derived,
            "template": profile.template if profile.template in TEMPLATES else "the model's own",
            "context_length": profile.context_length, "gpu_dtype": profile.gpu_dtype}
    try:
        tokenizer = load_tokenizer(path)
        info.update(profile.facts or {"window": model_window(load_config(path))})
        info["special_tokens"] = len(special_strings(tokenizer))
        info["end_of_turn"] = [tokenizer.convert_ids_to_tokens(i) for i in end_of_turn(tokenizer, profile.template)]
        info["assistant_only_loss"] = prefix_problem(tokenizer, profile.template) or "ok"
        info["lora_targets"] = architecture_targets(path)
    except MemoError as exc:
        info["unavailable"] = str(exc)
    return info
