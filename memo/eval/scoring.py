"""Scoring without a judge, for every (arm, question): the reference-based string and semantic
scores, the hallucinated-number rate and whether the answer is degenerate (and why), and for the
retrieval arms the retrieval and citation scores. Each text is embedded once (one batch for the
whole run); scores are cached with the answer's key.
"""

from __future__ import annotations

from memo.eval import metrics
from memo.eval.arms import RETRIEVAL_ARMS
from memo.eval.cache import BenchCache, key_of
from memo.eval.degenerate import degenerate
from memo.eval.questions import EvalQuestion

SCORES_VERSION = 5  # bump when a score's definition changes: cached scores are then recomputed
ANSWER_METRICS = ("key_facts", "evidence_recall", "holds_evidence", "rouge_l", "chrf", "semantic_similarity",
                  "token_f1", "hallucinated_numbers")
LOWER_IS_BETTER = frozenset(["hallucinated_numbers"])  # every other score: higher is better
RANKING_METRICS = ("hit@1", "hit@5", "mrr", "context_id_precision", "context_id_recall")  # same for rag, hybrid
RETRIEVAL_METRICS = (*RANKING_METRICS, "citation_validity")


class TextVectors:
    """Embeddings by text, computed in batches and reused (Ragas' embedding interface on top).
    `load` gives the embedder, called on the first text to embed (a cached rerun loads none)."""

    def __init__(self, load):
        self.load = load
        self.vectors: dict[str, list[float]] = {}

    def prime(self, texts: list[str]) -> None:
        """Embed, in one batch, every text not embedded yet."""
        missing = sorted({t for t in texts if t and t not in self.vectors})
        if missing:
            for text, vector in zip(missing, self.load().encode(missing)):
                self.vectors[text] = [float(x) for x in vector]

    def vector(self, text: str) -> list[float]:
        self.prime([text])
        return self.vectors[text]

    def ragas(self):
        """This cache as a Ragas embeddings object (for SemanticSimilarity, ResponseRelevancy)."""
        from ragas.embeddings.base import BaseRagasEmbedding

        vectors = self

        class MemoEmbeddings(BaseRagasEmbedding):
            def embed_text(self, text: str, **kwargs) -> list[float]:
                return vectors.vector(text)

            async def aembed_text(self, text: str, **kwargs) -> list[float]:
                return vectors.vector(text)

            def embed_texts(self, texts: list[str], **kwargs) -> list[list[float]]:
                vectors.prime(texts)
                return [vectors.vector(t) for t in texts]

        return MemoEmbeddings()


def semantic_similarity(answer: str, reference: str | None, embeddings) -> float | None:
    """Ragas SemanticSimilarity (cosine of the embedder's vectors)."""
    if not reference or not answer.strip():
        return None if not reference else 0.0
    from ragas.metrics.collections import SemanticSimilarity

    return float(SemanticSimilarity(embeddings=embeddings).score(reference=reference, response=answer).value)


def answer_scores(q: EvalQuestion, row: dict, embeddings) -> dict[str, float | str | None]:
    """Every arm's scores of one answer; `degenerate` is a reason string (or None), not a score."""
    answer = row["answer"]
    contexts = [c["text"] for c in row.get("contexts") or []]  # [] for the arms without retrieval
    recall = metrics.evidence_recall(answer, q.reference)
    return {"key_facts": metrics.key_facts_present(answer, q.key_facts), "evidence_recall": recall,
            "holds_evidence": None if recall is None else float(recall >= metrics.HOLDS),
            "rouge_l": metrics.rouge_l(answer, q.reference), "chrf": metrics.chrf(answer, q.reference),
            "semantic_similarity": semantic_similarity(answer, q.reference, embeddings),
            "token_f1": metrics.token_f1(answer, q.reference),
            "hallucinated_numbers": metrics.hallucinated_number_rate(answer, q.question, contexts),
            "degenerate": degenerate(answer, q.question)}


def retrieval_scores(q: EvalQuestion, row: dict, ranked_sources: list[str]) -> dict:
    """Scores of what was retrieved (the ranked list) and shown (the packed contexts) against the
    question's evidence documents, and of the answer's citations."""
    evidence = set(q.evidence_sources)
    hits = metrics.hits_at(ranked_sources, evidence)
    precision, recall = metrics.context_ids([c["source"] for c in row["contexts"]], evidence)
    return {"hit@1": hits[0] if hits else None, "hit@5": hits[4] if hits else None,
            "mrr": metrics.reciprocal_rank(ranked_sources, evidence),
            "context_id_precision": precision, "context_id_recall": recall,
            "citation_validity": metrics.citation_validity(row["answer"], row["reasoning"],
                                                           [c["text"] for c in row["contexts"]]),
            "hits": hits, "evidence_rank": metrics.evidence_rank(ranked_sources, evidence),
            "retrieved": list(ranked_sources[:metrics.HIT_DEPTH])}


def score_all(questions: list[EvalQuestion], answers: dict[str, dict[str, dict]], retriever,
              vectors: TextVectors, cache: BenchCache, on_done) -> dict[str, dict[str, dict]]:
    """{arm: {qid: scores}}, computing only the scores the cache lacks."""
    by_id = {q.qid: q for q in questions}

    def key(row: dict) -> str:
        return key_of("scores", SCORES_VERSION, row["key"])

    todo = [(arm, qid, row) for arm, rows in answers.items() for qid, row in rows.items()
            if cache.get(key(row)) is None]
    vectors.prime([t for arm, qid, row in todo for t in (row["answer"], by_id[qid].reference or "")])
    embeddings = vectors.ragas() if todo else None
    new = []
    for arm, qid, row in todo:
        q = by_id[qid]
        scores = answer_scores(q, row, embeddings)
        if arm in RETRIEVAL_ARMS:
            ranked = [h.source for h in retriever.retrieve(q.question, q.indexed_company, q.indexed_role)]
            scores.update(retrieval_scores(q, row, ranked))
        new.append({"key": key(row), "kind": "scores", "scores": scores})
        on_done(1)
    cache.put(new)
    return {arm: {qid: cache.get(key(row))["scores"] for qid, row in rows.items()} for arm, rows in answers.items()}
