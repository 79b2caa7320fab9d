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

import pandas as pd

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

    Parameters
    ----------
    gold:
        Columns ``item_id, label``; one row per item.
    predictions:
        Columns ``item_id, predicted_label`` and optionally ``model_version``;
        one row per item and model version.
    annotations:
        Columns ``item_id, label``; one row per human label.
    """
    truth = gold[["item_id", "label"]].rename(columns={"label": "gold"})
    scored = predictions.merge(truth, on="item_id", how="inner")
    if "model_version" in scored.columns:
        versions = scored["model_version"].astype(object)
    else:
        versions = pd.Series(UNNAMED_MODEL, index=scored.index, dtype=object)
    scored = pd.DataFrame(
        {
            "model_version": versions,
            "item_id": scored["item_id"],
            "gold": scored["gold"].astype(object),
            "label": scored["predicted_label"].astype(object),
        }
    )
    model = scored.groupby(["model_version", "gold", "label"], as_index=False).size()
    model = model.rename(columns={"size": "n"}).assign(kind="model")

    human_per_item = (
        annotations[["item_id", "label"]]
        .assign(label=lambda frame: frame["label"].astype(object))
        .groupby(["item_id", "label"], as_index=False, observed=True)
        .size()
        .rename(columns={"size": "n"})
    )
    human = (
        scored[["model_version", "item_id", "gold"]]
        .merge(human_per_item, on="item_id", how="inner")
        .groupby(["model_version", "gold", "label"], as_index=False)["n"]
        .sum()
        .assign(kind="human")
    )
    table = pd.concat([model, human], ignore_index=True)[KEY_COLUMNS + ["n"]]
    return LabelCounts(_tidy(table))


def coverage(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, int]:
    """Count the rows that could not be scored because their item has no gold label."""
    known = pd.Index(gold["item_id"].unique())
    return {
        "predictions_without_gold": int((~predictions["item_id"].isin(known)).sum()),
        "annotations_without_gold": int((~annotations["item_id"].isin(known)).sum()),
    }
