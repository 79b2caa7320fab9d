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


# Majority-vote outcome of an item's human labels, by code.
MAJORITY_NAMES = np.array(["none", "correct", "wrong", "tie"], dtype=object)
NO_MAJORITY, MAJORITY_CORRECT, MAJORITY_WRONG, MAJORITY_TIE = range(4)
# Below this many ids the look-up runs on one thread: starting threads costs more.
PARALLEL_LOOKUP_ROWS = 200_000


class _Codes:
    """Integer codes for the distinct values of one or more columns; -1 stands for null."""

    def __init__(self) -> None:
        self.names: list[Any] = []
        self._code: dict[Any, int] = {}

    def encode(self, values: pd.Series) -> np.ndarray:
        array = pa.array(values, from_pandas=True)
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        parts = [np.empty(0, dtype=np.int32)]
        for chunk in chunks:
            encoded = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
            # The extra -1 at the end maps a null (index -1) to -1.
            known = [self._add(name) for name in encoded.dictionary.to_pylist()]
            mapping = np.array(known + [-1], dtype=np.int32)
            indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            parts.append(mapping[indices])
        return np.concatenate(parts)

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

    Every id and label is turned into an integer code once; the item ids of the
    predictions and annotations are looked up in the gold ids in one pass, and
    every table is a ``numpy.bincount`` over codes. Rows with a null model
    version or gold label, and null human labels, are not counted. The returned
    counts carry ``coverage``: the prediction and annotation rows whose item has
    no gold label.
    """
    labels = _Codes()
    # A sentinel -1 at the end: a row with no gold item (position -1) gets gold label -1.
    gold_label = np.append(labels.encode(gold["label"]), np.int32(-1))
    predicted = labels.encode(predictions["predicted_label"])
    human = labels.encode(annotations["label"])
    versions = _Codes()
    if "model_version" in predictions.columns:
        version = versions.encode(predictions["model_version"])
    else:
        version = versions.constant(UNNAMED_MODEL, len(predictions))
    has_ids = "annotator_id" in annotations.columns
    annotator_codes = _Codes()
    annotator = annotator_codes.encode(annotations["annotator_id"]) if has_ids else None

    probe = pa.concat_arrays([_id_array(predictions["item_id"]), _id_array(annotations["item_id"])])
    position = _positions(probe, _id_array(gold["item_id"]))
    item, labelled_item = position[: len(predictions)], position[len(predictions) :]

    # A prediction with an empty label still counts its item's human labels, and
    # counts as wrong in the item patterns; only the model's confusion skips it.
    keep = (gold_label[item] >= 0) & (version >= 0)
    scored = _Scored(version[keep], item[keep], gold_label[item[keep]], predicted[keep])
    keep = (gold_label[labelled_item] >= 0) & (human >= 0)
    votes = _item_votes(
        labelled_item[keep],
        human[keep],
        annotator[keep] if annotator is not None else None,
        gold_label,
    )
    names = _Names(versions.lookup(), labels.lookup(), annotator_codes.lookup())
    counts = LabelCounts(_tidy(_confusion_table(scored, votes, names)), annotator_ids=has_ids)
    counts.patterns = _tidy(_pattern_table(scored, votes, names), PATTERN_KEYS, ["n"])
    counts.agreement = _tidy(_agreement_table(scored, votes, names), AGREEMENT_KEYS, ["n"])
    if has_ids:
        counts.annotators = _tidy(_annotator_table(scored, votes, names), ANNOTATOR_KEYS, ["labels", "correct"])
    counts.coverage = {
        "predictions_without_gold": int(np.count_nonzero(item < 0)),
        "annotations_without_gold": int(np.count_nonzero(labelled_item < 0)),
    }
    return counts


@dataclasses.dataclass
class _Scored:
    """Codes of the counted predictions: model version, gold row, gold label, predicted label."""

    version: np.ndarray
    item: np.ndarray
    gold: np.ndarray
    label: np.ndarray


@dataclasses.dataclass
class _Names:
    versions: np.ndarray
    labels: np.ndarray
    annotators: np.ndarray


@dataclasses.dataclass
class _Votes:
    """The human labels grouped by item, and per gold row what its labels add up to.

    ``rows_*`` are the annotation rows sorted by item, then label. The ``by_item_*``
    arrays have one entry per gold row plus the sentinel: the number of labels,
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
    item: np.ndarray, label: np.ndarray, annotator: np.ndarray | None, gold_label: np.ndarray
) -> _Votes:
    size = len(gold_label)
    by_item = {name: np.zeros(size, dtype=np.int64) for name in ("labels", "correct", "first_row")}
    majority = np.zeros(size, dtype=np.int8)
    pattern = np.full(size, -1, dtype=np.int64)
    label_count = int(label.max()) + 1 if len(label) else 1
    order = np.argsort(item.astype(np.int64) * label_count + label, kind="stable")
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
        is_gold = pair_label == gold_label[pair_item]
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


