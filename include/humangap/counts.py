"""The one computation of per-class counts; every rate, interval and ranking derives from it.

Counts are kept in four count tables, all keyed by model version and gold class:

- ``table``, confusion counts for two kinds of labeller: ``model`` (one count per
  item that has a gold label and a prediction from the model version) and ``human``
  (one count per human label on those same items, so the human baseline of a model
  version is measured on the items that model was scored on);
- ``patterns``, the number of scored items with each item pattern: whether the model
  was right, how many human labels the item has, how many of them are right, and
  how the majority vote of its labels came out (``correct``, ``wrong``, ``tie`` or
  ``none`` without labels). A bootstrap over items resamples these counts;
- ``annotators``, labels and correct labels per annotator on the scored items;
- ``agreement``, the number of scored items with two or more labels per vote
  pattern (how many labels each class got), which is what Krippendorff's alpha needs.

Every table is a count, so counts of separate files or tasks can be summed.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

UNNAMED_MODEL = ""
KEY_COLUMNS = ["model_version", "kind", "gold", "label"]
PATTERN_KEYS = ["model_version", "gold", "model_correct", "human_labels", "human_correct", "majority"]
ANNOTATOR_KEYS = ["model_version", "gold", "annotator_id"]
AGREEMENT_KEYS = ["model_version", "gold", "votes"]

# ``kind`` of the records that carry the extra tables. Confusion rows keep ``model``
# and ``human``, so records written before the extra tables existed still load.
PATTERN_KIND = "pattern"
ANNOTATOR_KIND = "annotator"
AGREEMENT_KIND = "agreement"
META_KIND = "meta"


def _empty(keys: list[str], values: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in keys} | {
        name: pd.Series(dtype="int64") for name in values
    })


@dataclasses.dataclass
class LabelCounts:
    """Count tables of one or more scored inputs.

    Attributes
    ----------
    table:
        Confusion counts, columns ``model_version, kind, gold, label, n``.
    patterns:
        Items per pattern, columns ``PATTERN_KEYS`` and ``n``.
    annotators:
        Columns ``model_version, gold, annotator_id, labels, correct``.
    agreement:
        Items with two or more labels per vote pattern, columns ``AGREEMENT_KEYS``
        and ``n``; ``votes`` is a JSON list of ``[label, count]`` pairs.
    annotator_ids:
        Whether the annotations carried an ``annotator_id`` column.
    """

    table: pd.DataFrame
    patterns: pd.DataFrame = dataclasses.field(
        default_factory=lambda: _empty(PATTERN_KEYS[:2] + ["majority"], PATTERN_KEYS[2:5] + ["n"])
    )
    annotators: pd.DataFrame = dataclasses.field(
        default_factory=lambda: _empty(ANNOTATOR_KEYS, ["labels", "correct"])
    )
    agreement: pd.DataFrame = dataclasses.field(
        default_factory=lambda: _empty(AGREEMENT_KEYS, ["n"])
    )
    annotator_ids: bool = True

    def to_records(self) -> list[dict[str, Any]]:
        """Return the counts as JSON-ready records.

        Confusion counts come first, one record per row as before. Each extra table
        follows as one record with ``columns`` and ``data`` (a list of rows), which
        keeps the payload small for Airflow XCom.
        """
        records = [
            {**row, "n": int(row["n"])}
            for row in self.table.astype({"n": "int64"}).to_dict(orient="records")
        ]
        for kind, frame in (
            (PATTERN_KIND, self.patterns),
            (ANNOTATOR_KIND, self.annotators),
            (AGREEMENT_KIND, self.agreement),
        ):
            data = [
                [value if isinstance(value, str) else int(value) for value in row]
                for row in frame.itertuples(index=False, name=None)
            ]
            records.append({"kind": kind, "columns": list(frame.columns), "data": data})
        records.append({"kind": META_KIND, "annotator_ids": self.annotator_ids})
        return records

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> LabelCounts:
        """Rebuild counts from ``to_records`` output."""
        extra: dict[str, dict[str, Any]] = {}
        confusion = []
        annotator_ids = True
        for record in records:
            kind = record.get("kind")
            if kind == META_KIND:
                annotator_ids = bool(record["annotator_ids"])
            elif kind in (PATTERN_KIND, ANNOTATOR_KIND, AGREEMENT_KIND):
                extra[kind] = record
            else:
                confusion.append(record)

        def load(kind: str, keys: list[str], values: list[str]) -> pd.DataFrame:
            record = extra.get(kind, {"data": [], "columns": keys + values})
            frame = pd.DataFrame(record["data"], columns=record["columns"])
            return _tidy(frame[keys + values], keys, values)

        table = pd.DataFrame.from_records(confusion, columns=KEY_COLUMNS + ["n"])
        return cls(
            table=_tidy(table, KEY_COLUMNS, ["n"]),
            patterns=load(PATTERN_KIND, PATTERN_KEYS, ["n"]),
            annotators=load(ANNOTATOR_KIND, ANNOTATOR_KEYS, ["labels", "correct"]),
            agreement=load(AGREEMENT_KIND, AGREEMENT_KEYS, ["n"]),
            annotator_ids=annotator_ids,
        )

    def __add__(self, other: LabelCounts) -> LabelCounts:
        def add(left: pd.DataFrame, right: pd.DataFrame, keys: list[str], values: list[str]):
            both = pd.concat([left, right], ignore_index=True)
            return _tidy(both.groupby(keys, as_index=False)[values].sum(), keys, values)

        return LabelCounts(
            table=add(self.table, other.table, KEY_COLUMNS, ["n"]),
            patterns=add(self.patterns, other.patterns, PATTERN_KEYS, ["n"]),
            annotators=add(self.annotators, other.annotators, ANNOTATOR_KEYS, ["labels", "correct"]),
            agreement=add(self.agreement, other.agreement, AGREEMENT_KEYS, ["n"]),
            annotator_ids=self.annotator_ids and other.annotator_ids,
        )

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

    def confusion(self, model_version: str, kind: str, gold: str) -> pd.Series:
        """Return the count of each label given to gold items of ``gold``."""
        rows = self.table[
            (self.table["model_version"] == model_version)
            & (self.table["kind"] == kind)
            & (self.table["gold"] == gold)
        ]
        return rows.set_index("label")["n"]

    def item_patterns(self, model_version: str, gold: str) -> pd.DataFrame:
        """Return the item patterns of one model version and gold class."""
        rows = self.patterns[
            (self.patterns["model_version"] == model_version) & (self.patterns["gold"] == gold)
        ]
        return rows.reset_index(drop=True)

    def annotator_counts(self, model_version: str) -> pd.DataFrame:
        """Return ``gold, annotator_id, labels, correct`` rows of one model version."""
        rows = self.annotators[self.annotators["model_version"] == model_version]
        return rows.drop(columns="model_version").reset_index(drop=True)

    def agreement_counts(self, model_version: str) -> pd.DataFrame:
        """Return ``gold, votes, n`` rows of one model version."""
        rows = self.agreement[self.agreement["model_version"] == model_version]
        return rows.drop(columns="model_version").reset_index(drop=True)

    def items(self, model_version: str) -> int:
        """Return how many items were scored for a model version."""
        rows = self.table[(self.table["model_version"] == model_version) & (self.table["kind"] == "model")]
        return int(rows["n"].sum())


def _tidy(table: pd.DataFrame, keys: list[str] | None = None, values: list[str] | None = None) -> pd.DataFrame:
    keys = KEY_COLUMNS if keys is None else keys
    values = ["n"] if values is None else values
    integer_keys = [name for name in keys if name in ("model_correct", "human_labels", "human_correct")]
    table = table.astype({name: "object" for name in keys if name not in integer_keys})
    table = table.astype({name: "int64" for name in integer_keys + values})
    return table.sort_values(keys, ignore_index=True)


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
        Columns ``item_id, label`` and optionally ``annotator_id``; one row per
        human label. Without ``annotator_id`` the per-annotator table is empty.
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

    items = _item_summary(truth, human_per_item)
    patterns = _patterns(scored, items)
    agreement = _agreement(scored, items)
    has_ids = "annotator_id" in annotations.columns
    annotators = _annotators(scored, annotations) if has_ids else None
    counts = LabelCounts(_tidy(table), annotator_ids=has_ids)
    counts.patterns = _tidy(patterns, PATTERN_KEYS, ["n"])
    counts.agreement = _tidy(agreement, AGREEMENT_KEYS, ["n"])
    if annotators is not None:
        counts.annotators = _tidy(annotators, ANNOTATOR_KEYS, ["labels", "correct"])
    return counts


def _item_summary(truth: pd.DataFrame, human_per_item: pd.DataFrame) -> pd.DataFrame:
    """Per gold item with labels: label count, correct count, majority outcome and votes."""
    votes = human_per_item.merge(truth, on="item_id", how="inner")
    if votes.empty:
        return pd.DataFrame(columns=["item_id", "human_labels", "human_correct", "majority", "votes"])
    votes["is_gold"] = (votes["label"] == votes["gold"].astype(object)).astype("int64")
    votes["right"] = votes["n"] * votes["is_gold"]
    summary = votes.groupby("item_id", observed=True).agg(
        human_labels=("n", "sum"), human_correct=("right", "sum"), top=("n", "max")
    )
    votes = votes.merge(summary[["top"]], left_on="item_id", right_index=True)
    at_top = votes[votes["n"] == votes["top"]].groupby("item_id", observed=True).agg(
        leaders=("n", "size"), gold_leads=("is_gold", "max")
    )
    summary = summary.join(at_top)
    # Tie rule: when two or more labels share the top count there is no majority,
    # and the item counts as a tie (not correct), whichever labels tied.
    summary["majority"] = "wrong"
    summary.loc[summary["gold_leads"] == 1, "majority"] = "correct"
    summary.loc[summary["leaders"] > 1, "majority"] = "tie"
    # The vote pattern is a JSON list of [label, count] pairs with labels sorted. It is
    # built with Arrow string kernels because a Python call per item is slow on many items.
    ordered = votes.sort_values(["item_id", "label"])
    quoted = {label: json.dumps(str(label)) for label in ordered["label"].unique()}
    pairs = "[" + ordered["label"].map(quoted).astype(str) + ", " + ordered["n"].astype(str) + "]"
    table = pa.table(
        {
            "item_id": pa.array(ordered["item_id"].astype(str).to_numpy(dtype=object), pa.string()),
            "pair": pa.array(pairs.to_numpy(dtype=object), pa.string()),
        }
    )
    # Without threads, Arrow keeps the rows' order inside each group, so labels stay sorted.
    grouped = table.group_by("item_id", use_threads=False).aggregate([("pair", "list")])
    joined = pc.binary_join(grouped["pair_list"], ", ").to_pandas()
    joined.index = grouped["item_id"].to_pandas()
    summary["votes"] = "[" + joined.reindex(summary.index.astype(str)).to_numpy() + "]"
    return summary[["human_labels", "human_correct", "majority", "votes"]].reset_index()


def _patterns(scored: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    frame = scored.merge(items, on="item_id", how="left")
    frame["model_correct"] = (frame["label"] == frame["gold"]).astype("int64")
    frame["human_labels"] = frame["human_labels"].fillna(0).astype("int64")
    frame["human_correct"] = frame["human_correct"].fillna(0).astype("int64")
    frame["majority"] = frame["majority"].fillna("none").astype(object)
    return frame.groupby(PATTERN_KEYS, as_index=False).size().rename(columns={"size": "n"})


def _agreement(scored: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    pairable = items[items["human_labels"] >= 2][["item_id", "votes"]]
    frame = scored[["model_version", "item_id", "gold"]].merge(pairable, on="item_id", how="inner")
    return frame.groupby(AGREEMENT_KEYS, as_index=False).size().rename(columns={"size": "n"})


def _annotators(scored: pd.DataFrame, annotations: pd.DataFrame) -> pd.DataFrame:
    labels = annotations[["item_id", "annotator_id", "label"]].astype(
        {"annotator_id": object, "label": object}
    )
    frame = scored[["model_version", "item_id", "gold"]].merge(labels, on="item_id", how="inner")
    frame["correct"] = (frame["label"] == frame["gold"]).astype("int64")
    return frame.groupby(ANNOTATOR_KEYS, as_index=False).agg(
        labels=("correct", "size"), correct=("correct", "sum")
    )


def coverage(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, int]:
    """Count the rows that could not be scored because their item has no gold label."""
    # Arrow's hash look-up; pandas' isin on Arrow-backed strings is many times slower.
    known = pc.unique(_id_array(gold["item_id"]))
    return {
        "predictions_without_gold": _count_unknown(predictions["item_id"], known),
        "annotations_without_gold": _count_unknown(annotations["item_id"], known),
    }


def _id_array(ids: pd.Series) -> pa.Array:
    values = pa.array(ids, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.large_string())


def _count_unknown(ids: pd.Series, known: pa.Array) -> int:
    found = pc.is_in(_id_array(ids), value_set=known, skip_nulls=True)
    return int(len(ids) - pc.sum(found).as_py()) if len(ids) else 0
