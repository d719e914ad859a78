"""The summary: judge spread, regressions against a baseline, verdicts and degenerate answers."""

from __future__ import annotations

import math

import pytest

from memo.eval import stats
from memo.eval.summary import VERDICT_PAIRS, health, summarize, verdict_text


def test_judge_spread_and_regressions():
    assert stats.spread([[0.5, 0.7], [1.0, 1.0], [None, 0.3]]) == pytest.approx(math.sqrt(0.02) / 2)
    assert stats.spread([[0.5], [None]]) is None
    assert stats.regression(stats.Estimate(0.40, 0.35, 0.45, 20, 0), old_mean=0.60)
    assert not stats.regression(stats.Estimate(0.55, 0.45, 0.65, 20, 0), old_mean=0.60)
    # where lower is better (hallucinated numbers) a rise beyond the interval is the regression
    assert stats.regression(stats.Estimate(0.40, 0.30, 0.50, 20, 0), old_mean=0.20, lower_is_better=True)
    assert not stats.regression(stats.Estimate(0.10, 0.05, 0.15, 20, 0), old_mean=0.20, lower_is_better=True)
    assert not stats.regression(stats.Estimate(None, None, None, 0, 3), old_mean=0.20)


def test_paired_wins_follow_the_metrics_direction():
    higher = stats.paired([0.5, 0.5, 0.2], [0.1, 0.5, 0.4])
    lower = stats.paired([0.5, 0.5, 0.2], [0.1, 0.5, 0.4], lower_is_better=True)
    assert (higher.wins, higher.ties, higher.losses) == (1, 1, 1) and lower.diff == higher.diff
    assert (stats.paired([0.0, 0.0], [0.5, 0.5], lower_is_better=True).wins,) == (2,)


def test_verdict_wording_in_all_three_cases():
    assert verdict_text("hybrid", "rag", "ROUGE-L", 0.08, 0.03, 0.13) == \
        "hybrid beats rag on ROUGE-L: +0.080 [+0.030, +0.130]"
    # below 0: the winner is named first and the numbers are the winner minus the loser
    assert verdict_text("hybrid", "rag", "ROUGE-L", -0.08, -0.13, -0.03) == \
        "rag beats hybrid on ROUGE-L: +0.080 [+0.030, +0.130]"
    assert verdict_text("hybrid", "rag", "ROUGE-L", 0.01, -0.02, 0.04) == \
        "no measurable difference between hybrid and rag on ROUGE-L: +0.010 [-0.020, +0.040]"
    assert verdict_text("hybrid", "rag", "token F1", 0.05, 0.0, 0.1).startswith("no measurable")  # 0 is in it
    # lower is better: a negative difference is the first arm's win
    assert verdict_text("rag", "base", "hallucinated numbers", -0.3, -0.5, -0.1, lower_is_better=True) == \
        "rag beats base on hallucinated numbers: -0.300 [-0.500, -0.100]"
    assert verdict_text("rag", "base", "hallucinated numbers", 0.3, 0.1, 0.5, lower_is_better=True) == \
        "base beats rag on hallucinated numbers: -0.300 [-0.500, -0.100]"


def _rows(per_arm: dict[str, list[dict]], degenerate: dict[str, list] | None = None) -> list[dict]:
    rows = []
    for arm, scores in per_arm.items():
        for i, s in enumerate(scores):
            reason = (degenerate or {}).get(arm, [None] * len(scores))[i]
            rows.append({"qid": f"q{i}", "arm": arm, "category": "c", "company": "Acme", "scores": s,
                         "judge_runs": {}, "hits": None, "degenerate": reason})
    return rows


def test_verdicts_cover_the_ordered_pairs_present_and_read_each_metrics_direction():
    n = 8
    rows = _rows({
        "base": [{"rouge_l": 0.2, "token_f1": 0.3 + 0.01 * (i % 2), "hallucinated_numbers": 0.8} for i in range(n)],
        "rag": [{"rouge_l": 0.5 + 0.01 * i, "token_f1": 0.3 + 0.01 * ((i + 1) % 2), "hallucinated_numbers": 0.1}
                for i in range(n)],
        "dsf+rag": [{"rouge_l": 0.1, "token_f1": 0.3, "hallucinated_numbers": None} for i in range(n)]})
    summary = summarize(rows, ["base", "rag", "dsf+rag"], seed=0, settings={})
    got = {(v["a"], v["b"], v["metric"]): v for v in summary["verdicts"]}
    assert [(a, b) for a, b in VERDICT_PAIRS if (a, b, "rouge_l") in got] == [("rag", "base"), ("dsf+rag", "rag")]
    assert got["rag", "base", "rouge_l"]["verdict"].startswith("rag beats base on ROUGE-L: +0.3")
    assert got["rag", "base", "rouge_l"]["low"] > 0 and got["rag", "base", "rouge_l"]["mean"] > 0  # a - b
    assert got["dsf+rag", "rag", "rouge_l"]["verdict"].startswith("rag beats dsf+rag on ROUGE-L: +0.4")
    assert got["dsf+rag", "rag", "rouge_l"]["mean"] < 0
    assert got["rag", "base", "token_f1"]["verdict"].startswith("no measurable difference between rag and base")
    assert got["rag", "base", "hallucinated_numbers"]["verdict"].startswith(
        "rag beats base on hallucinated numbers (lower is better): -0.700")
    assert ("dsf+rag", "rag", "hallucinated_numbers") not in got  # dsf+rag stated no number
    assert summary["lower_is_better"] == ["hallucinated_numbers"]
    assert "token_f1" in summary["pairs"]["rag - base"]  # paired differences cover token F1 too
    hn = summary["pairs"]["rag - base"]["hallucinated_numbers"]
    assert (hn["wins"], hn["losses"]) == (n, 0)  # fewer hallucinated numbers: a win


def test_health_counts_degenerate_answers_by_reason_and_flags_above_five_percent():
    scores = [{"rouge_l": 0.3, "hallucinated_numbers": v} for v in (0.5, None, 0.0, 1.0)]
    rows = _rows({"base": scores, "hybrid": scores},
                 {"base": ["loop", "restates_question", None, "loop"], "hybrid": [None] * 4})
    got = health(rows, ["base", "hybrid"])
    assert got["base"]["degenerate"] == 3 and got["base"]["degenerate_rate"] == pytest.approx(0.75)
    assert got["base"]["degenerate_reasons"] == {"loop": 2, "restates_question": 1}
    assert got["base"]["flagged"] and not got["hybrid"]["flagged"]
    assert got["hybrid"] == {"answers": 4, "degenerate": 0, "degenerate_rate": 0.0, "degenerate_reasons": {},
                             "flagged": False, "hallucinated_numbers": pytest.approx(0.5),
                             "answers_with_numbers": 3}
    one_in_27 = health(_rows({"rag": [{}] * 27}, {"rag": ["loop"] + [None] * 26}), ["rag"])["rag"]
    assert one_in_27["degenerate_rate"] == pytest.approx(1 / 27) and not one_in_27["flagged"]
