"""Hybrid retrieval: dense (Chroma) and BM25 ranked lists, plus the role's own chunks when a role is
asked, fused by reciprocal rank, filtered by company and role, with near-duplicate chunks collapsed.
`retrieve` searches; `chunks` lists a company's indexed chunks for the layers above (synth, the bench).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from memo.core.config import Settings
from memo.core.errors import MemoError, NotIndexedError
from memo.core.identity import CANDIDATE_MARK, scope_key, slug
from memo.core.limits import check_question
from memo.core.text import content_words
from memo.ingestion.embedder import load_embedder
from memo.ingestion.store import EMBEDDER_KEY, open_collection, reading
from memo.llm.models import pick_device
from memo.ingestion.bm25 import BM25
from memo.ingestion.chunk_table import READ_BATCH, open_table
from memo.retrieval.query_encoder import QueryEncoder, supported
from memo.retrieval.rerank import Reranker


@dataclass
class Hit:
    id: str
    text: str
    source: str
    company: str
    role: str
    kind: str
    title: str
    section: str
    score: float  # reciprocal-rank-fusion score: higher is better
    dense: float | None  # dense similarity (cosine with the text + heading_weight x with its heading)
    bm25: float | None  # BM25 score, when the chunk was in the keyword list
    rerank: float | None = None  # the reranker's score, when one reordered the candidates

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """One indexed chunk as stored: its id, text (heading trail first) and metadata."""

    id: str
    text: str
    meta: dict


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    words = content_words(text.split("\n\n", 1)[-1])  # the body, not the shared heading trail
    return {tuple(words[i:i + size]) for i in range(max(1, len(words) - size + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def rrf(ranked_lists: list[list[str]], k: int, weights: list[float] | None = None) -> dict[str, float]:
    """Reciprocal rank fusion: each list adds weight / (k + rank) for every id it ranks (rank from
    1; every weight 1 unless given)."""
    fused: dict[str, float] = {}
    for ranked, weight in zip(ranked_lists, weights or [1.0] * len(ranked_lists), strict=True):
        for rank, item in enumerate(ranked, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


# The role list is the role's best chunk: the first of the role's dense and BM25 lists, the earlier
# one in the posting when they differ (a posting opens with what the role is). Weighting dense
# first, fusing each list's best 10, or keeping 2, 3 or 10 chunks ranked the postings lower on the
# dev sets (benchmarks/README.md).
ROLE_DEPTH = 1


class HybridRetriever:
    """Opens the index once (collection, chunk table with BM25, query encoder), then answers
    `retrieve` calls; chunk texts are read from Chroma only for the hits."""

    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self._collection = open_collection(settings)
        stamped = (self._collection.metadata or {}).get(EMBEDDER_KEY)
        if stamped and stamped != settings.model.embedder:
            raise MemoError(f"index {settings.index.name!r} was built with embedder {stamped!r}, "
                            f"not {settings.model.embedder!r}; set model.embedder back or reindex")
        with reading(settings):
            self.table = open_table(settings.index_dir, self._collection, settings.retrieval.stemming)
        self._ids = self.table.ids
        self._position = self.table.position
        self._embedder = embedder
        self._light: QueryEncoder | None = None
        self._reranker: Reranker | None = None

    @property
    def bm25(self) -> BM25:
        """BM25 over every chunk (the chunk table's, saved at index time)."""
        return self.table.bm25

    @property
    def reranker(self) -> Reranker | None:
        """The cross-encoder of `retrieval.reranker` (loaded on first use), or None."""
        path = self.settings.retrieval.reranker
        if not path:
            return None
        if self._reranker is None or self._reranker.path != Path(path):
            self._reranker = Reranker(path, device=pick_device(self.settings.model.device))
        return self._reranker

    @property
    def embedder(self):
        """The sentence-transformers embedder (batches of texts: synth, the reranker's mining),
        loaded on first use."""
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    @property
    def query_encoder(self):
        """What embeds a query: the embedder when one is loaded or given, else the light path
        (`query_encoder.py`, no sentence-transformers import) for the embedders it runs. Loaded
        on the first query, so a refused question costs no model load."""
        if self._embedder is None and self._light is None and self.settings.retrieval.light_query \
                and supported(self.settings.model.embedder):
            self._light = QueryEncoder(self.settings.model.embedder)
        return self._light or self.embedder

    def companies(self) -> dict[str, str]:
        """Indexed companies, key -> name as given (read once when the retriever opens)."""
        return self.table.companies

    def chunks(self, company: str) -> list[Chunk]:
        """Every indexed chunk of `company` (its company documents and all its roles'), in index
        order; an unknown company is a NotIndexedError."""
        _, mask = self.scope(company, None)
        return self.fetch([self._ids[i] for i in mask.nonzero()[0]])

    def fetch(self, ids: list[str]) -> list[Chunk]:
        """The stored text and metadata of chunks `ids`, in that order (read from Chroma)."""
        found: dict[str, Chunk] = {}
        for start in range(0, len(ids), READ_BATCH):
            with reading(self.settings):
                got = self._collection.get(ids=ids[start:start + READ_BATCH], include=["documents", "metadatas"])
            for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                found[chunk_id] = Chunk(chunk_id, text, meta)
        return [found[i] for i in ids if i in found]

    def roles(self, company_key: str) -> dict[str, str]:
        return dict(self.table.roles.get(company_key, {}))

    def scope(self, company: str, role: str | None) -> tuple[dict, np.ndarray]:
        """Chroma `where` filter and BM25 mask: the company's documents plus the role's (if any)."""
        company_key = scope_key(company)
        if company_key not in self.table.companies:
            if company_key.startswith(CANDIDATE_MARK):
                raise NotIndexedError(f"nothing is indexed for candidate {company[1:]!r}; run `memo index "
                                      f"PATH --kind candidate --candidate {company[1:]!r}`")
            known = ", ".join(sorted(v for k, v in self.table.companies.items() if not k.startswith(CANDIDATE_MARK)))
            raise NotIndexedError(f"nothing is indexed for company {company!r} (indexed: {known or 'none'}); "
                                  f"run `memo index PATH --company {company!r}`")
        if not role:
            return {"company_key": company_key}, self.table.mask(company_key)
        role_key = slug(role)
        roles = self.roles(company_key)
        if role_key not in roles:
            known = ", ".join(sorted(roles.values())) or "none"
            raise NotIndexedError(f"no role {role!r} is indexed for {company} (roles: {known}); "
                                  f"index its description with `memo index FILE --company {company!r} "
                                  f"--role {role!r}`")
        where = {"$and": [{"company_key": company_key},
                          {"$or": [{"kind": "company"}, {"role_key": role_key}]}]}
        return where, self.table.mask(company_key, role_key)

    def retrieve(self, query: str, company: str, role: str | None = None, k: int | None = None) -> list[Hit]:
        """The `k` best chunks for `query` among the company's (and role's) documents."""
        if not query.strip():
            raise MemoError("the query is empty; ask a question")
        check_question(query)
        cfg = self.settings.retrieval
        k = k or cfg.k
        _, mask = self.scope(company, role)
        depth = min(cfg.candidates, int(mask.sum()))
        vector = self.query_encoder.encode_query(query).tolist()
        dense_ids, cosine = self._dense(vector, mask, depth)
        keyword = self.bm25.top(query, mask, depth)
        keyword_ids = [self._ids[i] for i, _ in keyword]
        bm25 = {self._ids[i]: s for i, s in keyword}
        lists, weights = [dense_ids, keyword_ids], [cfg.dense_weight, cfg.bm25_weight]
        if role and cfg.role_weight:
            lists.append(self._role_list(query, vector, company, role, cosine, bm25))
            weights.append(cfg.role_weight)
        fused = rrf(lists, cfg.rrf_k, weights)
        ranked = sorted(fused, key=lambda i: (-fused[i], i))
        reranker = self.reranker
        if reranker is None:
            return self._collapse(ranked, fused, cosine, bm25, k)
        candidates = self._collapse(ranked, fused, cosine, bm25, max(k, cfg.rerank_depth))
        for hit, score in zip(candidates, reranker.scores(query, [h.text for h in candidates])):
            hit.rerank = round(score, 4)
        return sorted(candidates, key=lambda h: -h.rerank)[:k]

    def _role_list(self, query: str, vector: list[float], company: str, role: str, cosine: dict,
                   bm25: dict) -> list[str]:
        """The role's own chunks, dense and BM25 fused, best `ROLE_DEPTH` (ties to the earlier
        chunk of the posting): a third list, so that a question asked for a role can find its posting among
        a large handbook's pages. Their scores join `cosine` and `bm25` (the company-wide lists
        may not reach them)."""
        role_key = slug(role)
        mask = self.table.mask(scope_key(company), role_key, role_only=True)
        depth = min(ROLE_DEPTH, int(mask.sum()))
        if not depth:
            return []
        dense_ids, dense_scores = self._dense(vector, mask, depth)
        dense = [(i, dense_scores[i]) for i in dense_ids]
        keyword = self.bm25.top(query, mask, depth)
        for chunk_id, score in dense:
            cosine.setdefault(chunk_id, score)
        for i, score in keyword:
            bm25.setdefault(self._ids[i], score)
        fused = rrf([[i for i, _ in dense], [self._ids[i] for i, _ in keyword]], self.settings.retrieval.rrf_k)
        opening = {i: int(self.table.chunk_numbers[self._position[i]]) for i in fused}
        return sorted(fused, key=lambda i: (-fused[i], opening[i], i))[:depth]

    def _dense(self, vector: list[float], mask: np.ndarray, depth: int) -> tuple[list[str], dict]:
        """Exact dense ranking within the scope: the query against the scope's rows of the chunk
        table's vectors (the similarity Chroma's search computes: inner product, which is the
        cosine for the unit vectors of an index older than heading-aware vectors)."""
        rows = mask.nonzero()[0]
        if not len(rows):
            return [], {}
        scores = np.asarray(self.table.vectors[rows]) @ np.asarray(vector, dtype=np.float32)
        best = np.argpartition(-scores, min(depth, len(rows)) - 1)[:depth]
        best = best[np.argsort(-scores[best], kind="stable")]
        ids = [self._ids[rows[i]] for i in best]
        return ids, {chunk_id: float(scores[i]) for chunk_id, i in zip(ids, best)}

    def _collapse(self, ranked: list[str], fused: dict, cosine: dict, bm25: dict, k: int) -> list[Hit]:
        """Keep the best of each group of near-duplicate chunks, until `k` are kept."""
        kept: list[Hit] = []
        kept_shingles: list[set] = []
        for chunk in self.fetch(ranked):
            grams = shingles(chunk.text)
            if any(jaccard(grams, other) >= self.settings.retrieval.dedup_threshold for other in kept_shingles):
                continue
            meta = chunk.meta
            kept.append(Hit(id=chunk.id, text=chunk.text, source=meta.get("source", ""),
                            company=meta.get("company", ""), role=meta.get("role", ""),
                            kind=meta.get("kind", ""), title=meta.get("title", ""),
                            section=meta.get("section", ""), score=round(fused[chunk.id], 6),
                            dense=_round(cosine.get(chunk.id)), bm25=_round(bm25.get(chunk.id))))
            kept_shingles.append(grams)
            if len(kept) == k:
                break
        return kept


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def search(settings: Settings, query: str, company: str, role: str | None = None, k: int | None = None) -> list[Hit]:
    """`memo search`: open the index and return the `k` best chunks for `query`."""
    return HybridRetriever(settings).retrieve(query, company, role, k)
