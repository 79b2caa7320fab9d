"""Human baselines, agreement and annotator figures on small cases computed by hand."""

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest

from humangap import annotators, metrics, report, stats
from humangap.counts import LabelCounts, count_labels
from humangap.stats import StatsSettings


def frame(rows, columns):
    return pd.DataFrame(rows, columns=columns).astype("string")


@pytest.fixture
def votes_case():
    # Cats 1-4, dogs 5-6. Votes: 1 cat+cat (majority right), 2 cat+dog (tie),
    # 3 cat (right), 4 none, 5 dog+dog (right), 6 cat+cat+dog (majority wrong).
    gold = frame([("1", "cat"), ("2", "cat"), ("3", "cat"), ("4", "cat"), ("5", "dog"), ("6", "dog")],
                 ["item_id", "label"])
    predictions = frame([("1", "cat"), ("2", "cat"), ("3", "dog"), ("4", "cat"), ("5", "dog"), ("6", "cat")],
                        ["item_id", "predicted_label"])
    annotations = frame(
        [("1", "a", "cat"), ("1", "b", "cat"), ("2", "a", "cat"), ("2", "b", "dog"), ("3", "a", "cat"),
         ("5", "a", "dog"), ("5", "b", "dog"), ("6", "a", "cat"), ("6", "b", "cat"), ("6", "c", "dog")],
        ["item_id", "annotator_id", "label"],
    )
    return gold, predictions, annotations


def rows_by_class(counts, settings=None):
    return {row["class"]: row for row in metrics.class_rows(counts, "", ["cat", "dog"], settings)}


def test_majority_vote_with_ties(votes_case):
    rows = rows_by_class(count_labels(*votes_case))
    cat, dog = rows["cat"], rows["dog"]
    # Cat items with labels: 1 right, 2 tie (not right), 3 right; item 4 has no labels.
    assert (cat["majority_correct"], cat["majority_items"], cat["majority_ties"]) == (2, 3, 1)
    assert cat["human_accuracy_majority"] == pytest.approx(2 / 3)
    assert cat["human_accuracy_majority_ci"] == stats.wilson(2, 3)
    assert (dog["majority_correct"], dog["majority_items"], dog["majority_ties"]) == (1, 2, 0)


def test_pooled_and_mean_per_annotator(votes_case):
    rows = rows_by_class(count_labels(*votes_case))
    cat, dog = rows["cat"], rows["dog"]
    # Pooled: every label once. Cat 4 of 5, dog 3 of 5.
    assert (cat["human_correct"], cat["human_labels"]) == (4, 5)
    assert (dog["human_correct"], dog["human_labels"]) == (3, 5)
    # Per annotator on cats: a 3/3, b 1/2 -> (1 + 1/2) / 2. On dogs: a 1/2, b 1/2, c 1/1.
    assert cat["human_accuracy_mean_per_annotator"] == pytest.approx(3 / 4)
    assert cat["annotator_count"] == 2
    assert dog["human_accuracy_mean_per_annotator"] == pytest.approx(2 / 3)
    assert dog["annotator_count"] == 3
    low, high = dog["human_accuracy_mean_per_annotator_ci"]
    assert 0.5 <= low <= 2 / 3 <= high <= 1.0


@pytest.mark.parametrize(
    ("baseline", "expected"),
    [("pooled", 4 / 5), ("mean_per_annotator", 3 / 4), ("majority", 2 / 3)],
)
def test_configured_baseline_drives_the_gap(votes_case, baseline, expected):
    counts = count_labels(*votes_case)
    document = report.build_report(
        counts, ["cat", "dog"], {"window": {}}, {}, {}, StatsSettings(baseline=baseline)
    )
    (model,) = document["models"]
    assert model["baseline"] == baseline
    cat = next(row for row in model["classes"] if row["class"] == "cat")
    # The model got cats 1, 2 and 4 right: 3 of 4.
    assert cat["baseline_accuracy"] == pytest.approx(expected)
    assert cat["gap"] == pytest.approx(expected - 3 / 4)
    assert model["gap_interval"] == {
        "method": "bootstrap over items", "resamples": 2000, "seed": 0, "level": 0.95
    }


