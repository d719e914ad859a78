"""Bootstrap intervals and paired differences."""

from __future__ import annotations

import pytest

from memo.eval import stats


def test_bootstrap_interval_excludes_unmeasured_and_is_seeded():
    values = [0.1, 0.9, 0.5, None, float("nan"), 0.3]
    first, again = stats.bootstrap(values, seed=3), stats.bootstrap(values, seed=3)
    assert first == again
    assert first.n == 4 and first.unmeasured == 2
    assert first.mean == pytest.approx(0.45)
    assert first.low < first.mean < first.high
    assert 0.1 <= first.low and first.high <= 0.9
    constant = stats.bootstrap([0.4] * 5)
    assert (constant.low, constant.high) == (pytest.approx(0.4), pytest.approx(0.4))
    empty = stats.bootstrap([None, None])
    assert empty.mean is None and empty.unmeasured == 2


def test_paired_differences_count_wins_ties_and_losses_on_shared_questions():
    a = [0.9, 0.5, 0.2, None, 0.7]
    b = [0.1, 0.505, 0.6, 0.4, None]
    result = stats.paired(a, b)
    assert (result.wins, result.ties, result.losses) == (1, 1, 1)
    assert result.diff.n == 3 and result.diff.unmeasured == 2
    assert result.diff.mean == pytest.approx((0.8 - 0.005 - 0.4) / 3)
    with pytest.raises(ValueError):
        stats.paired([0.1], [0.1, 0.2])
