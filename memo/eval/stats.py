"""Statistics for the report: bootstrap confidence intervals of a mean, paired differences between
two arms on the same questions, and win/tie/loss counts. Pure functions of lists of scores, where
None (or NaN) is an unmeasured score and is left out, never counted as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

RESAMPLES = 2000  # bootstrap resamples: percentile bounds stable to ~0.005 on 27-question runs
TIE = 0.01  # paired scores closer than this count as a tie (scores live in [0, 1])


@dataclass
class Estimate:
    mean: float | None
    low: float | None  # 95% bootstrap percentile interval of the mean
    high: float | None
    n: int  # measured values
    unmeasured: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Paired:
    diff: Estimate  # mean of (a - b) over the questions both arms have a score for
    wins: int  # a better than b by more than TIE
    ties: int
    losses: int

    def as_dict(self) -> dict:
        return {**self.diff.as_dict(), "wins": self.wins, "ties": self.ties, "losses": self.losses}


def measured(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def bootstrap(values: Sequence[float | None], seed: int = 0, resamples: int = RESAMPLES) -> Estimate:
    """Mean of the measured values with a 95% percentile bootstrap interval (seeded)."""
    kept = np.array([v for v in values if measured(v)], dtype=np.float64)
    unmeasured = len(values) - len(kept)
    if len(kept) == 0:
        return Estimate(None, None, None, 0, unmeasured)
    mean = float(kept.mean())
    if len(kept) == 1:
        return Estimate(mean, mean, mean, 1, unmeasured)
    rng = np.random.default_rng(seed)
    means = kept[rng.integers(0, len(kept), size=(resamples, len(kept)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Estimate(mean, float(low), float(high), len(kept), unmeasured)


def paired(a: Sequence[float | None], b: Sequence[float | None], seed: int = 0,
           lower_is_better: bool = False) -> Paired:
    """a - b on the questions where both are measured: its mean, interval and win/tie/loss (a win:
    a better than b, which for a score where lower is better means lower)."""
    if len(a) != len(b):
        raise ValueError(f"paired scores need equal lengths, got {len(a)} and {len(b)}")
    diffs = [x - y for x, y in zip(a, b) if measured(x) and measured(y)]
    estimate = bootstrap(diffs, seed)
    estimate.unmeasured = len(a) - len(diffs)
    wins = sum(d > TIE for d in diffs)
    losses = sum(d < -TIE for d in diffs)
    if lower_is_better:
        wins, losses = losses, wins
    return Paired(estimate, wins, len(diffs) - wins - losses, losses)


def spread(runs: Sequence[Sequence[float | None]]) -> float | None:
    """Mean over questions of the standard deviation of a judged score across repeated runs."""
    deviations = []
    for scores in runs:
        kept = [s for s in scores if measured(s)]
        if len(kept) >= 2:
            deviations.append(float(np.std(kept, ddof=1)))
    return float(np.mean(deviations)) if deviations else None


def mean_of(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if measured(v)]
    return sum(kept) / len(kept) if kept else None


def regression(new: Estimate, old_mean: float | None, lower_is_better: bool = False) -> bool:
    """A change for the worse beyond the interval: the new run's upper bound is below the old mean
    (or, for a score where lower is better, its lower bound is above it)."""
    if old_mean is None or new.high is None or new.low is None:
        return False
    return new.low > old_mean if lower_is_better else new.high < old_mean