def test_missing_annotator_ids_reported(votes_case):
    gold, predictions, annotations = votes_case
    counts = count_labels(gold, predictions, annotations.drop(columns="annotator_id"))
    document = report.build_report(
        counts, ["cat", "dog"], {"window": {}}, {}, {}, StatsSettings(baseline="mean_per_annotator")
    )
    (model,) = document["models"]
    assert model["baseline"] == "pooled"
    assert "no annotator_id column" in model["baseline_reason"]
    cat = next(row for row in model["classes"] if row["class"] == "cat")
    assert cat["human_accuracy_mean_per_annotator"] is None
    assert cat["human_accuracy_mean_per_annotator_reason"] == metrics.UNAVAILABLE_IDS
    assert cat["human_accuracy"] == pytest.approx(4 / 5)
    assert cat["human_accuracy_majority"] == pytest.approx(2 / 3)
    section = document["annotators"]
    assert section["available"] is False
    assert "no annotator_id column" in section["reason"]
    # Agreement needs only how many labels each class got per item.
    assert section["items_with_two_or_more_labels"] == 4
    assert section["alpha"] is not None


def test_counts_of_disjoint_prediction_files_add_up(votes_case):
    gold, predictions, annotations = votes_case
    whole = count_labels(gold, predictions, annotations)
    parts = count_labels(gold, predictions.iloc[:3], annotations) + count_labels(
        gold, predictions.iloc[3:], annotations
    )
    for name in ("table", "patterns", "annotators", "agreement"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(parts, name))


def test_every_table_round_trips_through_json(votes_case):
    counts = count_labels(*votes_case)
    again = LabelCounts.from_records(json.loads(json.dumps(counts.to_records())))
    for name in ("table", "patterns", "annotators", "agreement"):
        pd.testing.assert_frame_equal(getattr(counts, name), getattr(again, name))
    assert again.annotator_ids is True


def test_krippendorff_alpha_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal
    # example with 4 observers and 12 units (unit 12 has one value and is not pairable):
    # alpha = 0.743.
    observers = {
        "A": ["1", "2", "3", "3", "2", "1", "4", "1", "2", None, None, None],
        "B": ["1", "2", "3", "3", "2", "2", "4", "1", "2", "5", None, "3"],
        "C": [None, "3", "3", "3", "2", "3", "4", "2", "2", "5", "1", None],
        "D": ["1", "2", "3", "3", "2", "4", "4", "1", "2", "5", "1", None],
    }
    labels = [
        (str(unit), observer, value)
        for observer, values in observers.items()
        for unit, value in enumerate(values, start=1)
        if value is not None
    ]
    gold = frame([(str(unit), "1") for unit in range(1, 13)], ["item_id", "label"])
    predictions = frame([(str(unit), "1") for unit in range(1, 13)], ["item_id", "predicted_label"])
    annotations = frame(labels, ["item_id", "annotator_id", "label"])
    result = annotators.agreement(count_labels(gold, predictions, annotations), ["1"])
    assert result["items_with_two_or_more_labels"] == 11
    assert result["alpha"] == pytest.approx(0.743, abs=5e-4)
    assert result["alpha_per_class"]["1"] == pytest.approx(result["alpha"])


def test_weighted_alpha_matches_krippendorff_package():
    # The report weights each vote pattern by its item count, and the package takes one
    # row per item. Random patterns with 1 to 5 labels per item and 2 to 5 classes.
    rng = np.random.default_rng(3)
    compared = 0
    for _ in range(200):
        categories = int(rng.integers(2, 6))
        patterns = int(rng.integers(1, 20))
        labels = rng.integers(1, 6, patterns)
        value_counts = np.array([rng.multinomial(m, rng.dirichlet(np.full(categories, 0.5))) for m in labels])
        items = rng.integers(0, 40, patterns)
        rows = np.repeat(value_counts, items, axis=0)
        try:
            # The package returns NaN, with a warning, when every label is the same class.
            with np.errstate(invalid="ignore"):
                expected = krippendorff.alpha(value_counts=rows, level_of_measurement="nominal")
        except ValueError:
            expected = np.nan
        result = annotators.nominal_alpha(value_counts, items)
        if np.isnan(expected):
            assert result is None
        else:
            assert result == pytest.approx(expected, abs=1e-12)
            compared += 1
    assert compared > 150


