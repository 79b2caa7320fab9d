"""The steps of a report run: plan, validate and count, publish.

The Airflow DAG runs each step as a task; ``run_report`` runs them in one
process for the command line and the tests. Steps pass small JSON-ready dicts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from humangap import annotators, readers, report, slack, trend
from humangap.config import SOURCES, HumangapConfig, join_key
from humangap.counts import LabelCounts, count_labels, coverage
from humangap.stats import StatsSettings
from humangap.storage import ObjectStore
from humangap.validation import ValidationFailed, validate_inputs
from humangap.window import Window, label_window, output_folder, partition_prefix

log = logging.getLogger(__name__)


def plan_inputs(store: ObjectStore, config: HumangapConfig, window: Window) -> dict[str, Any]:
    """List the keys a run reads: predictions of the window, labels of the lookback."""
    labels = label_window(window, config.lookback_days)
    windows = {"predictions": window, "gold": labels, "annotations": labels}
    keys: dict[str, list[str]] = {}
    skipped: list[str] = []
    for source in SOURCES:
        keys[source] = []
        for day in windows[source].dates():
            for key in store.list_keys(partition_prefix(config, source, day)):
                if readers.file_format(key) is None:
                    skipped.append(key)
                else:
                    keys[source].append(key)
        log.info("Found %d %s file(s) in %s", len(keys[source]), source, windows[source].to_dict())
    for key in skipped:
        log.warning("Skipping %s: not a file type humangap reads (%s)", key, ", ".join(readers.FORMATS))
    return {
        "window": window.to_dict(),
        "label_window": labels.to_dict(),
        "keys": keys,
        "skipped_keys": skipped,
        "output_folder": output_folder(config, window),
        "output_prefix": config.output_prefix,
        "statistics": dataclasses.asdict(config.stats_settings()),
    }


def _write_json(store: ObjectStore, key: str, value: Any) -> None:
    data = json.dumps(value, indent=2, default=str).encode()
    store.write_bytes(key, data, "application/json")


def validate_and_count(store: ObjectStore, config: HumangapConfig, plan: dict[str, Any]) -> dict[str, Any]:
    """Read and validate every input, write ``validation.json``, and count labels.

    Raises ``ValidationFailed`` after writing ``validation.json`` when an
    expectation fails; nothing else is written then.
    """
    files = {
        source: [
            readers.read_source_file(store.read_bytes(key), key, source, config)
            for key in plan["keys"][source]
        ]
        for source in SOURCES
    }
    validation_key = join_key(plan["output_folder"], "validation.json")
    try:
        validated = validate_inputs(files, config.classes)
    except ValidationFailed as error:
        _write_json(store, validation_key, error.result)
        raise ValidationFailed(f"{error} Full result: {store.url(validation_key)}", error.result) from None
    _write_json(store, validation_key, validated.result)
    frames = validated.frames
    counts = count_labels(frames["gold"], frames["predictions"], frames["annotations"])
    rows = {source: int(len(frames[source])) for source in SOURCES}
    log.info("Validated and counted %s rows", rows)
    # Counted again without outlier annotators, to exclude them or show the effect.
    outliers = annotators.outlier_ids(counts, validated.classes)
    without = annotators.count_without(frames, outliers) if outliers else None
    return {
        "counts": counts.to_records(),
        "counts_without_outliers": without.to_records() if without is not None else None,
        "classes": validated.classes,
        "rows": rows,
        "coverage": coverage(frames["gold"], frames["predictions"], frames["annotations"]),
        "validation": {
            "success": True,
            "evaluated_expectations": validated.result["evaluated_expectations"],
            "failed_expectations": 0,
            "result_key": validation_key,
        },
    }


def publish(
    store: ObjectStore, plan: dict[str, Any], counted: dict[str, Any], run: dict[str, Any]
) -> dict[str, Any]:
    """Write the report files, ``report.json`` last, and return the Slack message.

    ``report.json`` is the commit marker: readers trust a folder only once it
    has one, and a rerun overwrites every file of the folder.
    """
    folder = plan["output_folder"]
    inputs = {
        source: {"keys": plan["keys"][source], "rows": counted["rows"][source]}
        for source in SOURCES
    }
    inputs["skipped_keys"] = plan["skipped_keys"]
    inputs["label_window"] = plan["label_window"]
    inputs.update(counted["coverage"])
    run = {**run, "window": plan["window"]}
    counts = LabelCounts.from_records(counted["counts"])
    without = counted.get("counts_without_outliers")
    without = LabelCounts.from_records(without) if without else None
    settings = StatsSettings(**plan.get("statistics", {}))
    output_prefix = plan.get("output_prefix", folder.rstrip("/").rpartition("/")[0])
    previous = trend.find_previous(store, output_prefix, plan["window"]["first_date"], run.get("dag_id"))
    table = annotators.annotator_frame(counts, counted["classes"])
    document = report.build_report(
        counts, counted["classes"], run, inputs, counted["validation"], settings, previous, without, table
    )
    annotators_key = join_key(folder, "annotators.csv")
    document["annotators"]["annotators_key"] = annotators_key
    store.write_bytes(annotators_key, annotators.render_csv(table), "text/csv")
    report_key = join_key(folder, "report.json")
    message = slack.build_message(document, store.url(join_key(folder, "report.html")))
    store.write_bytes(join_key(folder, "per_class.csv"), report.render_csv(document), "text/csv")
    store.write_bytes(join_key(folder, "report.html"), report.render_html(document), "text/html")
    _write_json(store, join_key(folder, "slack_message.json"), message)
    _write_json(store, report_key, document)
    log.info("Published %s", store.url(report_key))
    return {"report_key": report_key, "report_url": store.url(report_key), "slack_message": message}


def run_report(
    store: ObjectStore, config: HumangapConfig, window: Window, run: dict[str, Any]
) -> dict[str, Any]:
    """Run every step in this process and return what ``publish`` returns."""
    plan = plan_inputs(store, config, window)
    counted = validate_and_count(store, config, plan)
    return publish(store, plan, counted, run)
