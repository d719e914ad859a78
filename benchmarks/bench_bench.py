"""Time `memo bench`: all arms over a question file, with where the time goes, and its batched
answering against one answer at a time on a sample of the same questions, in the same run.

    MEMO_HOME=/work/tts/home .venv/bin/python benchmarks/bench_bench.py ../shared/qa/tts_join_faq.jsonl \
        --company TTS --adapter runs/tts-adapter [--baseline-limit 4] [--json]

--memo-home is the MEMO_HOME holding the indexed corpus (default: $MEMO_HOME, read before this
script isolates itself). Target (issue 5): 4 arms x 27 TTS FAQ questions in under 15 minutes on
the project's 2-core CPU with the default model.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

_CALLER_HOME = os.environ.get("MEMO_HOME")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (isolates the environment; MEMO_HOME is set back below)


def configure(parser) -> None:
    parser.add_argument("qa", type=Path, help="questions (../shared/qa format)")
    parser.add_argument("--company", required=True)
    parser.add_argument("--adapter", required=True, help="`memo train` output folder")
    parser.add_argument("--memo-home", default=_CALLER_HOME, help="MEMO_HOME with the indexed corpus")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--baseline-limit", type=int, default=4, help="questions answered one at a time")


def timed_bench(qa: Path, company: str, adapter: str, out: Path, batch_size: int, limit: int | None) -> dict:
    from memo.core.config import load_settings
    from memo.core.progress import Progress
    from memo.eval.bench import BenchOptions, run_bench

    opts = BenchOptions(files=[qa], out=out, adapter=adapter, company=company, batch_size=batch_size,
                        limit=limit)
    started = time.perf_counter()
    with Progress(enabled=False) as progress:
        summary = run_bench(opts, load_settings(), progress)
    summary["wall"] = time.perf_counter() - started
    summary["answers"] = summary["questions"] * len(summary["arms"])
    return summary


def main() -> int:
    args = common.parse_args(__doc__, configure)
    if not args.memo_home:
        raise SystemExit("give --memo-home (or MEMO_HOME) with the indexed corpus")
    os.environ["MEMO_HOME"] = args.memo_home
    scratch = Path(tempfile.mkdtemp(prefix="memo-bench-out-"))
    full = timed_bench(args.qa, args.company, args.adapter, scratch / "full", args.batch_size, None)
    single = timed_bench(args.qa, args.company, args.adapter, scratch / "single", 1, args.baseline_limit)
    seconds = full["seconds"]
    share = {k: seconds.get(k, 0.0) / full["wall"] for k in ("load", "retrieval", "generation", "scoring")}
    per_answer = {name: s["seconds"]["generation"] / s["answers"] for name, s in (("batched", full), ("single", single))}
    line = (f"bench: {len(full['arms'])} arms x {full['questions']} questions in {full['wall']:.0f} s "
            f"({', '.join(f'{k} {v:.0%}' for k, v in share.items())}); generation {per_answer['batched']:.1f} "
            f"s/answer batched ({args.batch_size}) vs {per_answer['single']:.1f} one at a time "
            f"({single['answers']} answers) = x{per_answer['single'] / per_answer['batched']:.2f}")
    common.emit(line, {"full": full, "single": single, "share": share, "per_answer": per_answer}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
