"""`memo train`: the LoRA recipe. Read top to bottom: data, model, optimizer, loop, save.

    memo train runs/synth --out runs/adapter                       # SmolLM2-135M on the CPU
    memo train runs/synth --out runs/adapter-7b --config memo/finetune/configs/llama-2-7b-chat.toml

Hyperparameters are the [train] section of memo's settings (memo.core.train_config.TrainConfig).

Loss is on the assistant's tokens only, and the logits are computed only there: the LM head is
~20% of SmolLM2's weights, and prompts (documents) are most of each example.
"""

from __future__ import annotations

import math
import resource
import shutil
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from memo import __version__
from memo.core import notices
from memo.core.config import Settings
from memo.core.durable import write_atomic
from memo.core.errors import MemoError, require
from memo.core.profiles import Profile
from memo.core.progress import Progress
from memo.core.train_config import TrainConfig
from memo.finetune.checkpoints import (
    latest_checkpoint,
    load_checkpoint,
    run_identity,
    save_checkpoint,
)
from memo.finetune.dataset import (
    IGNORE,
    Dataset,
    data_files,
    file_hash,
    load_dataset,
    token_batches,
)
from memo.llm.adapter import base_fingerprint, write_memo_json
from memo.llm.derive import lora_targets, resolve
from memo.llm.models import (
    fast_bf16,
    load_tokenizer,
    pick_device,
    stay_offline,
)
from memo.llm.templates import template_name, template_text


@dataclass
class TrainReport:
    out: str
    base_model: str
    device: str
    precision: str
    examples: int = 0
    dropped: int = 0
    truncated: int = 0
    steps: int = 0
    resumed_from: int = 0
    tokens: int = 0
    seconds: float = 0.0
    tokens_per_s: float = 0.0
    train_loss: float | None = None
    val_loss_start: float | None = None
    val_loss: float | None = None
    peak_memory_mb: float = 0.0
    history: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "history"}


def resolve_base(cfg: TrainConfig, settings: Settings) -> tuple[Profile, str]:
    """The profile and base weights to train: [train] profile and base, else [model]'s."""
    return resolve(settings, cfg.profile, cfg.base or None)


def pick_precision(cfg: TrainConfig, device: str) -> str:
    import torch

    if cfg.precision != "auto":
        return cfg.precision
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if fast_bf16(device) else "fp32"


def load_model(base: str, cfg: TrainConfig, device: str, precision: str):
    """The base model (frozen; 4-bit under QLoRA) with fresh LoRA layers on cfg.target_modules."""
    import torch
    from transformers import AutoModelForCausalLM

    peft = require("peft", "pip install 'memo[finetune]'")
    kwargs: dict = {"dtype": torch.bfloat16 if device.startswith("cuda") and precision == "bf16"
                    else torch.float32}
    quantized = _want_qlora(cfg, device)
    if quantized:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16)
    try:
        model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    except (OSError, ValueError) as exc:
        raise MemoError(f"cannot load the base model {base!r}: {str(exc).splitlines()[0]}") from None
    if quantized:
        model = peft.prepare_model_for_kbit_training(model)
    else:
        model.to(device)
    if cfg.gradient_checkpointing == "on" or (cfg.gradient_checkpointing == "auto" and device.startswith("cuda")):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    targets = list(cfg.target_modules) or lora_targets(model)
    lora = peft.LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                           target_modules=targets, bias="none", task_type="CAUSAL_LM")
    try:
        return peft.get_peft_model(model, lora)
    except ValueError as exc:
        raise MemoError(f"training setting target_modules: {str(exc).splitlines()[0]}") from None


def _want_qlora(cfg: TrainConfig, device: str) -> bool:
    import importlib.util

    available = device.startswith("cuda") and importlib.util.find_spec("bitsandbytes") is not None
    if cfg.qlora == "on" and not available:
        raise MemoError("qlora = 'on' needs a CUDA GPU and bitsandbytes (pip install bitsandbytes); "
                        "set qlora = 'auto' or 'off'")
    return cfg.qlora == "on" or (cfg.qlora == "auto" and available)


