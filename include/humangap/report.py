"""Build ``report.json`` from counts and render it as CSV and HTML."""

from __future__ import annotations

import datetime as dt
import html
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
    data_quality: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the report as a JSON-ready dict (the public contract in docs/report.md).

    ``data_quality`` contains the counts of repairs and excluded rows made while reading.
    """
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
        "data_quality": data_quality or {},
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


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def render_html(report: dict[str, Any]) -> bytes:
    """Return ``report.html``: a plain table per model version, every string escaped."""
    run = report["run"]
    window = run["window"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>humangap report</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #999;padding:4px 8px;text-align:right}"
        "td.text,th.text{text-align:left}</style>",
        "</head><body>",
        f"<h1>Human gap report, {html.escape(window['first_date'])} to "
        f"{html.escape(window['last_date'])}</h1>",
        f"<p>DAG {html.escape(str(run.get('dag_id')))}, run {html.escape(str(run.get('run_id')))}. "
        f"{html.escape(report['ranking_rule'])}</p>",
    ]
    if not report["models"]:
        parts.append("<p>No predictions in this window: nothing to report.</p>")
    for model in report["models"]:
        parts.append(f"<h2>{html.escape(model_label(model['model_version']))}</h2>")
        parts.append(f"<p>{html.escape(model['summary'])}</p>")
        parts.append(
            "<table><tr><th>rank</th><th class=text>class</th><th>support</th>"
            "<th>model accuracy</th><th>human accuracy</th><th>gap</th>"
            "<th class=text>assessment</th></tr>"
        )
        for row in model["classes"]:
            parts.append(
                f"<tr><td>{_cell(row['priority_rank'])}</td><td class=text>{_cell(row['class'])}</td>"
                f"<td>{_cell(row['support'])}</td><td>{_cell(row['model_accuracy'])}</td>"
                f"<td>{_cell(row['human_accuracy'])}</td><td>{_cell(row['gap'])}</td>"
                f"<td class=text>{_cell(row['note'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts).encode()


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
