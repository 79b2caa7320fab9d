"""Render ``report.html``: one self-contained page with charts, tables and summaries.

The page fetches nothing: the charts are SVG drawn by matplotlib and embedded as
``data:`` URIs, and the styles are inline, so it opens from S3, from a download
or in a browser without network. Every string that comes from the data (class
names, model versions, annotator ids, keys) is HTML-escaped.

Fields added to ``report.json`` after the first version (intervals, ``status``,
``trend``, ``confusions``, ``annotators``) are read with ``dict.get``, and the page
states what is missing when a report does not have them.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from typing import Any

from humangap.metrics import STATUS_WORDS
from humangap.config import join_key
from humangap.storage import ObjectStore
from humangap.viewer import FOLDER_PATTERN, folder_end

log = logging.getLogger(__name__)

# Words for reports without ``status``, derived from the older ``assessment`` field.
ASSESSMENT_WORDS = {
    "humans_ahead": "behind human",
    "model_at_or_past_human_level": "at or past human level",
    "not_measured": "not measured",
}
# Classes drawn in the trend chart, in priority order; the table lists all of them.
TREND_CLASSES = 10
HISTORY_LIMIT = 10

MODEL_COLOR = "#1f77b4"
HUMAN_COLOR = "#d62728"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa;line-height:1.4}
main{max-width:1180px;margin:0 auto;padding:1.2em 1.5em}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.3em;margin:1.4em 0 .4em;border-bottom:2px solid #ddd}
h3{font-size:1.05em;margin:1em 0 .3em}
section.model{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.4em 1.2em 1em;
margin:1.2em 0}
.charts{display:flex;flex-wrap:wrap;gap:1em}.charts figure{margin:0;flex:1 1 480px}
.charts img{max-width:100%;height:auto}figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.9em;margin:.4em 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f0f0f0}td.text,th.text{text-align:left}
.status{font-weight:600;white-space:nowrap}
.behind_human,.humans_ahead{color:#b00020}
.at_human_level,.model_at_or_past_human_level{color:#1b5e20}
.ahead_of_human{color:#0d47a1}.insufficient_data,.not_measured{color:#666}
.regression{color:#b00020;font-weight:600}
.note{color:#555;font-size:.9em}dl.facts{display:grid;grid-template-columns:max-content 1fr;
gap:.2em 1em;margin:.4em 0}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
@media print{body{background:#fff}main{max-width:none;padding:0}
section.model{border:none;padding:0;break-inside:auto}figure,tr{break-inside:avoid}
h2{break-after:avoid}}
"""


def esc(value: Any) -> str:
    """Return ``value`` as text with ``&``, ``<``, ``>`` and quotes escaped for HTML."""
    return html.escape(str(value), quote=True)


def model_label(version: str | None) -> str:
    """Return how a model version is shown to people."""
    return "(unnamed model)" if version is None else version


def status_key(row: dict[str, Any]) -> str:
    """Return the row's ``status``, or its ``assessment`` in reports without one."""
    return row.get("status") or row.get("assessment") or "not_measured"


def status_words(row: dict[str, Any]) -> str:
    """Return the status of a class in the words shown to people."""
    key = status_key(row)
    return STATUS_WORDS.get(key) or ASSESSMENT_WORDS.get(key) or key.replace("_", " ")


def at_or_past_human(row: dict[str, Any]) -> bool:
    """Return whether a class is at or past human level, by status or assessment."""
    if row.get("status"):
        return row["status"] in ("at_human_level", "ahead_of_human")
    return row.get("assessment") == "model_at_or_past_human_level"


def fraction(value: float | None, digits: int = 3) -> str:
    """Format a rate, or an en dash when it is not measured."""
    return "–" if value is None else f"{value:.{digits}f}"


def _has_pair(bounds: Any) -> bool:
    return bool(bounds) and len(bounds) == 2 and None not in bounds


def interval(bounds: Any, digits: int = 3) -> str:
    """Format an interval of fractions to ``digits`` decimals, or "" when there is none."""
    if not bounds or len(bounds) != 2 or None in bounds:
        return ""
    return f"[{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def points(value: float | None) -> str:
    """Format a gap or change, a fraction, as signed percentage points."""
    return "–" if value is None else f"{value * 100:+.1f}"


def points_interval(bounds: Any) -> str:
    """Format an interval of fractions as signed percentage points, or "" when there is none."""
    if not _has_pair(bounds):
        return ""
    return f"[{bounds[0] * 100:+.1f}, {bounds[1] * 100:+.1f}]"


