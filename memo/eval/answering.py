"""The bench's answers: every arm answers every question with `memo ask`'s own prompt, packing and
decoding code, batched across questions (in-process) or concurrent (an endpoint), each model loaded
once, each retrieval done once per question and shared by the retrieval arms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from memo.answering.ask import Answerer, Prepared
from memo.eval.arms import DSF_ARMS, RETRIEVAL_ARMS, mode_of, tuned
from memo.eval.cache import BenchCache, key_of
from memo.eval.metrics import HIT_DEPTH
from memo.eval.questions import EvalQuestion
from memo.llm.adapter import base_fingerprint
from memo.llm.generator import Decoding
from memo.llm.prompt import build_messages
from memo.retrieval.hybrid import HybridRetriever


class SharedRetriever:
    """One retrieval per (question, company, role), deep enough for hit@k: `retrieve(k)` returns
    the first k of it (memo's ranking keeps its order as k grows). The index opens on first use."""

    def __init__(self, settings):
        self.settings = settings
        self._inner = None
        self._ranked: dict[tuple, list] = {}

    @property
    def inner(self) -> HybridRetriever:
        if self._inner is None:
            self._inner = HybridRetriever(self.settings)
        return self._inner

    @property
    def embedder(self):
        return self.inner.embedder

    def companies(self) -> dict[str, str]:
        return self.inner.companies()

    def roles(self, company_key: str) -> dict[str, str]:
        return self.inner.roles(company_key)

    def chunks(self, company: str) -> list:
        return self.inner.chunks(company)

    def scope(self, company: str, role: str | None):
        return self.inner.scope(company, role)

    def retrieve(self, query: str, company: str, role: str | None = None, k: int | None = None) -> list:
        key = (query, company, role)
        if key not in self._ranked:
            self._ranked[key] = self.inner.retrieve(query, company, role, max(HIT_DEPTH, k or 0))
        return self._ranked[key][:k or HIT_DEPTH]


class ArmAnswerer:
    """Answers for the bench's arms: `base`/`rag` from the base model, `ft`/`hybrid` from the
    adapter, `dsf`/`dsf+rag` from the DSF adapter."""

    def __init__(self, settings, adapter: Path | None, endpoint=None, served_model: str | None = None,
                 served_adapter: str | None = None, batch_size: int = 8, dsf_adapter: Path | None = None,
                 served_dsf: str | None = None, candidate: str | None = None):
        self.settings = settings
        self.candidate = candidate  # a candidate profile whose documents join retrieval (the behavioural slice)
        self.batch_size = batch_size
        self.decoding = Decoding.from_config(settings.generation)
        self.retriever = SharedRetriever(settings)
        self.plain = Answerer(settings, self.retriever, endpoint=endpoint, served_model=served_model)
        self.tuned = Answerer(settings, self.retriever, adapter=adapter, endpoint=endpoint,
                              served_adapter=served_adapter)
        self.dsf = Answerer(settings, self.retriever, adapter=dsf_adapter, endpoint=endpoint,
                            served_adapter=served_dsf)
        self.seconds = {"retrieval": 0.0, "generation": 0.0}  # where answering time goes

    def answerer(self, arm: str) -> Answerer:
        if arm in DSF_ARMS:
            return self.dsf
        return self.tuned if tuned(arm) else self.plain

    def identity(self, arm: str) -> dict:
        """What an arm's answers depend on besides the question (the cache key)."""
        answerer = self.answerer(arm)
        ident = {"arm": arm, "decoding": self.decoding, "profile": self.settings.model.profile,
                 "llm": self.settings.model.llm, "context": self.settings.generation.context_length}
        if answerer.endpoint is not None:
            ident.update(endpoint=answerer.endpoint.url, model=answerer.served_adapter if tuned(arm)
                         else answerer.served_model)
        if tuned(arm) and answerer.adapter is not None:
            ident["adapter"] = base_fingerprint(str(answerer.adapter))
        if arm in RETRIEVAL_ARMS:
            ident["retrieval"] = self.settings.retrieval
            if self.candidate:
                ident["candidate"] = self.candidate
        return ident

    def prepared(self, q: EvalQuestion, arm: str) -> Prepared:
        if arm in RETRIEVAL_ARMS:
            return self.answerer(arm).prepare(q.question, q.indexed_company, q.indexed_role, mode_of(arm),
                                              self.candidate)
        company = q.indexed_company or q.company or "the company"
        return Prepared(build_messages(q.question, company, q.indexed_role or q.role, None), [], [])

    def answer_all(self, arm: str, questions: list[EvalQuestion], cache: BenchCache, corpus: dict[str, str],
                   on_done: Callable[[int], None]) -> dict[str, dict]:
        """{qid: answer row} for one arm, generating only what the cache lacks."""
        ident = self.identity(arm)
        rows: dict[str, dict] = {}
        pending = []
        for q in questions:
            key = key_of("answer", ident, q.question, q.indexed_company or q.company, q.indexed_role or q.role,
                         corpus.get(q.indexed_company or "", "") if arm in RETRIEVAL_ARMS else "")
            cached = cache.get(key)
            if cached is not None:
                rows[q.qid] = cached
                on_done(1)
            else:
                pending.append((key, q))
        if pending:
            started = time.monotonic()
            prepared = [(key, q, self.prepared(q, arm)) for key, q in pending]
            self.seconds["retrieval"] += time.monotonic() - started
            said = [item for item in prepared if item[2].messages is None]  # no model writes these
            self._store([self._row(key, q, arm, None, p, "") for key, q, p in said], cache, rows, on_done)
            asked = sorted((item for item in prepared if item[2].messages is not None),
                           key=lambda item: sum(len(m["content"]) for m in item[2].messages))  # little padding
            for start in range(0, len(asked), self.batch_size):
                group = asked[start:start + self.batch_size]
                generator = self.answerer(arm).generator_for(mode_of(arm))
                started = time.monotonic()
                texts = generator.generate_batch([g[2].messages for g in group], self.decoding, self.batch_size)
                self.seconds["generation"] += time.monotonic() - started
                self._store([self._row(key, q, arm, text, p, generator.name)
                             for (key, q, p), text in zip(group, texts)], cache, rows, on_done)
        return rows

    @staticmethod
    def _store(new: list[dict], cache: BenchCache, rows: dict, on_done: Callable[[int], None]) -> None:
        if new:
            cache.put(new)
            rows.update((row["qid"], row) for row in new)
            on_done(len(new))

    def _row(self, key: str, q: EvalQuestion, arm: str, text: str | None, prepared: Prepared, model: str) -> dict:
        """The cache row of one answer, composed exactly as `memo ask` composes its Answer."""
        a = self.answerer(arm).compose(q.question, q.indexed_company or q.company or "", q.indexed_role,
                                       mode_of(arm), text, prepared, model)
        return {"key": key, "kind": "answer", "qid": q.qid, "arm": arm, "model": a.model, "answer": a.answer,
                "reasoning": a.reasoning, "citations": a.citations, "invalid_citations": a.invalid_citations,
                "contexts": [{k: c.get(k) for k in ("source", "section", "text", "mine")} for c in a.contexts],
                "story": a.story, "evidence": a.evidence, "composer": a.composer}
