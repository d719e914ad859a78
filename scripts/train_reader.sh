#!/usr/bin/env bash
# Reproduce memo's shipped reader adapter (memo/adapters/reader) from the team's own fictional
# corpora: index them, `memo synth` RAFT records for each training company, `memo train` one
# adapter on all of them, then ship it (scripts/ship_reader.py).
#   scripts/train_reader.sh            # everything, into runs/reader (about 35 min on 2 CPU cores)
#   SHIP=0 scripts/train_reader.sh     # train only; leave memo/adapters/reader alone
# Pinecrest Games is held out: it is the reader's dev company, never trained on. Every dev and
# public question file is --exclude'd, so no training question is close to one it is tested on.
set -euo pipefail
cd "$(dirname "$0")/.."
MEMO=${MEMO:-.venv/bin/memo}
RUN=${RUN:-runs/reader}
export MEMO_HOME=${MEMO_HOME:-$PWD/$RUN/home}
LIMIT=${LIMIT:-90}            # records per company: 4 companies x 90 keeps training near 20 min
EPOCHS=${EPOCHS:-2}
mkdir -p "$RUN"

excludes=(--exclude memo/demo_corpus/tidewell-eval.jsonl --exclude training/corpora/pinecrest-games-dev.jsonl
          --exclude training/corpora/brightloom-dev.jsonl)
for f in ../shared/qa/*.jsonl; do [ -f "$f" ] && excludes+=(--exclude "$f"); done

"$MEMO" index --demo
declare -A NAMES=([brightloom]=Brightloom [kestrel-health]="Kestrel Health" [orbitline]="Orbitline Logistics")
for dir in "${!NAMES[@]}"; do
  "$MEMO" index "training/corpora/$dir" --company "${NAMES[$dir]}"
done

synth() {  # company, output folder
  "$MEMO" synth --company "$1" --out "$RUN/synth/$2" --limit "$LIMIT" --per-chunk 2 \
    --absent honest --oracle-fraction 0.85 "${excludes[@]}"
}
synth Tidewell tidewell
for dir in "${!NAMES[@]}"; do synth "${NAMES[$dir]}" "$dir"; done

mkdir -p "$RUN/data"
cat "$RUN"/synth/*/train.jsonl > "$RUN/data/train.jsonl"
cat "$RUN"/synth/*/val.jsonl > "$RUN/data/val.jsonl"
"$MEMO" train "$RUN/data" --out "$RUN/adapter" --epochs "$EPOCHS"
if [ "${SHIP:-1}" = 1 ]; then
  .venv/bin/python scripts/ship_reader.py "$RUN/adapter" memo/adapters/reader
fi
