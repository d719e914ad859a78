"""Answer the first N questions of a Q&A file in all four modes (base, rag, ft, hybrid) and print
them side by side, with the reference answer: the end-to-end check of a trained adapter.

    MEMO_HOME=/tmp/memo_tts python benchmarks/ask_modes.py ../shared/qa/tts_join_faq.jsonl \
        --company TTS --adapter runs/tts-adapter --n 5 [--json out.json]

Each model is loaded once (base for base/rag, base+adapter for ft/hybrid); greedy decoding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memo.answering.ask import Answerer  # noqa: E402
from memo.core.config import load_settings  # noqa: E402
from memo.core.jsonl import read_jsonl  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("qa", type=Path)
    parser.add_argument("--company", required=True)
    parser.add_argument("--role")
    parser.add_argument("--adapter", type=Path, required=True)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the answers here")
    args = parser.parse_args()

    questions = read_jsonl(args.qa, ("question",))[:args.n]
    settings = load_settings()
    plain = Answerer(settings)
    tuned = Answerer(settings, retriever=plain.retriever, adapter=args.adapter)
    rows = []
    for row in questions:
        entry = {"question": row["question"], "reference": row.get("reference_answer")}
        for mode, answerer in (("base", plain), ("rag", plain), ("ft", tuned), ("hybrid", tuned)):
            started = time.monotonic()
            answer = answerer.ask(row["question"], args.company, args.role, mode)
            entry[mode] = {"answer": answer.answer, "reasoning": answer.reasoning,
                           "sources": [c["source"] for c in answer.contexts],
                           "citations": [c["n"] for c in answer.citations],
                           "seconds": round(time.monotonic() - started, 1)}
        rows.append(entry)
        print(f"\n### {entry['question']}\n\n*reference:* {(entry['reference'] or '')[:300]}\n")
        for mode in ("base", "rag", "ft", "hybrid"):
            print(f"- **{mode}** ({entry[mode]['seconds']} s): {entry[mode]['answer'][:400]}")
        sys.stdout.flush()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
