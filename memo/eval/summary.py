"""From per-question scores to the report's numbers: per arm and metric a mean with its bootstrap
interval, paired differences between arms and their plain-language verdicts, each arm's share of
degenerate answers and hallucinated-number rate, breakdowns by category and company, the hit@k
curve, the judge's spread, and changes against a baseline summary.json.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import combinations
from pathlib import Path

from memo.core.categories import question_category
from memo.core.errors import MemoError
from memo.eval import stats
from memo.eval.degenerate import DEGENERATE_FLAG, REASONS
from memo.eval.judge import JUDGE_METRICS
from memo.eval.questions import EvalQuestion
from memo.eval.scoring import (
    ANSWER_METRICS,
    LOWER_IS_BETTER,
    RANKING_METRICS,
    RETRIEVAL_METRICS,
)

LABELS = {"key_facts": "all key facts", "evidence_recall": "evidence recall",
          "holds_evidence": "holds the evidence (recall >= 0.5)", "rouge_l": "ROUGE-L", "chrf": "chrF", "semantic_similarity": "semantic similarity",
          "token_f1": "token F1", "hallucinated_numbers": "hallucinated numbers (lower is better)",
          "hit@1": "hit@1", "hit@5": "hit@5", "mrr": "MRR", "context_id_precision": "context ID precision",
          "context_id_recall": "context ID recall", "citation_validity": "citation validity",
          "faithfulness": "faithfulness", "answer_relevancy": "answer relevancy",
          "context_precision": "context precision", "context_recall": "context recall",
          "factual_correctness": "factual correctness"}
# The verdicts: each pair present, first arm minus second, on these metrics. Arm names are plain
# strings, so pairs of arms a run does not have are skipped.
VERDICT_PAIRS = (("extractive", "base"), ("rag", "extractive"), ("hybrid", "extractive"), ("rag", "base"), ("ft", "base"), ("hybrid", "rag"), ("hybrid", "base"), ("dsf", "base"),
                 ("dsf+rag", "dsf"), ("dsf+rag", "rag"), ("hybrid", "dsf+rag"))
VERDICT_METRICS = ("key_facts", "evidence_recall", "rouge_l", "semantic_similarity", "token_f1", "chrf", "hallucinated_numbers")


# Per-answer facts the scoring step records that are not scores to average.
NOT_SCORES = ("hits", "degenerate", "retrieved", "evidence_rank")


def result_rows(questions: list[EvalQuestion], answers: dict, scores: dict, judged: dict) -> list[dict]:
    """One row per (question, arm): the question, the answer, its contexts and every score."""
    rows = []
    for q in questions:
        for arm, by_qid in answers.items():
            answer = by_qid[q.qid]
            row_scores = {k: v for k, v in scores[arm][q.qid].items() if k not in NOT_SCORES}
            runs = judged.get(arm, {}).get(q.qid, {})
            row_scores.update({metric: stats.mean_of(values) for metric, values in runs.items()})
            rows.append({"qid": q.qid, "arm": arm, "question": q.question, "company": q.company,
                         "role": q.role, "category": q.category, "reference": q.reference,
                         "evidence": q.evidence_sources, "model": answer["model"], "answer": answer["answer"],
                         "reasoning": answer["reasoning"], "contexts": answer["contexts"],
                         "selected": answer.get("evidence") or [], "composer": answer.get("composer", ""),
                         "citations": answer["citations"], "invalid_citations": answer["invalid_citations"],
                         "scores": row_scores, "judge_runs": runs, "hits": scores[arm][q.qid].get("hits"),
                         "degenerate": scores[arm][q.qid].get("degenerate"),
                         "retrieved": scores[arm][q.qid].get("retrieved"),
                         "evidence_rank": scores[arm][q.qid].get("evidence_rank")})
    return rows


def metric_names(rows: list[dict]) -> list[str]:
    present = {m for r in rows for m in r["scores"]}
    return [m for m in (*ANSWER_METRICS, *RETRIEVAL_METRICS, *JUDGE_METRICS) if m in present]


def _values(rows: list[dict], arm: str, metric: str, qids: list[str]) -> list[float | None]:
    by_qid = {r["qid"]: r["scores"].get(metric) for r in rows if r["arm"] == arm}
    return [by_qid.get(qid) for qid in qids]


def summarize(rows: list[dict], arms: list[str], seed: int, settings: dict,
              available: int | None = None) -> dict:
    """The summary.json of a run. `available`: how many questions the files hold before --limit
    samples them (recorded so the report can say "a seeded sample of N of M")."""
    qids = list(dict.fromkeys(r["qid"] for r in rows))
    metrics = metric_names(rows)
    table = {arm: {m: stats.bootstrap(_values(rows, arm, m, qids), seed).as_dict() for m in metrics
                   if any(stats.measured(v) for v in _values(rows, arm, m, qids))} for arm in arms}
    compared = [m for m in metrics if m not in RANKING_METRICS]  # rag and hybrid share one retrieval
    pairs = {f"{a} - {b}": {m: stats.paired(_values(rows, a, m, qids), _values(rows, b, m, qids), seed,
                                            m in LOWER_IS_BETTER).as_dict()
                            for m in compared if m in table[a] and m in table[b]}
             for b, a in combinations(arms, 2)}
    return {"questions": len(qids), "available_questions": available, "arms": arms, "metrics": metrics,
            "labels": LABELS, "lower_is_better": sorted(LOWER_IS_BETTER & set(metrics)),
            "settings": settings, "table": table, "pairs": pairs,
            "verdicts": verdicts(rows, arms, table, qids, seed), "health": health(rows, arms),
            "behavioural": behavioural_slice(rows, arms),
            "by_category": _breakdown(rows, arms, metrics, "category", seed),
            "by_company": _breakdown(rows, arms, metrics, "company", seed),
            "hit_curve": _hit_curve(rows, arms), "judge_spread": _judge_spread(rows, arms)}


def verdict_text(a: str, b: str, label: str, mean: float, low: float, high: float,
                 lower_is_better: bool = False) -> str:
    """The plain-language reading of a paired difference a - b with its 95% interval: who beats
    whom when the interval excludes 0, else no measurable difference. The numbers are always the
    first-named arm minus the second-named."""
    better = (high < 0, low > 0) if lower_is_better else (low > 0, high < 0)
    if better[0]:
        return f"{a} beats {b} on {label}: {mean:+.3f} [{low:+.3f}, {high:+.3f}]"
    if better[1]:
        return f"{b} beats {a} on {label}: {-mean:+.3f} [{-high:+.3f}, {-low:+.3f}]"
    return f"no measurable difference between {a} and {b} on {label}: {mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def verdicts(rows: list[dict], arms: list[str], table: dict, qids: list[str], seed: int) -> list[dict]:
    """[{"a", "b", "metric", "mean", "low", "high", "verdict"}] for each of VERDICT_PAIRS the run
    has, on each of VERDICT_METRICS both arms measured on 2+ shared questions (mean/low/high: a - b)."""
    out = []
    for a, b in VERDICT_PAIRS:
        if a not in arms or b not in arms:
            continue
        for metric in VERDICT_METRICS:
            if metric not in table[a] or metric not in table[b]:
                continue
            diff = stats.paired(_values(rows, a, metric, qids), _values(rows, b, metric, qids), seed).diff
            if diff.n < 2:
                continue
            text = verdict_text(a, b, LABELS.get(metric, metric), diff.mean, diff.low, diff.high,
                                metric in LOWER_IS_BETTER)
            out.append({"a": a, "b": b, "metric": metric, "mean": diff.mean, "low": diff.low,
                        "high": diff.high, "verdict": text})
    return out


def behavioural_slice(rows: list[dict], arms: list[str]) -> dict:
    """Per arm, over the questions about the candidate's experience: how many answers cite one of
    the candidate's stories, and how many say which kind of story would answer ({} without any)."""
    out = {}
    for arm in arms:
        mine = [r for r in rows if r["arm"] == arm
                and question_category(r.get("question", ""), r.get("company") or "") == "behavioural"]
        if mine:
            out[arm] = {"questions": len(mine), "story_cited": sum(cites_story(r) for r in mine),
                        "no_story": sum(r["answer"].startswith("I don't have a story written down") for r in mine)}
    return out


