"""Counts and metrics on small cases computed by hand."""

import pandas as pd
import pytest

from humangap import metrics
from humangap.counts import UNNAMED_MODEL, LabelCounts, count_labels, coverage


def frame(rows, columns):
    return pd.DataFrame(rows, columns=columns).astype("string")


@pytest.fixture
def small_case():
    # Items 1-4 are cats, 5-6 dogs, 7 a bird without predictions; item 9 has no gold.
    gold = frame(
        [("1", "cat"), ("2", "cat"), ("3", "cat"), ("4", "cat"), ("5", "dog"), ("6", "dog"), ("7", "bird")],
        ["item_id", "label"],
    )
    predictions = frame(
        [("1", "cat", "m1"), ("2", "cat", "m1"), ("3", "dog", "m1"), ("4", "cat", "m1"),
         ("5", "dog", "m1"), ("6", "cat", "m1"), ("9", "cat", "m1"),
         ("1", "cat", "m2"), ("5", "dog", "m2")],
        ["item_id", "predicted_label", "model_version"],
    )
    annotations = frame(
        [("1", "a", "cat"), ("1", "b", "cat"), ("2", "a", "cat"), ("2", "b", "dog"),
         ("3", "a", "cat"), ("5", "a", "dog"), ("5", "b", "dog"), ("6", "a", "dog"),
         ("7", "a", "bird"), ("9", "a", "cat")],
        ["item_id", "annotator_id", "label"],
    )
    return gold, predictions, annotations


def test_counts_by_hand(small_case):
    counts = count_labels(*small_case)
    model = counts.per_class("m1", "model")
    human = counts.per_class("m1", "human")
    # m1 cats: items 1-4, right on 1, 2, 4. Dogs: 5, 6, right on 5.
    assert model.loc["cat", "total"] == 4
    assert model.loc["cat", "correct"] == 3
    assert model.loc["dog", "total"] == 2
    assert model.loc["dog", "correct"] == 1
    # Human labels on m1's cat items 1-4: cat, cat, cat, dog, cat -> 4 of 5.
    assert human.loc["cat", "total"] == 5
    assert human.loc["cat", "correct"] == 4
    # m2 was scored on items 1 and 5 only, so its human baseline uses those.
    human_m2 = counts.per_class("m2", "human")
    assert human_m2.loc["cat", "total"] == 2
    assert human_m2.loc["dog", "total"] == 2


def test_class_rows_by_hand(small_case):
    counts = count_labels(*small_case)
    rows = {row["class"]: row for row in metrics.class_rows(counts, "m1", ["bird", "cat", "dog"])}
    assert (rows["cat"]["model_correct"], rows["cat"]["support"]) == (3, 4)
    assert rows["cat"]["model_accuracy"] == 3 / 4
    assert (rows["cat"]["human_correct"], rows["cat"]["human_labels"]) == (4, 5)
    assert rows["cat"]["human_accuracy"] == 4 / 5
    assert rows["cat"]["gap"] == pytest.approx(0.8 - 0.75)
    # Dog: model 1/2, humans 3/3 (items 5, 5, 6 labelled dog, dog, dog).
    assert rows["dog"]["human_accuracy"] == 1.0
    assert rows["dog"]["gap"] == pytest.approx(0.5)
    assert rows["dog"]["priority_rank"] == 1
    assert rows["cat"]["priority_rank"] == 2
    # Bird has gold but no predictions from m1: kept, unmeasured, unranked.
    assert rows["bird"]["support"] == 0
    assert rows["bird"]["model_accuracy"] is None
    assert rows["bird"]["gap"] is None
    assert rows["bird"]["priority_rank"] is None
    assert "no gold items" in rows["bird"]["reason"]


def test_coverage_counts_unscored_rows(small_case):
    assert coverage(*small_case) == {"predictions_without_gold": 1, "annotations_without_gold": 1}


def test_model_version_absent_is_unnamed(small_case):
    gold, predictions, annotations = small_case
    single = predictions[predictions["model_version"] == "m1"].drop(columns="model_version")
    counts = count_labels(gold, single, annotations)
    assert counts.model_versions() == [UNNAMED_MODEL]


def test_counts_add_up_across_files(small_case):
    gold, predictions, annotations = small_case
    whole = count_labels(gold, predictions, annotations)
    parts = count_labels(gold, predictions.iloc[:4], annotations) + count_labels(gold, predictions.iloc[4:], annotations)
    pd.testing.assert_frame_equal(whole.table, parts.table)


