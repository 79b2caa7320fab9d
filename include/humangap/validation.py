"""Validate the three input sources with Great Expectations before any metric.

Every expectation runs, so one failed run lists all that is wrong. The full
result is kept for ``validation.json``, and ``ValidationFailed`` carries a
message that names the source, its files, the column, the expectation, the
count of bad rows and up to 10 sample values.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from humangap import encode
from humangap.config import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from humangap.readers import SourceFile

log = logging.getLogger(__name__)

# Great Expectations sends usage statistics by default; humangap never does.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

SAMPLE_SIZE = 10
EMPTY_SAMPLE = "(empty)"
# Columns converted for Great Expectations at once; more threads than CPUs gain nothing.
CONVERT_THREADS = max(1, min(4, len(os.sched_getaffinity(0))))
FILE_COLUMN = "source_file"
# BASIC gives the counts of each expectation without GX's partial lists of unexpected
# values and row indexes. Those lists would show the integer codes that stand in for
# item ids (see ``_check_frame``), and SUMMARY builds a Python list of every bad row's
# index. ``sample_values`` in each failure takes their place.
RESULT_FORMAT = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "exclude_unexpected_values": True,
}

# The fix to suggest for each kind of failed expectation.
FIXES = {
    "expect_column_to_exist": "add the column to the file, or map its name in the 'columns' setting",
    "expect_column_values_to_not_be_null": (
        "fill in or remove the rows with empty values; for an empty label, empty_label "
        "'exclude' drops and counts such rows instead"
    ),
    "expect_column_values_to_be_unique": "remove the duplicate rows so each id appears once",
    "expect_compound_columns_to_be_unique": "remove the duplicate rows so each pair appears once",
    "expect_column_values_to_be_in_set": (
        "correct the labels or add the class to the 'classes' setting; for predictions, "
        "unknown_predicted_label 'warn' scores them as wrong instead"
    ),
    "expect_column_values_to_be_between": "scores must be probabilities in [0, 1]",
}


class ValidationFailed(ValueError):
    """Raised when an input source fails an expectation; nothing is computed."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


@dataclasses.dataclass
class ValidatedInputs:
    """The rows of each source that passed validation, with the full result."""

    frames: dict[str, pd.DataFrame]
    classes: list[str]
    result: dict[str, Any]


def import_in_background() -> None:
    """Start importing Great Expectations on a thread, so that the import overlaps reading.

    The import takes 1 to 2 s on this project's benchmark machine. ``validate_inputs``
    imports the package again, which waits for this import to finish.
    """
    threading.Thread(target=importlib.import_module, args=("great_expectations",), daemon=True).start()


def class_set(gold_files: list[SourceFile], configured: tuple[str, ...] | None) -> tuple[list[str], str]:
    """Return the class set and where it came from ("configured" or "gold")."""
    if configured is not None:
        return list(configured), "configured"
    labels: set[str] = set()
    for item in gold_files:
        if "label" in item.frame.columns:
            labels.update(item.frame["label"].dropna().unique().tolist())
    return sorted(labels), "gold"


def _expectations(
    source: str, columns: list[str], classes: list[str] | None, configured: bool
) -> list[Any]:
    """Return the value expectations of a source; ``classes=None`` skips the class check."""
    import great_expectations as gx

    expect = gx.expectations
    checks: list[Any] = []
    identity = [name for name in REQUIRED_COLUMNS[source] if name in columns]
    if source == "predictions" and "model_version" in columns:
        identity.append("model_version")
    if source == "annotations" and "annotator_id" in columns:
        identity.append("annotator_id")
    for name in identity:
        checks.append(expect.ExpectColumnValuesToNotBeNull(column=name))
    if source == "gold" and "item_id" in columns:
        checks.append(expect.ExpectColumnValuesToBeUnique(column="item_id"))
    if source == "predictions" and "item_id" in columns:
        if "model_version" in columns:
            checks.append(
                expect.ExpectCompoundColumnsToBeUnique(column_list=["item_id", "model_version"])
            )
        else:
            checks.append(expect.ExpectColumnValuesToBeUnique(column="item_id"))
    if source == "annotations" and {"item_id", "annotator_id"} <= set(columns):
        checks.append(expect.ExpectCompoundColumnsToBeUnique(column_list=["item_id", "annotator_id"]))
    label_column = "predicted_label" if source == "predictions" else "label"
    if classes is not None and label_column in columns and (source != "gold" or configured):
        checks.append(expect.ExpectColumnValuesToBeInSet(column=label_column, value_set=classes))
    if source == "predictions" and "score" in columns:
        checks.append(expect.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1))
    return checks


