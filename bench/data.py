"""Generate seeded benchmark data in the humangap input layout.

Every item has a gold label. Each model version predicts every item, so the
number of predictions is ``items * models``. A share of the items carries
``labels_per_item`` human labels from distinct annotators. Item ids are strings
such as ``item-000000042``, and rows are shuffled so no join can rely on order.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DAY = "2026-11-05"


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Size and shape of one generated data set."""

    items: int
    classes: int = 10
    models: int = 1
    labelled_share: float = 0.1
    labels_per_item: int = 3
    files: int = 1
    seed: int = 7

    @property
    def predictions(self) -> int:
        return self.items * self.models


def class_names(count: int) -> list[str]:
    """Return ``count`` class names such as ``class-03``."""
    return [f"class-{number:02d}" for number in range(count)]


def _item_ids(numbers: np.ndarray) -> pa.Array:
    text = pc.cast(pa.array(numbers, type=pa.int64()), pa.string())
    return pc.binary_join_element_wise("item-", pc.utf8_lpad(text, 9, "0"), "")


def _noisy_labels(rng: np.random.Generator, truth: np.ndarray, classes: int, accuracy: np.ndarray) -> np.ndarray:
    """Return labels equal to ``truth`` with per-class probability ``accuracy``, else another class."""
    right = rng.random(len(truth)) < accuracy[truth]
    wrong = (truth + rng.integers(1, classes, len(truth))) % classes
    return np.where(right, truth, wrong)


def _strings(names: list[str], codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), pa.array(names)).cast(
        pa.string()
    )


def generate(spec: DataSpec) -> dict[str, list[pa.Table]]:
    """Return the tables of each source: predictions split into ``spec.files`` parts."""
    rng = np.random.default_rng(spec.seed)
    names = class_names(spec.classes)
    gold_codes = rng.integers(0, spec.classes, spec.items)
    item_numbers = rng.permutation(spec.items)
    gold = pa.table(
        {"item_id": _item_ids(item_numbers), "label": _strings(names, gold_codes[item_numbers])}
    )

    prediction_parts = []
    for model in range(spec.models):
        accuracy = rng.uniform(0.6, 0.95, spec.classes)
        order = rng.permutation(spec.items)
        predicted = _noisy_labels(rng, gold_codes[order], spec.classes, accuracy)
        prediction_parts.append(
            pa.table(
                {
                    "item_id": _item_ids(order),
                    "predicted_label": _strings(names, predicted),
                    "model_version": pa.array([f"model-{model}"] * spec.items),
                    "score": pa.array(rng.random(spec.items)),
                }
            )
        )
    predictions = pa.concat_tables(prediction_parts)
    shuffle = rng.permutation(predictions.num_rows)
    predictions = predictions.take(pa.array(shuffle))
    bounds = np.linspace(0, predictions.num_rows, spec.files + 1).astype(int)
    prediction_files = [
        predictions.slice(start, stop - start) for start, stop in zip(bounds[:-1], bounds[1:])
    ]

    labelled = rng.choice(spec.items, int(round(spec.items * spec.labelled_share)), replace=False)
    accuracy = rng.uniform(0.7, 0.98, spec.classes)
    items = np.repeat(labelled, spec.labels_per_item)
    slots = np.tile(np.arange(spec.labels_per_item), len(labelled))
    human = _noisy_labels(rng, gold_codes[items], spec.classes, accuracy)
    shuffle = rng.permutation(len(items))
    annotations = pa.table(
        {
            "item_id": _item_ids(items[shuffle]),
            "annotator_id": pc.binary_join_element_wise(
                "annotator-", pc.cast(pa.array(slots[shuffle]), pa.string()), ""
            ),
            "label": _strings(names, human[shuffle]),
        }
    )
    return {"predictions": prediction_files, "gold": [gold], "annotations": [annotations]}


def write_layout(tables: dict[str, list[pa.Table]], root: Path) -> dict[str, list[Path]]:
    """Write the tables in the input layout: predictions as Parquet, labels as CSV."""
    paths: dict[str, list[Path]] = {}
    for source, parts in tables.items():
        folder = root / source / f"dt={DAY}"
        folder.mkdir(parents=True, exist_ok=True)
        paths[source] = []
        for number, table in enumerate(parts):
            if source == "predictions":
                path = folder / f"part-{number:04d}.parquet"
                pq.write_table(table, path)
            else:
                path = folder / f"{source}-{number:04d}.csv"
                pacsv.write_csv(table, path)
            paths[source].append(path)
    return paths
