"""The summary: judge spread and regressions against a baseline."""

from __future__ import annotations

import math

import pytest

from memo.eval import stats


def test_judge_spread_and_regressions():
    assert stats.spread([[0.5, 0.7], [1.0, 1.0], [None, 0.3]]) == pytest.approx(math.sqrt(0.02) / 2)
    assert stats.spread([[0.5], [None]]) is None
    assert stats.regression(stats.Estimate(0.40, 0.35, 0.45, 20, 0), old_mean=0.60)
    assert not stats.regression(stats.Estimate(0.55, 0.45, 0.65, 20, 0), old_mean=0.60)
