#!/usr/bin/env bash
# Run memo's reference jobs into OUT, so two versions of the code can be compared byte for byte:
#   scripts/identity_check.sh OUT [CODE_DIR]     # CODE_DIR: another checkout to run (default: this one)
#   scripts/identity_check.sh --compare OUT_A OUT_B
# The jobs: the demo index, `memo bench --demo --arms base,rag`, a short `memo synth` and
# `memo train --max-steps 4`. Compared: the bench's results.jsonl (answers, contexts, scores), the
# synth records, and the adapter's weights (tensor by tensor).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$PWD/.venv/bin/python}
if [ "${1:-}" = "--compare" ]; then
  exec "$PY" - "$2" "$3" <<'PYEOF'
import json, sys
from pathlib import Path
from safetensors.numpy import load_file
a, b = map(Path, sys.argv[1:3])
def rows(p):
    return sorted((json.loads(l) for l in p.read_text().splitlines() if l.strip()),
                  key=lambda r: (r.get("qid", ""), r.get("arm", ""), r.get("id", "")))
def strip(r):  # the run's own folder names are not part of the result
    return {k: v for k, v in r.items() if k not in ("seconds",)}
ok = True
for name in ("bench/results.jsonl", "synth/train.jsonl", "synth/val.jsonl"):
    same = [strip(r) for r in rows(a / name)] == [strip(r) for r in rows(b / name)]
    ok &= same
    print(f"{name}: {'identical' if same else 'DIFFERENT'} ({len(rows(a / name))} rows)")
wa, wb = load_file(a / "adapter/adapter_model.safetensors"), load_file(b / "adapter/adapter_model.safetensors")
same = wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)
ok &= same
print(f"adapter weights: {'identical' if same else 'DIFFERENT'} ({len(wa)} tensors)")
sys.exit(0 if ok else 1)
PYEOF
fi
OUT=$(realpath -m "$1"); CODE=$(realpath "${2:-$PWD}")
rm -rf "$OUT"; mkdir -p "$OUT"
export MEMO_HOME="$OUT/home" PYTHONPATH="$CODE" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
memo() { (cd "$OUT" && "$PY" -m memo "$@"); }
memo index --demo --json > "$OUT/index.json"
memo bench --demo --arms base,rag --out "$OUT/bench" --json > "$OUT/bench.json"
memo synth --company Tidewell --out "$OUT/synth" --limit 12 --json > "$OUT/synth.json"
memo train "$OUT/synth" --out "$OUT/adapter" --max-steps 4 --json > "$OUT/train.json"
echo "identity run written to $OUT"
