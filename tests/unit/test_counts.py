"""count_labels on encoded codes equals a plain pandas merge and groupby."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from humangap.counts import UNNAMED_MODEL, count_labels, coverage

CLASSES = ["cat", "dog", "bird"]


def reference_counts(gold, predictions, annotations):
    """Count with string merges and groupbys; rows with a missing key are dropped."""
    scored = predictions.merge(gold.rename(columns={"label": "gold"}), on="item_id")
    if "model_version" not in scored.columns:
        scored["model_version"] = UNNAMED_MODEL
    model = scored.groupby(["model_version", "gold", "predicted_label"]).size()
    human = scored[["model_version", "item_id", "gold"]].merge(annotations[["item_id", "label"]], on="item_id")
    human = human.groupby(["model_version", "gold", "label"]).size()
    rows = [
        (version, kind, truth, label, int(n))
        for kind, series in (("model", model), ("human", human))
        for (version, truth, label), n in series.items()
    ]
    table = pd.DataFrame(rows, columns=["model_version", "kind", "gold", "label", "n"])
    return table.sort_values(["model_version", "kind", "gold", "label"], ignore_index=True)


def messy_case(seed):
    """Random frames with missing labels and versions, unknown items and unlabelled items."""
    rng = np.random.default_rng(seed)
    ids = [f"{number:03d}" for number in range(300)]
    gold = pd.DataFrame({"item_id": ids[30:], "label": rng.choice(CLASSES, 270)})
    gold.loc[rng.choice(270, 5, replace=False), "label"] = None
    predictions = pd.DataFrame(
        {
            "item_id": np.repeat(ids, 2),
            "predicted_label": rng.choice(CLASSES + ["lizard"], 600),
            "model_version": np.tile(["v1", "v2"], 300),
        }
    )
    predictions.loc[rng.choice(600, 5, replace=False), "predicted_label"] = None
    predictions.loc[rng.choice(600, 5, replace=False), "model_version"] = None
    annotations = pd.DataFrame(
        {
            "item_id": rng.choice(ids, 500),
            "annotator_id": [f"a{number}" for number in range(500)],
            "label": rng.choice(CLASSES, 500),
        }
    )
    annotations.loc[rng.choice(500, 5, replace=False), "label"] = None
    return [frame.astype("string") for frame in (gold, predictions, annotations)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_equal_plain_pandas(seed):
    gold, predictions, annotations = messy_case(seed)

    counts = count_labels(gold, predictions, annotations)

    expected = reference_counts(gold, predictions, annotations)
    assert len(expected) >= 40
    pd.testing.assert_frame_equal(counts.table, expected, check_dtype=False)


def test_counts_equal_plain_pandas_without_versions():
    gold, predictions, annotations = messy_case(4)
    predictions = predictions[predictions["model_version"] == "v1"].drop(columns="model_version")

    counts = count_labels(gold, predictions, annotations)

    pd.testing.assert_frame_equal(
        counts.table, reference_counts(gold, predictions, annotations), check_dtype=False
    )


def test_counts_accept_object_columns():
    gold, predictions, annotations = messy_case(5)
    as_objects = [frame.astype(object).where(frame.notna(), None) for frame in (gold, predictions, annotations)]

    counts = count_labels(*as_objects)

    pd.testing.assert_frame_equal(counts.table, count_labels(gold, predictions, annotations).table)


def test_coverage_counts_rows_without_gold():
    gold, predictions, annotations = messy_case(6)

    found = coverage(gold, predictions, annotations)

    known = set(gold["item_id"])
    assert found["predictions_without_gold"] == int((~predictions["item_id"].isin(known)).sum()) == 60
    assert found["annotations_without_gold"] == int((~annotations["item_id"].isin(known)).sum())


def test_counts_on_chunked_columns():
    gold, predictions, annotations = messy_case(7)
    pieces = [frame.iloc[: len(frame) // 3] for frame in (gold, predictions, annotations)]
    rests = [frame.iloc[len(frame) // 3 :] for frame in (gold, predictions, annotations)]
    chunked = [pd.concat([piece, rest], ignore_index=True) for piece, rest in zip(pieces, rests)]
    assert pa.array(chunked[1]["item_id"]).num_chunks == 2

    counts = count_labels(*chunked)

    pd.testing.assert_frame_equal(counts.table, count_labels(gold, predictions, annotations).table)
    assert coverage(*chunked) == coverage(gold, predictions, annotations)


def reference_item_tables(gold, predictions, annotations):
    """Patterns, agreement and annotator counts, item by item in plain Python."""
    truth = {item: label for item, label in zip(gold["item_id"], gold["label"]) if not pd.isna(label)}
    labels_of = {}
    for item, annotator, label in zip(annotations["item_id"], annotations["annotator_id"], annotations["label"]):
        if not pd.isna(label):
            labels_of.setdefault(item, []).append((annotator, label))
    patterns, agreement, annotators = {}, {}, {}
    for item, predicted, version in zip(
        predictions["item_id"], predictions["predicted_label"], predictions["model_version"]
    ):
        if pd.isna(item) or item not in truth or pd.isna(version):
            continue
        right = truth[item]
        human = labels_of.get(item, [])
        votes = pd.Series([label for _, label in human], dtype=object).value_counts()
        if votes.empty:
            majority = "none"
        elif (votes == votes.max()).sum() > 1:
            majority = "tie"
        else:
            majority = "correct" if votes.idxmax() == right else "wrong"
        correct = sum(label == right for _, label in human)
        # An empty predicted label counts as wrong.
        key = (version, right, int(not pd.isna(predicted) and predicted == right), len(human), correct, majority)
        patterns[key] = patterns.get(key, 0) + 1
        if len(human) >= 2:
            text = "[" + ", ".join(f'["{label}", {votes[label]}]' for label in sorted(votes.index)) + "]"
            agreement[(version, right, text)] = agreement.get((version, right, text), 0) + 1
        for annotator, label in human:
            if pd.isna(annotator):
                continue
            total, hits = annotators.get((version, right, annotator), (0, 0))
            annotators[(version, right, annotator)] = (total + 1, hits + int(label == right))

    return (
        pd.DataFrame(
            [key + (n,) for key, n in patterns.items()],
            columns=["model_version", "gold", "model_correct", "human_labels", "human_correct", "majority", "n"],
        ),
        pd.DataFrame([key + (n,) for key, n in agreement.items()], columns=["model_version", "gold", "votes", "n"]),
        pd.DataFrame(
            [key + value for key, value in annotators.items()],
            columns=["model_version", "gold", "annotator_id", "labels", "correct"],
        ),
    )


def _sorted(frame, keys):
    return frame.sort_values(keys, ignore_index=True)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_item_tables_match_item_loop(seed):
    gold, predictions, annotations = messy_case(seed)
    # Fewer annotators than labels, so annotators label several items and items tie.
    annotations["annotator_id"] = [f"a{number % 7}" for number in range(len(annotations))]
    annotations = annotations.drop_duplicates(["item_id", "annotator_id"]).reset_index(drop=True)

    counts = count_labels(gold, predictions, annotations)

    patterns, agreement, annotators = reference_item_tables(gold, predictions, annotations)
    assert set(patterns["majority"]) == {"none", "correct", "wrong", "tie"}
    assert len(agreement) >= 20
    assert len(annotators) >= 20
    for found, expected, keys in (
        (counts.patterns, patterns, ["model_version", "gold", "model_correct", "human_labels", "human_correct", "majority"]),
        (counts.agreement, agreement, ["model_version", "gold", "votes"]),
        (counts.annotators, annotators, ["model_version", "gold", "annotator_id"]),
    ):
        pd.testing.assert_frame_equal(_sorted(found, keys), _sorted(expected, keys), check_dtype=False)
