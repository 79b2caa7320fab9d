"""The one computation of per-class counts; every rate and ranking derives from it.

Counts are confusion counts keyed by model version, gold class and the label
given, for two kinds of labeller:

- ``model``: one count per item that has a gold label and a prediction from the
  model version;
- ``human``: one count per human label on those same items, so the human
  baseline of a model version is measured on the items that model was scored on.

Counts add up, so counts of separate files or tasks can be summed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

UNNAMED_MODEL = ""
KEY_COLUMNS = ["model_version", "kind", "gold", "label"]


@dataclasses.dataclass
class LabelCounts:
    """Confusion counts with columns ``model_version, kind, gold, label, n``."""

    table: pd.DataFrame

    def to_records(self) -> list[dict[str, Any]]:
        """Return the counts as JSON-ready rows."""
        return [
            {**row, "n": int(row["n"])}
            for row in self.table.astype({"n": "int64"}).to_dict(orient="records")
        ]

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> LabelCounts:
        table = pd.DataFrame.from_records(records, columns=KEY_COLUMNS + ["n"])
        return cls(_tidy(table))

    def __add__(self, other: LabelCounts) -> LabelCounts:
        table = pd.concat([self.table, other.table], ignore_index=True)
        return LabelCounts(_tidy(table.groupby(KEY_COLUMNS, as_index=False)["n"].sum()))

    def model_versions(self) -> list[str]:
        return sorted(self.table["model_version"].unique().tolist())

    def per_class(self, model_version: str, kind: str) -> pd.DataFrame:
        """Return ``total`` and ``correct`` per gold class for one labeller kind."""
        rows = self.table[
            (self.table["model_version"] == model_version) & (self.table["kind"] == kind)
        ]
        correct = rows["n"].where(rows["gold"] == rows["label"], 0)
        return (
            rows.assign(correct=correct)
            .groupby("gold")
            .agg(total=("n", "sum"), correct=("correct", "sum"))
        )


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    table = table.astype({column: "object" for column in KEY_COLUMNS})
    table["n"] = table["n"].astype("int64")
    return table.sort_values(KEY_COLUMNS, ignore_index=True)


def count_labels(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> LabelCounts:
    """Count model and human labels per model version and gold class.

    Ids and labels are dictionary-encoded to integer codes once, the item join
    is one Arrow hash look-up against the gold ids, and the counts are
    ``numpy.bincount`` over the codes. Rows with a missing id, label or model
    version are not counted.

    Parameters
    ----------
    gold:
        Columns ``item_id, label``; one row per item. Validation guarantees
        unique ids; a repeated id here is matched to its first row only.
    predictions:
        Columns ``item_id, predicted_label`` and optionally ``model_version``;
        one row per item and model version.
    annotations:
        Columns ``item_id, label``; one row per human label.
    """
    classes, (gold_class, predicted, human_label) = _encode_labels(
        [gold["label"], predictions["predicted_label"], annotations["label"]]
    )
    if "model_version" in predictions.columns:
        versions, (version,) = _encode_labels([predictions["model_version"]])
    else:
        versions, version = [UNNAMED_MODEL], np.zeros(len(predictions), dtype=np.int32)
    prediction_row, annotation_row = _gold_rows(gold, predictions, annotations)

    prediction_gold = _take(gold_class, prediction_row)
    scored = (prediction_gold >= 0) & (version >= 0)
    n_classes = len(classes)
    model_key = (version.astype(np.int64) * n_classes + prediction_gold) * n_classes + predicted
    model = np.bincount(model_key[scored & (predicted >= 0)], minlength=len(versions) * n_classes**2)
    human = _human_counts(
        gold_class,
        human_label,
        annotation_row,
        version[scored],
        prediction_row[scored],
        len(versions),
        n_classes,
    )
    table = pd.concat(
        [_count_rows(model, "model", versions, classes), _count_rows(human, "human", versions, classes)],
        ignore_index=True,
    )
    return LabelCounts(_tidy(table))


def _gold_rows(
    gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Return the gold row of each prediction and each annotation, -1 where there is none."""
    # One hash table of the gold ids serves the predictions and the annotations.
    probe = _probe(predictions, annotations)
    rows = pc.index_in(probe, value_set=_one_array(gold["item_id"]), skip_nulls=True)
    rows = rows.fill_null(-1).to_numpy(zero_copy_only=False)
    return rows[: len(predictions)], rows[len(predictions) :]


