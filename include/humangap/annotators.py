"""Annotator figures: per-annotator accuracy, agreement and outliers, from ``LabelCounts``.

Annotator figures are measured on the items scored for one model version, the
reference version: the one with the most scored items (ties by name). When every
model version was scored on the same items, as is usual, that is all of them.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from humangap import stats
from humangap.counts import UNNAMED_MODEL, LabelCounts

log = logging.getLogger(__name__)

# Per-class accuracy of an annotator is shown only on this many labels or more.
MIN_CLASS_LABELS = 10
# An annotator is an outlier when the adjusted p-value is below this.
OUTLIER_ALPHA = 0.05
CSV_COLUMNS = [
    "annotator_id", "labels", "correct", "accuracy", "accuracy_low", "accuracy_high",
    "outlier", "expected_accuracy", "p_value",
]
UNAVAILABLE = "the annotations have no annotator_id column"


def reference_version(counts: LabelCounts) -> str | None:
    """Return the model version with the most scored items, or ``None`` without any."""
    versions = counts.model_versions()
    if not versions:
        return None
    return sorted(versions, key=lambda version: (-counts.items(version), version))[0]


def annotator_frame(counts: LabelCounts, classes: list[str]) -> pd.DataFrame:
    """Return one row per annotator: counts, accuracy with interval, outlier test, per class.

    ``expected_accuracy`` is what the annotator would score at the accuracy of the
    rest of the pool on each class, weighted by the annotator's own class mix, so
    someone given many hard items is not called an outlier for it. ``p_value`` is
    the one-sided exact binomial p-value of scoring that low, adjusted over all
    annotators by Benjamini and Hochberg's false discovery rate procedure.
    """
    version = reference_version(counts)
    if version is None or not counts.annotator_ids:
        return pd.DataFrame(columns=CSV_COLUMNS)
    table = counts.annotator_counts(version)
    if table.empty:
        return pd.DataFrame(columns=CSV_COLUMNS)
    labels = table.pivot_table(index="annotator_id", columns="gold", values="labels", aggfunc="sum", fill_value=0)
    correct = table.pivot_table(index="annotator_id", columns="gold", values="correct", aggfunc="sum", fill_value=0)
    correct = correct.reindex(columns=labels.columns, fill_value=0)
    # The rest of the pool: every label on the class except the annotator's own.
    rest_labels = labels.sum(axis=0) - labels
    rest_correct = correct.sum(axis=0) - correct
    rest_rate = (rest_correct / rest_labels.where(rest_labels > 0)).fillna(0.0)
    totals = labels.sum(axis=1)
    rights = correct.sum(axis=1)
    expected = (labels * rest_rate).sum(axis=1) / totals
    raw_p = scipy_stats.binom.cdf(rights.to_numpy(), totals.to_numpy(), expected.to_numpy().clip(0, 1))
    frame = pd.DataFrame(
        {
            "annotator_id": labels.index.astype(str),
            "labels": totals.to_numpy(dtype=np.int64),
            "correct": rights.to_numpy(dtype=np.int64),
        }
    )
    frame["accuracy"] = frame["correct"] / frame["labels"]
    intervals = [stats.wilson(k, n) for k, n in zip(frame["correct"], frame["labels"])]
    frame["accuracy_low"] = [interval[0] for interval in intervals]
    frame["accuracy_high"] = [interval[1] for interval in intervals]
    adjusted = scipy_stats.false_discovery_control(raw_p)
    frame["outlier"] = (adjusted < OUTLIER_ALPHA) & (frame["accuracy"] < expected.to_numpy())
    frame["expected_accuracy"] = expected.to_numpy()
    frame["p_value"] = adjusted
    for name in classes:
        if name not in labels.columns:
            continue
        n = labels[name].to_numpy()
        k = correct[name].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[f"accuracy_{name}"] = np.where(n >= MIN_CLASS_LABELS, k / np.maximum(n, 1), np.nan)
    return frame.sort_values("annotator_id", ignore_index=True)


def outlier_ids(counts: LabelCounts, classes: list[str]) -> list[str]:
    """Return the ids of annotators whose accuracy is significantly below the pool's."""
    frame = annotator_frame(counts, classes)
    return frame.loc[frame["outlier"].astype(bool), "annotator_id"].tolist()


def render_csv(frame: pd.DataFrame) -> bytes:
    """Return ``annotators.csv``: rates to 6 decimals, outlier as true/false."""
    buffer = io.StringIO()
    out = frame.copy()
    out["outlier"] = out["outlier"].map({True: "true", False: "false"})
    out.to_csv(buffer, index=False, float_format="%.6f")
    return buffer.getvalue().encode()


def _alpha(rows: pd.DataFrame) -> float | None:
    """Krippendorff's alpha (nominal) from vote patterns with item counts."""
    if rows.empty:
        return None
    votes = [dict(json.loads(text)) for text in rows["votes"]]
    categories = sorted({label for vote in votes for label in vote})
    matrix = np.array([[vote.get(label, 0) for label in categories] for vote in votes], dtype=np.int64)
    return nominal_alpha(matrix, rows["n"].to_numpy(dtype=np.int64))


