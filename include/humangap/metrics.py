"""Per-class accuracies, gaps and priority ranking, derived from ``LabelCounts``.

Ranking rule: classes where humans beat the model (gap > 0) come first, largest
gap first. Classes where the model matches or beats humans follow, lowest model
accuracy first. Ties break by class name. A class without gold items or without
human labels gets ``None`` for what cannot be measured, a reason, and no rank.
"""

from __future__ import annotations

from typing import Any

from humangap.counts import LabelCounts

BEHIND = "humans_ahead"
AT_OR_PAST = "model_at_or_past_human_level"
UNMEASURED = "not_measured"


def _rate(correct: int, total: int) -> float | None:
    return correct / total if total else None


def class_rows(counts: LabelCounts, model_version: str, classes: list[str]) -> list[dict[str, Any]]:
    """Return one row per class for a model version, ranked."""
    model = counts.per_class(model_version, "model")
    human = counts.per_class(model_version, "human")
    rows = []
    for name in classes:
        support = int(model["total"].get(name, 0))
        model_correct = int(model["correct"].get(name, 0))
        human_labels = int(human["total"].get(name, 0))
        human_correct = int(human["correct"].get(name, 0))
        model_accuracy = _rate(model_correct, support)
        human_accuracy = _rate(human_correct, human_labels)
        row: dict[str, Any] = {
            "class": name,
            "support": support,
            "model_correct": model_correct,
            "model_accuracy": model_accuracy,
            "human_labels": human_labels,
            "human_correct": human_correct,
            "human_accuracy": human_accuracy,
            "gap": None,
            "priority_rank": None,
            "assessment": UNMEASURED,
            "reason": None,
        }
        if support == 0:
            row["reason"] = "no gold items of this class have a prediction from this model version"
        elif human_labels == 0:
            row["reason"] = "no human labels on the gold items of this class"
        else:
            row["gap"] = human_accuracy - model_accuracy
            # Compare exact fractions, so a gap of 0 is never a float artefact.
            humans_ahead = human_correct * support > model_correct * human_labels
            row["assessment"] = BEHIND if humans_ahead else AT_OR_PAST
        rows.append(row)
    return rank(rows)


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set ``priority_rank`` on measured rows and return all rows in rank order."""
    behind = [row for row in rows if row["assessment"] == BEHIND]
    at_or_past = [row for row in rows if row["assessment"] == AT_OR_PAST]
    unmeasured = [row for row in rows if row["assessment"] == UNMEASURED]
    behind.sort(key=lambda row: (-row["gap"], row["class"]))
    at_or_past.sort(key=lambda row: (row["model_accuracy"], row["class"]))
    unmeasured.sort(key=lambda row: row["class"])
    for position, row in enumerate(behind + at_or_past, start=1):
        row["priority_rank"] = position
    return behind + at_or_past + unmeasured


def describe(row: dict[str, Any]) -> str:
    """Return one sentence on where a class stands."""
    if row["assessment"] == BEHIND:
        return (
            f"humans are ahead by {row['gap'] * 100:.1f} points "
            f"({row['human_accuracy']:.2f} against {row['model_accuracy']:.2f})"
        )
    if row["assessment"] == AT_OR_PAST:
        return (
            f"the model is at or past human level ({row['model_accuracy']:.2f} against "
            f"{row['human_accuracy']:.2f}); ranked by lowest model accuracy"
        )
    return f"not measured: {row['reason']}"


def summarize(rows: list[dict[str, Any]]) -> str:
    """Return one sentence on a model version as a whole."""
    behind = sum(row["assessment"] == BEHIND for row in rows)
    measured = sum(row["assessment"] != UNMEASURED for row in rows)
    if measured == 0:
        return "No class could be measured: see each class's reason."
    if behind == 0:
        return (
            f"The model is at or past human level on every measured class ({measured}); "
            "classes are ranked by lowest model accuracy."
        )
    return (
        f"Humans are ahead on {behind} of {measured} measured classes; those come first, "
        "largest gap first."
    )
