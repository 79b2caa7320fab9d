"""Intervals against published values, and the calibration of the gap interval by simulation."""

import numpy as np
import pandas as pd
import pytest

from humangap import metrics, stats


@pytest.mark.parametrize(
    ("correct", "total", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        # Table I, method 3 (Wilson score without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_published_values(correct, total, low, high):
    interval = stats.wilson(correct, total)
    assert interval == pytest.approx([low, high], abs=5e-5)


def test_wilson_without_data_is_none():
    assert stats.wilson(0, 0) is None


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        # Newcombe (1998), "Interval estimation for the difference between independent
        # proportions", Table II, method 10 (hybrid score).
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
    ],
)
def test_newcombe_difference_matches_published_values(a, b, low, high):
    assert stats.newcombe_difference(*a, *b) == pytest.approx([low, high], abs=5e-5)


def test_resample_counts_keeps_the_item_count():
    rng = np.random.default_rng(1)
    draws = stats.resample_counts([3, 0, 7], 50, rng)
    assert draws.shape == (50, 3)
    assert (draws.sum(axis=1) == 10).all()
    assert (draws[:, 1] == 0).all()


def test_bootstrap_is_repeatable_and_keyed_by_name():
    patterns = pd.DataFrame(
        {"model_correct": [1, 0], "human_labels": [3, 3], "human_correct": [2, 3],
         "majority": ["correct", "correct"], "n": [40, 20]}
    )

    def interval(*names):
        model, pooled, _ = metrics.bootstrap_items(patterns, 500, stats.rng_for(0, *names))
        return stats.percentile_interval(pooled - model)

    assert interval("m", "cat") == interval("m", "cat")
    assert interval("m", "cat") != interval("m", "dog")


def simulate_patterns(rng, items, labels_per_item=3):
    """Items of two difficulties; model and humans both do worse on hard ones."""
    hard = rng.random(items) < HARD_SHARE
    model_right = rng.random(items) < np.where(hard, MODEL_HARD, MODEL_EASY)
    human_right = rng.binomial(labels_per_item, np.where(hard, HUMAN_HARD, HUMAN_EASY))
    keys, n = np.unique(np.stack([model_right.astype(int), human_right]), axis=1, return_counts=True)
    return pd.DataFrame(
        {
            "model_correct": keys[0],
            "human_labels": labels_per_item,
            "human_correct": keys[1],
            "majority": np.where(keys[1] * 2 > labels_per_item, "correct", "wrong"),
            "n": n,
        }
    )


HARD_SHARE, MODEL_EASY, MODEL_HARD, HUMAN_EASY, HUMAN_HARD = 0.3, 0.95, 0.55, 0.92, 0.70
TRUE_GAP = (1 - HARD_SHARE) * (HUMAN_EASY - MODEL_EASY) + HARD_SHARE * (HUMAN_HARD - MODEL_HARD)


def test_gap_interval_coverage_by_simulation():
    # 1,000 simulated data sets with known accuracies; the same bootstrap as the report.
    rng = np.random.default_rng(20261104)
    covered = 0
    runs = 1000
    for _ in range(runs):
        patterns = simulate_patterns(rng, items=1000)
        model, pooled, _ = metrics.bootstrap_items(patterns, 1000, rng)
        low, high = stats.percentile_interval(pooled - model)
        covered += low <= TRUE_GAP <= high
    assert 0.93 * runs <= covered <= 0.97 * runs, f"coverage {covered / runs:.3f}"