def cites_story(row: dict) -> bool:
    contexts = row["contexts"]
    return any(0 < c["n"] <= len(contexts) and contexts[c["n"] - 1].get("mine") for c in row["citations"])


def health(rows: list[dict], arms: list[str]) -> dict:
    """Per arm: how many answers are degenerate and why, flagged above DEGENERATE_FLAG, and the
    mean hallucinated-number rate over the answers that state a number."""
    out = {}
    for arm in arms:
        mine = [r for r in rows if r["arm"] == arm]
        reasons = Counter(r.get("degenerate") for r in mine if r.get("degenerate"))
        count = sum(reasons.values())
        rate = count / len(mine) if mine else None
        numbers = [r["scores"].get("hallucinated_numbers") for r in mine]
        out[arm] = {"answers": len(mine), "degenerate": count, "degenerate_rate": rate,
                    "degenerate_reasons": {k: reasons[k] for k in (*REASONS, *sorted(reasons)) if reasons[k]},
                    "flagged": rate is not None and rate > DEGENERATE_FLAG,
                    "hallucinated_numbers": stats.mean_of(numbers),
                    "answers_with_numbers": sum(stats.measured(v) for v in numbers)}
    return out


def _breakdown(rows: list[dict], arms: list[str], metrics: list[str], field: str, seed: int) -> dict:
    groups = sorted({str(r[field]) for r in rows})
    out: dict = {}
    for group in groups:
        qids = list(dict.fromkeys(r["qid"] for r in rows if str(r[field]) == group))
        out[group] = {"questions": len(qids), "table": {
            arm: {m: stats.bootstrap(_values(rows, arm, m, qids), seed).as_dict() for m in metrics
                  if any(stats.measured(v) for v in _values(rows, arm, m, qids))} for arm in arms}}
    return out