def nominal_alpha(value_counts: np.ndarray, units: np.ndarray) -> float | None:
    """Compute Krippendorff's alpha for nominal data, or ``None`` where it is undefined.

    Row ``i`` of ``value_counts`` is a vote pattern (how many labels each category
    got on one unit) and ``units[i]`` is how many units have that pattern. The
    result equals ``krippendorff.alpha(value_counts=..., level_of_measurement=
    "nominal")`` on the matrix with each row repeated ``units[i]`` times, up to
    rounding. Weighting the patterns keeps time and memory proportional to the
    number of patterns. The package builds float64 arrays of units x categories x
    categories, 800 MB each for a million units and 10 categories.
    """
    keep = units > 0
    value_counts, units = value_counts[keep], units[keep]
    labels = value_counts.sum(axis=1)
    if value_counts.shape[1] <= 1 or not (labels >= 2).any():
        # One category, or no unit with two labels to compare: alpha is undefined.
        log.info(
            "Krippendorff's alpha undefined: %d categories, %d units with two or more labels",
            value_counts.shape[1],
            int(units[labels >= 2].sum()),
        )
        return None
    # Coincidences: a unit's ordered pairs of labels from different coders, each pair
    # weighted 1 / (m_u - 1) where m_u is the unit's label count. A unit with one
    # label has no pairs, and the floor of 2 only avoids dividing by zero for it.
    weights = units / (np.maximum(labels, 2) - 1)
    weighted = value_counts * weights[:, np.newaxis]
    coincidences = weighted.T @ value_counts - np.diag(weighted.sum(axis=0))
    totals = coincidences.sum(axis=0)
    expected = (np.outer(totals, totals) - np.diag(totals)) / (totals.sum() - 1)
    different = 1 - np.eye(len(totals))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 1 - (coincidences * different).sum() / (expected * different).sum()
    return None if np.isnan(value) else float(value)


def agreement(counts: LabelCounts, classes: list[str]) -> dict[str, Any]:
    """Return alpha over all items with two or more labels, per gold class, and the item count."""
    version = reference_version(counts)
    table = counts.agreement_counts(version) if version is not None else pd.DataFrame(
        columns=["gold", "votes", "n"]
    )
    single = 0
    if version is not None and not counts.patterns.empty:
        patterns = counts.patterns
        mask = (patterns["model_version"] == version) & (patterns["human_labels"] == 1)
        single = int(patterns.loc[mask, "n"].sum())
    return {
        "alpha": _alpha(table),
        "alpha_per_class": {name: _alpha(table[table["gold"] == name]) for name in classes},
        "items_with_two_or_more_labels": int(table["n"].sum()) if not table.empty else 0,
        # Alpha needs two labels on an item to compare, so these items are left out.
        "items_with_one_label_skipped": single,
    }


def summary(
    counts: LabelCounts, classes: list[str], frame: pd.DataFrame, exclude_outliers: bool
) -> dict[str, Any]:
    """Return the top-level ``annotators`` section of ``report.json`` (without the effect)."""
    version = reference_version(counts)
    section: dict[str, Any] = {
        "available": bool(counts.annotator_ids),
        "reason": None if counts.annotator_ids else UNAVAILABLE,
        "model_version": None if version in (None, UNNAMED_MODEL) else version,
        "count": int(len(frame)),
        **agreement(counts, classes),
        "outlier_rule": (
            "accuracy below the pool's on the annotator's own class mix, one-sided exact "
            "binomial test, p-value adjusted for the number of annotators (Benjamini-Hochberg) "
            f"below {OUTLIER_ALPHA}"
        ),
        "outliers": [],
        "excluded_outliers": bool(exclude_outliers),
        "effect_of_excluding_outliers": None,
        "annotators_key": None,
    }
    if not frame.empty:
        section["accuracy_min"] = float(frame["accuracy"].min())
        section["accuracy_median"] = float(frame["accuracy"].median())
        section["accuracy_max"] = float(frame["accuracy"].max())
        section["labels_median"] = float(frame["labels"].median())
    outliers = frame[frame["outlier"].astype(bool)].sort_values(["p_value", "annotator_id"])
    section["outliers"] = [
        {
            "annotator_id": row.annotator_id,
            "labels": int(row.labels),
            "accuracy": float(row.accuracy),
            "accuracy_ci": [float(row.accuracy_low), float(row.accuracy_high)],
            "expected_accuracy": float(row.expected_accuracy),
            "p_value": float(row.p_value),
        }
        for row in outliers.itertuples()
    ]
    return section


def count_without(
    frames: dict[str, pd.DataFrame], excluded: list[str]
) -> LabelCounts:
    """Count again with the labels of ``excluded`` annotators left out."""
    from humangap.counts import count_labels

    annotations = frames["annotations"]
    kept = annotations[~annotations["annotator_id"].astype(str).isin(set(excluded))]
    return count_labels(frames["gold"], frames["predictions"], kept)