def _run_suite(context: Any, name: str, frame: pd.DataFrame, checks: list[Any]) -> dict[str, Any]:
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name)
    for check in checks:
        suite.add_expectation(check)
    asset = context.data_sources.add_pandas(name).add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name).get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(suite, result_format=RESULT_FORMAT)
    return result.to_json_dict()


def _new_context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _check_frame(frame: pd.DataFrame, columns: list[str], exact_ids: bool) -> pd.DataFrame:
    """Return the columns that GX checks, in dtypes that are cheap to hash and compare.

    GX 1.24 fingerprints each batch with ``pandas.util.hash_pandas_object`` over
    every row, which turns a pyarrow string column into Python strings, and its
    uniqueness checks factorize the column again. Item ids are therefore passed
    as integer codes, with nulls where the ids are null, so the not-null and
    uniqueness checks count the same rows. With ``exact_ids`` the codes are
    equal exactly where the ids are. Without it they are 64-bit hashes, equal
    where the ids are equal and, rarely, where they differ: a uniqueness check
    that passes on them passes on the ids, and one that fails is run again on
    exact codes. Label, model version and annotator columns become
    categoricals, so hashing, ``isin`` and ``isna`` run on small codes. The
    score stays as it is.
    """

    def convert(name: str) -> Any:
        values = frame[name]
        if name == "score":
            return values.array
        if name == "item_id" and exact_ids:
            codes = encode.id_codes(values)
            return pd.arrays.IntegerArray(codes, codes < 0)
        if name == "item_id":
            codes, missing = encode.id_hashes(values)
            return pd.arrays.IntegerArray(codes, missing)
        return encode.categorical(values)

    # Arrow and DuckDB encode without holding the GIL, so the columns are converted side by side.
    with ThreadPoolExecutor(CONVERT_THREADS) as pool:
        checked = dict(zip(columns, pool.map(convert, columns)))
    # pyarrow's memory pool keeps freed hash tables for reuse, so they are returned
    # to the operating system here.
    pa.default_memory_pool().release_unused()
    return pd.DataFrame(checked, index=pd.RangeIndex(len(frame)))


def _is_uniqueness(check: dict[str, Any]) -> bool:
    return check["expectation_config"]["type"] in (
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
    )


def _combine(items: list[SourceFile], source: str) -> pd.DataFrame:
    """Concatenate the files of a source, with a categorical ``source_file`` column.

    ``pd.concat`` collects the chunks of pyarrow-backed columns without a copy
    but copies numpy-backed ones such as the score, so one file is not
    concatenated. The file column is built from codes, not from a string per row.
    """
    if not items:
        frame = pd.DataFrame(columns=list(REQUIRED_COLUMNS[source]) + [FILE_COLUMN])
        frame[FILE_COLUMN] = frame[FILE_COLUMN].astype("category")
        return frame
    if len(items) == 1:
        frame = items[0].frame.reset_index(drop=True)
    else:
        frame = pd.concat([item.frame for item in items], ignore_index=True)
    keys = [item.key for item in items]
    files = pd.Index(dict.fromkeys(keys))
    codes = np.repeat(files.get_indexer(keys).astype(np.int32), [len(item.frame) for item in items])
    frame[FILE_COLUMN] = pd.Categorical.from_codes(codes, categories=files)
    return frame


