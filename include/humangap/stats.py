"""Intervals and tests on counts: Wilson score intervals, bootstraps over item patterns.

Every interval is two-sided at ``LEVEL``. Bootstraps are seeded from the configured
seed and the names of what they measure, so the same counts give the same interval
whatever else is in the run.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Sequence

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.95
BOOTSTRAP_METHOD = "bootstrap over items"
BASELINES = ("pooled", "mean_per_annotator", "majority")


@dataclasses.dataclass(frozen=True)
class StatsSettings:
    """Settings the statistics of a report depend on, with their defaults.

    ``HumangapConfig`` takes the defaults of its statistics settings from here.
    """

    min_gold_items: int = 30
    min_human_labels: int = 30
    baseline: str = "pooled"
    exclude_outliers: bool = False
    bootstrap_resamples: int = 2000
    seed: int = 0


Interval = list[float]


def wilson(correct: int, total: int) -> Interval | None:
    """Return the 95% Wilson score interval of ``correct / total``, or ``None`` when total is 0."""
    if total <= 0:
        return None
    result = scipy_stats.binomtest(int(correct), int(total)).proportion_ci(
        confidence_level=LEVEL, method="wilson"
    )
    return [float(result.low), float(result.high)]


def newcombe_difference(
    correct_a: int, total_a: int, correct_b: int, total_b: int
) -> Interval | None:
    """Return the 95% interval of ``p_a - p_b`` for independent proportions.

    Newcombe's hybrid score interval (his method 10), built from the two Wilson
    intervals. ``None`` when either total is 0.
    """
    left, right = wilson(correct_a, total_a), wilson(correct_b, total_b)
    if left is None or right is None:
        return None
    p_a, p_b = correct_a / total_a, correct_b / total_b
    low = p_a - p_b - math.sqrt((p_a - left[0]) ** 2 + (right[1] - p_b) ** 2)
    high = p_a - p_b + math.sqrt((left[1] - p_a) ** 2 + (p_b - right[0]) ** 2)
    return [max(-1.0, low), min(1.0, high)]


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """Return a generator seeded by ``seed`` and a stable hash of ``names``."""
    digest = zlib.crc32("\x1f".join(names).encode())
    return np.random.default_rng([int(seed), digest])


def resample_counts(counts: Sequence[int], resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Resample units with replacement, given as counts per pattern.

    Drawing ``sum(counts)`` units with replacement from units grouped into
    patterns is a multinomial draw of pattern counts, so the result is a
    ``resamples x len(counts)`` matrix of counts, one row per resample.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros((resamples, len(counts)), dtype=np.int64)
    return rng.multinomial(total, counts / total, size=resamples)


def percentile_interval(values: np.ndarray) -> Interval | None:
    """Return the central 95% of bootstrap values, ignoring undefined (NaN) ones."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    tail = (1 - LEVEL) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return [float(low), float(high)]


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Return ``numerator / denominator`` with NaN where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def combine_intervals(
    estimate: float, left: Interval | None, right: Interval | None, left_value: float, right_value: float
) -> Interval | None:
    """Return an interval for ``left_value - right_value`` from two independent intervals.

    Each interval's half-widths are taken as 1.96 standard errors on their own
    side, and the sides add in quadrature, the way Newcombe's method combines
    Wilson intervals.
    """
    if left is None or right is None:
        return None
    low = estimate - math.sqrt((left_value - left[0]) ** 2 + (right[1] - right_value) ** 2)
    high = estimate + math.sqrt((left[1] - left_value) ** 2 + (right_value - right[0]) ** 2)
    return [low, high]
