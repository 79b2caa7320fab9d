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

import pandas as pd

from humangap import annotators, html_report, readers, report, slack, trend
from humangap.config import REQUIRED_COLUMNS, SOURCES, HumangapConfig, join_key
from humangap.counts import UNNAMED_MODEL, LabelCounts, count_labels
from humangap.stats import StatsSettings
from humangap.storage import ObjectStore, StorageError
from humangap.validation import (
    FIXES,
    SAMPLE_SIZE,
    ValidationFailed,
    format_failures,
    import_in_background,
    validate_inputs,
)
from humangap.window import Window, label_window, output_folder, partition_prefix

log = logging.getLogger(__name__)

# Objects read at the same time; boto3 clients are safe to share between threads.
READ_THREADS = 8
LABEL_SOURCES = ("gold", "annotations")
LATEST_NAME = "latest.json"


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
    import_in_background()
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
        "coverage": counts.coverage,
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
    # A rerun first withdraws the old commit marker, so a rerun that dies half way
    # leaves a folder without report.json, which readers do not trust, instead of
    # an old report.json beside new CSV and HTML files.
    store.delete(join_key(folder, "report.json"))
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
    update_latest(store, folder, plan["window"], run)
    return {
        "report_key": report_key,
        "report_url": store.url(report_key),
        "generated_at": document["generated_at"],
        "slack_message": message,
        "slack_marker_key": slack_marker_key(folder, run.get("run_id")),
    }


def _reports_root(folder: str) -> str:
    """Return the output prefix that contains a run's folder, such as ``reports``."""
    parts = folder.strip("/").rsplit("/", 1)
    return parts[0] if len(parts) == 2 else ""


def update_latest(store: ObjectStore, folder: str, window: dict[str, str], run: dict[str, Any]) -> bool:
    """Point ``<output prefix>/latest.json`` at this report unless a newer one is there.

    Reports are ordered by last date, then by first date, so a backfill of older
    dates never moves the pointer backwards, and of a one-day report and a longer
    window that end on the same date, the one-day report wins. A rerun of the
    date it points at rewrites it. Runs must not call this concurrently: the
    read and the write are not atomic, so the DAG runs its publish task one at a
    time. Returns whether the pointer was written.
    """
    latest_key = join_key(_reports_root(folder), LATEST_NAME)
    new_order = (window["last_date"], window["first_date"])
    if latest_key in store.list_keys(latest_key):
        current = json.loads(store.read_bytes(latest_key))
        current_order = (current["window"]["last_date"], current["window"]["first_date"])
        if current_order > new_order:
            log.info(
                "Kept %s at %s, which is newer than %s",
                latest_key,
                current["report_key"],
                folder,
            )
            return False
    report_key = join_key(folder, "report.json")
    pointer = {
        "report_key": report_key,
        "report_url": store.url(report_key),
        "window": window,
        "run_id": run.get("run_id"),
    }
    _write_json(store, latest_key, pointer)
    return True


def slack_marker_key(folder: str, run_id: str | None) -> str:
    """Return the key of the object that records that a run's summary was posted.

    The markers sit beside the report folders, not in them, so a report folder
    holds only the report files.
    """
    safe_run_id = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in str(run_id))
    folder_name = folder.strip("/").rsplit("/", 1)[-1]
    return join_key(_reports_root(folder), "_slack_posted", folder_name, safe_run_id + ".json")


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


# Steps of the scaled-out DAG: the labels are validated once, each prediction file
# is read, validated and counted in its own task, and one step adds the counts up.
# Per-file results are counts and summaries, never rows.


def _read_files(store: ObjectStore, config: HumangapConfig, keys: list[str], source: str) -> list[Any]:
    return [readers.read_source_file(store.read_bytes(key), key, source, config) for key in keys]


def _frame(files: list[Any], source: str) -> pd.DataFrame:
    frames = [item.frame for item in files if set(REQUIRED_COLUMNS[source]) <= set(item.frame.columns)]
    if not frames:
        return pd.DataFrame(columns=list(REQUIRED_COLUMNS[source]))
    return pd.concat(frames, ignore_index=True)


def validate_labels(store: ObjectStore, config: HumangapConfig, plan: dict[str, Any]) -> dict[str, Any]:
    """Read and validate the gold labels and annotations of a run's label window.

    Failed expectations are returned, not raised, so that ``combine_counts`` can
    write them to ``validation.json`` with those of the prediction files.
    """
    files = {source: _read_files(store, config, plan["keys"][source], source) for source in LABEL_SOURCES}
    try:
        result = validate_inputs(
            files, config.classes, unknown_predicted_label=config.unknown_predicted_label
        ).result
    except ValidationFailed as error:
        result = error.result
    gold = _frame(files["gold"], "gold")
    annotations = _frame(files["annotations"], "annotations")
    known = pd.Index(gold["item_id"].unique())
    return {
        "classes": result["classes"],
        "success": result["success"],
        "result": result,
        "rows": {source: int(sum(len(item.frame) for item in files[source])) for source in LABEL_SOURCES},
        "annotations_without_gold": int((~annotations["item_id"].isin(known)).sum()),
        "quality": {source: [_file_quality(item) for item in files[source]] for source in LABEL_SOURCES},
    }


