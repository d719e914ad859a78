"""`memo train` hyperparameters: a dataclass read from a TOML file (see memo/finetune/configs/),
overridden by flags, validated with the offending key named.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from memo.errors import MemoError

MAX_RANK = 64  # vLLM's --max-lora-rank tops out at 64 for most builds; memo refuses more
FORBIDDEN_TARGETS = ("embed_tokens", "lm_head")  # vLLM rejects adapters that train these


@dataclass
class TrainConfig:
    profile: str = "smollm2-135m"
    base: str = ""  # weights folder or hub id; "" = the profile's default weights
    lora_r: int = 16  # rank 16 on every projection: LoRA-paper quality, 4.9M params on SmolLM2
    lora_alpha: int = 32  # alpha = 2r, the common choice; scale is alpha/r
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])  # QLoRA: all linear
    modules_to_save: list[str] = field(default_factory=list)  # must stay empty (vLLM rejects them)
    learning_rate: float = 2e-4  # the LoRA/QLoRA papers' range for small models is 1e-4..3e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    epochs: float = 1.0
    max_steps: int = 0  # 0 = run `epochs`; otherwise stop after this many optimizer steps
    batch_tokens: int = 2048  # tokens per micro-batch (length-grouped); on a CPU its examples run one by one
    grad_accum: int = 1
    max_seq_len: int = 0  # 0 = the profile's context length
    overlong: str = "drop"  # examples longer than max_seq_len: drop, or truncate the answer
    eval_every: int = 25  # optimizer steps between validation losses (and at the end)
    save_every: int = 25  # optimizer steps between checkpoints (resume with --resume)
    keep_checkpoints: int = 2
    seed: int = 0
    precision: str = "auto"  # auto: bf16 on CUDA or a CPU with native bf16, else fp32
    gradient_checkpointing: str = "auto"  # auto: on for CUDA (7B), off on CPU (135M fits easily)
    qlora: str = "off"  # on | auto (4-bit when bitsandbytes and CUDA are there) | off
    grad_clip: float = 1.0
    log_every: int = 1

    @classmethod
    def load(cls, path: Path | None, overrides: dict[str, Any]) -> TrainConfig:
        values: dict[str, Any] = {}
        if path is not None:
            if not path.is_file():
                raise MemoError(f"--config {path}: no such file")
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise MemoError(f"{path} is not valid TOML: {exc}") from None
            values.update(data.get("train", data))
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise MemoError(f"{path}: unknown training setting(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(names))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            config = cls(**values)
        except TypeError as exc:
            raise MemoError(f"bad training settings: {exc}") from None
        config.validate()
        return config

    def validate(self) -> None:
        def bad(key: str, expected: str) -> MemoError:
            return MemoError(f"training setting {key} = {getattr(self, key)!r}: must be {expected}")

        self._check_types(bad)
        if not 1 <= self.lora_r <= MAX_RANK:
            raise bad("lora_r", f"from 1 to {MAX_RANK} (vLLM serves adapters up to rank {MAX_RANK})")
        if self.modules_to_save:
            raise bad("modules_to_save", "empty: vLLM rejects adapters with modules_to_save")
        forbidden = [m for m in self.target_modules if any(f in m for f in FORBIDDEN_TARGETS)]
        if forbidden or not self.target_modules:
            raise bad("target_modules", "projection layers only (no embed_tokens or lm_head: vLLM "
                      "rejects adapters that train them)")
        checks = [("learning_rate", self.learning_rate > 0, "positive"),
                  ("epochs", self.epochs > 0, "positive"),
                  ("max_steps", self.max_steps >= 0, "0 or more"),
                  ("batch_tokens", self.batch_tokens >= 64, "at least 64"),
                  ("grad_accum", self.grad_accum >= 1, "at least 1"),
                  ("lora_dropout", 0 <= self.lora_dropout < 1, "from 0 to below 1"),
                  ("warmup_ratio", 0 <= self.warmup_ratio < 1, "from 0 to below 1"),
                  ("overlong", self.overlong in ("drop", "truncate"), "drop or truncate"),
                  ("precision", self.precision in ("auto", "fp32", "bf16"), "auto, fp32 or bf16"),
                  ("gradient_checkpointing", self.gradient_checkpointing in ("auto", "on", "off"),
                   "auto, on or off"),
                  ("qlora", self.qlora in ("auto", "on", "off"), "auto, on or off"),
                  ("eval_every", self.eval_every >= 1, "at least 1"),
                  ("save_every", self.save_every >= 1, "at least 1")]
        for key, ok, expected in checks:
            if not ok:
                raise bad(key, expected)

    def _check_types(self, bad) -> None:
        """Each setting has its default's type (an int is fine for a float; a list holds strings)."""
        defaults = TrainConfig()
        for f in fields(self):
            value, default = getattr(self, f.name), getattr(defaults, f.name)
            if isinstance(default, list):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
                expected = "a list of strings"
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                expected = "a number"
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
                expected = "a whole number"
            else:
                ok, expected = isinstance(value, str), "a string"
            if not ok:
                raise bad(f.name, expected)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
