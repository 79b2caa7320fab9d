"""The steps of a report run: plan, validate and count, publish.

The Airflow DAG runs each step as a task; ``run_report`` runs them in one
process for the command line and the tests. Steps pass small JSON-ready dicts.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Iterable

from humangap import html_report, readers, report, slack
from humangap.config import SOURCES, HumangapConfig, join_key
from humangap.counts import LabelCounts, count_labels, coverage
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
        "link": {
            "base_url": config.report_link_base_url,
            "presigned_url_seconds": config.presigned_url_seconds,
        },
    }


def _write_json(store: ObjectStore, key: str, value: Any) -> None:
    data = json.dumps(value, indent=2, default=str).encode()
    store.write_bytes(key, data, "application/json")


def validate_and_count(
    store: ObjectStore,
    config: HumangapConfig,
    plan: dict[str, Any],
    output_store: ObjectStore | None = None,
    progress: Callable[[list[str], str], Iterable[str]] | None = None,
) -> dict[str, Any]:
    """Read and validate every input, write ``validation.json``, and count labels.

    Raises ``ValidationFailed`` after writing ``validation.json`` when an
    expectation fails; nothing else is written then. ``output_store`` receives
    ``validation.json`` when the outputs go elsewhere than the inputs, and
    ``progress(keys, source)`` can wrap each source's keys, as in a progress bar.
    """
    wrap = progress or (lambda keys, source: keys)
    files = {
        source: [
            readers.read_source_file(store.read_bytes(key), key, source, config)
            for key in wrap(plan["keys"][source], source)
        ]
        for source in SOURCES
    }
    store = output_store or store
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
    return {
        "counts": counts.to_records(),
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
    store: ObjectStore,
    plan: dict[str, Any],
    counted: dict[str, Any],
    run: dict[str, Any],
    output_store: ObjectStore | None = None,
) -> dict[str, Any]:
    """Write the report files, ``report.json`` last, and return the Slack message.

    ``report.json`` is the commit marker: readers trust a folder only once it
    has one, and a rerun overwrites every file of the folder. The files go to
    ``output_store`` when given, else to ``store``.
    """
    store = output_store or store
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
    document = report.build_report(counts, counted["classes"], run, inputs, counted["validation"])
    report_key = join_key(folder, "report.json")
    html_key = join_key(folder, "report.html")
    message = slack.build_message(document, slack.report_link(store, html_key, plan.get("link")))
    store.write_bytes(join_key(folder, "per_class.csv"), report.render_csv(document), "text/csv")
    history = html_report.load_history(store, folder)
    store.write_bytes(html_key, html_report.render_html(document, history), "text/html")
    _write_json(store, join_key(folder, "slack_message.json"), message)
    _write_json(store, report_key, document)
    log.info("Published %s", store.url(report_key))
    return {
        "report_key": report_key,
        "report_url": store.url(report_key),
        "generated_at": document["generated_at"],
        "slack_message": message,
    }


def run_report(
    store: ObjectStore,
    config: HumangapConfig,
    window: Window,
    run: dict[str, Any],
    output_store: ObjectStore | None = None,
    progress: Callable[[list[str], str], Iterable[str]] | None = None,
) -> dict[str, Any]:
    """Run every step in this process and return what ``publish`` returns."""
    plan = plan_inputs(store, config, window)
    counted = validate_and_count(store, config, plan, output_store, progress)
    return publish(store, plan, counted, run, output_store)
