"""`memo train` hyperparameters: the `[train]` section of memo's settings (memo.core.config loads
it like every other section: TOML file, MEMO_TRAIN_* variables, flags), validated with the
offending key named. memo/finetune/configs/ holds ready-made files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from memo.core.errors import MemoError
from memo.core.limits import FORBIDDEN_TARGETS, MAX_RANK
from memo.core.profiles import AUTO


@dataclass
class TrainConfig:
    profile: str = AUTO  # auto = [model] profile (smollm2-135m, or derived from the base model)
    base: str = ""  # weights folder, hub id or .gguf; "" = [model] llm, else the profile's weights
    lora_r: int = 16  # rank 16 on every projection: LoRA-paper quality, 4.9M params on SmolLM2
    lora_alpha: int = 32  # alpha = 2r, the common choice; scale is alpha/r
    lora_dropout: float = 0.05
    # empty = every linear projection of the decoder layers, found in the loaded model (q/k/v/o and
    # gate/up/down on LLaMA-family models, qkv_proj and gate_up_proj on Phi-3): QLoRA's "all linear"
    target_modules: list[str] = field(default_factory=list)
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
    # raft: the records as `memo synth` wrote them (documents in the prompt, quoted reasoning);
    # dsf: the same questions and final answers with no documents, RAFT's domain-specific
    # fine-tune baseline (`memo train --dsf`), for the bench's dsf and dsf+rag arms
    data_style: str = "raft"
    # share of raft records also trained in their dsf form (no documents), so the adapter answers
    # the company's questions without retrieval too (the bench's ft arm); 0 for a reader adapter,
    # which must not learn any company's facts
    closed_book: float = 0.0

    def validate(self) -> None:
        def bad(key: str, expected: str) -> MemoError:
            return MemoError(f"training setting {key} = {getattr(self, key)!r}: must be {expected}")

        self._check_types(bad)
        if not 1 <= self.lora_r <= MAX_RANK:
            raise bad("lora_r", f"from 1 to {MAX_RANK} (vLLM serves adapters up to rank {MAX_RANK})")
        if self.modules_to_save:
            raise bad("modules_to_save", "empty: vLLM rejects adapters with modules_to_save")
        forbidden = [m for m in self.target_modules if any(f in m for f in FORBIDDEN_TARGETS)]
        if forbidden:
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
                  ("data_style", self.data_style in ("raft", "dsf"), "raft or dsf"),
                  ("closed_book", 0 <= self.closed_book <= 1, "a fraction from 0 to 1"),
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
