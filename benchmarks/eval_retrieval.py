"""Retrieval quality: hit@k and MRR of memo's hybrid search against the evidence document of each
question in a QA file (the ../shared/qa format), on a corpus indexed for the run.

    .venv/bin/python benchmarks/eval_retrieval.py \
        --corpus ../shared/corpora/sourcegraph-handbook --company Sourcegraph \
        --qa ../shared/qa/sourcegraph_handbook_faq.jsonl

An evidence path (relative to shared/corpora) is matched to an indexed source by path suffix, so
it works whichever folder was indexed. Also reports dense-only and BM25-only rankings as the
baselines that fusion must beat, measured in the same run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets MEMO_HOME to a temporary folder first)


def configure(parser) -> None:
    parser.add_argument("--company", default=common.COMPANY)
    parser.add_argument("--qa", type=Path, required=True, help="JSONL with question and evidence")
    parser.add_argument("--k", type=int, default=5)


def matches(source: str, evidence: str) -> bool:
    """Does an indexed source (relative to the indexed root) name the evidence file?"""
    return evidence.endswith("/" + source) or evidence == source


def rank_of(sources: list[str], evidence: str) -> int | None:
    for rank, source in enumerate(sources, start=1):
        if matches(source, evidence):
            return rank
    return None


def main() -> None:
    args = common.parse_args(__doc__, configure)
    from memo.core.config import load_settings
    from memo.ingestion.indexer import Target, index_corpus
    from memo.retrieval.hybrid import HybridRetriever

    settings = load_settings()
    index_corpus(settings, [args.corpus], Target(args.company), show_progress=False)
    retriever = HybridRetriever(settings)
    questions = [json.loads(line) for line in args.qa.read_text().splitlines() if line.strip()]
    questions = [q for q in questions if q.get("evidence")]
    ranks: dict[str, list] = {"hybrid": [], "dense": [], "bm25": []}
    for q in questions:
        hits = retriever.retrieve(q["question"], args.company, k=args.k)
        ranks["hybrid"].append(rank_of(_unique([h.source for h in hits]), q["evidence"]))
        wide = retriever.retrieve(q["question"], args.company, k=settings.retrieval.candidates)
        for arm, key in (("dense", "dense"), ("bm25", "bm25")):
            listed = sorted((h for h in wide if getattr(h, key) is not None), key=lambda h: -getattr(h, key))
            ranks[arm].append(rank_of(_unique([h.source for h in listed])[: args.k], q["evidence"]))
    result = {arm: {f"hit@{args.k}": _hit(r), f"mrr@{args.k}": _mrr(r)} for arm, r in ranks.items()}
    result["questions"] = len(questions)
    if args.json:
        print(json.dumps(result))
        return
    line = ", ".join(f"{arm} hit@{args.k} {v[f'hit@{args.k}']:.3f} mrr {v[f'mrr@{args.k}']:.3f}"
                     for arm, v in result.items() if isinstance(v, dict))
    ratio = result["hybrid"][f"hit@{args.k}"] / max(result["dense"][f"hit@{args.k}"], 1e-9)
    print(f"{len(questions)} questions: {line}; hybrid/dense hit ratio x{ratio:.2f}")


def _unique(sources: list[str]) -> list[str]:
    return list(dict.fromkeys(sources))


def _hit(ranks: list) -> float:
    return sum(r is not None for r in ranks) / max(len(ranks), 1)


def _mrr(ranks: list) -> float:
    return sum(1 / r for r in ranks if r) / max(len(ranks), 1)


if __name__ == "__main__":
    main()
