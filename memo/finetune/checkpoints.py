"""Checkpoints of a LoRA run, for `memo train --resume`: the adapter weights, the optimizer and
scheduler state, and the run's identity (a checkpoint resumes only the run that wrote it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from memo.core.durable import replacing
from memo.core.errors import MemoError
from memo.core.train_config import TrainConfig
from memo.finetune.dataset import file_hash


def checkpoints(out: Path) -> list[Path]:
    """OUT's complete checkpoints, oldest first (a `.tmp` folder is one a kill interrupted)."""
    folder = out / "checkpoints"
    return sorted(p for p in folder.glob("step-*") if not p.name.endswith(".tmp")) if folder.is_dir() else []


def latest_checkpoint(out: Path) -> Path | None:
    found = checkpoints(out)
    return found[-1] if found else None


RESUMABLE_CHANGES = ("eval_every", "save_every", "keep_checkpoints")  # do not alter the trajectory


def run_identity(cfg: TrainConfig, base: str, train_file: Path) -> dict:
    """What a checkpoint must share with the run that resumes it for the resume to be exact."""
    config = {k: v for k, v in cfg.as_dict().items() if k not in RESUMABLE_CHANGES}
    return {"base": base, "data_hash": file_hash(train_file), **config}


def save_checkpoint(model, optimizer, scheduler, out: Path, step: int, history: list, keep: int,
                    run: dict) -> None:
    import torch

    folder = out / "checkpoints" / f"step-{step:06d}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with replacing(folder) as tmp:  # a checkpoint exists whole or not at all
        model.save_pretrained(tmp)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
        (tmp / "state.json").write_text(json.dumps({"step": step, "history": history, "run": run}), encoding="utf-8")
    for old in checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(model, optimizer, scheduler, folder: Path, run: dict) -> tuple[int, list]:
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    saved = state.get("run", {})
    changed = sorted(k for k in run.keys() | saved.keys() if run.get(k) != saved.get(k))
    if changed:
        names = ", ".join("the data" if k == "data_hash" else k for k in changed)
        raise MemoError(f"{folder} was saved by a run with other settings ({names} changed); "
                        f"restore them to resume, or train without --resume to start over")
    set_peft_model_state_dict(model, load_file(str(folder / "adapter_model.safetensors")))
    states = torch.load(folder / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(states["optimizer"])
    scheduler.load_state_dict(states["scheduler"])
    return state["step"], state["history"]
