"""Build ``report.json`` from counts and render it as CSV (HTML is in ``html_report``)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pandas as pd

from humangap import __version__, annotators, metrics, stats, trend
from humangap.counts import UNNAMED_MODEL, LabelCounts
from humangap.stats import StatsSettings

SCHEMA_VERSION = 1
CSV_COLUMNS = [
    "model_version",
    "priority_rank",
    "class",
    "support",
    "model_correct",
    "model_accuracy",
    "human_labels",
    "human_correct",
    "human_accuracy",
    "gap",
    "assessment",
    "reason",
    "status",
    "model_accuracy_low",
    "model_accuracy_high",
    "human_accuracy_low",
    "human_accuracy_high",
    "gap_low",
    "gap_high",
    "human_accuracy_mean_per_annotator",
    "human_accuracy_mean_per_annotator_low",
    "human_accuracy_mean_per_annotator_high",
    "annotator_count",
    "human_accuracy_majority",
    "human_accuracy_majority_low",
    "human_accuracy_majority_high",
    "majority_ties",
    "baseline_accuracy",
    "baseline_accuracy_low",
    "baseline_accuracy_high",
    "model_accuracy_change",
    "gap_change",
    "regression",
]
INTEGER_COLUMNS = (
    "priority_rank",
    "support",
    "model_correct",
    "human_labels",
    "human_correct",
    "annotator_count",
    "majority_ties",
)
INTERVAL_FIELDS = (
    "model_accuracy",
    "human_accuracy",
    "gap",
    "human_accuracy_mean_per_annotator",
    "human_accuracy_majority",
    "baseline_accuracy",
)


def build_report(
    counts: LabelCounts,
    classes: list[str],
    run: dict[str, Any],
    inputs: dict[str, Any],
    validation: dict[str, Any],
    settings: StatsSettings | None = None,
    previous: tuple[str, dict[str, Any]] | None = None,
    counts_without_outliers: LabelCounts | None = None,
    annotator_table: pd.DataFrame | None = None,
    data_quality: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the report as a JSON-ready dict (the public contract in docs/report.md).

    ``previous`` is the key and content of the previous report, for the trend.
    ``counts_without_outliers`` are the counts with the outlier annotators' labels
    left out: they drive the baselines when ``settings.exclude_outliers`` is set,
    and otherwise only show the effect of excluding them.
    ``data_quality`` contains the counts of repairs and excluded rows made while reading.
    """
    settings = settings or StatsSettings()
    table = annotator_table if annotator_table is not None else annotators.annotator_frame(counts, classes)
    excluding = settings.exclude_outliers and counts_without_outliers is not None
    primary = counts_without_outliers if excluding else counts
    previous_key, previous_document = previous if previous else (None, {})
    earlier = trend.previous_rows(previous_document) if previous else {}
    previous_window = (previous_document.get("run") or {}).get("window") if previous else None
    models = []
    for version in counts.model_versions():
        name = None if version == UNNAMED_MODEL else version
        rows = metrics.class_rows(primary, version, classes, settings, earlier.get(name))
        for row in rows:
            row["note"] = metrics.describe(row)
            if row["trend"] is not None:
                row["trend"] = {
                    "previous_window": previous_window,
                    "previous_report_key": previous_key,
                    **row["trend"],
                }
        baseline = metrics.baseline_used(settings.baseline, counts.annotator_ids)
        models.append(
            {
                "model_version": name,
                "summary": metrics.summarize(rows),
                "baseline": baseline,
                "baseline_reason": (
                    None
                    if baseline == settings.baseline
                    else f"{settings.baseline} was configured but {metrics.UNAVAILABLE_IDS}"
                ),
                "gap_interval": {
                    "method": stats.BOOTSTRAP_METHOD,
                    "resamples": settings.bootstrap_resamples,
                    "seed": settings.seed,
                    "level": stats.LEVEL,
                },
                "classes": rows,
            }
        )
    section = annotators.summary(counts, classes, table, settings.exclude_outliers)
    if counts_without_outliers is not None and section["outliers"]:
        section["effect_of_excluding_outliers"] = _exclusion_effect(
            counts, counts_without_outliers, classes, settings, len(section["outliers"])
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"humangap {__version__}",
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "run": run,
        "classes": classes,
        "inputs": inputs,
        "validation": validation,
        "ranking_rule": metrics.RANKING_RULE,
        "models": models,
        "annotators": section,
        "previous_report_key": previous_key,
        "status": "ok" if models else "no_data",
        "data_quality": data_quality or {},
    }