def collate(examples: list, device: str, pad_id: int):
    """Right-padded ids, labels and attention mask for one batch."""
    import torch

    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, :len(example)] = torch.tensor(example.ids)
        labels[row, :len(example)] = torch.tensor(example.labels)
        mask[row, :len(example)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def loss_sum(model, batch, autocast) -> tuple:
    """Summed cross-entropy over answer tokens, and their count (logits only where labelled)."""
    import torch.nn.functional as F

    ids, labels, mask = batch
    base = model.get_base_model()
    if ids.shape[0] == 1:
        mask = None  # one unpadded row: SDPA's causal kernel, no materialized mask
    with autocast():
        hidden = base.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        target = labels[:, 1:]
        keep = target != IGNORE
        logits = base.get_output_embeddings()(hidden[:, :-1][keep]).float()
    cap = getattr(base.config, "final_logit_softcapping", None)  # Gemma 2: as its forward does
    if cap:
        logits = (logits / cap).tanh() * cap
    return F.cross_entropy(logits, target[keep], reduction="sum"), int(keep.sum())


def evaluate(model, data: Dataset, cfg: TrainConfig, device: str, pad_id: int, autocast) -> float | None:
    import torch

    if not data.examples:
        return None
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in token_batches([len(e) for e in data.examples], cfg.batch_tokens, 0):
            for rows in forward_groups([data.examples[i] for i in batch], device):
                loss, n = loss_sum(model, collate(rows, device, pad_id), autocast)
                total, count = total + float(loss), count + n
    model.train()
    return round(total / max(count, 1), 4)


def forward_groups(examples: list, device: str) -> list[list]:
    """How a micro-batch goes through the model. On a CPU one example at a time, unpadded and with
    no attention mask, so SDPA uses its fused causal kernel instead of materializing masked score
    matrices: on the demo data (8 examples of 760-900 tokens, bf16, 2 cores) 3.8 GB peak instead
    of 9.1 GB and 222 tok/s instead of 190. On a GPU the padded batch keeps the device busy."""
    return [examples] if device.startswith("cuda") else [[e] for e in examples]


def schedule(cfg: TrainConfig, total_steps: int):
    """Linear warmup, then cosine decay to 10% of the learning rate."""
    warmup = max(1, int(cfg.warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def micro_batches(train: Dataset, cfg: TrainConfig) -> list[list[int]]:
    """The whole run's micro-batches in order (epochs reshuffled by seed; fractional epochs cut)."""
    lengths = [len(e) for e in train.examples]
    per_epoch = token_batches(lengths, cfg.batch_tokens, cfg.seed)
    wanted = math.ceil(len(per_epoch) * cfg.epochs)
    batches: list[list[int]] = []
    epoch = 0
    while len(batches) < wanted or (cfg.max_steps and len(batches) < cfg.max_steps * cfg.grad_accum):
        batches += token_batches(lengths, cfg.batch_tokens, cfg.seed + epoch)
        epoch += 1
    limit = cfg.max_steps * cfg.grad_accum if cfg.max_steps else wanted
    return batches[:limit]


def peak_memory_mb(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def train(data: Path, out: Path, settings: Settings, resume: bool = False, skip_bad: bool = False,
          show_progress: bool = False) -> TrainReport:
    """Train a LoRA adapter on DATA (a `memo synth` folder or a JSONL file) into OUT, with the
    hyperparameters of `settings.train`."""
    import torch

    cfg = settings.train
    stay_offline()
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' rename notices via peft
    torch.manual_seed(cfg.seed)
    profile, base = resolve_base(cfg, settings)
    device = pick_device(settings.model.device)
    if settings.model.threads:
        torch.set_num_threads(settings.model.threads)
    precision = pick_precision(cfg, device)
    tokenizer = load_tokenizer(base)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    train_file, val_file = data_files(data)
    train_set, val_set = load_splits(train_file, val_file, tokenizer, profile, cfg, skip_bad)
    out.mkdir(parents=True, exist_ok=True)
    loop = Loop(load_model(base, cfg, device, precision), cfg, device, precision, pad_id, train_set, val_set)
    report = TrainReport(out=str(out), base_model=base, device=device, precision=precision,
                         examples=len(train_set.examples), dropped=train_set.dropped + val_set.dropped,
                         truncated=train_set.truncated + val_set.truncated)
    step, history = loop.start(out, resume, run_identity(cfg, base, train_file), report)
    started, seen, busy = time.monotonic(), 0, 0.0  # busy: optimizer steps only, no eval or saving
    with Progress(enabled=show_progress) as bar:
        task = bar.task("train", loop.total_steps)
        bar.advance(task, step)
        while step < loop.total_steps:
            entry, tokens, seconds = loop.step(step)
            step, seen, busy = step + 1, seen + tokens, busy + seconds
            history.append(entry)
            bar.advance(task, 1)
            bar.note(task, f"loss {entry['loss']:.3f}" + (f" val {entry['val']:.3f}" if entry.get("val") else "")
                     + f" {seen / max(busy, 1e-9):.0f} tok/s")
            if step % cfg.save_every == 0 and step < loop.total_steps:
                save_checkpoint(loop.model, loop.optimizer, loop.scheduler, out, step, history,
                                cfg.keep_checkpoints, loop.identity)
    finish_report(report, history, step, seen, busy, time.monotonic() - started)
    save_adapter(loop.model, out, cfg, report, train_set, train_file, val_file, profile)
    return report


def load_splits(train_file: Path, val_file: Path | None, tokenizer, profile, cfg: TrainConfig,
                skip_bad: bool) -> tuple[Dataset, Dataset]:
    """The tokenized training and validation sets (an empty training set is an error)."""
    max_len = cfg.max_seq_len or profile.context_length
    train_set = load_dataset(train_file, tokenizer, profile.template, max_len, cfg.overlong, skip_bad,
                             cfg.data_style, cfg.closed_book)
    if not train_set.examples:
        raise MemoError(f"{train_file} has no usable examples ({train_set.dropped} longer than {max_len} "
                        f"tokens were dropped); run `memo synth` or set overlong = 'truncate'")
    val_set = (load_dataset(val_file, tokenizer, profile.template, max_len, cfg.overlong, skip_bad,
                            cfg.data_style, cfg.closed_book)
               if val_file else Dataset([], Path()))
    return train_set, val_set


class Loop:
    """The model, optimizer, schedule and batches of one run, one optimizer step at a time."""

    def __init__(self, model, cfg: TrainConfig, device: str, precision: str, pad_id: int,
                 train_set: Dataset, val_set: Dataset):
        import torch

        self.model, self.cfg, self.device, self.pad_id = model, cfg, device, pad_id
        self.train_set, self.val_set = train_set, val_set
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        self.batches = micro_batches(train_set, cfg)
        self.total_steps = math.ceil(len(self.batches) / cfg.grad_accum)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule(cfg, self.total_steps))
        self.autocast = ((lambda: torch.autocast(device.split(":")[0], dtype=torch.bfloat16))
                         if precision == "bf16" and not device.startswith("cuda") else nullcontext)
        self.identity: dict = {}

    def evaluate(self) -> float | None:
        return evaluate(self.model, self.val_set, self.cfg, self.device, self.pad_id, self.autocast)

    def start(self, out: Path, resume: bool, identity: dict, report: TrainReport) -> tuple[int, list]:
        """(first step, history): from the last checkpoint with --resume, else from 0; the
        validation loss before training is measured (or read from the checkpoint)."""
        self.identity = identity
        step, history = 0, []
        checkpoint = latest_checkpoint(out) if resume else None
        if resume and not checkpoint:
            notices.note(f"no checkpoint in {out}/checkpoints; starting from step 0")
        if checkpoint:
            step, history = load_checkpoint(self.model, self.optimizer, self.scheduler, checkpoint, identity)
            report.resumed_from = step
        report.val_loss_start = history[0].get("val_start") if history else self.evaluate()
        if not history:
            history.append({"step": 0, "val_start": report.val_loss_start})
        self.model.train()
        return step, history

    def step(self, step: int) -> tuple[dict, int, float]:
        """Optimizer step `step` (from 0): its history entry, tokens seen and seconds taken."""
        import torch

        cfg = self.cfg
        group = self.batches[step * cfg.grad_accum:(step + 1) * cfg.grad_accum]
        examples = [[self.train_set.examples[i] for i in b] for b in group]
        labelled = sum(sum(t != IGNORE for t in e.labels[1:]) for b in examples for e in b)
        tick = time.monotonic()
        torch.manual_seed(cfg.seed + step)  # dropout masks: a resumed run repeats them exactly
        step_loss, seen = 0.0, 0
        for rows in (rows for batch in examples for rows in forward_groups(batch, self.device)):
            loss, _ = loss_sum(self.model, collate(rows, self.device, self.pad_id), self.autocast)
            (loss / max(labelled, 1)).backward()
            step_loss += float(loss.detach())
            seen += sum(len(e) for e in rows)
        torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        seconds = time.monotonic() - tick
        entry = {"step": step + 1, "loss": round(step_loss / max(labelled, 1), 4),
                 "lr": self.scheduler.get_last_lr()[0]}
        if (step + 1) % cfg.eval_every == 0 or step + 1 == self.total_steps:
            entry["val"] = self.evaluate()
        return entry, seen, seconds


def finish_report(report: TrainReport, history: list, step: int, seen: int, busy: float, seconds: float) -> None:
    report.seconds = round(seconds, 1)
    report.tokens, report.steps, report.history = seen, step, history
    report.tokens_per_s = round(seen / max(busy, 1e-9), 1)  # training steps only
    losses = [h["loss"] for h in history if "loss" in h]
    report.train_loss = round(sum(losses[-10:]) / len(losses[-10:]), 4) if losses else None
    vals = [h["val"] for h in history if h.get("val") is not None]
    report.val_loss = vals[-1] if vals else report.val_loss_start
    report.peak_memory_mb = peak_memory_mb(report.device)


def save_adapter(model, out: Path, cfg: TrainConfig, report: TrainReport, train_set: Dataset,
                 train_file: Path, val_file: Path | None, profile: Profile) -> None:
    """PEFT files (servable by vLLM), the chat template it was trained with, and memo.json."""
    model.save_pretrained(out)
    write_atomic(out / "chat_template.jinja", template_text(profile.template))
    write_memo_json(out, {
        "memo_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "base_model": report.base_model, "base_fingerprint": base_fingerprint(report.base_model),
        "profile": profile.name, "template": template_name(profile.template),
        "data": str(train_file), "data_hash": file_hash(train_file),
        "val_hash": file_hash(val_file) if val_file else None,
        "corpus_hashes": train_set.corpus_hashes, "companies": train_set.companies,
        "config": cfg.as_dict(), "report": report.as_dict(), "history": report.history})
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # the adapter is final; nothing to resume
