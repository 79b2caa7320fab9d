"""Generate the rock, paper and scissors sample in the input layout.

Counts are exact, not drawn: of 100 items per class the model gets paper 97,
rock 82 and scissors 75 right, and of 300 human labels per class (3 per item)
humans get paper 294, rock 285 and scissors 231 right. The seed only decides
which items and labels are the wrong ones and what wrong label they get.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = ("paper", "rock", "scissors")
MODEL_CORRECT = {"paper": 97, "rock": 82, "scissors": 75}
HUMAN_CORRECT = {"paper": 294, "rock": 285, "scissors": 231}
ANNOTATORS = tuple(f"annotator-{number}" for number in range(1, 6))


def _wrong(rng: np.random.Generator, truth: str, classes: tuple[str, ...]) -> str:
    return str(rng.choice([name for name in classes if name != truth]))


def sample_frames(
    seed: int = 7,
    items_per_class: int = 100,
    labels_per_item: int = 3,
    model_correct: dict[str, int] | None = None,
    human_correct: dict[str, int] | None = None,
    classes: tuple[str, ...] = CLASSES,
) -> dict[str, pd.DataFrame]:
    """Return predictions, gold and annotations frames with exact correct counts."""
    model_correct = model_correct or MODEL_CORRECT
    human_correct = human_correct or HUMAN_CORRECT
    rng = np.random.default_rng(seed)
    gold_rows, prediction_rows, annotation_rows = [], [], []
    number = 0
    for truth in classes:
        item_ids = [f"rps-{number + offset:05d}" for offset in range(items_per_class)]
        number += items_per_class
        right_items = set(rng.choice(items_per_class, model_correct[truth], replace=False).tolist())
        labels = items_per_class * labels_per_item
        right_labels = set(rng.choice(labels, human_correct[truth], replace=False).tolist())
        for index, item_id in enumerate(item_ids):
            gold_rows.append({"item_id": item_id, "label": truth})
            predicted = truth if index in right_items else _wrong(rng, truth, classes)
            prediction_rows.append(
                {
                    "item_id": item_id,
                    "predicted_label": predicted,
                    "model_version": "rps-v1",
                    "score": round(float(rng.uniform(0.4, 1.0)), 4),
                }
            )
            annotators = rng.choice(len(ANNOTATORS), labels_per_item, replace=False)
            for slot, annotator in enumerate(annotators):
                position = index * labels_per_item + slot
                label = truth if position in right_labels else _wrong(rng, truth, classes)
                annotation_rows.append(
                    {"item_id": item_id, "annotator_id": ANNOTATORS[annotator], "label": label}
                )
    return {
        "predictions": pd.DataFrame(prediction_rows),
        "gold": pd.DataFrame(gold_rows),
        "annotations": pd.DataFrame(annotation_rows),
    }


def write_sample(root: str | Path, day: dt.date, frames: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the sample under ``root`` in the input layout, one format per source."""
    frames = frames or sample_frames()
    root = Path(root)
    partition = f"dt={day.isoformat()}"
    paths = {
        "predictions": root / "predictions" / partition / "predictions.parquet",
        "gold": root / "gold" / partition / "gold.csv",
        "annotations": root / "annotations" / partition / "annotations.jsonl",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    frames["predictions"].to_parquet(paths["predictions"], index=False)
    frames["gold"].to_csv(paths["gold"], index=False)
    with paths["annotations"].open("w") as handle:
        for record in frames["annotations"].to_dict(orient="records"):
            handle.write(json.dumps(record) + "\n")
    return list(paths.values())
