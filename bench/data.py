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


def _gold(rng: np.random.Generator, spec: DataSpec) -> tuple[np.ndarray, pa.Table]:
    """Return each item's gold class code and the gold table in shuffled row order."""
    gold_codes = rng.integers(0, spec.classes, spec.items)
    item_numbers = rng.permutation(spec.items)
    table = pa.table(
        {
            "item_id": _item_ids(item_numbers),
            "label": _strings(class_names(spec.classes), gold_codes[item_numbers]),
        }
    )
    return gold_codes, table


def _model_predictions(rng: np.random.Generator, spec: DataSpec, gold_codes: np.ndarray, model: int) -> pa.Table:
    """Return one model version's predictions on every item, in shuffled row order."""
    accuracy = rng.uniform(0.6, 0.95, spec.classes)
    order = rng.permutation(spec.items)
    predicted = _noisy_labels(rng, gold_codes[order], spec.classes, accuracy)
    return pa.table(
        {
            "item_id": _item_ids(order),
            "predicted_label": _strings(class_names(spec.classes), predicted),
            "model_version": pa.array([f"model-{model:03d}"] * spec.items),
            "score": pa.array(rng.random(spec.items)),
        }
    )


def _annotations(rng: np.random.Generator, spec: DataSpec, gold_codes: np.ndarray) -> pa.Table:
    """Return ``labels_per_item`` human labels on a random share of the items."""
    labelled = rng.choice(spec.items, int(round(spec.items * spec.labelled_share)), replace=False)
    accuracy = rng.uniform(0.7, 0.98, spec.classes)
    items = np.repeat(labelled, spec.labels_per_item)
    slots = np.tile(np.arange(spec.labels_per_item), len(labelled))
    human = _noisy_labels(rng, gold_codes[items], spec.classes, accuracy)
    shuffle = rng.permutation(len(items))
    return pa.table(
        {
            "item_id": _item_ids(items[shuffle]),
            "annotator_id": pc.binary_join_element_wise(
                "annotator-", pc.cast(pa.array(slots[shuffle]), pa.string()), ""
            ),
            "label": _strings(class_names(spec.classes), human[shuffle]),
        }
    )


def generate(spec: DataSpec) -> dict[str, list[pa.Table]]:
    """Return the tables of each source, with all predictions shuffled into ``spec.files`` parts."""
    rng = np.random.default_rng(spec.seed)
    gold_codes, gold = _gold(rng, spec)
    predictions = pa.concat_tables(
        [_model_predictions(rng, spec, gold_codes, model) for model in range(spec.models)]
    )
    predictions = predictions.take(pa.array(rng.permutation(predictions.num_rows)))
    bounds = np.linspace(0, predictions.num_rows, spec.files + 1).astype(int)
    prediction_files = [
        predictions.slice(start, stop - start) for start, stop in zip(bounds[:-1], bounds[1:])
    ]
    annotations = _annotations(rng, spec, gold_codes)
    return {"predictions": prediction_files, "gold": [gold], "annotations": [annotations]}


def write_model_files(spec: DataSpec, root: Path) -> None:
    """Write one prediction file per model version, generating one file at a time.

    Memory stays at one file's size however many model versions there are, so a
    hundred files of a million predictions can be written on a small machine.
    """
    rng = np.random.default_rng(spec.seed)
    gold_codes, gold = _gold(rng, spec)
    annotations = _annotations(rng, spec, gold_codes)
    write_layout({"predictions": [], "gold": [gold], "annotations": [annotations]}, root)
    folder = root / "predictions" / f"dt={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    for model in range(spec.models):
        table = _model_predictions(rng, spec, gold_codes, model)
        pq.write_table(table, folder / f"part-{model:04d}.parquet")


def write_layout(tables: dict[str, list[pa.Table]], root: Path) -> dict[str, list[Path]]:
    """Write the tables in the input layout: predictions as Parquet, labels as CSV."""
    paths: dict[str, list[Path]] = {}
    for source, parts in tables.items():
        if not parts:
            continue
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
