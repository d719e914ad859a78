"""Retrieval quality: hit@1, hit@k and MRR@k of memo's hybrid search against the evidence document
of each question in one or more QA files (the ../shared/qa format), every variant of the lexical
side and the fusion measured in the same run against today's default.

    .venv/bin/python benchmarks/eval_retrieval.py \
        --corpus ../shared/corpora/sourcegraph-handbook --company Sourcegraph \
        --qa ../shared/qa/sourcegraph_handbook_faq.jsonl \
        --qa benchmarks/qa/sourcegraph_handbook_faq.paraphrased.jsonl

`--home DIR` reads the index already built in that MEMO_HOME instead of indexing `--corpus` into a
temporary one. An evidence path (relative to shared/corpora) is matched to an indexed source by
path suffix, so it works whichever folder was indexed. Documents are long, so a hit on the right
document can still miss the chunk that answers: with a reference answer (a paraphrased question
borrows its original's through `of`), the answer chunk is the evidence document's chunk holding
most of the answer's content words, and `answer chunk packed` is the share of questions whose
answer chunk is among the `retrieval.pack_candidates` hits `memo ask` packs. Variants:
- `before`: BM25 on unstemmed content words, dense and BM25 weighted 1:1, RRF k 60, depth 40
  (memo before issue 12);
- `default`: the settings as they are now;
- one change at a time from the default: no stemming, RRF k, the BM25 weight, the list depth;
- with `--reranker DIR`: the default with that reranker over its `retrieval.rerank_depth` candidates;
- `dense` and `bm25` alone (the other list weighted 0), and `bm25s` alone: the bm25s package with
  its Snowball stemmer and English stop words, over the same chunks and company filter, with its
  build and query times beside memo's;
- `no role list`: questions asked for a role without the role's own third list;
- vectors: the same questions against a twin index of the same corpus whose chunk vectors carry
  another `index.heading_weight` (`--heading-weight W`, repeatable; 0 = text only, memo before
  heading-aware vectors): `before` and `default` fusion on it. Without `--home` the script
  indexes the corpus once per weight; with `--home` it reads the indexes named `heading-W` there
  (build one with `MEMO_INDEX_NAME=heading-0 MEMO_INDEX_HEADING_WEIGHT=0 memo index ...`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets MEMO_HOME to a temporary folder first)

# One change at a time from the default (retrieval settings), then the single lists.
SWEEP = {
    "no stemming": {"stemming": False},
    "rrf_k 30": {"rrf_k": 30}, "rrf_k 60": {"rrf_k": 60},
    "bm25 weight 0.25": {"bm25_weight": 0.25}, "bm25 weight 0.5": {"bm25_weight": 0.5},
    "bm25 weight 1": {"bm25_weight": 1.0},
    "rrf_k 60, bm25 weight 0.5": {"rrf_k": 60, "bm25_weight": 0.5},
    "depth 20": {"candidates": 20}, "depth 80": {"candidates": 80},
    "dense": {"bm25_weight": 0.0}, "bm25": {"dense_weight": 0.0},
    "no role list": {"role_weight": 0.0},
}
BEFORE = {"stemming": False, "dense_weight": 1.0, "bm25_weight": 1.0, "rrf_k": 60, "candidates": 40,
          "role_weight": 0.0}
TODAY_FUSION = {"role_weight": 0.0, "bm25_weight": 1.0}  # issue 12's first fusion (stemmed, 1:1, RRF k 10)


def configure(parser) -> None:
    parser.add_argument("--company", default=common.COMPANY)
    parser.add_argument("--qa", type=Path, action="append", required=True,
                        help="JSONL with question and evidence (repeat for several files)")
    parser.add_argument("--home", type=Path, help="use the index in this MEMO_HOME (no indexing)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--reranker", type=Path, action="append", default=[],
                        help="a `memo train-reranker` folder: adds the default + this reranker (repeatable)")
    parser.add_argument("--heading-weight", type=float, action="append", default=[],
                        help="also measure a twin index with this index.heading_weight (repeatable; 0 = text only)")


def matches(source: str, evidence: str) -> bool:
    """Does an indexed source (relative to the indexed root) name the evidence file?"""
    return evidence.endswith("/" + source) or evidence == source


def rank_of(sources: list[str], evidence: str) -> int | None:
    for rank, source in enumerate(dict.fromkeys(sources), start=1):
        if matches(source, evidence):
            return rank
    return None


def scores(ranks: list, k: int) -> dict:
    n = max(len(ranks), 1)
    return {"hit@1": sum(r == 1 for r in ranks) / n, f"hit@{k}": sum(r is not None for r in ranks) / n,
            f"mrr@{k}": sum(1 / r for r in ranks if r) / n}


def answer_chunks(retriever, questions: list[dict], company: str) -> None:
    """Give each question with a reference answer (its own, or its original's through `of`) the
    chunk of its evidence document that holds most of the answer's content words: `answer_chunk`."""
    from memo.core.text import content_words

    references = {q["id"]: q.get("reference_answer") for q in questions if q.get("id")}
    chunks = retriever.chunks(company)
    for q in questions:
        wanted = set(content_words(references.get(q.get("of")) or q.get("reference_answer") or ""))
        inside = [c for c in chunks if matches(c.meta.get("source", ""), q["evidence"])]
        if wanted and inside:
            best = max(inside, key=lambda c: len(wanted & set(content_words(c.text))))
            q["answer_chunk"] = best.id


def run_variant(retriever, base, overrides: dict, questions: list[dict], company: str, k: int) -> dict:
    retriever.settings = dataclasses.replace(base, retrieval=dataclasses.replace(base.retrieval, **overrides))
    per_file: dict[str, list] = {}
    in_pack: dict[str, list] = {}
    pack = base.retrieval.pack_candidates
    started = time.perf_counter()
    for q in questions:
        hits = retriever.retrieve(q["question"], company, q.get("role"), k=k)
        per_file.setdefault(q["file"], []).append(rank_of([h.source for h in hits], q["evidence"]))
        if q.get("answer_chunk"):
            in_pack.setdefault(q["file"], []).append(q["answer_chunk"] in [h.id for h in hits[:pack]])
    ms = 1000 * (time.perf_counter() - started) / max(len(questions), 1)
    result = {f: scores(r, k) for f, r in per_file.items()}
    for f, found in in_pack.items():
        result[f]["answer_chunk_packed"] = sum(found) / len(found)
    return {**result, "ms_per_query": round(ms, 1)}


def bm25s_alone(retriever, questions: list[dict], company: str, k: int) -> dict:
    """The bm25s package over the same chunks and filter: ranks, build and query times."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    chunks = retriever.fetch(retriever.table.ids)  # table order, as the masks index them
    started = time.perf_counter()
    engine = bm25s.BM25()
    engine.index(bm25s.tokenize([c.text for c in chunks], stopwords="en", stemmer=stemmer, show_progress=False),
                 show_progress=False)
    built = time.perf_counter() - started
    per_file: dict[str, list] = {}
    started = time.perf_counter()
    for q in questions:
        _, mask = retriever.scope(company, q.get("role"))
        found, _ = engine.retrieve(bm25s.tokenize(q["question"], stopwords="en", stemmer=stemmer,
                                                  show_progress=False),
                                   k=min(4 * k, int(mask.sum())), weight_mask=mask.astype("float32"),
                                   show_progress=False)
        sources = list(dict.fromkeys(chunks[int(i)].meta.get("source", "") for i in found[0]))[:k]
        per_file.setdefault(q["file"], []).append(rank_of(sources, q["evidence"]))
    ms = 1000 * (time.perf_counter() - started) / max(len(questions), 1)
    return {**{f: scores(r, k) for f, r in per_file.items()}, "ms_per_query": round(ms, 1),
            "build_s": round(built, 2)}


def twin(settings, args, weight: float, embedder):
    """A retriever over the same corpus indexed with another heading weight (None, with a note,
    when `--home` has no such index)."""
    from memo.core.errors import NotIndexedError
    from memo.ingestion.indexer import Target, index_corpus
    from memo.retrieval.hybrid import HybridRetriever

    index = dataclasses.replace(settings.index, name=f"heading-{weight:g}", heading_weight=weight)
    other = dataclasses.replace(settings, index=index)
    if not args.home:
        index_corpus(other, [args.corpus], Target(args.company), show_progress=False)
    try:
        return HybridRetriever(other, embedder=embedder)
    except NotIndexedError:
        print(f"note: no index {index.name!r} in {settings.home}; skipped", file=sys.stderr)
        return None


def load_questions(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("evidence"):
                rows.append({**row, "file": path.name})
    return rows


def main() -> None:
    args = common.parse_args(__doc__, configure)
    if args.home:
        os.environ["MEMO_HOME"] = str(args.home.resolve())
    from memo.core.config import load_settings
    from memo.ingestion.indexer import Target, index_corpus
    from memo.ingestion.bm25 import BM25
    from memo.retrieval.hybrid import HybridRetriever

    settings = load_settings()
    if not args.home:
        index_corpus(settings, [args.corpus], Target(args.company), show_progress=False)
    retriever = HybridRetriever(settings)
    questions = load_questions(args.qa)
    retriever.retrieve(questions[0]["question"], args.company, k=args.k)  # load the embedder
    answer_chunks(retriever, questions, args.company)
    twins = {w: twin(settings, args, w, retriever.embedder) for w in args.heading_weight}
    texts = [c.text for c in retriever.fetch(retriever.table.ids)]
    started = time.perf_counter()
    BM25(texts)
    result = {"questions": {p.name: sum(q["file"] == p.name for q in questions) for p in args.qa},
              "memo_bm25_build_s": round(time.perf_counter() - started, 2), "variants": {}}
    variants = {"before": BEFORE, "default": {}, **SWEEP,
                **{f"reranker {p.name}": {"reranker": str(p.resolve())} for p in args.reranker}}
    for name, overrides in variants.items():
        result["variants"][name] = run_variant(retriever, settings, overrides, questions, args.company, args.k)
    for weight, other in twins.items():
        if other is None:
            continue
        base = other.settings  # run_variant replaces the retriever's settings each time
        for name, overrides in (("before", BEFORE), ("issue 12 fusion", TODAY_FUSION), ("default", {})):
            result["variants"][f"heading {weight:g}: {name}"] = run_variant(
                other, base, overrides, questions, args.company, args.k)
    result["variants"]["bm25s"] = bm25s_alone(retriever, questions, args.company, args.k)
    result["machine"] = common.machine()
    print(json.dumps(result) if args.json else table(result, args.k))


def table(result: dict, k: int) -> str:
    files = list(result["questions"])
    head = ("| variant | " + " | ".join(f"{f} hit@1 / hit@{k} / MRR / answer chunk packed" for f in files)
            + " | ms/query |")
    lines = [head, "|---" * (len(files) + 2) + "|"]
    for name, v in result["variants"].items():
        cells = [f"{v[f]['hit@1']:.3f} / {v[f][f'hit@{k}']:.3f} / {v[f][f'mrr@{k}']:.3f}"
                 + (f" / {v[f]['answer_chunk_packed']:.3f}" if "answer_chunk_packed" in v[f] else "") for f in files]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {v['ms_per_query']} |")
    lines.append(f"questions: {result['questions']}; memo BM25 build {result['memo_bm25_build_s']} s, "
                 f"bm25s build {result['variants']['bm25s']['build_s']} s "
                 f"[other processes used {result['machine']['other_cores']:.1f} of {result['machine']['cpus']} cores]")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
