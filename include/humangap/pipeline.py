"""The steps of a report run: plan, validate and count, publish.

The Airflow DAG runs each step as a task; ``run_report`` runs them in one
process for the command line and the tests. Steps pass small JSON-ready dicts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from humangap import annotators, html_report, readers, report, slack, trend
from humangap.config import SOURCES, HumangapConfig, join_key
from humangap.counts import LabelCounts, count_labels, coverage
from humangap.stats import StatsSettings
from humangap.storage import ObjectStore, StorageError
from humangap.validation import ValidationFailed, validate_inputs
from humangap.window import Window, label_window, output_folder, partition_prefix

log = logging.getLogger(__name__)

# Objects read at the same time; boto3 clients are safe to share between threads.
READ_THREADS = 8


def plan_inputs(store: ObjectStore, config: HumangapConfig, window: Window) -> dict[str, Any]:
    """List the keys a run reads: predictions of the window, labels of the lookback."""
    labels = label_window(window, config.lookback_days)
    windows = {"predictions": window, "gold": labels, "annotations": labels}
    keys: dict[str, list[str]] = {}
    skipped: list[str] = []
    for source in SOURCES:
        keys[source] = []
        for day in windows[source].dates():
            prefix = partition_prefix(config, source, day)
            for key in store.list_keys(prefix):
                if _is_data_file(key[len(prefix):]):
                    keys[source].append(key)
                else:
                    skipped.append(key)
        log.info("Found %d %s file(s) in %s", len(keys[source]), source, windows[source].to_dict())
    for key in skipped:
        log.warning(
            "Skipping %s: only files directly in a partition, not hidden (no leading '.' or "
            "'_') and of a type humangap reads (%s) are inputs",
            key,
            ", ".join(readers.FORMATS),
        )
    check_source_folders(store, config, [source for source in SOURCES if not keys[source]])
    return {
        "window": window.to_dict(),
        "label_window": labels.to_dict(),
        "keys": keys,
        "skipped_keys": skipped,
        "output_folder": output_folder(config, window),
        "output_prefix": config.output_prefix,
        "statistics": dataclasses.asdict(config.stats_settings()),
        "link": {
            "base_url": config.report_link_base_url,
            "presigned_url_seconds": config.presigned_url_seconds,
        },
    }


def _is_data_file(name: str) -> bool:
    """Return whether a key's name inside its partition is an input file.

    Subfolders and hidden names are skipped, because writers such as Spark keep
    unfinished output under ``_temporary/`` and markers such as ``_SUCCESS``.
    """
    return "/" not in name and not name.startswith(("_", ".")) and readers.file_format(name) is not None


def check_source_folders(store: ObjectStore, config: HumangapConfig, sources: list[str]) -> None:
    """Raise ``StorageError`` when a source folder contains no object at all.

    A window without partitions is "no data", but a source folder that does not
    exist means the bucket or prefix is wrong, and saying "no data" would hide that.
    """
    missing = [source for source in sources if not store.has_keys(config.source_prefix(source))]
    if missing:
        folders = ", ".join(store.url(config.source_prefix(source)) for source in missing)
        raise StorageError(
            f"no objects under {folders}: bucket {config.bucket!r} with prefix "
            f"{config.prefix!r} has no such folder. Check HUMANGAP_BUCKET and HUMANGAP_PREFIX "
            "(or 'bucket' and 'prefix' in the configuration file)."
        )


def read_inputs(
    store: ObjectStore,
    config: HumangapConfig,
    plan: dict[str, Any],
    progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None,
) -> dict[str, list[readers.SourceFile]]:
    """Read every planned file and enforce the run-wide maximum of bad JSON Lines lines.

    ``progress(files, source, total)`` can wrap each source's stream of parsed
    files, as a progress bar does.
    """

    def read(task: tuple[str, str]) -> readers.SourceFile:
        source, key = task
        return readers.read_source_file(store.read_bytes(key), key, source, config)

    wrap = progress or (lambda items, source, total: items)
    parsed: list[readers.SourceFile] = []
    # Reads overlap because a partition of many small objects is bound by S3 latency.
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        for source in SOURCES:
            tasks = [(source, key) for key in plan["keys"][source]]
            parsed.extend(wrap(pool.map(read, tasks), source, len(tasks)))
    tasks = [(source, key) for source in SOURCES for key in plan["keys"][source]]
    files: dict[str, list[readers.SourceFile]] = {source: [] for source in SOURCES}
    for (source, _), item in zip(tasks, parsed):
        files[source].append(item)
    bad = [(item.key, item.bad_lines) for items in files.values() for item in items if item.bad_lines]
    total = sum(len(lines) for _, lines in bad)
    if total > config.max_bad_lines:
        # Each file was within the maximum alone; together they are not.
        details = "; ".join(f"{key} line(s) {lines[:readers.LINES_SHOWN]}" for key, lines in bad)
        raise readers.InputFormatError(
            f"{total} JSON Lines line(s) could not be parsed ({details}); max_bad_lines "
            f"allows {config.max_bad_lines} in a run. Fix or remove those lines, or raise "
            "max_bad_lines."
        )
    for key, lines in bad:
        log.warning("Skipped %d bad line(s) of %s: %s", len(lines), key, lines[: readers.LINES_SHOWN])
    return files


def data_quality(
    files: dict[str, list[readers.SourceFile]], config: HumangapConfig, warnings: list[dict[str, Any]]
) -> dict[str, Any]:
    """Count every repair and exclusion made while reading, for the report."""
    sources = {}
    for source, items in files.items():
        empty = sum(item.empty_labels for item in items)
        sources[source] = {
            "rows_read": sum(item.rows_read for item in items),
            "changed_labels": sum(item.changed_labels for item in items),
            "empty_label_rows": empty,
            "excluded_rows": empty if config.empty_label == "exclude" else 0,
        }
    unknown = next((w for w in warnings if w["source"] == "predictions"), None)
    return {
        "sources": sources,
        "label_normalisation": {"trim": True, "case_fold": config.case_fold_labels},
        "empty_label_policy": config.empty_label,
        "unknown_predicted_labels": {
            "policy": config.unknown_predicted_label,
            "rows": int(unknown["unexpected_count"] or 0) if unknown else 0,
            "labels": unknown["label_counts"] if unknown else {},
        },
        "empty_files": {
            "policy": config.empty_files,
            "skipped_keys": [item.key for items in files.values() for item in items if item.skipped],
        },
        "bad_lines": {
            "max_bad_lines": config.max_bad_lines,
            "skipped": [
                {"key": item.key, "lines": item.bad_lines}
                for items in files.values()
                for item in items
                if item.bad_lines
            ],
        },
    }


def _json_ready(value: Any) -> Any:
    """Replace NaN and infinities with ``None``, which JSON can represent."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    return value