def _hit_curve(rows: list[dict], arms: list[str]) -> dict[str, list[float]]:
    """Per retrieval arm, hit@k for k = 1..depth averaged over questions with evidence."""
    curves = {}
    for arm in arms:
        lists = [r["hits"] for r in rows if r["arm"] == arm and r.get("hits")]
        if lists:
            curves[arm] = [sum(h[k] for h in lists) / len(lists) for k in range(len(lists[0]))]
    return curves


def _judge_spread(rows: list[dict], arms: list[str]) -> dict:
    out: dict = {}
    for arm in arms:
        for metric in JUDGE_METRICS:
            runs = [r["judge_runs"][metric] for r in rows if r["arm"] == arm and metric in r["judge_runs"]]
            value = stats.spread(runs)
            if value is not None:
                out.setdefault(arm, {})[metric] = value
    return out


def read_baseline(path: Path) -> dict:
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MemoError(f"--baseline {path}: cannot read it as JSON ({exc}); give an earlier run's "
                        f"summary.json") from None
    if not isinstance(baseline, dict) or "table" not in baseline:
        raise MemoError(f"--baseline {path} is not a `memo bench` summary.json (no `table`)")
    return baseline


def compare(summary: dict, baseline: dict) -> dict:
    """{arm: {metric: {"old", "change", "regression"}}} for what both runs measured."""
    out: dict = {}
    for arm, metrics in summary["table"].items():
        for metric, estimate in metrics.items():
            old = baseline["table"].get(arm, {}).get(metric, {}).get("mean")
            if old is None or estimate["mean"] is None:
                continue
            new = stats.Estimate(**estimate)
            out.setdefault(arm, {})[metric] = {"old": old, "change": estimate["mean"] - old,
                                               "regression": stats.regression(new, old, metric in LOWER_IS_BETTER)}
    return out
