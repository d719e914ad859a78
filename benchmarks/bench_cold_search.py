"""Cold CLI search: a fresh `memo search` process per query, with the light query path (numpy +
tokenizers, `retrieval.light_query`) against sentence-transformers in the same run.

    .venv/bin/python benchmarks/bench_cold_search.py [--corpus PATH | --home MEMO_HOME --company C]
                                                     [--runs 5] [--json]

Without `--home` the corpus is indexed into a fresh MEMO_HOME first (company "TTS"). Each run
starts `python -m memo search QUERY --company C --k 5` as a new process and times it to exit, the
two paths alternating so that machine noise hits both alike; it also reports each process's peak
resident memory. The issue 13 target is p50 <= 1 s for a 3.4k-chunk index; the ratio printed is
sentence-transformers' p50 over the light path's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import COMPANY, emit, parse_args, percentile

QUERIES = ["How many days of paid leave do I get?", "What is the on-call rotation like?",
           "How do I get my laptop and equipment?", "What does the hiring process look like?",
           "How are expenses reimbursed?", "Is remote work allowed?"]


def configure(parser) -> None:
    parser.add_argument("--home", type=Path, help="use the index in this MEMO_HOME (no indexing)")
    parser.add_argument("--company", default=COMPANY)
    parser.add_argument("--runs", type=int, default=5, help="cold searches per path")


def cold_search(query: str, company: str, light: bool) -> tuple[float, int]:
    """Seconds to exit and peak RSS (KB) of one fresh `memo search` process (its own rusage)."""
    env = {**os.environ, "MEMO_RETRIEVAL_LIGHT_QUERY": "true" if light else "false"}
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "memo", "search", query, "--company", company, "--k", "5"],
                                 stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            errors.seek(0)
            raise SystemExit(f"memo search failed: {errors.read().decode(errors='replace').strip()[-300:]}")
    return seconds, usage.ru_maxrss


def main() -> None:
    args = parse_args(__doc__, configure)
    if args.home:
        os.environ["MEMO_HOME"] = str(args.home.resolve())
    else:
        from memo.core.config import load_settings
        from memo.ingestion.indexer import Target, index_corpus

        index_corpus(load_settings(), [args.corpus], Target(args.company), show_progress=False)
    times: dict[bool, list[float]] = {True: [], False: []}
    peak: dict[bool, int] = {True: 0, False: 0}
    for run in range(args.runs):
        for light in ((True, False) if run % 2 == 0 else (False, True)):
            seconds, rss = cold_search(QUERIES[run % len(QUERIES)], args.company, light)
            times[light].append(seconds)
            peak[light] = max(peak[light], rss)
    light, heavy = percentile(times[True], 50), percentile(times[False], 50)
    result = {"runs": args.runs, "light_p50_s": round(light, 2), "sentence_transformers_p50_s": round(heavy, 2),
              "speedup": round(heavy / light, 2), "light_peak_rss_mb": round(peak[True] / 1024),
              "sentence_transformers_peak_rss_mb": round(peak[False] / 1024),
              "target_s": 1.0}
    emit(f"cold memo search: light query path p50 {result['light_p50_s']} s, sentence-transformers "
         f"{result['sentence_transformers_p50_s']} s = x{result['speedup']} (target p50 <= 1 s)", result, args.json)


if __name__ == "__main__":
    main()
