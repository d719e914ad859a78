"""Evidence first, measured: what the answers hold, for memo's evidence selection and composer
against the issue-26 extractive baseline, on the same retrieved hits in the same run.

    .venv/bin/python benchmarks/eval_evidence.py --home /tmp/mh QA.jsonl [QA.jsonl ...] \
        [--selector DIR] [--json]

Every question is retrieved once (memo's hybrid search, the best `evidence.hits`); then each
variant answers from those hits:
- `baseline`: the 3 sentences of the 4 best hits closest to the question by MiniLM cosine, joined
  as written (no threshold, no voice): the extractive baseline of issue 26;
- `memo cosine`: memo's selection (threshold, continuations, duplicates, word cap) by the cosine
  baseline, said by the deterministic composer (what `memo ask` answers by default);
- `memo trained`: the same with the trained selector of `--selector DIR`.
Scores: the share of questions whose every key fact is in the answer (rows with `key_facts`), the
evidence recall (the share of the reference answer's content words the answer holds) and the share
holding the evidence (recall >= 0.5), each with a 95% bootstrap interval; the share of answerable
questions answered "not covered", of unanswerable ones (`evidence` null) answered anyway; and the
selection time per question. The companies must be indexed in `--home` (a MEMO_HOME) already.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401  (machine facts)

from memo.answering.compose import NO_EVIDENCE, compose_rules  # noqa: E402
from memo.answering.evidence import CosineScorer, evidence_for, units_of  # noqa: E402
from memo.core.config import load_settings  # noqa: E402
from memo.eval import metrics, stats  # noqa: E402
from memo.retrieval.hybrid import HybridRetriever  # noqa: E402


# One change at a time from the [evidence] defaults (with --sweep).
SWEEP = {"margin 0.1": {"margin": 0.1}, "margin 1": {"margin": 1.0}, "3 units": {"max_units": 3},
         "5 units": {"max_units": 5}, "150 words": {"max_words": 150}, "4 hits": {"hits": 4},
         "8 hits": {"hits": 8}, "threshold 0.25": {"threshold": 0.25}, "threshold 0.35": {"threshold": 0.35}}


def baseline_answer(question: str, hits: list, scorer) -> str:
    """Issue 26's baseline: the 3 sentences of the 4 best hits whose own text is closest to the
    question by plain MiniLM cosine (no heading, no rank prior), joined as written."""
    units = units_of(hits[:4])
    values = scorer.score(question, [u.text for u in units]) if units else []
    return " ".join(u.text for _, u in sorted(zip(values, units, strict=True), key=lambda vu: -vu[0])[:3])


def variants(settings, retriever, selector: str | None, sweep: bool = False) -> dict:
    cosine = CosineScorer(lambda: retriever.embedder)
    out = {"baseline": lambda q, hits, company: baseline_answer(q, hits, cosine),
           "memo cosine": lambda q, hits, company: compose_rules(evidence_for(q, hits, cosine, settings.evidence),
                                                                 company)}
    for label, change in (SWEEP if sweep else {}).items():
        tried = dataclasses.replace(settings.evidence, **change)
        out[f"cosine {label}"] = (lambda c: lambda q, hits, company: compose_rules(
            evidence_for(q, hits[:c.hits], cosine, c), company))(tried)
    if selector:
        from memo.answering.selector import CrossEncoderScorer

        trained = CrossEncoderScorer(selector, lambda: retriever.embedder)
        out["memo trained"] = lambda q, hits, company: compose_rules(
            evidence_for(q, hits, trained, settings.evidence), company)
    return out


def measure(rows: list[dict], settings, retriever, selector: str | None, sweep: bool = False) -> dict:
    answerers = variants(settings, retriever, selector, sweep)
    scores = {name: {"key_facts": [], "evidence_recall": [], "holds_evidence": [], "refused": [],
                     "answered_unanswerable": [], "ms": []} for name in answerers}
    for row in rows:
        hits = retriever.retrieve(row["question"], row["company"], row.get("role"), settings.evidence.hits)
        answerable = row.get("evidence") is not None
        for name, answer_of in answerers.items():
            started = time.perf_counter()
            answer = answer_of(row["question"], hits, row["company"])
            s = scores[name]
            s["ms"].append(1000 * (time.perf_counter() - started))
            refused = answer == NO_EVIDENCE.format(company=row["company"])
            if not answerable:
                s["answered_unanswerable"].append(float(not refused))
                continue
            s["refused"].append(float(refused))
            s["key_facts"].append(metrics.key_facts_present(answer, row.get("key_facts")))
            recall = metrics.evidence_recall(answer, row.get("reference_answer") or " ".join(row.get("answer_sentences") or []))
            s["evidence_recall"].append(recall)
            s["holds_evidence"].append(None if recall is None else float(recall >= metrics.HOLDS))
    return {name: {m: (stats.bootstrap(v).as_dict() if m != "ms" else
                       {"p50": common.percentile(v, 50), "max": max(v) if v else None}) for m, v in s.items()}
            for name, s in scores.items()}


def _cell(e: dict) -> str:
    if e.get("mean") is None:
        return "-"
    return f"{e['mean']:.2f} [{e['low']:.2f}-{e['high']:.2f}] n={e['n']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("qa", nargs="+", type=Path)
    parser.add_argument("--selector", help="a trained selector folder (scripts/train_selector.sh)")
    parser.add_argument("--home", required=True, help="the MEMO_HOME whose index holds the companies")
    parser.add_argument("--company", help="the indexed company every question is about (else each row's own)")
    parser.add_argument("--sweep", action="store_true", help="also each one-setting change of SWEEP")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["MEMO_HOME"] = args.home
    settings = load_settings()
    retriever = HybridRetriever(settings)
    rows = [json.loads(line) for path in args.qa for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["company"] = args.company or row["company"]
    result = measure(rows, settings, retriever, args.selector, args.sweep)
    lines = [f"{len(rows)} questions from {', '.join(p.name for p in args.qa)}"]
    for name, s in result.items():
        lines.append(f"{name:14s} key facts {_cell(s['key_facts'])} | recall {_cell(s['evidence_recall'])} | "
                     f"holds {_cell(s['holds_evidence'])} | not covered {_cell(s['refused'])} | "
                     f"answered unanswerable {_cell(s['answered_unanswerable'])} | selection p50 {s['ms']['p50']:.0f} ms")
    common.emit("\n".join(lines), {"variants": result}, args.json)


if __name__ == "__main__":
    main()
