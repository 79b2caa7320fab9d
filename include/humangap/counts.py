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

import concurrent.futures
import dataclasses
import json
import os
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from humangap import encode

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
    coverage:
        Set by ``count_labels``: the prediction and annotation rows whose item has
        no gold label. It is not part of the records and is not added up.
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
    coverage: dict[str, int] | None = dataclasses.field(default=None, repr=False)

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


# Columns dictionary-encoded at once; more threads than CPUs gain nothing.
ENCODING_THREADS = max(1, min(4, len(os.sched_getaffinity(0))))
# Majority-vote outcome of an item's human labels, by code. Code 0, "none", is an item
# without human labels.
MAJORITY_NAMES = np.array(["none", "correct", "wrong", "tie"], dtype=object)
MAJORITY_CORRECT, MAJORITY_WRONG, MAJORITY_TIE = 1, 2, 3


class _Codes:
    """Integer codes for the distinct values of one or more columns. Code -1 is null."""

    def __init__(self) -> None:
        self.names: list[Any] = []
        self._code: dict[Any, int] = {}

    def encode(self, dictionary: tuple[list[Any], np.ndarray]) -> np.ndarray:
        """Return the codes of a column given as ``_dictionary`` output."""
        names, indices = dictionary
        # The extra -1 at the end maps a null (index -1) to -1.
        mapping = np.array([self._add(name) for name in names] + [-1], dtype=np.int32)
        return mapping[indices]

    def constant(self, name: Any, size: int) -> np.ndarray:
        return np.full(size, self._add(name), dtype=np.int32)

    def lookup(self) -> np.ndarray:
        """Return the names by code, with None at the end for code -1."""
        return np.array(self.names + [None], dtype=object)

    def _add(self, name: Any) -> int:
        if name not in self._code:
            self._code[name] = len(self.names)
            self.names.append(name)
        return self._code[name]


def _dictionary(values: pd.Series) -> tuple[list[Any], np.ndarray]:
    """Dictionary-encode a column: its distinct values and each row's index (-1 for null).

    Arrow does the hashing without holding the GIL, so several columns can be
    encoded on threads at once.
    """
    array = encode.arrow_values(values)
    if array is None:
        codes, distinct = pd.factorize(values)
        return distinct.tolist(), codes
    codes, distinct = encode.dictionary_codes(array)
    return distinct.to_pylist(), codes


