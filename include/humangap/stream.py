"""Count labels one prediction file at a time, so memory does not grow with the file count.

Counts add up, so the counts of a window are the sum of the counts of its
prediction files. Each file is reduced to per-class counts before the next one
is read. Peak memory is then about the gold labels and annotations plus the
largest prediction file, however many files the window holds.

Gold labels and annotations are read whole: each prediction file needs every
one of them. The annotations are narrowed once, before the first file, to the
rows whose item has a gold label.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Iterable, Iterator

import pandas as pd

from humangap import readers
from humangap.config import HumangapConfig
from humangap.counts import LabelCounts, count_labels, coverage
from humangap.storage import ObjectStore

log = logging.getLogger(__name__)


@dataclasses.dataclass
class StreamedCounts:
    """Counts summed over prediction files, with the row tallies of the report's ``inputs``.

    Attributes
    ----------
    counts:
        The summed label counts, equal to ``count_labels`` on all files at once.
    files:
        How many prediction frames were counted.
    prediction_rows:
        Prediction rows read, over all files.
    predictions_without_gold:
        Prediction rows whose item has no gold label, over all files.
    annotations_without_gold:
        Annotation rows whose item has no gold label (counted once, not per file).
    """

    counts: LabelCounts
    files: int
    prediction_rows: int
    predictions_without_gold: int
    annotations_without_gold: int


def count_stream(
    gold: pd.DataFrame, annotations: pd.DataFrame, prediction_frames: Iterable[pd.DataFrame]
) -> StreamedCounts:
    """Count labels over prediction frames read one at a time.

    Parameters
    ----------
    gold:
        Columns ``item_id, label``; one row per item.
    annotations:
        Columns ``item_id, label`` and, when known, ``annotator_id``; one row per
        human label.
    prediction_frames:
        Prediction frames as ``count_labels`` takes them. A generator that
        reads one file per step keeps one file in memory at a time.

    Notes
    -----
    The uniqueness of ``(item_id, model_version)`` across files is not checked
    here. ``validation.validate_inputs`` checks it when it is given every file
    of the window, and without that check a repeated pair is counted twice.
    """
    gold = gold[["item_id", "label"]]
    no_predictions = pd.DataFrame({"item_id": [], "predicted_label": []}, dtype="string")
    missing = coverage(gold, no_predictions, annotations)["annotations_without_gold"]
    if missing:
        annotations = annotations[annotations["item_id"].isin(gold["item_id"])]
    kept = [name for name in ("item_id", "annotator_id", "label") if name in annotations.columns]
    annotations = annotations[kept].reset_index(drop=True)

    total: LabelCounts | None = None
    files = rows = without_gold = 0
    for frame in prediction_frames:
        counts = count_labels(gold, frame, annotations)
        total = counts if total is None else total + counts
        without_gold += counts.coverage["predictions_without_gold"]
        files += 1
        rows += len(frame)
        log.debug("Counted prediction file %d (%d rows)", files, len(frame))
    if total is None:
        total = count_labels(gold, no_predictions, annotations)
    log.info("Counted %d prediction row(s) from %d file(s)", rows, files)
    return StreamedCounts(
        counts=total,
        files=files,
        prediction_rows=rows,
        predictions_without_gold=without_gold,
        annotations_without_gold=missing,
    )


def read_prediction_files(
    store: ObjectStore, keys: Iterable[str], config: HumangapConfig
) -> Iterator[pd.DataFrame]:
    """Yield the predictions of each key, read and parsed only when the caller asks for it."""
    for key in keys:
        yield readers.read_source_file(store.read_bytes(key), key, "predictions", config).frame
