"""How each class moved since the previous report of the same DAG.

The previous report is the latest earlier output folder under the output prefix
that has a ``report.json``: earlier means its window ends before this window's
first date. Changes between two reports compare different prediction windows,
so the two measurements are treated as independent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from humangap import stats
from humangap.config import join_key
from humangap.storage import ObjectStore

log = logging.getLogger(__name__)

FOLDER = re.compile(r"^(?:dt=(\d{4}-\d{2}-\d{2})|window=(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2}))$")


def _folder_window(name: str) -> tuple[dt.date, dt.date] | None:
    match = FOLDER.match(name)
    if not match:
        return None
    try:
        if match.group(1):
            day = dt.date.fromisoformat(match.group(1))
            return day, day
        return dt.date.fromisoformat(match.group(2)), dt.date.fromisoformat(match.group(3))
    except ValueError:
        return None


def find_previous(
    store: ObjectStore, output_prefix: str, first_date: str, dag_id: str | None
) -> tuple[str, dict[str, Any]] | None:
    """Return the key and content of the previous report, or ``None`` when there is none.

    Candidates are folders directly under ``output_prefix`` named ``dt=<date>`` or
    ``window=<first>_<last>`` whose window ends before ``first_date`` and that hold
    a ``report.json``; the latest (by last date, then first date) whose report was
    built by the same DAG wins. Reports outside Airflow have no DAG id and match
    each other.
    """
    prefix = join_key(output_prefix) + "/" if join_key(output_prefix) else ""
    first = dt.date.fromisoformat(first_date)
    candidates = []
    for key in store.list_keys(prefix):
        parts = key[len(prefix):].split("/")
        if len(parts) != 2 or parts[1] != "report.json":
            continue
        window = _folder_window(parts[0])
        if window is not None and window[1] < first:
            candidates.append((window[1], window[0], key))
    for _, _, key in sorted(candidates, reverse=True):
        try:
            document = json.loads(store.read_bytes(key))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            log.warning("Skipping previous report %s: not valid JSON (%s)", key, error)
            continue
        if (document.get("run") or {}).get("dag_id") != dag_id:
            continue
        log.info("Comparing with the previous report %s", store.url(key))
        return key, document
    log.info("No earlier report under %s before %s: no trend", prefix or "the bucket root", first_date)
    return None


def previous_rows(document: dict[str, Any]) -> dict[str | None, dict[str, dict[str, Any]]]:
    """Return the previous report's class rows by model version and class."""
    return {
        model["model_version"]: {row["class"]: row for row in model["classes"]}
        for model in document.get("models", [])
    }


def class_trend(row: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any] | None:
    """Return the change of one class since ``previous``, or ``None`` if it cannot be measured."""
    if not previous.get("support") or not row["support"]:
        return None
    model_change = row["model_accuracy"] - previous["model_correct"] / previous["support"]
    model_ci = stats.newcombe_difference(
        row["model_correct"], row["support"], previous["model_correct"], previous["support"]
    )
    human_change = human_ci = None
    if row["human_labels"] and previous.get("human_labels"):
        human_change = row["human_accuracy"] - previous["human_correct"] / previous["human_labels"]
        human_ci = stats.newcombe_difference(
            row["human_correct"], row["human_labels"], previous["human_correct"], previous["human_labels"]
        )
    gap_change = gap_ci = None
    if row["gap"] is not None and previous.get("gap") is not None:
        gap_change = row["gap"] - previous["gap"]
        gap_ci = stats.combine_intervals(
            gap_change, row["gap_ci"], previous.get("gap_ci"), row["gap"], previous["gap"]
        )
    return {
        "model_accuracy_change": model_change,
        "model_accuracy_change_ci": model_ci,
        "human_accuracy_change": human_change,
        "human_accuracy_change_ci": human_ci,
        "gap_change": gap_change,
        "gap_change_ci": gap_ci,
        # A regression is a drop in model accuracy whose whole interval is below 0.
        "regression": bool(model_ci is not None and model_ci[1] < 0),
    }