def count_labels(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> LabelCounts:
    """Count model and human labels per model version and gold class.

    Parameters
    ----------
    gold:
        Columns ``item_id, label``; one row per item. NOTE: validation rejects a
        repeated gold id. With one, each annotation joins one of its gold rows
        only, and ``coverage`` may even turn negative.
    predictions:
        Columns ``item_id, predicted_label`` and optionally ``model_version``;
        one row per item and model version.
    annotations:
        Columns ``item_id, label`` and optionally ``annotator_id``; one row per
        human label. Without ``annotator_id`` the per-annotator table is empty.

    Every label, model version and annotator is turned into an integer code
    once, and the items with human labels are numbered. DuckDB joins the item
    ids and returns the scored predictions grouped by code: a few rows per
    class, and one per scored item with human labels. numpy counts the rest.
    Rows with a null model version or gold label, and null human labels, are
    not counted. The returned counts carry ``coverage``: the prediction and
    annotation rows whose item has no gold label.
    """
    columns = {
        "gold": gold["label"],
        "predicted": predictions["predicted_label"],
        "human": annotations["label"],
    }
    if "model_version" in predictions.columns:
        columns["version"] = predictions["model_version"]
    has_ids = "annotator_id" in annotations.columns
    if has_ids:
        columns["annotator"] = annotations["annotator_id"]
    with concurrent.futures.ThreadPoolExecutor(ENCODING_THREADS) as pool:
        encoded = dict(zip(columns, pool.map(_dictionary, columns.values())))
    labels, versions, annotator_codes = _Codes(), _Codes(), _Codes()
    gold_label = labels.encode(encoded["gold"])
    predicted = labels.encode(encoded["predicted"])
    human = labels.encode(encoded["human"])
    if "version" in encoded:
        version = versions.encode(encoded["version"])
    else:
        version = versions.constant(UNNAMED_MODEL, len(predictions))
    annotator = annotator_codes.encode(encoded["annotator"]) if has_ids else None
    gold_ids = _id_array(gold["item_id"])
    labelled = _labelled_items(gold_ids, gold_label, _id_array(annotations["item_id"]))
    scored = _scored(gold_ids, gold_label, labelled.item_of_gold_row, predictions, version, predicted)
    keep = (labelled.gold_of_row >= 0) & (human >= 0)
    votes = _item_votes(
        labelled.item_of_row[keep],
        human[keep],
        annotator[keep] if annotator is not None else None,
        labelled.item_gold,
    )
    names = _Names(versions.lookup(), labels.lookup(), annotator_codes.lookup())
    counts = LabelCounts(_tidy(_confusion_table(scored, votes, names)), annotator_ids=has_ids)
    counts.patterns = _tidy(_pattern_table(scored, votes, names), PATTERN_KEYS, ["n"])
    counts.agreement = _tidy(_agreement_table(scored, votes, names), AGREEMENT_KEYS, ["n"])
    if has_ids:
        counts.annotators = _tidy(_annotator_table(scored, votes, names), ANNOTATOR_KEYS, ["labels", "correct"])
    counts.coverage = {
        "predictions_without_gold": len(predictions) - int(scored.matched),
        "annotations_without_gold": int(np.count_nonzero(labelled.item_of_row < 0)),
    }
    return counts


# Each annotation row that has a gold item, with that item's row and label.
LABELLED_QUERY = """
SELECT a.row, g.row AS gold_row, g.gold
FROM annotations AS a JOIN gold AS g ON a.item_id = g.item_id
"""
# The predictions joined with their gold item, grouped by model version, gold
# label, predicted label and labelled item (-1 for an item without human labels).
SCORED_QUERY = """
SELECT p.version, g.gold, p.label, g.item, count(*) AS n
FROM predictions AS p JOIN gold AS g ON p.item_id = g.item_id
GROUP BY ALL
"""


def _query(sql: str, **tables: pa.Table) -> dict[str, np.ndarray]:
    """Run ``sql`` in DuckDB over Arrow tables and return its columns as int64 arrays.

    DuckDB hashes the string item ids of its joins on every CPU, so the joins
    are fast. The results are a handful of integer columns.
    """
    import duckdb

    connection = duckdb.connect()
    try:
        for name, table in tables.items():
            connection.register(name, table)
        result = connection.sql(sql).to_arrow_table()
    finally:
        connection.close()
    return {name: result[name].to_numpy().astype(np.int64) for name in result.column_names}


@dataclasses.dataclass
class _Labelled:
    """The items with human labels, numbered from 0.

    ``item_of_row`` and ``gold_of_row`` give each annotation row its item number
    and gold label (-1 where its item has no gold label). ``item_of_gold_row``
    gives each gold row its item number (-1 without human labels), and
    ``item_gold`` each item's gold label, with a sentinel -1 at the end.
    """

    item_of_row: np.ndarray
    gold_of_row: np.ndarray
    item_of_gold_row: np.ndarray
    item_gold: np.ndarray


def _labelled_items(gold_ids: pa.Array, gold_label: np.ndarray, annotation_ids: pa.Array) -> _Labelled:
    found = _query(
        LABELLED_QUERY,
        gold=pa.table({"item_id": gold_ids, "row": np.arange(len(gold_ids), dtype=np.int32), "gold": gold_label}),
        annotations=pa.table({"item_id": annotation_ids, "row": np.arange(len(annotation_ids), dtype=np.int32)}),
    )
    gold_rows, item = np.unique(found["gold_row"], return_inverse=True)
    item_of_row = np.full(len(annotation_ids), -1, dtype=np.int64)
    item_of_row[found["row"]] = item
    gold_of_row = np.full(len(annotation_ids), -1, dtype=np.int32)
    gold_of_row[found["row"]] = found["gold"]
    item_of_gold_row = np.full(len(gold_ids), -1, dtype=np.int32)
    item_of_gold_row[gold_rows] = np.arange(len(gold_rows))
    return _Labelled(
        item_of_row=item_of_row,
        gold_of_row=gold_of_row,
        item_of_gold_row=item_of_gold_row,
        item_gold=np.append(gold_label[gold_rows], np.int32(-1)),
    )


def _scored(
    gold_ids: pa.Array,
    gold_label: np.ndarray,
    item_of_gold_row: np.ndarray,
    predictions: pd.DataFrame,
    version: np.ndarray,
    predicted: np.ndarray,
) -> _Scored:
    rows = _query(
        SCORED_QUERY,
        gold=pa.table({"item_id": gold_ids, "gold": gold_label, "item": item_of_gold_row}),
        predictions=pa.table({"item_id": _id_array(predictions["item_id"]), "version": version, "label": predicted}),
    )
    # A prediction with an empty label still counts its item's human labels and
    # counts as wrong in the item patterns. Only the model's confusion skips it.
    keep = (rows["gold"] >= 0) & (rows["version"] >= 0)
    scored = _Scored(*(rows[name][keep] for name in ("version", "item", "gold", "label", "n")))
    scored.matched = int(rows["n"].sum())
    return scored


@dataclasses.dataclass
class _Scored:
    """The counted predictions, grouped by model version, labelled item, gold and predicted label.

    ``item`` is -1 for items without human labels. ``n`` is the number of
    predictions in each group. ``matched`` is the number of predictions that
    found their gold item, counted or not.
    """

    version: np.ndarray
    item: np.ndarray
    gold: np.ndarray
    label: np.ndarray
    n: np.ndarray
    matched: int = 0


@dataclasses.dataclass
class _Names:
    """Names by code of the model versions, labels and annotators, with None for code -1."""

    versions: np.ndarray
    labels: np.ndarray
    annotators: np.ndarray


@dataclasses.dataclass
class _Votes:
    """The human labels grouped by item, and per labelled item what its labels add up to.

    ``rows_*`` are the annotation rows sorted by item, then label. The ``by_item_*``
    arrays have one entry per labelled item plus the sentinel: the number of labels,
    correct labels, the majority code, the vote pattern code and where the item's
    labels start in ``rows_*``.
    """

    rows_label: np.ndarray
    rows_annotator: np.ndarray | None
    by_item_labels: np.ndarray
    by_item_correct: np.ndarray
    by_item_majority: np.ndarray
    by_item_pattern: np.ndarray
    by_item_first_row: np.ndarray
    patterns: list[list[tuple[int, int]]]


def _item_votes(
    item: np.ndarray, label: np.ndarray, annotator: np.ndarray | None, item_gold: np.ndarray
) -> _Votes:
    size = len(item_gold)
    by_item = {name: np.zeros(size, dtype=np.int64) for name in ("labels", "correct", "first_row")}
    majority = np.zeros(size, dtype=np.int8)
    pattern = np.full(size, -1, dtype=np.int64)
    label_count = int(label.max()) + 1 if len(label) else 1
    order = np.argsort(item.astype(np.int64) * label_count + label)
    item, label = item[order], label[order]
    annotator = annotator[order] if annotator is not None else None
    patterns: list[list[tuple[int, int]]] = []
    if len(item):
        # One entry per (item, label): where its rows start, and how many there are.
        new_pair = np.r_[True, (item[1:] != item[:-1]) | (label[1:] != label[:-1])]
        pair_start = np.flatnonzero(new_pair)
        pair_n = np.diff(np.r_[pair_start, len(item)])
        pair_item, pair_label = item[pair_start], label[pair_start]
        new_item = np.r_[True, pair_item[1:] != pair_item[:-1]]
        item_start = np.flatnonzero(new_item)
        rows = pair_item[item_start]
        is_gold = pair_label == item_gold[pair_item]
        top = np.maximum.reduceat(pair_n, item_start)
        at_top = pair_n == top[np.cumsum(new_item) - 1]
        by_item["labels"][rows] = np.add.reduceat(pair_n, item_start)
        by_item["correct"][rows] = np.add.reduceat(pair_n * is_gold, item_start)
        by_item["first_row"][rows] = pair_start[item_start]
        leaders = np.add.reduceat(at_top.astype(np.int64), item_start)
        gold_leads = np.add.reduceat((at_top & is_gold).astype(np.int64), item_start) > 0
        # Tie rule: when two or more labels share the top count there is no majority,
        # and the item counts as a tie (not correct), whichever labels tied.
        majority[rows] = np.where(
            leaders > 1, MAJORITY_TIE, np.where(gold_leads, MAJORITY_CORRECT, MAJORITY_WRONG)
        )
        pattern[rows], patterns = _vote_patterns(item_start, pair_label, pair_n)
    return _Votes(
        rows_label=label,
        rows_annotator=annotator,
        by_item_labels=by_item["labels"],
        by_item_correct=by_item["correct"],
        by_item_majority=majority,
        by_item_pattern=pattern,
        by_item_first_row=by_item["first_row"],
        patterns=patterns,
    )


def _vote_patterns(
    item_start: np.ndarray, pair_label: np.ndarray, pair_n: np.ndarray
) -> tuple[np.ndarray, list[list[tuple[int, int]]]]:
    """Give every item a code for its vote pattern, the (label, count) pairs it got.

    Each item's pairs are written as one binary value of 8-byte codes, and Arrow's
    dictionary encoding numbers the distinct values: equal patterns get equal codes.
    """
    base = int(pair_n.max()) + 1
    pair_code = (pair_label.astype(np.int64) * base + pair_n).astype("<i8")
    offsets = (np.r_[item_start, len(pair_code)] * 8).astype(np.int64)
    values = pa.Array.from_buffers(
        pa.large_binary(), len(item_start), [None, pa.py_buffer(offsets), pa.py_buffer(pair_code)]
    )
    encoded = pc.dictionary_encode(values)
    patterns = []
    for blob in encoded.dictionary.to_pylist():
        codes = np.frombuffer(blob, dtype="<i8")
        patterns.append([(int(code // base), int(code % base)) for code in codes])
    return encoded.indices.to_numpy().astype(np.int64), patterns


def _group(
    columns: list[np.ndarray], n: np.ndarray, weights: np.ndarray | None = None
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Add up ``n`` over each distinct combination of non-negative integer codes.

    Returns the codes of each combination present, the sum of ``n`` and, with
    ``weights``, the sum of ``n * weights``.
    """
    sizes = [int(column.max()) + 1 if len(column) else 1 for column in columns]
    key = np.zeros(len(n), dtype=np.int64)
    for column, size in zip(columns, sizes):
        key = key * size + column
    total = int(np.prod(sizes, dtype=object))
    if total > max(1 << 22, 2 * len(key)):
        # Too many possible combinations for one bin each: number the present ones.
        present, key = np.unique(key, return_inverse=True)
        total = len(present)
    else:
        present = np.arange(total)
    sums = np.bincount(key, weights=n, minlength=total)
    found = np.flatnonzero(sums)
    extra = np.bincount(key, weights=n * weights, minlength=total)[found] if weights is not None else None
    present = present[found]
    codes = []
    for size in reversed(sizes):
        codes.append(present % size)
        present = present // size
    # The sums are row counts, far below 2**53, so float64 represents them exactly.
    return codes[::-1], sums[found].astype(np.int64), extra.round().astype(np.int64) if extra is not None else None


def _confusion_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    labelled = scored.label >= 0
    columns = [scored.version[labelled], scored.gold[labelled], scored.label[labelled]]
    (version, gold, label), n, _ = _group(columns, scored.n[labelled])
    model = _named_frame(names, model_version=version, kind="model", gold=gold, label=label, n=n)
    pairs = _human_pairs(scored, votes)
    (version, gold, label), n, _ = _group([pairs.version, pairs.gold, pairs.label], pairs.n)
    human = _named_frame(names, model_version=version, kind="human", gold=gold, label=label, n=n)
    return pd.concat([model, human], ignore_index=True)[KEY_COLUMNS + ["n"]]


def _named_frame(names: _Names, **columns: Any) -> pd.DataFrame:
    """Build a frame from code columns, turning the codes of named columns into names."""
    lookup = {
        "model_version": names.versions,
        "gold": names.labels,
        "label": names.labels,
        "annotator_id": names.annotators,
    }
    return pd.DataFrame({
        name: lookup[name][values] if name in lookup else values for name, values in columns.items()
    })


@dataclasses.dataclass
class _Pairs:
    """Each scored prediction group paired with each human label of its item."""

    version: np.ndarray
    gold: np.ndarray
    label: np.ndarray
    annotator: np.ndarray | None
    n: np.ndarray


def _human_pairs(scored: _Scored, votes: _Votes) -> _Pairs:
    """Pair each scored prediction group with every human label of its item.

    A human label counts once per prediction of a model version on its item.
    """
    per_group = votes.by_item_labels[scored.item]
    labelled = np.flatnonzero(per_group)
    repeats = per_group[labelled]
    group = np.repeat(labelled, repeats)
    step = np.arange(len(group)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    row = votes.by_item_first_row[scored.item[group]] + step
    return _Pairs(
        version=scored.version[group],
        gold=scored.gold[group],
        label=votes.rows_label[row],
        annotator=votes.rows_annotator[row] if votes.rows_annotator is not None else None,
        n=scored.n[group],
    )


def _pattern_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    columns = [
        scored.version,
        scored.gold,
        (scored.label == scored.gold).astype(np.int64),
        votes.by_item_labels[scored.item],
        votes.by_item_correct[scored.item],
        votes.by_item_majority[scored.item].astype(np.int64),
    ]
    (version, gold, model_correct, human_labels, human_correct, majority), n, _ = _group(columns, scored.n)
    return _named_frame(
        names,
        model_version=version,
        gold=gold,
        model_correct=model_correct,
        human_labels=human_labels,
        human_correct=human_correct,
        majority=MAJORITY_NAMES[majority],
        n=n,
    )


def _agreement_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    pairable = votes.by_item_labels[scored.item] >= 2
    pattern = votes.by_item_pattern[scored.item[pairable]]
    (version, gold, pattern), n, _ = _group(
        [scored.version[pairable], scored.gold[pairable], pattern], scored.n[pairable]
    )
    texts = np.array([_votes_text(pairs, names.labels) for pairs in votes.patterns] + [None], dtype=object)
    return _named_frame(names, model_version=version, gold=gold, votes=texts[pattern], n=n)


def _votes_text(pattern: list[tuple[int, int]], labels: np.ndarray) -> str:
    """Write a vote pattern as a JSON list of ``[label, count]`` pairs, labels sorted."""
    pairs = sorted((str(labels[code]), count) for code, count in pattern)
    return "[" + ", ".join(f"[{json.dumps(label)}, {count}]" for label, count in pairs) + "]"


def _annotator_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    pairs = _human_pairs(scored, votes)
    known = pairs.annotator >= 0
    correct = (pairs.label == pairs.gold)[known].astype(np.float64)
    (version, gold, annotator), labels, correct = _group(
        [pairs.version[known], pairs.gold[known], pairs.annotator[known]], pairs.n[known], correct
    )
    return _named_frame(
        names, model_version=version, gold=gold, annotator_id=annotator, labels=labels, correct=correct
    )


def coverage(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, int]:
    """Count the rows that could not be scored because their item has no gold label."""
    # Arrow's hash look-up; pandas' isin on Arrow-backed strings is many times slower.
    known = pc.unique(_id_array(gold["item_id"]))
    return {
        "predictions_without_gold": _count_unknown(predictions["item_id"], known),
        "annotations_without_gold": _count_unknown(annotations["item_id"], known),
    }


def _id_array(ids: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Return item ids as Arrow strings, without copying ids that already are."""
    values = pa.array(ids, from_pandas=True)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    return values.cast(pa.large_string())


def _count_unknown(ids: pd.Series, known: pa.Array) -> int:
    found = pc.is_in(_id_array(ids), value_set=known, skip_nulls=True)
    return int(len(ids) - pc.sum(found).as_py()) if len(ids) else 0