def _write_json(store: ObjectStore, key: str, value: Any) -> None:
    data = json.dumps(_json_ready(value), indent=2, default=str, allow_nan=False).encode()
    store.write_bytes(key, data, "application/json")


def validate_and_count(
    store: ObjectStore,
    config: HumangapConfig,
    plan: dict[str, Any],
    output_store: ObjectStore | None = None,
    progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None,
) -> dict[str, Any]:
    """Read and validate every input, write ``validation.json``, and count labels.

    Raises ``ValidationFailed`` after writing ``validation.json`` when an
    expectation fails; nothing else is written then. ``output_store`` receives
    ``validation.json`` when the outputs go elsewhere than the inputs, and
    ``progress(files, source, total)`` can wrap each source's parsed files, as a
    progress bar does.
    """
    files = read_inputs(store, config, plan, progress)
    store = output_store or store
    validation_key = join_key(plan["output_folder"], "validation.json")
    try:
        validated = validate_inputs(
            files, config.classes, unknown_predicted_label=config.unknown_predicted_label
        )
    except ValidationFailed as error:
        _write_json(store, validation_key, error.result)
        raise ValidationFailed(f"{error} Full result: {store.url(validation_key)}", error.result) from None
    _write_json(store, validation_key, validated.result)
    frames = validated.frames
    counts = count_labels(frames["gold"], frames["predictions"], frames["annotations"])
    rows = {source: int(len(frames[source])) for source in SOURCES}
    quality = data_quality(files, config, validated.result["warnings"])
    log.info("Validated and counted %s rows", rows)
    log.info("Data quality: %s", json.dumps(quality["sources"]))
    # Counted again without outlier annotators, to exclude them or show the effect.
    outliers = annotators.outlier_ids(counts, validated.classes)
    without = annotators.count_without(frames, outliers) if outliers else None
    return {
        "data_quality": quality,
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
    without = counted.get("counts_without_outliers")
    without = LabelCounts.from_records(without) if without else None
    settings = StatsSettings(**plan.get("statistics", {}))
    output_prefix = plan.get("output_prefix", folder.rstrip("/").rpartition("/")[0])
    previous = trend.find_previous(store, output_prefix, plan["window"]["first_date"], run.get("dag_id"))
    table = annotators.annotator_frame(counts, counted["classes"])
    document = report.build_report(
        counts,
        counted["classes"],
        run,
        inputs,
        counted["validation"],
        settings,
        previous,
        without,
        table,
        data_quality=counted.get("data_quality"),
    )
    annotators_key = join_key(folder, "annotators.csv")
    document["annotators"]["annotators_key"] = annotators_key
    store.write_bytes(annotators_key, annotators.render_csv(table), "text/csv")
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
    progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None,
) -> dict[str, Any]:
    """Run every step in this process and return what ``publish`` returns."""
    plan = plan_inputs(store, config, window)
    counted = validate_and_count(store, config, plan, output_store, progress)
    return publish(store, plan, counted, run, output_store)
