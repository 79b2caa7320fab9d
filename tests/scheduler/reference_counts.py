"""Per-class counts of one day computed with DuckDB SQL, independently of humangap's pandas code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

COLUMNS = ["model_version", "class", "support", "model_correct", "human_labels", "human_correct"]


def daily_counts(bucket_dir: Path, day: str, lookback_days: int = 30) -> pd.DataFrame:
    """Return the counts for the predictions of ``day`` against the labels of its lookback."""
    last = dt.date.fromisoformat(day)
    first = last - dt.timedelta(days=lookback_days)
    label_days = [
        (first + dt.timedelta(days=offset)).isoformat()
        for offset in range((last - first).days + 1)
    ]

    def existing(source: str, pattern: str, days: list[str]) -> list[str]:
        paths = [bucket_dir / source / f"dt={d}" for d in days]
        return [str(p / pattern) for p in paths if any(p.glob(pattern))]

    predictions = existing("predictions", "*.parquet", [day])
    gold = existing("gold", "*.csv", label_days)
    annotations = existing("annotations", "*.jsonl.gz", label_days)
    connection = duckdb.connect()
    sql = """
    WITH p AS (SELECT CAST(item_id AS VARCHAR) item_id, CAST(model_version AS VARCHAR) mv,
                      CAST(predicted_label AS VARCHAR) pred FROM read_parquet(?)),
         g AS (SELECT CAST(item_id AS VARCHAR) item_id, CAST(label AS VARCHAR) gold
               FROM read_csv(?, all_varchar = true)),
         a AS (SELECT CAST(item_id AS VARCHAR) item_id, CAST(label AS VARCHAR) label
               FROM read_json(?, format = 'newline_delimited')),
         scored AS (SELECT p.item_id, p.mv, p.pred, g.gold FROM p JOIN g USING (item_id)),
         model AS (SELECT mv, gold, count(*) support, sum(CAST(pred = gold AS INTEGER)) model_correct
                   FROM scored GROUP BY mv, gold),
         human AS (SELECT s.mv, s.gold, count(*) human_labels,
                          sum(CAST(a.label = s.gold AS INTEGER)) human_correct
                   FROM scored s JOIN a USING (item_id) GROUP BY s.mv, s.gold)
    SELECT model.mv, model.gold, support, model_correct,
           coalesce(human_labels, 0), coalesce(human_correct, 0)
    FROM model LEFT JOIN human USING (mv, gold) ORDER BY 1, 2
    """
    rows = connection.execute(sql, [predictions, gold, annotations]).fetchall()
    return pd.DataFrame(rows, columns=COLUMNS)


def report_counts(report: dict) -> pd.DataFrame:
    """Return the same columns from a ``report.json``, in the same order."""
    rows = [
        {"model_version": model["model_version"], **row}
        for model in report["models"]
        for row in model["classes"]
    ]
    frame = pd.DataFrame(rows)[COLUMNS]
    return frame.sort_values(["model_version", "class"], ignore_index=True)