def _file_quality(item: readers.SourceFile) -> dict[str, Any]:
    """Return what ``data_quality`` needs of one file, small enough for an XCom."""
    return {
        "key": item.key,
        "rows_read": item.rows_read,
        "changed_labels": item.changed_labels,
        "empty_labels": item.empty_labels,
        "bad_lines": list(item.bad_lines),
        "skipped": item.skipped,
    }


def _id_ranges(predictions: pd.DataFrame) -> dict[str, list[Any]]:
    """Return per model version the smallest and largest item id and the row count."""
    if predictions.empty:
        return {}
    if "model_version" in predictions.columns:
        versions = predictions["model_version"].astype(object).fillna(UNNAMED_MODEL)
    else:
        versions = pd.Series(UNNAMED_MODEL, index=predictions.index, dtype=object)
    ids = predictions["item_id"].astype(object)
    ranges = {}
    for version, group in ids.groupby(versions):
        present = group.dropna()
        if len(present):
            ranges[str(version)] = [str(present.min()), str(present.max()), int(len(group))]
    return ranges


def count_file(
    store: ObjectStore,
    config: HumangapConfig,
    plan: dict[str, Any],
    key: str | None,
    labels: dict[str, Any],
) -> dict[str, Any]:
    """Validate and count one prediction file against the whole label window.

    ``key`` ``None`` stands for a window without prediction files and counts
    nothing. The gold labels and annotations are read whole, because they are
    the smaller sources. Failed expectations are returned, not raised, and the
    file is not counted then. The counts of all files add up to what
    ``validate_and_count`` computes over the whole window.
    """
    empty = {
        "key": key,
        "counts": [],
        "rows": 0,
        "predictions_without_gold": 0,
        "id_ranges": {},
        "validation": {"files": [], "rows": 0, "results": []},
        "failures": [],
    }
    if key is None:
        return empty
    item = readers.read_source_file(store.read_bytes(key), key, "predictions", config)
    files = {"gold": [], "annotations": [], "predictions": [item]}
    try:
        result = validate_inputs(
            files,
            tuple(labels["classes"]),
            unknown_predicted_label=config.unknown_predicted_label,
        ).result
    except ValidationFailed as error:
        result = error.result
    outcome = {
        **empty,
        "quality": _file_quality(item),
        "warnings": result.get("warnings", []),
        "rows": int(len(item.frame)),
        "validation": result["sources"]["predictions"],
        "failures": [failure for failure in result["failures"] if failure["source"] == "predictions"],
    }
    if outcome["failures"] or not labels["success"]:
        return outcome
    gold = _frame(_read_files(store, config, plan["keys"]["gold"], "gold"), "gold")
    annotations = _frame(
        _read_files(store, config, plan["keys"]["annotations"], "annotations"), "annotations"
    )
    predictions = item.frame
    counts = count_labels(gold, predictions, annotations)
    outcome["counts"] = counts.to_records()
    outcome["predictions_without_gold"] = counts.coverage["predictions_without_gold"]
    outcome["id_ranges"] = _id_ranges(predictions)
    log.info("Counted %s: %d prediction rows", key, outcome["rows"])
    return outcome


def _overlapping_files(per_file: list[dict[str, Any]]) -> list[str]:
    """Return the files whose item id range overlaps another file's for one model version."""
    by_version: dict[str, list[tuple[str, str, str]]] = {}
    for outcome in per_file:
        for version, (low, high, _) in outcome["id_ranges"].items():
            by_version.setdefault(version, []).append((low, high, outcome["key"]))
    overlapping: set[str] = set()
    for ranges in by_version.values():
        ranges.sort()
        reach, reach_key = None, None
        for low, high, key in ranges:
            if reach is not None and low <= reach:
                overlapping.update({key, reach_key})
            if reach is None or high > reach:
                reach, reach_key = high, key
    return sorted(overlapping)


