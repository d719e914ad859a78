"""Copy a trained adapter into memo/adapters/reader as memo's shipped reader: weights in
float16 (half the size; peft casts them back when it loads), memo.json marked as a reader (no
company, so `memo ask` gives no "trained on another company" warning) with its paths made
relative.

    python scripts/ship_reader.py runs/reader/adapter memo/adapters/reader
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def ship(src: Path, dst: Path) -> None:
    from safetensors.torch import load_file, save_file

    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = json.loads((src / "adapter_config.json").read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = "smollm2-135m-instruct"  # not this machine's path
    (tmp / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    shutil.copy2(src / "chat_template.jinja", tmp / "chat_template.jinja")
    weights = load_file(str(src / "adapter_model.safetensors"))
    save_file({k: v.half().contiguous() for k, v in weights.items()}, str(tmp / "adapter_model.safetensors"))
    info = json.loads((src / "memo.json").read_text(encoding="utf-8"))
    info.update(purpose="reader", trained_on=info.get("companies", []), companies=[], corpus_hashes=[],
                data=Path(info.get("data", "")).name, weights_dtype="float16")
    (tmp / "memo.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    (tmp / "adapter_model.safetensors").chmod(0o644)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


if __name__ == "__main__":
    ship(Path(sys.argv[1]), Path(sys.argv[2]))