def _group(columns: list[np.ndarray], weights: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Count the rows of each distinct combination of non-negative integer codes.

    Returns the codes of each combination present, its row count and, with
    ``weights``, the sum of the weights of its rows.
    """
    sizes = [int(column.max()) + 1 if len(column) else 1 for column in columns]
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column, size in zip(columns, sizes):
        key = key * size + column
    total = int(np.prod(sizes, dtype=object))
    if total <= max(1 << 22, 2 * len(key)):
        rows = np.bincount(key, minlength=total)
        present = np.flatnonzero(rows)
        rows = rows[present]
        summed = np.bincount(key, weights=weights, minlength=total)[present] if weights is not None else None
    else:
        present, inverse = np.unique(key, return_inverse=True)
        rows = np.bincount(inverse, minlength=len(present))
        summed = np.bincount(inverse, weights=weights, minlength=len(present)) if weights is not None else None
    codes = []
    for size in reversed(sizes):
        codes.append(present % size)
        present = present // size
    summed = summed.round().astype(np.int64) if summed is not None else None
    return codes[::-1], rows.astype(np.int64), summed


def _confusion_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    labelled = scored.label >= 0
    (version, gold, label), n, _ = _group(
        [scored.version[labelled], scored.gold[labelled], scored.label[labelled]]
    )
    model = pd.DataFrame({"model_version": names.versions[version], "kind": "model",
                          "gold": names.labels[gold], "label": names.labels[label], "n": n})
    version, gold, label, _ = _human_rows(scored, votes)
    (version, gold, label), n, _ = _group([version, gold, label])
    human = pd.DataFrame({"model_version": names.versions[version], "kind": "human",
                          "gold": names.labels[gold], "label": names.labels[label], "n": n})
    return pd.concat([model, human], ignore_index=True)[KEY_COLUMNS + ["n"]]


def _human_rows(scored: _Scored, votes: _Votes) -> tuple[np.ndarray, ...]:
    """Pair each counted prediction with every human label of its item.

    Returns model version, gold label and human label codes, and the annotation
    row of each pair, so a human label counts once per model version scored on
    its item.
    """
    per_prediction = votes.by_item_labels[scored.item]
    labelled = np.flatnonzero(per_prediction)
    repeats = per_prediction[labelled]
    prediction = np.repeat(labelled, repeats)
    step = np.arange(len(prediction)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    row = votes.by_item_first_row[scored.item[prediction]] + step
    return scored.version[prediction], scored.gold[prediction], votes.rows_label[row], row


def _pattern_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    columns = [
        scored.version,
        scored.gold,
        (scored.label == scored.gold).astype(np.int64),
        votes.by_item_labels[scored.item],
        votes.by_item_correct[scored.item],
        votes.by_item_majority[scored.item].astype(np.int64),
    ]
    (version, gold, model_correct, human_labels, human_correct, majority), n, _ = _group(columns)
    return pd.DataFrame({
        "model_version": names.versions[version],
        "gold": names.labels[gold],
        "model_correct": model_correct,
        "human_labels": human_labels,
        "human_correct": human_correct,
        "majority": MAJORITY_NAMES[majority],
        "n": n,
    })


def _agreement_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    pairable = votes.by_item_labels[scored.item] >= 2
    columns = [scored.version[pairable], scored.gold[pairable], votes.by_item_pattern[scored.item[pairable]]]
    (version, gold, pattern), n, _ = _group(columns)
    texts = np.array([_votes_text(votes.patterns[code], names.labels) for code in range(len(votes.patterns))] + [None], dtype=object)
    return pd.DataFrame({
        "model_version": names.versions[version], "gold": names.labels[gold], "votes": texts[pattern], "n": n
    })


def _votes_text(pattern: list[tuple[int, int]], labels: np.ndarray) -> str:
    """Write a vote pattern as a JSON list of ``[label, count]`` pairs, labels sorted."""
    pairs = sorted((str(labels[code]), count) for code, count in pattern)
    return "[" + ", ".join(f"[{json.dumps(label)}, {count}]" for label, count in pairs) + "]"


def _annotator_table(scored: _Scored, votes: _Votes, names: _Names) -> pd.DataFrame:
    version, gold, label, row = _human_rows(scored, votes)
    annotator = votes.rows_annotator[row]
    known = annotator >= 0
    columns = [version[known], gold[known], annotator[known]]
    (version, gold, annotator), labels, correct = _group(columns, (label == gold)[known].astype(np.float64))
    return pd.DataFrame({
        "model_version": names.versions[version],
        "gold": names.labels[gold],
        "annotator_id": names.annotators[annotator],
        "labels": labels,
        "correct": correct,
    })


def coverage(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, int]:
    """Count the rows that could not be scored because their item has no gold label."""
    probe = pa.concat_arrays([_id_array(predictions["item_id"]), _id_array(annotations["item_id"])])
    position = _positions(probe, _id_array(gold["item_id"]))
    return {
        "predictions_without_gold": int(np.count_nonzero(position[: len(predictions)] < 0)),
        "annotations_without_gold": int(np.count_nonzero(position[len(predictions) :] < 0)),
    }


def _id_array(ids: pd.Series) -> pa.Array:
    values = pa.array(ids, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.large_string())


def _positions(probe: pa.Array, values: pa.Array) -> np.ndarray:
    """Return the row of ``values`` holding each id of ``probe``, or -1 where there is none.

    ``values`` holds no id twice. On a large input the ids are split by one of
    their bytes into as many parts as there are CPUs, and each part is looked up
    on its own thread. Equal ids share their bytes, so they land in the same part.
    """
    parts = min(len(os.sched_getaffinity(0)), 8)
    if parts == 1 or len(probe) + len(values) < PARALLEL_LOOKUP_ROWS:
        return _index_in(probe, values)
    back = _splitting_byte(values, parts)
    probe_part = _byte_parts(probe, back, parts)
    value_part = _byte_parts(values, back, parts)
    result = np.full(len(probe), -1, dtype=np.int64)

    def lookup(part: int) -> None:
        rows = np.flatnonzero(probe_part == part)
        known = np.flatnonzero(value_part == part)
        found = _index_in(probe.take(rows), values.take(known))
        hit = found >= 0
        result[rows[hit]] = known[found[hit]]

    with concurrent.futures.ThreadPoolExecutor(parts) as pool:
        list(pool.map(lookup, range(parts)))
    return result


def _index_in(probe: pa.Array, values: pa.Array) -> np.ndarray:
    found = pc.index_in(probe, value_set=values, skip_nulls=True)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _byte_parts(ids: pa.Array, back: int, parts: int) -> np.ndarray:
    """Return the part of each id: its ``back``-th byte from the end modulo ``parts``.

    Ids shorter than ``back`` bytes, and nulls, go to part 0.
    """
    buffers = ids.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[ids.offset : ids.offset + len(ids) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    ends = offsets[1:]
    long_enough = (ends - offsets[:-1]) >= back
    if not data.size:
        return np.zeros(len(ids), dtype=np.int64)
    byte = data[np.where(long_enough, ends - back, 0)]
    return np.where(long_enough, byte % parts, 0)


def _splitting_byte(ids: pa.Array, parts: int) -> int:
    """Pick the byte, counted from the end, that splits a sample of ids most evenly."""
    sample = ids.slice(0, 4096)
    best, best_share = 1, 2.0
    for back in range(1, 17):
        share = np.bincount(_byte_parts(sample, back, parts), minlength=parts).max() / max(len(sample), 1)
        if share < best_share:
            best, best_share = back, share
    return best
