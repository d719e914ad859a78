#!/usr/bin/env bash
# The prepared GPU check (benchmarks/gpu_check.py): LoRA training and batched generation on
# random LLaMA-2-7B- and Llama-3-8B-shaped models, built on the GPU (no download); on a machine
# without CUDA, or with --cpu, the same steps on a tiny shape. Needs only torch, transformers and
# peft: memo runs from this checkout (PYTHONPATH), not installed. Wheels in ./wheels (ignored by
# git, carried to the GPU machine) are installed first, for anything that machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -d wheels ] && ls wheels/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install --quiet --no-index --no-deps wheels/*.whl
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export MEMO_HOME="${MEMO_HOME:-$(mktemp -d)}"
exec "$PY" benchmarks/gpu_check.py "$@"
