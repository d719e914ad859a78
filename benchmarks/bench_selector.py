"""The evidence selector, measured: does the answer sentence come first? Trained cross-encoder
against the untrained MiniLM cosine baseline, on the same candidates in the same run.

    .venv/bin/python benchmarks/bench_selector.py --home /tmp/mh QA.jsonl [...] [--selector DIR] \
        [--company NAME] [--json]

For each question memo retrieves its best `evidence.hits` (12) as `memo ask` does; every sentence
and list item of those hits is a candidate (memo.answering.evidence.units_of). The answer units:
- for a team-written row with `answer_sentences`: the units holding one of them;
- for a public row with only a `reference_answer`: the units whose content words are at least
  `FROM_REFERENCE` inside the reference (the FAQ's answer, as the handbook writes it).
A question none of whose answer units was retrieved is counted apart ("not retrieved"). Scores:
answer-unit hit@1 and MRR (95% bootstrap intervals), the paired difference trained - cosine, and
the selection time per question over 12 hits with every unit new to the scorer (no cached
vectors: the slow case), p50 and max. The companies must be indexed in `--home` already.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (machine facts, offline)

from memo.answering.evidence import CosineScorer, scored, units_of  # noqa: E402
from memo.core.config import load_settings  # noqa: E402
from memo.core.text import content_words  # noqa: E402
from memo.eval import stats  # noqa: E402
from memo.finetune.selector import is_answer  # noqa: E402
from memo.retrieval.hybrid import HybridRetriever  # noqa: E402

FROM_REFERENCE = 0.8  # a unit this much inside the reference answer is the reference's own sentence
MIN_WORDS = 4  # shorter units ("Yes.", a heading-like line) say too little to count as the answer


def answer_units(row: dict, units: list) -> list:
    if row.get("answer_sentences"):
        return [u for u in units if is_answer(u, row["answer_sentences"])]
    wanted = set(content_words(row.get("reference_answer") or ""))
    out = []
    for unit in units:
        words = content_words(unit.text)
        if len(words) >= MIN_WORDS and sum(w in wanted for w in words) >= FROM_REFERENCE * len(words):
            out.append(unit)
    return out


def ranks(question: str, units: list, answers: list, scorer) -> tuple[float, float, float]:
    """(hit@1, reciprocal rank, milliseconds) of `scorer` on one question."""
    started = time.perf_counter()
    ranked = sorted(scored(question, units, scorer), key=lambda u: (-u.score, u.order))
    ms = 1000 * (time.perf_counter() - started)
    keys = {(u.doc, u.order) for u in answers}
    first = next(i for i, u in enumerate(ranked, start=1) if (u.doc, u.order) in keys)
    return float(first == 1), 1.0 / first, ms


def scorers(retriever, selector: str | None) -> dict:
    out = {"minilm cosine": lambda: CosineScorer(lambda: retriever.embedder)}
    if selector:
        from memo.answering.selector import CrossEncoderScorer

        trained = CrossEncoderScorer(selector, lambda: retriever.embedder)

        def fresh():  # the trained model stays loaded; its cosine pre-selection starts empty
            trained.first = CosineScorer(lambda: retriever.embedder)
            return trained
        out["trained"] = fresh
    return out


def measure(rows: list[dict], settings, retriever, selector: str | None) -> dict:
    makers = scorers(retriever, selector)
    found = {name: {"hit@1": [], "mrr": [], "ms": []} for name in makers}
    missing = 0
    for row in rows:
        hits = retriever.retrieve(row["question"], row["company"], row.get("role"), settings.evidence.hits)
        units = units_of(hits)
        answers = answer_units(row, units)
        if not answers:
            missing += 1
            continue
        for name, make in makers.items():
            hit, rr, ms = ranks(row["question"], units, answers, make())
            found[name]["hit@1"].append(hit)
            found[name]["mrr"].append(rr)
            found[name]["ms"].append(ms)
    result = {name: {"hit@1": stats.bootstrap(s["hit@1"]).as_dict(), "mrr": stats.bootstrap(s["mrr"]).as_dict(),
                     "ms_p50": common.percentile(s["ms"], 50), "ms_max": max(s["ms"], default=None)}
              for name, s in found.items()}
    if "trained" in found:
        for metric in ("hit@1", "mrr"):
            result["trained"][f"{metric} vs cosine"] = stats.paired(found["trained"][metric],
                                                                    found["minilm cosine"][metric]).as_dict()
    return {"questions": len(rows), "not_retrieved": missing, "scorers": result}


def _cell(e: dict) -> str:
    return "-" if e.get("mean") is None else f"{e['mean']:.2f} [{e['low']:.2f}-{e['high']:.2f}]"


def report(name: str, result: dict) -> str:
    lines = [f"{name}: {result['questions']} questions, answer not retrieved for {result['not_retrieved']}"]
    for scorer, s in result["scorers"].items():
        line = (f"  {scorer:14s} hit@1 {_cell(s['hit@1'])} n={s['hit@1']['n']} | MRR {_cell(s['mrr'])} | "
                f"selection p50 {s['ms_p50']:.0f} ms, max {s['ms_max']:.0f} ms")
        if "mrr vs cosine" in s:
            line += f" | MRR - cosine {_cell(s['mrr vs cosine'])}"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("qa", nargs="+", type=Path)
    parser.add_argument("--selector", help="a trained selector folder (scripts/train_selector.sh)")
    parser.add_argument("--home", required=True, help="the MEMO_HOME whose index holds the companies")
    parser.add_argument("--company", help="the indexed company every question is about (else each row's own)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["MEMO_HOME"] = args.home
    settings = load_settings()
    retriever = HybridRetriever(settings)
    out, lines = {}, []
    for path in args.qa:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [{**r, "company": args.company or r["company"]} for r in rows
                if r.get("answer_sentences") or r.get("reference_answer")]
        out[path.name] = measure(rows, settings, retriever, args.selector)
        lines.append(report(path.name, out[path.name]))
    common.emit("\n".join(lines), {"files": out}, args.json)


if __name__ == "__main__":
    main()
