"""Counting prediction files one at a time equals counting them all at once."""

import numpy as np
import pandas as pd
import pytest

from humangap.config import HumangapConfig
from humangap.counts import count_labels, coverage
from humangap.storage import LocalStore
from humangap.stream import count_stream, read_prediction_files

CLASSES = ["cat", "dog", "bird", "fish"]


def strings(frame):
    return frame.astype({name: "string" for name in frame.columns if name != "score"})


def random_case(seed=3, items=600, models=3):
    """Gold for most items, predictions by several versions, 0-3 human labels per item."""
    rng = np.random.default_rng(seed)
    ids = [f"item-{number:04d}" for number in range(items)]
    gold = pd.DataFrame({"item_id": ids, "label": rng.choice(CLASSES, items)})
    # Items 0-19 have predictions and annotations but no gold label.
    gold = gold.iloc[20:]
    predictions = pd.concat(
        [
            pd.DataFrame(
                {
                    "item_id": ids,
                    "predicted_label": rng.choice(CLASSES, items),
                    "model_version": f"m{model}",
                    "score": rng.random(items),
                }
            ).sample(frac=0.8, random_state=model)
            for model in range(models)
        ],
        ignore_index=True,
    ).sample(frac=1.0, random_state=seed, ignore_index=True)
    annotations = pd.DataFrame(
        [
            (item, f"annotator-{slot}", str(rng.choice(CLASSES)))
            for item in ids
            for slot in range(rng.integers(0, 4))
        ],
        columns=["item_id", "annotator_id", "label"],
    )
    return strings(gold), strings(predictions), strings(annotations)


def write_files(root, predictions, parts):
    """Write the predictions as ``parts`` files in three formats, like a partition can hold."""
    folder = root / "predictions" / "dt=2026-11-05"
    folder.mkdir(parents=True)
    for number, chunk in enumerate(np.array_split(np.arange(len(predictions)), parts)):
        frame = predictions.iloc[chunk]
        if number % 3 == 0:
            frame.to_parquet(folder / f"part-{number:03d}.parquet", index=False)
        elif number % 3 == 1:
            frame.to_csv(folder / f"part-{number:03d}.csv", index=False)
        else:
            frame.to_json(folder / f"part-{number:03d}.jsonl", orient="records", lines=True)
    store = LocalStore(root)
    return store, store.list_keys("predictions/")


@pytest.mark.parametrize("parts", [1, 2, 7], ids=["one-file", "two-files", "seven-files"])
def test_stream_equals_all_in_memory(tmp_path, parts):
    gold, predictions, annotations = random_case()
    store, keys = write_files(tmp_path, predictions, parts)
    assert len(keys) == parts
    whole = count_labels(gold, predictions, annotations)

    streamed = count_stream(gold, annotations, read_prediction_files(store, keys, HumangapConfig(bucket="b")))

    pd.testing.assert_frame_equal(streamed.counts.table, whole.table)
    assert streamed.counts.to_records() == whole.to_records()
    assert streamed.files == parts
    assert streamed.prediction_rows == len(predictions)
    expected = coverage(gold, predictions, annotations)
    assert streamed.predictions_without_gold == expected["predictions_without_gold"]
    assert streamed.annotations_without_gold == expected["annotations_without_gold"]


def test_stream_counts_by_hand():
    gold = strings(pd.DataFrame({"item_id": ["1", "2", "3"], "label": ["cat", "cat", "dog"]}))
    annotations = strings(
        pd.DataFrame(
            {
                "item_id": ["1", "1", "3", "9"],
                "annotator_id": ["a", "b", "a", "a"],
                "label": ["cat", "dog", "dog", "cat"],
            }
        )
    )
    files = [
        strings(pd.DataFrame({"item_id": ["1", "9"], "predicted_label": ["cat", "cat"]})),
        strings(pd.DataFrame({"item_id": ["2", "3"], "predicted_label": ["dog", "dog"]})),
    ]

    streamed = count_stream(gold, annotations, iter(files))

    model = streamed.counts.per_class("", "model")
    human = streamed.counts.per_class("", "human")
    # Cats: items 1 (right) and 2 (wrong). Dogs: item 3 (right). Item 9 has no gold.
    assert (model.loc["cat", "total"], model.loc["cat", "correct"]) == (2, 1)
    assert (model.loc["dog", "total"], model.loc["dog", "correct"]) == (1, 1)
    # Human labels on item 1: cat, dog. On item 3: dog. Item 2 has none.
    assert (human.loc["cat", "total"], human.loc["cat", "correct"]) == (2, 1)
    assert (human.loc["dog", "total"], human.loc["dog", "correct"]) == (1, 1)
    assert streamed.predictions_without_gold == 1
    assert streamed.annotations_without_gold == 1


def test_stream_without_files_counts_nothing():
    gold, _, annotations = random_case(items=50, models=1)

    streamed = count_stream(gold, annotations, iter([]))

    assert streamed.files == 0
    assert streamed.counts.table.empty
    assert streamed.counts.model_versions() == []
