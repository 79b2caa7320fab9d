"""Per-class accuracies, baselines, intervals, statuses and priority ranking, from ``LabelCounts``.

Ranking rule (also in ``RANKING_RULE``): classes whose status is ``behind_human``
come first, largest gap first. Then come ``at_human_level`` classes, then
``ahead_of_human`` classes. Within each of those two groups, classes flagged as a
regression since the previous report come first, then lowest model accuracy first. ``insufficient_data`` classes come last, largest gap first, so they are
never above a class with enough data; a class whose gap cannot be measured at all
gets no rank. Ties break by class name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from humangap import stats
from humangap.counts import LabelCounts
from humangap.stats import StatsSettings

# ``assessment`` keeps its first meaning: the sign of the point estimate of the gap.
BEHIND = "humans_ahead"
AT_OR_PAST = "model_at_or_past_human_level"
UNMEASURED = "not_measured"

BEHIND_HUMAN = "behind_human"
AT_HUMAN_LEVEL = "at_human_level"
AHEAD_OF_HUMAN = "ahead_of_human"
INSUFFICIENT_DATA = "insufficient_data"
STATUSES = (BEHIND_HUMAN, AT_HUMAN_LEVEL, AHEAD_OF_HUMAN, INSUFFICIENT_DATA)
STATUS_WORDS = {
    BEHIND_HUMAN: "behind human",
    AT_HUMAN_LEVEL: "at human level",
    AHEAD_OF_HUMAN: "ahead of human",
    INSUFFICIENT_DATA: "insufficient data",
}
RANKING_RULE = (
    "Classes behind human level (95% gap interval above 0) come first, largest gap first; "
    "then classes at human level (interval contains 0), then classes ahead of human level "
    "(interval below 0), each of those two groups with regressions since the previous "
    "report first, then lowest model accuracy first; classes with insufficient data come "
    "last, largest gap first. Ties break by class name; a class whose gap cannot be "
    "measured is not ranked."
)
TOP_CONFUSIONS = 3
# The model confuses a pair "far more" than humans when its rate is at least this
# many times the human rate and the 95% interval of the difference lies above 0.
FAR_MORE_FACTOR = 2.0

UNAVAILABLE_IDS = "the annotations have no annotator_id column"


def _rate(correct: int, total: int) -> float | None:
    return correct / total if total else None


def status_words(status: str) -> str:
    """Return how a status is shown to people."""
    return STATUS_WORDS[status]


def class_rows(
    counts: LabelCounts,
    model_version: str,
    classes: list[str],
    settings: StatsSettings | None = None,
    previous: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Return one row per class for a model version, ranked.

    ``previous`` maps class names to the rows of the same model version in the
    previous report; with it each row gets a ``trend``.
    """
    from humangap import trend

    settings = settings or StatsSettings()
    model = counts.per_class(model_version, "model")
    human = counts.per_class(model_version, "human")
    annotator_table = counts.annotator_counts(model_version)
    rows = []
    for name in classes:
        row = _base_row(name, model, human)
        patterns = counts.item_patterns(model_version, name)
        _majority(row, patterns)
        per_annotator = annotator_table[annotator_table["gold"] == name]
        _mean_per_annotator(row, per_annotator, counts.annotator_ids)
        baseline = baseline_used(settings.baseline, counts.annotator_ids)
        _gap_and_status(row, patterns, per_annotator, baseline, settings, model_version)
        row["confusions"] = confusions(counts, model_version, name)
        previous_row = (previous or {}).get(name)
        row["trend"] = trend.class_trend(row, previous_row) if previous_row else None
        rows.append(row)
    return rank(rows)


def _base_row(name: str, model: pd.DataFrame, human: pd.DataFrame) -> dict[str, Any]:
    support = int(model["total"].get(name, 0))
    model_correct = int(model["correct"].get(name, 0))
    human_labels = int(human["total"].get(name, 0))
    human_correct = int(human["correct"].get(name, 0))
    return {
        "class": name,
        "support": support,
        "model_correct": model_correct,
        "model_accuracy": _rate(model_correct, support),
        "model_accuracy_ci": stats.wilson(model_correct, support),
        "human_labels": human_labels,
        "human_correct": human_correct,
        "human_accuracy": _rate(human_correct, human_labels),
        "human_accuracy_ci": stats.wilson(human_correct, human_labels),
        "gap": None,
        "gap_ci": None,
        "status": INSUFFICIENT_DATA,
        "priority_rank": None,
        "assessment": UNMEASURED,
        "reason": None,
    }


def _majority(row: dict[str, Any], patterns: pd.DataFrame) -> None:
    """Majority vote per item; a tie (two or more labels share the top count) is not correct."""
    by_outcome = patterns.groupby("majority")["n"].sum()
    correct = int(by_outcome.get("correct", 0))
    voted = int(by_outcome.drop("none", errors="ignore").sum())
    row["majority_items"] = voted
    row["majority_correct"] = correct
    row["majority_ties"] = int(by_outcome.get("tie", 0))
    row["human_accuracy_majority"] = _rate(correct, voted)
    row["human_accuracy_majority_ci"] = stats.wilson(correct, voted)


