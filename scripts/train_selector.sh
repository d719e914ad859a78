#!/usr/bin/env bash
# Reproduce memo's evidence selector (memo.answering.selector) from the team's own fictional
# corpora: index the three training companies, then train a MiniLM cross-encoder on their
# question files' answer sentences (training/corpora/selector/*.jsonl) and calibrate its threshold.
#   scripts/train_selector.sh             # into runs/selector/model (a few minutes on 2 CPU cores)
# Pinecrest Games is held out: it is the selector's dev company, never trained on; no dev or
# public question file is read.
set -euo pipefail
cd "$(dirname "$0")/.."
MEMO=${MEMO:-.venv/bin/memo}
RUN=${RUN:-runs/selector}
export MEMO_HOME=${MEMO_HOME:-$PWD/$RUN/home}
mkdir -p "$RUN"
declare -A NAMES=([brightloom]=Brightloom [kestrel-health]="Kestrel Health" [orbitline]="Orbitline Logistics")
for dir in "${!NAMES[@]}"; do
  "$MEMO" index "training/corpora/$dir" --company "${NAMES[$dir]}"
done
.venv/bin/python scripts/train_selector.py "$RUN/model" training/corpora/selector/*.jsonl | tee "$RUN/report.json"
echo "selector in $RUN/model: set evidence.selector = \"$PWD/$RUN/model\" in memo.toml to use it"