def _cross_file_duplicates(
    store: ObjectStore, config: HumangapConfig, per_file: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Check that no (item_id, model_version) pair appears in two prediction files.

    Each file was checked on its own in ``count_file``. Files whose id ranges do
    not overlap cannot share a pair, so only overlapping files are read again,
    and only their id columns are kept.
    """
    keys = _overlapping_files(per_file)
    if not keys:
        return None
    parts = []
    for key in keys:
        frame = readers.read_source_file(store.read_bytes(key), key, "predictions", config).frame
        columns = [name for name in ("item_id", "model_version") if name in frame.columns]
        parts.append(frame[columns].assign(source_file=key))
    ids = pd.concat(parts, ignore_index=True)
    if "model_version" not in ids.columns:
        ids["model_version"] = UNNAMED_MODEL
    ids["model_version"] = ids["model_version"].astype(object).fillna(UNNAMED_MODEL)
    files_per_pair = ids.groupby(["item_id", "model_version"])["source_file"].transform("nunique")
    shared = ids[files_per_pair > 1]
    if shared.empty:
        return None
    samples = shared[["item_id", "model_version"]].astype(str).agg(" / ".join, axis=1)
    return {
        "source": "predictions",
        "files": sorted(shared["source_file"].unique().tolist()),
        "column": "item_id, model_version",
        "expectation": "expect_compound_columns_to_be_unique",
        "unexpected_count": int(len(shared)),
        "sample_values": samples.drop_duplicates().head(SAMPLE_SIZE).tolist(),
        "fix": FIXES["expect_compound_columns_to_be_unique"] + " across the prediction files",
    }


def combine_counts(
    store: ObjectStore,
    config: HumangapConfig,
    plan: dict[str, Any],
    labels: dict[str, Any],
    per_file: list[dict[str, Any]],
) -> dict[str, Any]:
    """Add up per-file counts, write ``validation.json``, and return what ``publish`` takes.

    Raises ``ValidationFailed`` after writing ``validation.json`` when any
    expectation failed, in the labels or in any prediction file.
    """
    per_file = [outcome for outcome in per_file if outcome["key"] is not None]
    failures = list(labels["result"]["failures"])
    for outcome in per_file:
        failures.extend(outcome["failures"])
    if not failures:
        duplicate = _cross_file_duplicates(store, config, per_file)
        if duplicate:
            failures.append(duplicate)
    sources = dict(labels["result"]["sources"])
    results = [check for outcome in per_file for check in outcome["validation"]["results"]]
    sources["predictions"] = {
        "files": [outcome["key"] for outcome in per_file],
        "rows": sum(outcome["rows"] for outcome in per_file),
        "results": results,
    }
    evaluated = sum(len(entry["results"]) for entry in sources.values())
    summary = {
        "success": not failures,
        "evaluated_expectations": evaluated,
        "failed_expectations": len(failures),
        "classes": labels["classes"],
        "class_set_source": labels["result"]["class_set_source"],
        "failures": failures,
        "sources": sources,
    }
    validation_key = join_key(plan["output_folder"], "validation.json")
    _write_json(store, validation_key, summary)
    if failures:
        raise ValidationFailed(
            f"{format_failures(failures)} Full result: {store.url(validation_key)}", summary
        )
    counts = LabelCounts.from_records([])
    for outcome in per_file:
        counts = counts + LabelCounts.from_records(outcome["counts"])
    rows = {"predictions": sources["predictions"]["rows"], **labels["rows"]}
    log.info("Combined the counts of %d prediction file(s): %s rows", len(per_file), rows)
    quality = _combined_quality(config, labels, per_file)
    # Outliers are known only from the combined counts. Counting without them
    # needs the rows again, so this one step reads the whole window when the
    # annotator pool has outliers (none in most runs).
    without = None
    outliers = annotators.outlier_ids(counts, labels["classes"])
    if outliers:
        log.info("Recounting without %d outlier annotator(s)", len(outliers))
        validated = validate_inputs(
            read_inputs(store, config, plan),
            config.classes,
            unknown_predicted_label=config.unknown_predicted_label,
        )
        without = annotators.count_without(validated.frames, outliers)
    return {
        "data_quality": quality,
        "counts_without_outliers": without.to_records() if without is not None else None,
        "counts": counts.to_records(),
        "classes": labels["classes"],
        "rows": {source: rows[source] for source in SOURCES},
        "coverage": {
            "predictions_without_gold": sum(o["predictions_without_gold"] for o in per_file),
            "annotations_without_gold": labels["annotations_without_gold"],
        },
        "validation": {
            "success": True,
            "evaluated_expectations": evaluated,
            "failed_expectations": 0,
            "result_key": validation_key,
        },
    }


def _combined_quality(
    config: HumangapConfig, labels: dict[str, Any], per_file: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return ``data_quality`` of the whole window from the per-task file summaries."""
    from types import SimpleNamespace

    files = {source: [SimpleNamespace(**item) for item in labels["quality"][source]] for source in LABEL_SOURCES}
    files["predictions"] = [SimpleNamespace(**outcome["quality"]) for outcome in per_file]
    bad = sum(len(item.bad_lines) for items in files.values() for item in items)
    if bad > config.max_bad_lines:
        raise readers.InputFormatError(
            f"{bad} JSON Lines line(s) could not be parsed in this window; max_bad_lines "
            f"allows {config.max_bad_lines} in a run. Fix or remove those lines, or raise "
            "max_bad_lines."
        )
    unknown = [w for outcome in per_file for w in outcome.get("warnings", []) if w["source"] == "predictions"]
    warnings = []
    if unknown:
        label_counts: dict[str, int] = {}
        for warning in unknown:
            for label, count in (warning.get("label_counts") or {}).items():
                label_counts[label] = label_counts.get(label, 0) + count
        total = sum(int(warning["unexpected_count"] or 0) for warning in unknown)
        warnings.append({"source": "predictions", "unexpected_count": total, "label_counts": label_counts})
    return data_quality(files, config, warnings)
