"""Build ``report.json`` from counts and render it as CSV (HTML is in ``html_report``)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pandas as pd

from humangap import __version__, metrics
from humangap.counts import UNNAMED_MODEL, LabelCounts

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
]


def build_report(
    counts: LabelCounts,
    classes: list[str],
    run: dict[str, Any],
    inputs: dict[str, Any],
    validation: dict[str, Any],
) -> dict[str, Any]:
    """Return the report as a JSON-ready dict (the public contract in docs/report.md)."""
    models = []
    for version in counts.model_versions():
        rows = metrics.class_rows(counts, version, classes)
        for row in rows:
            row["note"] = metrics.describe(row)
        models.append(
            {
                "model_version": None if version == UNNAMED_MODEL else version,
                "summary": metrics.summarize(rows),
                "classes": rows,
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"humangap {__version__}",
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "run": run,
        "classes": classes,
        "inputs": inputs,
        "validation": validation,
        "ranking_rule": (
            "Classes where humans beat the model come first, largest gap first; then "
            "classes where the model is at or past human level, lowest model accuracy "
            "first. Classes without gold items or human labels are not ranked."
        ),
        "models": models,
        "status": "ok" if models else "no_data",
    }


def model_label(version: str | None) -> str:
    """Return how a model version is shown to people."""
    return "(unnamed model)" if version is None else version


def per_class_frame(report: dict[str, Any]) -> pd.DataFrame:
    """Return one row per model version and class, in rank order."""
    rows = [
        {"model_version": model["model_version"], **row}
        for model in report["models"]
        for row in model["classes"]
    ]
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


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
        lines.append(f"{'rank':>4}  {'class':<16} {'support':>7}  {'model':>5}  {'human':>5}  {'gap':>6}")
        for row in model["classes"]:
            rank_text = "-" if row["priority_rank"] is None else str(row["priority_rank"])
            lines.append(
                f"{rank_text:>4}  {row['class'][:16]:<16} {row['support']:>7}  "
                f"{_plain(row['model_accuracy'], 5)}  {_plain(row['human_accuracy'], 5)}  "
                f"{_plain(row['gap'], 6)}"
            )
        lines.append("")
    if not report["models"]:
        lines.append("No predictions in this window: nothing to report.")
    return "\n".join(lines).rstrip("\n")


def _plain(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"