def _failing_mask(frame: pd.DataFrame, kwargs: dict[str, Any], kind: str) -> pd.Series:
    """Return the rows that broke an expectation, to name the files they came from."""
    column = kwargs.get("column")
    if kind == "expect_column_values_to_not_be_null":
        return frame[column].isna()
    if kind == "expect_column_values_to_be_unique":
        return frame[column].duplicated(keep=False) & frame[column].notna()
    if kind == "expect_compound_columns_to_be_unique":
        return frame.duplicated(subset=kwargs["column_list"], keep=False)
    if kind == "expect_column_values_to_be_in_set":
        return frame[column].notna() & ~frame[column].isin(kwargs["value_set"])
    if kind == "expect_column_values_to_be_between":
        values = frame[column]
        return values.notna() & ((values < kwargs["min_value"]) | (values > kwargs["max_value"]))
    return pd.Series(False, index=frame.index)


def _failure(
    source: str,
    files: list[str],
    check: dict[str, Any],
    frame: pd.DataFrame | None,
    checked: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Describe a failed check, with the files and sample values of its bad rows when given ``frame``.

    The bad rows are found on ``checked``, the frame GX validated, whose codes
    are equal where the values of ``frame`` are, so no string is hashed again.
    """
    config = check["expectation_config"]
    kind, kwargs = config["type"], config["kwargs"]
    column = kwargs.get("column") or ", ".join(kwargs.get("column_list", []))
    outcome = check.get("result") or {}
    failure: dict[str, Any] = {
        "source": source,
        "files": files,
        "column": column,
        "expectation": kind,
        "unexpected_count": outcome.get("unexpected_count"),
        "sample_values": [],
        "fix": FIXES.get(kind, "correct the input"),
    }
    if frame is not None:
        mask = _failing_mask(frame if checked is None else checked, kwargs, kind).to_numpy()
        bad_files = frame[FILE_COLUMN][mask].unique().astype(str).tolist()
        failure["files"] = sorted(bad_files) or files
        columns = kwargs.get("column_list") or [kwargs["column"]]
        failure["sample_values"] = _sample_values(frame, mask, columns)
    if check.get("exception_info", {}).get("raised_exception"):
        failure["error"] = check["exception_info"].get("exception_message")
    return failure


def _sample_values(frame: pd.DataFrame, mask: np.ndarray, columns: list[str]) -> list[str]:
    """Return up to ``SAMPLE_SIZE`` distinct values of the masked rows as text.

    The values of a pair of columns are joined with " / ".
    """
    # Deduplicated first, so that only a few rows of a large source become text.
    bad = frame.loc[mask, columns].drop_duplicates().head(SAMPLE_SIZE)
    # An empty value is written as EMPTY_SAMPLE, so a pair with one still joins as text.
    bad = bad.astype(object).where(bad.notna(), EMPTY_SAMPLE).astype(str)
    if len(columns) > 1:
        samples = bad.agg(" / ".join, axis=1)
    else:
        samples = bad[columns[0]]
    return samples.drop_duplicates().head(SAMPLE_SIZE).tolist()


def _is_warning(source: str, check: dict[str, Any], unknown_predicted_label: str) -> bool:
    """Return True for a failed check that the configuration makes a warning."""
    kind = check["expectation_config"]["type"]
    return (
        unknown_predicted_label == "warn"
        and source == "predictions"
        and kind == "expect_column_values_to_be_in_set"
    )


def unknown_label_counts(frame: pd.DataFrame, column: str, classes: list[str]) -> dict[str, int]:
    """Return how many rows carry each label outside ``classes``."""
    labels = frame[column]
    unknown = labels[labels.notna() & ~labels.isin(classes)]
    return {str(label): int(n) for label, n in unknown.value_counts().sort_index().items()}


def validate_inputs(
    files: dict[str, list[SourceFile]],
    configured_classes: tuple[str, ...] | None,
    *,
    unknown_predicted_label: str = "fail",
) -> ValidatedInputs:
    """Validate every source, returning the combined frames or raising ``ValidationFailed``.

    With ``unknown_predicted_label="warn"`` a predicted label outside the class
    set is listed under ``warnings`` with its count instead of failing the run.
    """
    classes, class_source = class_set(files["gold"], configured_classes)
    # A gold file without its label column already fails. Checking labels against a
    # class set read without that file would flag labels that may well be correct.
    gold_complete = all(
        set(REQUIRED_COLUMNS["gold"]) <= set(item.frame.columns) for item in files["gold"]
    )
    check_classes = class_source == "configured" or gold_complete
    context = _new_context()
    sources: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    frames: dict[str, pd.DataFrame] = {}
    for source, items in files.items():
        known = REQUIRED_COLUMNS[source] + OPTIONAL_COLUMNS[source]
        entry: dict[str, Any] = {"files": [item.key for item in items], "rows": 0, "results": []}
        complete: list[SourceFile] = []
        # Column checks run once per distinct header, naming the files that share it.
        by_columns: dict[tuple[str, ...], list[SourceFile]] = {}
        for item in items:
            by_columns.setdefault(tuple(item.frame.columns), []).append(item)
        for index, (columns, group) in enumerate(by_columns.items()):
            import great_expectations as gx

            checks = [gx.expectations.ExpectColumnToExist(column=name) for name in REQUIRED_COLUMNS[source]]
            header = pd.DataFrame(columns=list(columns))
            result = _run_suite(context, f"{source}_columns_{index}", header, checks)
            keys = [item.key for item in group]
            for check in result["results"]:
                check["files"] = keys
                entry["results"].append(check)
                if not check["success"]:
                    failure = _failure(source, keys, check, None)
                    failure["columns_found"] = group[0].header
                    failures.append(failure)
            if all(name in columns for name in REQUIRED_COLUMNS[source]):
                complete.extend(group)
        frame = _combine(complete, source)
        entry["rows"] = int(sum(len(item.frame) for item in items))
        present = [name for name in known if name in frame.columns]
        checks = _expectations(
            source, present, classes if check_classes else None, class_source == "configured"
        )
        checked = _check_frame(frame, present, exact_ids=False)
        result = _run_suite(context, f"{source}_values", checked, checks)
        if any(_is_uniqueness(check) and not check["success"] for check in result["results"]):
            # Hashed ids may collide, so a failed uniqueness check is run again on exact codes.
            checked = _check_frame(frame, present, exact_ids=True)
            result = _run_suite(context, f"{source}_values_exact", checked, checks)
        for check in result["results"]:
            check["files"] = entry["files"]
            entry["results"].append(check)
            if check["success"]:
                continue
            failure = _failure(source, entry["files"], check, frame, checked)
            if _is_warning(source, check, unknown_predicted_label):
                failure["label_counts"] = unknown_label_counts(frame, "predicted_label", classes)
                log.warning("%s", format_failures([failure], "Input warning"))
                warnings.append(failure)
            else:
                failures.append(failure)
        frames[source] = frame
        sources[source] = entry
    evaluated = sum(len(entry["results"]) for entry in sources.values())
    summary = {
        "success": not failures,
        "evaluated_expectations": evaluated,
        "failed_expectations": len(failures),
        "classes": classes,
        "class_set_source": class_source,
        "failures": failures,
        "warnings": warnings,
        "sources": sources,
    }
    if failures:
        raise ValidationFailed(format_failures(failures), summary)
    return ValidatedInputs(frames=frames, classes=classes, result=summary)


def format_failures(failures: list[dict[str, Any]], title: str = "Input validation failed") -> str:
    """Describe failed expectations, one per line, for an error message or a log."""
    lines = [f"{title}: {len(failures)} expectation(s) not met."]
    for failure in failures:
        files = ", ".join(failure["files"][:5])
        if len(failure["files"]) > 5:
            files += f" and {len(failure['files']) - 5} more"
        line = f"- {failure['source']} ({files}): column '{failure['column']}' failed {failure['expectation']}"
        if failure.get("unexpected_count") is not None:
            line += f" on {failure['unexpected_count']} row(s)"
        if failure.get("sample_values"):
            line += f"; sample values: {failure['sample_values']}"
        if "columns_found" in failure:
            line += f"; columns found: {failure['columns_found']}"
        line += f". Fix: {failure['fix']}."
        lines.append(line)
    return "\n".join(lines)