def window_text(report: dict[str, Any]) -> str:
    window = report.get("run", {}).get("window") or {}
    first, last = window.get("first_date", "?"), window.get("last_date", "?")
    return first if first == last else f"{first} to {last}"


def regressions(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the classes of a model version whose trend is flagged as a regression."""
    return [row for row in model.get("classes", []) if (row.get("trend") or {}).get("regression")]


# Charts ------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Deterministic SVG ids and no font files: text becomes paths.
    plt.rcParams.update({"svg.hashsalt": "humangap", "svg.fonttype": "path", "font.size": 9})
    return plt


def _label(text: str, width: int = 28) -> str:
    # matplotlib reads text between dollar signs as mathtext; escaped, it is drawn as written.
    shown = text if len(text) <= width else text[: width - 1] + "…"
    return shown.replace("$", r"\$")


def _svg_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _error(value: float, bounds: Any) -> tuple[float, float] | None:
    if not bounds or len(bounds) != 2 or None in bounds:
        return None
    return max(value - bounds[0], 0.0), max(bounds[1] - value, 0.0)


def accuracy_chart(model: dict[str, Any]) -> str | None:
    """Draw model and human accuracy per class with intervals; return a data URI.

    Classes run top to bottom in priority order. A line joins the two points of a
    class, red where humans are ahead, green where the model is at or past them.
    Returns ``None`` when no class has both accuracies.
    """
    rows = [
        row
        for row in model.get("classes", [])
        if row.get("model_accuracy") is not None and row.get("human_accuracy") is not None
    ]
    if not rows:
        return None
    plt = _pyplot()
    height = 1.2 + 0.32 * len(rows)
    figure, axes = plt.subplots(figsize=(7.2, height))
    positions = list(range(len(rows)))[::-1]
    for position, row in zip(positions, rows):
        color = "#2e7d32" if at_or_past_human(row) else "#c62828"
        axes.plot(
            [row["model_accuracy"], row["human_accuracy"]], [position, position],
            color=color, linewidth=3, alpha=0.45, zorder=1,
        )
    for key, color, marker, name in (
        ("model_accuracy", MODEL_COLOR, "o", "model"),
        ("human_accuracy", HUMAN_COLOR, "D", "humans"),
    ):
        values = [row[key] for row in rows]
        errors = [_error(row[key], row.get(f"{key}_ci")) for row in rows]
        has_errors = all(error is not None for error in errors)
        xerr = [[e[0] for e in errors], [e[1] for e in errors]] if has_errors else None
        axes.errorbar(
            values, positions, xerr=xerr, fmt=marker, color=color, ecolor=color,
            elinewidth=1.2, capsize=3, markersize=5, label=name, zorder=2,
        )
    # The gap in points beside each class, so the number needs no reading off the axis.
    edge = axes.get_yaxis_transform()
    axes.text(1.02, len(rows) - 0.4, "gap", transform=edge, ha="left", fontweight="bold")
    for position, row in zip(positions, rows):
        color = "#2e7d32" if at_or_past_human(row) else "#c62828"
        axes.text(1.02, position, points(row["gap"]), transform=edge, ha="left", va="center",
                  color=color)
    axes.set_yticks(positions)
    axes.set_yticklabels([_label(row["class"]) for row in rows])
    lowest = min(min(row["model_accuracy"], row["human_accuracy"]) for row in rows)
    axes.set_xlim(max(0.0, lowest - 0.08), 1.0)
    axes.set_xlabel("accuracy on gold labels")
    axes.grid(axis="x", color="#ddd")
    axes.set_axisbelow(True)
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    uri = _svg_uri(figure)
    plt.close(figure)
    return uri


def _model_in(report: dict[str, Any], version: str | None) -> dict[str, Any] | None:
    for model in report.get("models", []):
        if model.get("model_version") == version:
            return model
    return None


def trend_series(
    model: dict[str, Any], report: dict[str, Any], history: list[dict[str, Any]]
) -> tuple[list[str], dict[str, list[float | None]]]:
    """Return the window end dates and, per class, the gap in each report.

    Reports run oldest first and end with ``report``. Only the first
    ``TREND_CLASSES`` measured classes of ``model`` are kept, in priority order.
    """
    reports = [*history, report]
    dates = [(item.get("run", {}).get("window") or {}).get("last_date", "?") for item in reports]
    names = [row["class"] for row in model.get("classes", []) if row.get("gap") is not None]
    series: dict[str, list[float | None]] = {}
    for name in names[:TREND_CLASSES]:
        values = []
        for item in reports:
            earlier = _model_in(item, model.get("model_version"))
            row = next(
                (r for r in (earlier or {}).get("classes", []) if r.get("class") == name), None
            )
            values.append(None if row is None else row.get("gap"))
        series[name] = values
    return dates, series


def trend_chart(
    model: dict[str, Any], report: dict[str, Any], history: list[dict[str, Any]]
) -> str | None:
    """Draw each class's gap over the recent reports; return a data URI.

    Returns ``None`` when there is no earlier report of this model version.
    """
    if not any(_model_in(item, model.get("model_version")) for item in history):
        return None
    dates, series = trend_series(model, report, history)
    if not series:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.2, 3.6))
    steps = list(range(len(dates)))
    for name, values in series.items():
        shown = [(step, value * 100) for step, value in zip(steps, values) if value is not None]
        if shown:
            axes.plot(
                [s for s, _ in shown], [v for _, v in shown], marker="o", markersize=3,
                linewidth=1.4, label=_label(name, 20),
            )
    axes.axhline(0, color="#444", linewidth=0.8)
    axes.set_xticks(steps)
    axes.set_xticklabels(dates, rotation=30, ha="right")
    axes.set_ylabel("gap, points (humans minus model)")
    axes.grid(axis="y", color="#ddd")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    uri = _svg_uri(figure)
    plt.close(figure)
    return uri


# Page sections -------------------------------------------------------------------------


def _figure(uri: str | None, alt: str, caption: str, missing: str) -> str:
    if uri is None:
        return f'<figure><p class="note">{esc(missing)}</p></figure>'
    return (
        f'<figure><img class="chart" src="{uri}" alt="{esc(alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _with_interval(value: float | None, bounds: Any) -> str:
    text = fraction(value)
    extra = interval(bounds)
    return f'{text}<br><span class="note">{extra}</span>' if extra else text


def _gap_cell(row: dict[str, Any]) -> str:
    text = points(row.get("gap"))
    extra = points_interval(row.get("gap_ci"))
    return f'{text}<br><span class="note">{extra}</span>' if extra else text


def _trend_cell(row: dict[str, Any]) -> str:
    trend = row.get("trend")
    if not trend:
        return "–"
    text = points(trend.get("gap_change"))
    extra = points_interval(trend.get("gap_change_ci"))
    if extra:
        text += f'<br><span class="note">{extra}</span>'
    if trend.get("regression"):
        text += '<br><span class="regression">regression</span>'
    return text


def _confusion_text(items: Any) -> str:
    if not items:
        return ""
    return ", ".join(
        f"{esc(item.get('label'))} {fraction(item.get('rate'), 2)}" for item in items[:3]
    )


def class_table(model: dict[str, Any]) -> str:
    """Return the per-class table of a model version, statuses in words."""
    rows = model.get("classes", [])
    has_confusions = any(row.get("confusions") for row in rows)
    has_trend = any("trend" in row for row in rows)
    head = [
        "<th>rank</th>", '<th class="text">class</th>', '<th class="text">status</th>',
        "<th>support</th>", "<th>model accuracy</th>", "<th>human accuracy</th>",
        "<th>gap, points</th>",
    ]
    if has_trend:
        head.append("<th>gap change since last report, points</th>")
    if has_confusions:
        head.append('<th class="text">most confused with: model / humans</th>')
    head.append('<th class="text">note</th>')

    lines = ["<table class=\"classes\"><thead><tr>", *head, "</tr></thead><tbody>"]
    for row in rows:
        rank = row.get("priority_rank")
        key = status_key(row)
        cells = [
            f"<td>{'–' if rank is None else rank}</td>",
            f'<td class="text">{esc(row.get("class"))}</td>',
            f'<td class="text status {esc(key)}">{esc(status_words(row))}</td>',
            f"<td>{row.get('support', '–')}</td>",
            f"<td>{_with_interval(row.get('model_accuracy'), row.get('model_accuracy_ci'))}</td>",
            f"<td>{_with_interval(row.get('human_accuracy'), row.get('human_accuracy_ci'))}</td>",
            f"<td>{_gap_cell(row)}</td>",
        ]

        if has_trend:
            cells.append(f"<td>{_trend_cell(row)}</td>")
        if has_confusions:
            confusions = row.get("confusions") or {}
            text = f"{_confusion_text(confusions.get('model'))} / "
            text += _confusion_text(confusions.get("human"))
            far_more = confusions.get("model_far_more") or []
            if far_more:
                text += (
                    '<br><span class="regression">model far more than humans: '
                    f"{esc(', '.join(str(label) for label in far_more))}</span>"
                )
            cells.append(f'<td class="text">{text}</td>')
        note = row.get("note") or row.get("reason") or ""
        cells.append(f'<td class="text note">{esc(note)}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def model_section(
    model: dict[str, Any], report: dict[str, Any], history: list[dict[str, Any]]
) -> str:
    """Return the section of one model version: headline, charts and table."""
    name = model_label(model.get("model_version"))
    rows = model.get("classes", [])
    measured = [row for row in rows if row.get("gap") is not None]
    at_level = sum(at_or_past_human(row) for row in rows)
    parts = [f'<section class="model"><h2>Model {esc(name)}</h2>']
    parts.append(f"<p>{esc(model.get('summary', ''))}</p>")

    facts = [
        f"{at_level} of {len(measured)} measured classes at or past human level",
    ]
    baseline = model.get("baseline")
    if baseline:
        facts.append(f"human baseline: {baseline.replace('_', ' ')}")
    method = model.get("gap_interval")
    if method:
        facts.append(
            f"gap intervals: {int(method.get('level', 0.95) * 100)}% {method.get('method', '')}, "
            f"{method.get('resamples', '?')} resamples"
        )
    found = regressions(model)
    if found:
        facts.append("regressions since the last report: " + ", ".join(r["class"] for r in found))
    parts.append('<p class="note">' + esc("; ".join(facts)) + ".</p>")

    has_intervals = any(_has_pair(row.get("model_accuracy_ci")) for row in rows)
    caption = "Model and human accuracy per class, highest priority at the top"
    caption += "; bars are 95% intervals." if has_intervals else "; this report has no intervals."
    parts.append('<div class="charts">')
    parts.append(
        _figure(
            accuracy_chart(model), f"Accuracy per class for model {name}", caption,
            "No class has both a model and a human accuracy: nothing to draw.",
        )
    )
    parts.append(
        _figure(
            trend_chart(model, report, history), f"Gap per class over recent reports for {name}",
            f"Gap per class over the recent reports (the first {TREND_CLASSES} classes by "
            "priority).",
            "No earlier report of this model version under the same output prefix: no trend yet.",
        )
    )
    parts.append("</div>")
    parts.append(class_table(model))
    parts.append("</section>")
    return "".join(parts)


def _facts(items: list[tuple[str, Any]]) -> str:
    body = "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in items)
    return f'<dl class="facts">{body}</dl>'


def inputs_section(report: dict[str, Any]) -> str:
    """Return the validation and input summary."""
    validation = report.get("validation") or {}
    inputs = report.get("inputs") or {}
    label_window = inputs.get("label_window") or {}
    items: list[tuple[str, Any]] = [
        (
            "validation",
            f"{'passed' if validation.get('success') else 'failed'}: "
            f"{validation.get('evaluated_expectations', '?')} expectations, "
            f"{validation.get('failed_expectations', '?')} failed",
        ),
        ("full validation result", validation.get("result_key", "–")),
    ]

    for source in ("predictions", "gold", "annotations"):
        entry = inputs.get(source) or {}
        items.append(
            (source, f"{entry.get('rows', '?'):,} rows from {len(entry.get('keys', []))} file(s)"
             if isinstance(entry.get("rows"), int) else "–")
        )
    if label_window:
        items.append(
            ("label window", f"{label_window.get('first_date')} to {label_window.get('last_date')}")
        )
    for name in ("predictions_without_gold", "annotations_without_gold"):
        if name in inputs:
            items.append((name.replace("_", " "), f"{inputs[name]:,} rows (not scored)"))

    warnings = validation_warnings(report)
    parts = ["<h2>Inputs and validation</h2>", _facts(items)]
    if warnings:
        parts.append("<h3>Warnings</h3><ul>")
        parts.extend(f"<li>{esc(text)}</li>" for text in warnings)
        parts.append("</ul>")
    return "".join(parts)


def validation_warnings(report: dict[str, Any]) -> list[str]:
    """Return the warnings about the inputs that a reader should see."""
    inputs = report.get("inputs") or {}
    validation = report.get("validation") or {}
    warnings = [str(text) for text in validation.get("warnings") or []]
    skipped = inputs.get("skipped_keys") or []
    if skipped:
        warnings.append(f"{len(skipped)} file(s) skipped for their type, such as {skipped[0]}")
    if inputs.get("predictions_without_gold"):
        warnings.append(
            f"{inputs['predictions_without_gold']:,} prediction rows have no gold label and "
            "are not scored"
        )
    if inputs.get("annotations_without_gold"):
        warnings.append(
            f"{inputs['annotations_without_gold']:,} annotation rows have no gold label and "
            "are not counted"
        )
    return warnings


def annotators_section(report: dict[str, Any]) -> str:
    """Return the annotator summary, or a note that the report has none."""
    annotators = report.get("annotators")
    parts = ["<h2>Annotators</h2>"]
    if not annotators:
        parts.append('<p class="note">This report has no annotator statistics.</p>')
        return "".join(parts)
    if not annotators.get("available", True):
        reason = annotators.get("reason") or "not available"
        parts.append(f'<p class="note">Annotator statistics: {esc(reason)}</p>')
        return "".join(parts)

    alpha = annotators.get("alpha")
    items = [
        ("annotators", annotators.get("count", "–")),
        ("Krippendorff's alpha", "–" if alpha is None else f"{alpha:.3f}"),
        ("items with two or more labels", annotators.get("items_with_two_or_more_labels", "–")),
        (
            "outliers excluded from the baseline",
            "yes" if annotators.get("excluded_outliers") else "no",
        ),
    ]
    parts.append(_facts(items))

    outliers = annotators.get("outliers") or []
    if outliers:
        parts.append(
            "<h3>Outlier annotators</h3><table><thead><tr><th class=\"text\">annotator</th>"
            "<th>labels</th><th>accuracy</th><th>p-value</th></tr></thead><tbody>"
        )
        for item in outliers:
            p_value = item.get("p_value")
            parts.append(
                f'<tr><td class="text">{esc(item.get("annotator_id"))}</td>'
                f"<td>{esc(item.get('labels', '–'))}</td>"
                f"<td>{_with_interval(item.get('accuracy'), item.get('accuracy_ci'))}</td>"
                f"<td>{'–' if p_value is None else f'{p_value:.2g}'}</td></tr>"
            )
        parts.append("</tbody></table>")

    per_class = annotators.get("alpha_per_class") or {}
    if per_class:
        cells = "".join(
            f'<tr><td class="text">{esc(name)}</td><td>{fraction(value)}</td></tr>'
            for name, value in per_class.items()
        )
        parts.append(
            "<h3>Agreement per class</h3><table><thead><tr><th class=\"text\">class</th>"
            f"<th>alpha</th></tr></thead><tbody>{cells}</tbody></table>"
        )
    return "".join(parts)


def render_html(report: dict[str, Any], history: list[dict[str, Any]] | None = None) -> bytes:
    """Return ``report.html`` for ``report``.

    Parameters
    ----------
    report:
        The ``report.json`` document.
    history:
        Earlier reports of the same output prefix, oldest first, for the trend
        chart; ``None`` or empty draws no trend.
    """
    history = history or []
    run = report.get("run") or {}
    title = f"Human gap report, {window_text(report)}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No request may leave the page: not even a favicon.
        '<link rel="icon" href="data:,">',
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">{esc(report.get("generator", "humangap"))}, generated '
        f"{esc(report.get('generated_at', '?'))}; DAG {esc(run.get('dag_id') or '–')}, "
        f"run {esc(run.get('run_id') or '–')}.</p>",
        f"<p>{esc(report.get('ranking_rule', ''))}</p>",
    ]
    models = report.get("models") or []
    if not models:
        parts.append("<p>No predictions in this window: nothing to report.</p>")
    for model in models:
        parts.append(model_section(model, report, history))
    parts.append(inputs_section(report))
    parts.append(annotators_section(report))
    parts.append("</main></body></html>")
    return "\n".join(parts).encode()


def load_history(
    store: ObjectStore, output_folder: str, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    """Read the latest earlier reports beside ``output_folder``, oldest first.

    Earlier means a ``report.json`` in another folder of the same output prefix
    whose window ends before the window of ``output_folder``'s report would, going
    by the folder name. Unreadable reports are logged and skipped.
    """
    parent, _, current = output_folder.rstrip("/").rpartition("/")
    current_end = folder_end(current) if FOLDER_PATTERN.fullmatch(current) else None
    prefix = join_key(parent) + "/" if parent else ""
    candidates = []
    for key in store.list_keys(prefix):
        parts = key[len(prefix):].split("/")
        if len(parts) != 2 or parts[1] != "report.json" or parts[0] == current:
            continue
        if not FOLDER_PATTERN.fullmatch(parts[0]):
            continue
        end = folder_end(parts[0])
        if current_end is not None and end >= current_end:
            continue
        candidates.append((end, parts[0], key))
    history = []
    for _, _, key in sorted(candidates)[-limit:]:
        try:
            history.append(json.loads(store.read_bytes(key)))
        except (ValueError, OSError) as error:
            log.warning("Skipping earlier report %s for the trend chart: %s", key, error)
    return history
