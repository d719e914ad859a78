"""What memo's check of a store for damage (memo/ingestion/store_check.py: SQLite's header and
quick_check, the HNSW files' structure) adds to opening an undamaged index, against the open
itself measured in the same process.

    .venv/bin/python benchmarks/bench_store_check.py [--home MEMO_HOME | --corpus PATH --company C]
                                                     [--rounds 7] [--json]

Without `--home` the corpus is indexed into a fresh MEMO_HOME first (the issue measures the
Sourcegraph handbook: `--corpus ../shared/corpora/sourcegraph-handbook --company Sourcegraph`).
Each round is a fresh Python process, as a command is: it times the check (forced), then opens the
index as `memo search` does (`HybridRetriever`: Chroma's client and collection, the chunk table),
which skips the check because that process has just found the same files whole; then a warm
process's reopen (Chroma's clients forgotten) and the check again, as a reopen after `memo index`
pays it. The target: the check <= 5% of the cold open. The files are in the page cache (the
first round reads them), as they are for a command run after another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from common import COMPANY, emit, open_or_index, parse_args, percentile

CHILD = r"""
import json, time
t0 = time.perf_counter()
from memo.core.config import load_settings
from memo.ingestion import store_check
from memo.ingestion.store import forget_clients
from memo.retrieval.hybrid import HybridRetriever
settings = load_settings()
chroma = settings.index_dir / "chroma"
t1 = time.perf_counter()
problem = store_check.store_problem(chroma, force=True)
t2 = time.perf_counter()
HybridRetriever(settings)  # the check is not repeated: these files were just found whole
t3 = time.perf_counter()
forget_clients()
store_check._whole[str(chroma)] = store_check._signature(chroma)  # a reopen without the check
t4 = time.perf_counter()
HybridRetriever(settings)
t5 = time.perf_counter()
store_check.store_problem(chroma, force=True)
t6 = time.perf_counter()
print(json.dumps({"problem": problem, "imports": t1 - t0, "check": t2 - t1, "open": t3 - t2,
                  "reopen": t5 - t4, "check_again": t6 - t5}))
"""


def configure(parser) -> None:
    parser.add_argument("--home", type=Path, help="use the index in this MEMO_HOME (no indexing)")
    parser.add_argument("--company", default=COMPANY)
    parser.add_argument("--rounds", type=int, default=7, help="fresh processes")


def one_round() -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=os.environ)
    if done.returncode:
        raise SystemExit(f"the round failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args(__doc__, configure)
    open_or_index(args.home, args.corpus, args.company)
    from memo.core.config import load_settings

    chroma = load_settings().index_dir / "chroma"
    size_mb = sum(p.stat().st_size for p in chroma.rglob("*") if p.is_file()) / 2**20
    one_round()  # the page cache holds the files from here on
    rounds = [one_round() for _ in range(args.rounds)]
    if any(r["problem"] for r in rounds):
        raise SystemExit(f"the store is damaged: {rounds[0]['problem']}")
    ms = {key: round(1000 * percentile([r[key] for r in rounds], 50), 1)
          for key in ("imports", "check", "open", "reopen", "check_again")}
    result = {"rounds": args.rounds, "store_mb": round(size_mb, 1), **{f"{k}_ms": v for k, v in ms.items()},
              "check_share_of_open": round(ms["check"] / ms["open"], 3),
              "check_share_of_reopen": round(ms["check_again"] / ms["reopen"], 3), "target": 0.05}
    verdict = "met" if result["check_share_of_open"] <= result["target"] else "MISSED"
    emit(f"store check: {ms['check']} ms against a cold open of {ms['open']} ms = "
         f"{100 * result['check_share_of_open']:.1f}% (target <= 5%: {verdict}); a warm reopen {ms['reopen']} ms "
         f"+ check {ms['check_again']} ms; store {size_mb:.0f} MB", result, args.json)


if __name__ == "__main__":
    main()
