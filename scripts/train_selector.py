"""Train the evidence selector on indexed companies (the last step of scripts/train_selector.sh).

    .venv/bin/python scripts/train_selector.py OUT DATA.jsonl [DATA.jsonl ...]
    EPOCHS=5 LEARNING_RATE=1e-4 .venv/bin/python scripts/train_selector.py ...   # other than the defaults

Prints the training report as JSON; the model and its stamp (threshold included) go to OUT.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.finetune.selector import SelectorOptions, train_selector


def main(args: list[str]) -> int:
    if len(args) < 2:
        sys.stderr.write("usage: scripts/train_selector.py OUT DATA.jsonl [DATA.jsonl ...]\n")
        return 2
    try:
        opts = SelectorOptions(data=[Path(a) for a in args[1:]], out=Path(args[0]))
        opts.epochs = float(os.environ.get("EPOCHS", opts.epochs))
        opts.learning_rate = float(os.environ.get("LEARNING_RATE", opts.learning_rate))
        report = train_selector(load_settings(), opts)
    except MemoError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