def _mean_per_annotator(row: dict[str, Any], per_annotator: pd.DataFrame, available: bool) -> None:
    if not available:
        row["annotator_count"] = None
        row["human_accuracy_mean_per_annotator"] = None
        row["human_accuracy_mean_per_annotator_ci"] = None
        row["human_accuracy_mean_per_annotator_reason"] = UNAVAILABLE_IDS
        return
    labelled = per_annotator[per_annotator["labels"] > 0]
    accuracies = (labelled["correct"] / labelled["labels"]).to_numpy(dtype=float)
    row["annotator_count"] = int(len(accuracies))
    row["human_accuracy_mean_per_annotator"] = float(accuracies.mean()) if len(accuracies) else None
    row["human_accuracy_mean_per_annotator_ci"] = None
    row["human_accuracy_mean_per_annotator_reason"] = (
        None if len(accuracies) else "no annotator labelled the gold items of this class"
    )
    row["_annotator_accuracies"] = accuracies


def baseline_used(configured: str, annotator_ids: bool) -> str:
    if configured == "mean_per_annotator" and not annotator_ids:
        return "pooled"
    return configured


def bootstrap_items(
    patterns: pd.DataFrame, resamples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample items and return the model, pooled and majority accuracies of each resample.

    An item carries its model verdict and all its human labels, so resampling
    items keeps the dependence between the model's and the humans' accuracy on
    shared items. Items are grouped in patterns, so a resample is a multinomial
    draw of pattern counts. A resample without any item (or label) gives NaN.
    """
    draws = stats.resample_counts(patterns["n"].to_numpy(), resamples, rng)
    model_star = stats.ratio(draws @ patterns["model_correct"].to_numpy(), draws.sum(axis=1))
    pooled_star = stats.ratio(
        draws @ patterns["human_correct"].to_numpy(), draws @ patterns["human_labels"].to_numpy()
    )
    voted = (patterns["majority"] != "none").to_numpy(dtype=np.int64)
    right = (patterns["majority"] == "correct").to_numpy(dtype=np.int64)
    majority_star = stats.ratio(draws @ right, draws @ voted)
    return model_star, pooled_star, majority_star


def _gap_and_status(
    row: dict[str, Any],
    patterns: pd.DataFrame,
    per_annotator: pd.DataFrame,
    baseline: str,
    settings: StatsSettings,
    model_version: str,
) -> None:
    """Bootstrap the baselines and the gap, and set the status."""
    rng = stats.rng_for(settings.seed, model_version, row["class"])
    resamples = settings.bootstrap_resamples
    model_star, pooled_star, majority_star = bootstrap_items(patterns, resamples, rng)

    accuracies = row.pop("_annotator_accuracies", None)
    mean_star = None
    if accuracies is not None and len(accuracies):
        # NOTE: annotators are resampled independently of the items, so a gap on the
        # mean_per_annotator baseline ignores the correlation through shared items.
        picks = rng.integers(0, len(accuracies), size=(resamples, len(accuracies)))
        mean_star = accuracies[picks].mean(axis=1)
        row["human_accuracy_mean_per_annotator_ci"] = stats.percentile_interval(mean_star)
    figures = {
        "pooled": (row["human_accuracy"], row["human_accuracy_ci"], pooled_star),
        "majority": (row["human_accuracy_majority"], row["human_accuracy_majority_ci"], majority_star),
        "mean_per_annotator": (
            row["human_accuracy_mean_per_annotator"],
            row["human_accuracy_mean_per_annotator_ci"],
            mean_star,
        ),
    }
    baseline_value, baseline_ci, baseline_star = figures[baseline]

    row["baseline_accuracy"] = baseline_value
    row["baseline_accuracy_ci"] = baseline_ci
    if row["support"] == 0:
        row["reason"] = "no gold items of this class have a prediction from this model version"
        return
    if row["human_labels"] == 0 or baseline_value is None:
        row["reason"] = "no human labels on the gold items of this class"
        return
    row["gap"] = baseline_value - row["model_accuracy"]
    row["gap_ci"] = stats.percentile_interval(baseline_star - model_star)
    if baseline == "pooled":
        # Compare exact fractions, so a gap of 0 is never a float artefact.
        humans_ahead = row["human_correct"] * row["support"] > row["model_correct"] * row["human_labels"]
    else:
        humans_ahead = row["gap"] > 0
    row["assessment"] = BEHIND if humans_ahead else AT_OR_PAST
    _set_status(row, settings)


def _set_status(row: dict[str, Any], settings: StatsSettings) -> None:
    """Set the status of a row with a gap from its interval and the minimum counts."""
    short = []
    if row["support"] < settings.min_gold_items:
        short.append(f"{row['support']} gold items, fewer than {settings.min_gold_items}")
    if row["human_labels"] < settings.min_human_labels:
        short.append(f"{row['human_labels']} human labels, fewer than {settings.min_human_labels}")
    if short or row["gap_ci"] is None:
        row["status"] = INSUFFICIENT_DATA
        row["reason"] = "; ".join(short) or "the gap interval could not be computed"
    elif row["gap_ci"][0] > 0:
        row["status"] = BEHIND_HUMAN
    elif row["gap_ci"][1] < 0:
        row["status"] = AHEAD_OF_HUMAN
    else:
        row["status"] = AT_HUMAN_LEVEL


def confusions(counts: LabelCounts, model_version: str, name: str) -> dict[str, Any]:
    """Return the top confusions of a gold class for the model and for humans."""
    result: dict[str, Any] = {}
    tables = {}
    for kind in ("model", "human"):
        given = counts.confusion(model_version, kind, name)
        total = int(given.sum())
        wrong = given.drop(name, errors="ignore")
        wrong = wrong[wrong > 0]
        tables[kind] = (wrong, total)
        ordered = sorted(wrong.items(), key=lambda item: (-int(item[1]), str(item[0])))
        result[kind] = [
            {"label": str(label), "rate": int(n) / total, "count": int(n)}
            for label, n in ordered[:TOP_CONFUSIONS]
        ]
    (model_wrong, model_total), (human_wrong, human_total) = tables["model"], tables["human"]
    far_more = []
    for label, n in model_wrong.items():
        human_n = int(human_wrong.get(label, 0))
        interval = stats.newcombe_difference(int(n), model_total, human_n, human_total)
        if interval is None:
            continue
        if int(n) * human_total >= FAR_MORE_FACTOR * human_n * model_total and interval[0] > 0:
            far_more.append(str(label))
    result["model_far_more"] = sorted(far_more)
    return result


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set ``priority_rank`` on rows with a gap and return all rows in rank order."""

    def regression(row: dict[str, Any]) -> bool:
        return bool((row.get("trend") or {}).get("regression"))

    # Rows built without a status (by callers that predate it) rank by their assessment.
    legacy = {BEHIND: BEHIND_HUMAN, AT_OR_PAST: AT_HUMAN_LEVEL, UNMEASURED: INSUFFICIENT_DATA}
    for row in rows:
        row.setdefault("status", legacy.get(row.get("assessment"), INSUFFICIENT_DATA))
    groups = {status: [row for row in rows if row["status"] == status] for status in STATUSES}
    groups[BEHIND_HUMAN].sort(key=lambda row: (-row["gap"], row["class"]))
    for status in (AT_HUMAN_LEVEL, AHEAD_OF_HUMAN):
        groups[status].sort(key=lambda row: (not regression(row), row["model_accuracy"], row["class"]))
    insufficient = groups[INSUFFICIENT_DATA]
    measured = [row for row in insufficient if row["gap"] is not None]
    unmeasured = [row for row in insufficient if row["gap"] is None]
    measured.sort(key=lambda row: (-row["gap"], row["class"]))
    unmeasured.sort(key=lambda row: row["class"])
    ranked = groups[BEHIND_HUMAN] + groups[AT_HUMAN_LEVEL] + groups[AHEAD_OF_HUMAN] + measured
    for position, row in enumerate(ranked, start=1):
        row["priority_rank"] = position
    for row in unmeasured:
        row["priority_rank"] = None
    return ranked + unmeasured


def _interval_text(interval: list[float] | None) -> str:
    if interval is None:
        return ""
    return f", 95% interval {interval[0] * 100:+.1f} to {interval[1] * 100:+.1f}"


def describe(row: dict[str, Any]) -> str:
    """Return one sentence on the status and gap of a class, led by its status words."""
    words = STATUS_WORDS[row["status"]]
    if row["gap"] is None:
        return f"{words}, not measured: {row['reason']}"
    figures = (
        f"gap {row['gap'] * 100:+.1f} points{_interval_text(row['gap_ci'])} "
        f"(human {row['baseline_accuracy']:.2f} against model {row['model_accuracy']:.2f})"
    )
    if row["status"] == INSUFFICIENT_DATA:
        return f"{words} ({row['reason']}): {figures}"
    if row["status"] == BEHIND_HUMAN:
        return f"{words}: humans are ahead, {figures}"
    regressed = " and regressed since the previous report" if (row.get("trend") or {}).get("regression") else ""
    return f"{words}{regressed}: {figures}; ranked by lowest model accuracy"


def summarize(rows: list[dict[str, Any]]) -> str:
    """Return one sentence on a model version as a whole."""
    counted = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    measured = len(rows) - counted[INSUFFICIENT_DATA]
    if measured == 0:
        return "No class has enough data for a status: see each class's reason."
    behind = counted[BEHIND_HUMAN]
    if behind == 0:
        return (
            f"The model is at or past human level on every measured class ({measured}: "
            f"{counted[AT_HUMAN_LEVEL]} at human level, {counted[AHEAD_OF_HUMAN]} ahead of human); "
            "classes are ranked by regressions, then lowest model accuracy."
        )
    return (
        f"Humans are ahead on {behind} of {measured} measured classes (behind human); those come "
        "first, largest gap first."
    )