def _exclusion_effect(
    kept: LabelCounts,
    excluded: LabelCounts,
    classes: list[str],
    settings: StatsSettings,
    outliers: int,
) -> dict[str, Any]:
    """Return the baseline, gap and status per class with and without the outliers."""
    effect: dict[str, Any] = {"outliers": outliers, "classes": []}
    for version in kept.model_versions():
        with_rows = {row["class"]: row for row in metrics.class_rows(kept, version, classes, settings)}
        without_rows = metrics.class_rows(excluded, version, classes, settings)
        for row in sorted(without_rows, key=lambda item: item["class"]):
            before = with_rows[row["class"]]
            effect["classes"].append(
                {
                    "model_version": None if version == UNNAMED_MODEL else version,
                    "class": row["class"],
                    "baseline_accuracy_kept": before["baseline_accuracy"],
                    "baseline_accuracy_excluded": row["baseline_accuracy"],
                    "gap_kept": before["gap"],
                    "gap_excluded": row["gap"],
                    "status_kept": before["status"],
                    "status_excluded": row["status"],
                }
            )
    return effect


def model_label(version: str | None) -> str:
    """Return how a model version is shown to people."""
    return "(unnamed model)" if version is None else version


def per_class_frame(report: dict[str, Any]) -> pd.DataFrame:
    """Return one row per model version and class, in rank order."""
    rows = []
    for model in report["models"]:
        for row in model["classes"]:
            flat = {"model_version": model["model_version"], **row}
            for name in INTERVAL_FIELDS:
                interval = row.get(f"{name}_ci")
                flat[f"{name}_low"], flat[f"{name}_high"] = interval if interval else (None, None)
            change = row.get("trend") or {}
            flat["model_accuracy_change"] = change.get("model_accuracy_change")
            flat["gap_change"] = change.get("gap_change")
            flat["regression"] = change.get("regression")
            rows.append(flat)
    frame = pd.DataFrame(rows, columns=CSV_COLUMNS)
    # Counts and ranks stay whole numbers in the CSV, even beside nulls.
    return frame.astype({name: "Int64" for name in INTEGER_COLUMNS})


def render_csv(report: dict[str, Any]) -> bytes:
    """Return ``per_class.csv``."""
    buffer = io.StringIO()
    per_class_frame(report).to_csv(buffer, index=False, float_format="%.6f")
    return buffer.getvalue().encode()


def render_html(report: dict[str, Any], history: list[dict[str, Any]] | None = None) -> bytes:
    """Return ``report.html``; see ``humangap.html_report.render_html``."""
    from humangap import html_report

    return html_report.render_html(report, history)


def format_table(report: dict[str, Any]) -> str:
    """Return the priority table as fixed-width text, for a terminal or a log."""
    lines = []
    for model in report["models"]:
        lines.append(f"Model {model_label(model['model_version'])}: {model['summary']}")
        lines.append(
            f"{'rank':>4}  {'class':<16} {'support':>7}  {'model':>5}  {'human':>5}  {'gap':>6}  status"
        )
        for row in model["classes"]:
            rank_text = "-" if row["priority_rank"] is None else str(row["priority_rank"])
            lines.append(
                f"{rank_text:>4}  {row['class'][:16]:<16} {row['support']:>7}  "
                f"{_plain(row['model_accuracy'], 5)}  {_plain(row['human_accuracy'], 5)}  "
                f"{_plain(row['gap'], 6)}  {metrics.status_words(row['status'])}"
            )
        lines.append("")
    if not report["models"]:
        lines.append("No predictions in this window: nothing to report.")
    return "\n".join(lines).rstrip("\n")


def _plain(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"
