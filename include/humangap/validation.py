"""Validate the three input sources with Great Expectations before any metric.

Every expectation runs, so one failed run lists all that is wrong. The full
result is kept for ``validation.json``, and ``ValidationFailed`` carries a
message that names the source, its files, the column, the expectation, the
count of bad rows and up to 10 sample values.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import pandas as pd

from humangap.config import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from humangap.readers import SourceFile

log = logging.getLogger(__name__)

# Great Expectations sends usage statistics by default; humangap never does.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

SAMPLE_SIZE = 10
FILE_COLUMN = "source_file"

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
    result = batch.validate(
        suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20}
    )
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


def _failure(source: str, files: list[str], check: dict[str, Any], frame: pd.DataFrame | None) -> dict[str, Any]:
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
        mask = _failing_mask(frame, kwargs, kind)
        bad = frame.loc[mask]
        failure["files"] = sorted(bad[FILE_COLUMN].astype(str).unique().tolist()) or files
        if kind == "expect_compound_columns_to_be_unique":
            samples = bad[kwargs["column_list"]].astype(str).agg(" / ".join, axis=1)
        else:
            samples = bad[kwargs["column"]].astype(str)
        failure["sample_values"] = samples.drop_duplicates().head(SAMPLE_SIZE).tolist()
    if check.get("exception_info", {}).get("raised_exception"):
        failure["error"] = check["exception_info"].get("exception_message")
    return failure


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
            result = _run_suite(context, f"{source}_columns_{index}", pd.DataFrame(columns=list(columns)), checks)
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
        if complete:
            parts = [item.frame.assign(**{FILE_COLUMN: item.key}) for item in complete]
            frame = pd.concat(parts, ignore_index=True)
        else:
            frame = pd.DataFrame(columns=list(REQUIRED_COLUMNS[source]) + [FILE_COLUMN])
        frame[FILE_COLUMN] = frame[FILE_COLUMN].astype("category")
        entry["rows"] = int(sum(len(item.frame) for item in items))
        present = [name for name in known if name in frame.columns]
        checks = _expectations(
            source, present, classes if check_classes else None, class_source == "configured"
        )
        result = _run_suite(context, f"{source}_values", frame[present], checks)
        for check in result["results"]:
            check["files"] = entry["files"]
            entry["results"].append(check)
            if check["success"]:
                continue
            failure = _failure(source, entry["files"], check, frame)
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