def test_counts_round_trip_records(small_case):
    counts = count_labels(*small_case)
    again = LabelCounts.from_records(counts.to_records())
    pd.testing.assert_frame_equal(counts.table, again.table)


def row(name, model, human, status, support=100, labels=300, regression=False):
    return {
        "class": name,
        "support": support,
        "model_correct": round(model * support),
        "model_accuracy": model,
        "human_labels": labels,
        "human_correct": round(human * labels),
        "human_accuracy": human,
        "gap": human - model,
        "status": status,
        "priority_rank": None,
        "trend": {"regression": regression},
    }


def test_rank_by_status_then_gap():
    rows = metrics.rank(
        [
            row("paper", 0.97, 0.98, metrics.AT_HUMAN_LEVEL),
            row("rock", 0.82, 0.95, metrics.BEHIND_HUMAN),
            row("scissors", 0.75, 0.77, metrics.AT_HUMAN_LEVEL),
            row("lizard", 0.60, 0.50, metrics.AHEAD_OF_HUMAN),
            row("spock", 0.90, 0.93, metrics.BEHIND_HUMAN),
        ]
    )
    assert [r["class"] for r in rows] == ["rock", "spock", "scissors", "paper", "lizard"]
    assert [r["priority_rank"] for r in rows] == [1, 2, 3, 4, 5]


def test_rank_regressions_first():
    rows = metrics.rank(
        [
            row("a", 0.80, 0.80, metrics.AT_HUMAN_LEVEL),
            row("b", 0.90, 0.90, metrics.AT_HUMAN_LEVEL, regression=True),
            row("c", 0.95, 0.80, metrics.AHEAD_OF_HUMAN),
            row("d", 0.99, 0.80, metrics.AHEAD_OF_HUMAN, regression=True),
        ]
    )
    assert [r["class"] for r in rows] == ["b", "a", "d", "c"]


def test_rank_insufficient_data_last():
    rows = metrics.rank(
        [
            row("small", 0.10, 0.90, metrics.INSUFFICIENT_DATA, support=20),
            row("ahead", 0.99, 0.80, metrics.AHEAD_OF_HUMAN),
            {**row("empty", 0.0, 0.0, metrics.INSUFFICIENT_DATA, support=0), "gap": None},
        ]
    )
    assert [r["class"] for r in rows] == ["ahead", "small", "empty"]
    assert [r["priority_rank"] for r in rows] == [1, 2, None]


def test_equal_accuracy_counts_as_at_human_level():
    gold = frame([("1", "x"), ("2", "x")], ["item_id", "label"])
    predictions = frame([("1", "x"), ("2", "y")], ["item_id", "predicted_label"])
    annotations = frame([("1", "a", "x"), ("2", "a", "y")], ["item_id", "annotator_id", "label"])
    rows = metrics.class_rows(count_labels(gold, predictions, annotations), UNNAMED_MODEL, ["x", "y"])
    x = next(r for r in rows if r["class"] == "x")
    assert x["gap"] == 0
    assert x["assessment"] == metrics.AT_OR_PAST
    # Two items are far below the default minimum of 30 gold items.
    assert x["status"] == metrics.INSUFFICIENT_DATA
    assert metrics.describe(x).startswith("insufficient data (2 gold items, fewer than 30;")


def test_class_without_human_labels_is_unranked():
    gold = frame([("1", "x")], ["item_id", "label"])
    predictions = frame([("1", "x")], ["item_id", "predicted_label"])
    annotations = frame([], ["item_id", "annotator_id", "label"])
    (only,) = metrics.class_rows(count_labels(gold, predictions, annotations), UNNAMED_MODEL, ["x"])
    assert only["model_accuracy"] == 1.0
    assert only["human_accuracy"] is None
    assert only["priority_rank"] is None
    assert only["reason"] == "no human labels on the gold items of this class"


def test_rank_rows_without_status_use_assessment():
    rows = [
        {**row("a", 0.9, 0.8, None), "assessment": metrics.AT_OR_PAST},
        {**row("b", 0.7, 0.9, None), "assessment": metrics.BEHIND},
    ]
    for item in rows:
        del item["status"]
    ranked = metrics.rank(rows)
    assert [r["class"] for r in ranked] == ["b", "a"]
    assert [r["status"] for r in ranked] == [metrics.BEHIND_HUMAN, metrics.AT_HUMAN_LEVEL]