def test_weighted_alpha_undefined_cases():
    # One category, and no item with two labels: the package raises on both.
    assert annotators.nominal_alpha(np.array([[2], [3]]), np.array([4, 1])) is None
    assert annotators.nominal_alpha(np.array([[1, 0], [0, 1]]), np.array([5, 5])) is None
    # With no items on the split pattern, every label left is the same class.
    assert annotators.nominal_alpha(np.array([[1, 1], [2, 0]]), np.array([0, 3])) is None


def test_weighted_alpha_ignores_patterns_without_items():
    value_counts = np.array([[2, 0], [1, 1], [0, 3]])
    items = np.array([4, 2, 3])
    alone = annotators.nominal_alpha(value_counts, items)
    with_empty = annotators.nominal_alpha(np.vstack([value_counts, [[1, 2]]]), np.append(items, 0))
    assert alone is not None
    assert with_empty == alone


def test_annotator_table_by_hand(votes_case):
    counts = count_labels(*votes_case)
    table = annotators.annotator_frame(counts, ["cat", "dog"]).set_index("annotator_id")
    # a: cats 1, 2, 3 right, dogs 5 right and 6 wrong -> 4 of 5.
    assert (table.loc["a", "labels"], table.loc["a", "correct"]) == (5, 4)
    assert [table.loc["a", "accuracy_low"], table.loc["a", "accuracy_high"]] == pytest.approx(stats.wilson(4, 5))
    # Fewer than 10 labels on a class: no per-class accuracy.
    assert pd.isna(table.loc["a", "accuracy_cat"])
    assert not table["outlier"].any()


def test_confusions_by_hand(votes_case):
    rows = rows_by_class(count_labels(*votes_case))
    # Cats: the model called item 3 a dog (1 of 4); humans gave 1 dog label of 5.
    assert rows["cat"]["confusions"]["model"] == [{"label": "dog", "rate": 1 / 4, "count": 1}]
    assert rows["cat"]["confusions"]["human"] == [{"label": "dog", "rate": 1 / 5, "count": 1}]
    # Dogs: the model called item 6 a cat (1 of 2); humans gave 2 cat labels of 5.
    assert rows["dog"]["confusions"]["model"] == [{"label": "cat", "rate": 1 / 2, "count": 1}]
    assert rows["dog"]["confusions"]["human"] == [{"label": "cat", "rate": 2 / 5, "count": 2}]
    assert rows["dog"]["confusions"]["model_far_more"] == []


def test_model_confuses_far_more_than_humans():
    # 40 cats: the model calls 20 of them dogs and one a bird; of 120 human labels, 2 are dog.
    gold = frame([(str(i), "cat") for i in range(40)], ["item_id", "label"])
    predicted = ["dog"] * 20 + ["bird"] + ["cat"] * 19
    predictions = frame([(str(i), label) for i, label in enumerate(predicted)], ["item_id", "predicted_label"])
    labels = [(str(i), f"w{slot}", "dog" if i < 2 and slot == 0 else "cat") for i in range(40) for slot in range(3)]
    annotations = frame(labels, ["item_id", "annotator_id", "label"])
    (cat,) = metrics.class_rows(count_labels(gold, predictions, annotations), "", ["cat"])
    confusions = cat["confusions"]
    assert confusions["model"] == [
        {"label": "dog", "rate": 20 / 40, "count": 20},
        {"label": "bird", "rate": 1 / 40, "count": 1},
    ]
    assert confusions["human"] == [{"label": "dog", "rate": 2 / 120, "count": 2}]
    # One bird out of 40 against none out of 120 is not significant: only dog is listed.
    assert confusions["model_far_more"] == ["dog"]