def _human_counts(
    gold_class: np.ndarray,
    human_label: np.ndarray,
    annotation_row: np.ndarray,
    scored_version: np.ndarray,
    scored_row: np.ndarray,
    n_versions: int,
    n_classes: int,
) -> np.ndarray:
    """Return the flat (version, gold, label) counts of human labels on scored items.

    A human label counts once per prediction on its item, so each label is
    weighted, per model version, by how many predictions that version made on
    the item (one, when validation has checked the pairs are unique).
    """
    annotation_gold = _take(gold_class, annotation_row)
    labelled = (annotation_gold >= 0) & (human_label >= 0)
    # Number the annotated gold rows 0..k-1, so the per-item table has k columns, not one per gold row.
    annotated_rows = np.unique(annotation_row[labelled])
    slot = np.full(len(gold_class), -1, dtype=np.int32)
    slot[annotated_rows] = np.arange(len(annotated_rows), dtype=np.int32)
    scored_slot = _take(slot, scored_row)
    on_annotated = scored_slot >= 0
    per_item = np.bincount(
        scored_version[on_annotated].astype(np.int64) * len(annotated_rows) + scored_slot[on_annotated],
        minlength=n_versions * len(annotated_rows),
    ).reshape(n_versions, len(annotated_rows))
    human_key = annotation_gold[labelled].astype(np.int64) * n_classes + human_label[labelled]
    annotation_slot = slot[annotation_row[labelled]]
    # Float weights are exact integers below 2**53 labels.
    parts = [
        np.bincount(human_key, weights=per_item[index, annotation_slot], minlength=n_classes**2)
        for index in range(n_versions)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def coverage(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, int]:
    """Count the rows that could not be scored because their item has no gold label."""
    probe = _probe(predictions, annotations)
    known = pc.is_in(probe, value_set=_one_array(gold["item_id"]), skip_nulls=True)
    unknown = np.logical_not(known.to_numpy(zero_copy_only=False))
    return {
        "predictions_without_gold": int(unknown[: len(predictions)].sum()),
        "annotations_without_gold": int(unknown[len(predictions) :].sum()),
    }


def _arrow_strings(column: pd.Series) -> pa.ChunkedArray:
    """Return ``column`` as Arrow ``large_string`` chunks, keeping nulls.

    An Arrow-backed column is wrapped without copying its data.
    """
    array = pa.array(column, from_pandas=True)
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    return array


def _one_array(column: pd.Series) -> pa.Array:
    """Return ``column`` as a single Arrow array, as a look-up's value set must be."""
    chunks = _arrow_strings(column)
    return chunks.chunk(0) if chunks.num_chunks == 1 else chunks.combine_chunks()


def _probe(predictions: pd.DataFrame, annotations: pd.DataFrame) -> pa.ChunkedArray:
    """Return the item ids of the predictions followed by those of the annotations, uncopied."""
    chunks = _arrow_strings(predictions["item_id"]).chunks + _arrow_strings(annotations["item_id"]).chunks
    return pa.chunked_array(chunks, type=pa.large_string())


def _encode_labels(columns: list[pd.Series]) -> tuple[list[str], list[np.ndarray]]:
    """Return the sorted distinct values of ``columns`` and each column's codes into them.

    A missing value gets the code -1.
    """
    encoded = [
        [pc.dictionary_encode(chunk) for chunk in _arrow_strings(column).chunks] for column in columns
    ]
    names = sorted({name for chunks in encoded for chunk in chunks for name in chunk.dictionary.to_pylist()})
    position = {name: index for index, name in enumerate(names)}
    codes = []
    for chunks in encoded:
        parts = [np.zeros(0, dtype=np.int32)]
        for chunk in chunks:
            # The last entry maps the -1 of a missing value to -1.
            lookup = [position[name] for name in chunk.dictionary.to_pylist()] + [-1]
            indices = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False)
            parts.append(np.array(lookup, dtype=np.int32)[indices])
        codes.append(np.concatenate(parts))
    return names, codes


def _take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Return ``values[rows]``, with -1 where ``rows`` is -1 (no match)."""
    # Index -1 picks the appended -1, so one gather handles the misses.
    return np.append(values, np.int32(-1)).astype(np.int32, copy=False)[rows]


def _count_rows(counts: np.ndarray, kind: str, versions: list[str], classes: list[str]) -> pd.DataFrame:
    """Return the nonzero entries of a flat (version, gold, label) count array as rows."""
    (keys,) = np.nonzero(counts)
    n_classes = len(classes)
    version, rest = np.divmod(keys, n_classes * n_classes)
    gold, label = np.divmod(rest, n_classes)
    names = np.array(classes, dtype=object)
    return pd.DataFrame(
        {
            "model_version": np.array(versions, dtype=object)[version],
            "kind": kind,
            "gold": names[gold],
            "label": names[label],
            "n": np.rint(counts[keys]).astype(np.int64),
        },
        columns=KEY_COLUMNS + ["n"],
    )
