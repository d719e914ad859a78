"""Judged scores through Ragas with any OpenAI-compatible judge (GPT-4, a vLLM server):
faithfulness, response relevancy, context precision and recall, factual correctness.

A judge call that fails, times out or comes back NaN leaves that score *unmeasured* (counted, with
its reason), never 0. Failures and timeouts are retried by the next run; NaN is the judge's answer
and is kept. `runs` repeats every judged score to show how much the judge varies.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable

from memo.eval.arms import RETRIEVAL_ARMS
from memo.eval.cache import BenchCache, key_of
from memo.eval.questions import EvalQuestion
from memo.llm.endpoint import Endpoint

JUDGE_METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall", "factual_correctness")
JUDGE_KEY_VARIABLES = ("MEMO_JUDGE_API_KEY", "OPENAI_API_KEY")  # read in this order, never logged


def judge_inputs(metric: str, arm: str, q: EvalQuestion, row: dict) -> dict | None:
    """The keyword arguments of a metric's Ragas `ascore`, or None where it does not apply."""
    contexts = [c["text"] for c in row["contexts"]]
    retrieval = arm in RETRIEVAL_ARMS and bool(contexts)
    if metric == "faithfulness":
        return {"user_input": q.question, "response": row["answer"], "retrieved_contexts": contexts} \
            if retrieval else None
    if metric == "answer_relevancy":
        return {"user_input": q.question, "response": row["answer"]}
    if not q.reference:
        return None
    if metric == "context_precision" and retrieval:
        return {"user_input": q.question, "reference": q.reference, "retrieved_contexts": contexts}
    if metric == "context_recall" and retrieval:
        return {"user_input": q.question, "retrieved_contexts": contexts, "reference": q.reference}
    if metric == "factual_correctness":
        return {"response": row["answer"], "reference": q.reference}
    return None


class Judge:
    def __init__(self, url: str, model: str, embeddings, runs: int = 1, timeout: float = 120.0,
                 concurrency: int = 4):
        self.endpoint = Endpoint(url, timeout, JUDGE_KEY_VARIABLES, label=f"the judge at {url.rstrip('/')}")
        # fail before any answering when the judge is unreachable, refuses the key or lacks the model
        self.endpoint.pick(model, adapter=False)
        self.model, self.runs, self.timeout, self.concurrency = model, runs, timeout, concurrency
        self.failures: Counter[str] = Counter()
        self.embeddings = embeddings

    def _metrics(self) -> dict:
        from ragas.llms import llm_factory
        from ragas.metrics import collections as c

        llm = llm_factory(self.model, provider="openai", client=self.endpoint.async_client(max_retries=1))
        return {"faithfulness": c.Faithfulness(llm=llm),
                "answer_relevancy": c.AnswerRelevancy(llm=llm, embeddings=self.embeddings),
                "context_precision": c.ContextPrecisionWithReference(llm=llm),
                "context_recall": c.ContextRecall(llm=llm),
                "factual_correctness": c.FactualCorrectness(llm=llm)}

    def score_all(self, questions: list[EvalQuestion], answers: dict[str, dict[str, dict]], cache: BenchCache,
                  on_done: Callable[[int], None]) -> dict[str, dict[str, dict[str, list]]]:
        """{arm: {qid: {metric: [value or None per run]}}}; identical inputs (the contexts of rag
        and hybrid) are judged once."""
        by_id = {q.qid: q for q in questions}
        jobs: dict[str, tuple[str, dict]] = {}
        plan: dict[str, dict[str, dict[str, list[str]]]] = {}
        for arm, rows in answers.items():
            for qid, row in rows.items():
                for metric in JUDGE_METRICS:
                    inputs = judge_inputs(metric, arm, by_id[qid], row)
                    if inputs is None:
                        continue
                    keys = [key_of("judge", self.model, metric, inputs, run) for run in range(self.runs)]
                    plan.setdefault(arm, {}).setdefault(qid, {})[metric] = keys
                    jobs.update((k, (metric, inputs)) for k in keys if cache.get(k) is None)
        if jobs:
            asyncio.run(self._run(jobs, cache, on_done))
        return {arm: {qid: {metric: [self._value(cache.get(k)) for k in keys] for metric, keys in metrics.items()}
                      for qid, metrics in rows.items()} for arm, rows in plan.items()}

    @staticmethod
    def _value(row: dict | None) -> float | None:
        return None if row is None or row["value"] is None else row["value"]

    async def _run(self, jobs: dict[str, tuple[str, dict]], cache: BenchCache, on_done) -> None:
        metrics = self._metrics()
        gate = asyncio.Semaphore(self.concurrency)

        async def one(key: str, metric: str, inputs: dict) -> None:
            async with gate:
                row = await self._one(metrics[metric], key, inputs)
            if row is not None:
                cache.put([row])
            on_done(1)

        await asyncio.gather(*(one(key, metric, inputs) for key, (metric, inputs) in jobs.items()))

    async def _one(self, metric, key: str, inputs: dict) -> dict | None:
        """A cache row for one judged score, or None (counted) when the call failed."""
        try:
            result = await asyncio.wait_for(metric.ascore(**inputs), self.timeout)
            value = float(result.value)
        except TimeoutError:
            self.failures["timeout"] += 1
            return None
        except Exception as exc:  # a judge's failure of any kind leaves the score unmeasured
            self.failures[type(exc).__name__] += 1
            return None
        if math.isnan(value):
            self.failures["nan"] += 1
            return {"key": key, "kind": "judge", "value": None, "reason": "nan"}
        return {"key": key, "kind": "judge", "value": value}
