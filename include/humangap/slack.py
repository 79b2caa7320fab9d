"""The Slack summary of a report, and its delivery to an incoming webhook.

``build_message`` returns a webhook payload: Block Kit ``blocks`` and a one-paragraph
``text`` fallback with the same content. Per model version it lists the window and the
top three priorities with gap, interval and status in words. It also counts the classes
at or past human level and lists the regressions since the last report. The input
warnings and a link to the full report come last. The payload stays within Slack's limits (50 blocks,
3,000 characters a section, 150 a header) by summarising, so a report with many
model versions or long class names still posts and links to the full report.

``post_message`` sends a payload through any ``send`` callable (for example the
Slack provider hook's client), waiting as a 429 response's ``Retry-After`` header requests.
``deliver_once`` writes a marker object under the output prefix so that a retried
task does not post the same report twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, Callable

from humangap.config import join_key
from humangap.html_report import (
    at_or_past_human,
    model_label,
    points,
    points_interval,
    regressions,
    status_words,
    validation_warnings,
    window_text,
)
from humangap.storage import ObjectStore

log = logging.getLogger(__name__)

TOP = 3
# Slack's documented limits for messages (api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_URL = 3000
# Slack truncates a message's ``text`` after 40,000 characters and advises 4,000;
# the fallback keeps to one section's size so it reads as one paragraph.
MAX_FALLBACK_TEXT = 3000
MAX_CLASS_NAME = 60
MAX_LISTED = 5
# Blocks after the per-model ones: a divider, warnings, the link and a summary line.
FOOTER_BLOCKS = 4
BLOCKS_PER_MODEL = 3
# Markers live outside the report folders, which a rerun replaces whole.
MARKER_FOLDER = "_slack_posted"


class SlackDeliveryError(RuntimeError):
    """Raised when the webhook does not accept a message."""


def escape(text: Any) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to.

    Escaped, ``<!channel>`` is shown as written and notifies no one.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(row: dict[str, Any]) -> str:
    return escape(shorten(str(row.get("class")), MAX_CLASS_NAME))


def priority_text(row: dict[str, Any]) -> str:
    """Return one priority in words: class, gap with its interval, status."""
    gap = row.get("gap")
    text = f"{_name(row)}: gap {points(gap)} points"
    bounds = points_interval(row.get("gap_ci"))
    if bounds:
        text += f" {bounds}"
    text += f", {status_words(row)}"
    if at_or_past_human(row) and row.get("model_accuracy") is not None:
        text += f" (model accuracy {row['model_accuracy']:.2f})"
    return text


def _ranked(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in model.get("classes", []) if row.get("priority_rank") is not None]


def level_text(model: dict[str, Any]) -> str:
    """Return how many measured classes are at or past human level."""
    rows = model.get("classes", [])
    measured = sum(row.get("gap") is not None for row in rows)
    at_level = sum(at_or_past_human(row) for row in rows)
    return f"{at_level} of {measured} measured classes at or past human level"


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    if len(names) > MAX_LISTED:
        shown += f" and {len(names) - MAX_LISTED} more"
    return shown


def regression_text(model: dict[str, Any], report: dict[str, Any]) -> str | None:
    """Return the regressions since the last report, or ``None`` without trend data."""
    has_trend = any("trend" in row for row in model.get("classes", []))
    if not has_trend and "previous_report_key" not in report:
        return None
    if not any(row.get("trend") for row in model.get("classes", [])):
        return "no earlier report to compare with"
    found = regressions(model)
    if not found:
        return "no regressions since the last report"
    names = [
        f"{_name(row)} ({points((row.get('trend') or {}).get('gap_change'))} points)"
        for row in found
    ]
    return f"regressions since the last report: {_listed(names)}"


def _model_lines(model: dict[str, Any]) -> list[str]:
    ranked = _ranked(model)[:TOP]
    if not ranked:
        return ["no class could be measured"]
    return [f"{row['priority_rank']}. {priority_text(row)}" for row in ranked]


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim keeps Slack from turning bare #names and URLs in the data into links.
    return {"type": "mrkdwn", "text": shorten(text, MAX_SECTION_TEXT), "verbatim": True}


def _header(text: str) -> dict[str, Any]:
    # Plain text: Slack shows it as written and never parses it for mentions.
    plain = {"type": "plain_text", "text": shorten(text, MAX_HEADER_TEXT)}
    return {"type": "header", "text": plain}


def _model_blocks(model: dict[str, Any], report: dict[str, Any]) -> list[dict[str, Any]]:
    header = f"{model_label(model.get('model_version'))}: {window_text(report)}"
    facts = [level_text(model)]
    regression = regression_text(model, report)
    if regression:
        facts.append(regression)
    return [
        _header(header),
        {"type": "section", "text": _mrkdwn("*Top priorities*\n" + "\n".join(_model_lines(model)))},
        {"type": "context", "elements": [_mrkdwn("; ".join(facts))]},
    ]


def _link_blocks(report_url: str) -> list[dict[str, Any]]:
    if report_url.startswith(("https://", "http://")) and len(report_url) <= MAX_BUTTON_URL:
        return [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the full report"},
                        "url": report_url,
                    }
                ],
            }
        ]
    # Slack accepts only web links in buttons; show other URLs (s3://, file://) as text.
    return [{"type": "section", "text": _mrkdwn(f"Full report: `{escape(report_url)}`")}]


def _fallback(report: dict[str, Any], report_url: str, models: list[dict[str, Any]]) -> str:
    sentences = [f"humangap, {window_text(report)}:"]
    for model in models:
        top = "; ".join(priority_text(row) for row in _ranked(model)[:TOP])
        text = f"model {escape(model_label(model.get('model_version')))}"
        text += f" top priorities {top}" if top else " no class could be measured"
        text += f"; {level_text(model)}"
        regression = regression_text(model, report)
        if regression:
            text += f"; {regression}"
        sentences.append(text + ".")
    warnings = validation_warnings(report)
    if warnings:
        sentences.append(f"Input warnings: {escape(_listed(warnings))}.")
    link = f"Full report: {report_url}"
    body = " ".join(sentences)
    if len(body) + len(link) + 1 > MAX_FALLBACK_TEXT:
        body = shorten(body, MAX_FALLBACK_TEXT - len(link) - 40) + " (see the full report)"
    return f"{body} {link}"


def build_message(report: dict[str, Any], report_url: str) -> dict[str, Any]:
    """Return a webhook payload with ``text`` and Block Kit ``blocks``."""
    models = report.get("models") or []
    if not models:
        text = (
            f"humangap, {window_text(report)}: no predictions in this window, nothing to "
            f"report. Full report: {report_url}"
        )
        blocks = [
            _header(f"humangap: {window_text(report)}"),
            {
                "type": "section",
                "text": _mrkdwn("No predictions in this window: nothing to report."),
            },
            *_link_blocks(report_url),
        ]
        return {"text": text, "blocks": blocks}

    room = (MAX_BLOCKS - FOOTER_BLOCKS) // BLOCKS_PER_MODEL
    shown = models[:room]
    blocks: list[dict[str, Any]] = []
    for model in shown:
        blocks.extend(_model_blocks(model, report))
    blocks.append({"type": "divider"})

    hidden = models[room:]
    if hidden:
        names = [escape(model_label(model.get("model_version"))) for model in hidden]
        blocks.append(
            {
                "type": "section",
                "text": _mrkdwn(
                    f"{len(hidden)} more model version(s) are in the full report: {_listed(names)}"
                ),
            }
        )

    warnings = validation_warnings(report)
    if warnings:
        lines = [f"• {escape(text)}" for text in warnings[:MAX_LISTED]]
        if len(warnings) > MAX_LISTED:
            lines.append(f"and {len(warnings) - MAX_LISTED} more in the full report")
        blocks.append({"type": "section", "text": _mrkdwn("*Input warnings*\n" + "\n".join(lines))})
    blocks.extend(_link_blocks(report_url))
    return {"text": _fallback(report, report_url, models), "blocks": blocks}


def report_link(store: ObjectStore, html_key: str, link: dict[str, Any] | None) -> str:
    """Return the URL the message links to.

    ``link`` contains ``base_url`` and ``presigned_url_seconds``, both optional. A base
    URL wins: the link is the base URL followed by the report's folder name, such as
    ``https://airflow.example.com/humangap/reports/dt=2026-11-05``. Otherwise, when
    ``presigned_url_seconds`` is set and the store can sign, the link is a presigned
    URL valid that long. Otherwise it is the store's URL of the key (``s3://...``).
    """
    link = link or {}
    base_url = link.get("base_url")
    if base_url:
        folder = html_key.rstrip("/").rsplit("/", 2)[-2] if "/" in html_key else ""
        return f"{base_url.rstrip('/')}/{folder}"
    seconds = link.get("presigned_url_seconds")
    if seconds and hasattr(store, "presigned_url"):
        return store.presigned_url(html_key, int(seconds))
    return store.url(html_key)


def _retry_after(headers: Any) -> float | None:
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, (list, tuple)) else value
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def post_message(
    message: dict[str, Any],
    send: Callable[[dict[str, Any]], Any],
    *,
    max_attempts: int = 5,
    max_wait: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Send ``message`` with ``send``, waiting and retrying while the webhook returns 429.

    ``send`` returns a response with ``status_code``, ``headers`` and ``body``, as
    ``slack_sdk.WebhookClient.send_dict`` does. A 429 response is retried after its
    ``Retry-After`` seconds (1 when absent), up to ``max_attempts`` posts and
    ``max_wait`` seconds of waiting in all. Any other status than 200 raises
    ``SlackDeliveryError`` at once: Slack may have shown a message that failed
    with a server error, and a blind retry could post it twice.
    """
    waited = 0.0
    for attempt in range(1, max_attempts + 1):
        response = send(message)
        status = response.status_code
        if status == 200:
            log.info("Slack accepted the message on attempt %d", attempt)
            return response
        if status != 429:
            raise SlackDeliveryError(
                f"the Slack webhook returned HTTP {status} ({response.body!r}) on attempt "
                f"{attempt}; check the webhook URL in the Slack connection and Slack's status"
            )
        delay = _retry_after(response.headers)
        delay = 1.0 if delay is None else delay
        if attempt == max_attempts or waited + delay > max_wait:
            break
        log.warning(
            "Slack rate-limited the post (429) on attempt %d; retrying in %.0f s", attempt, delay
        )
        sleep(delay)
        waited += delay
    raise SlackDeliveryError(
        f"the Slack webhook still returned HTTP 429 after {attempt} attempt(s) and "
        f"{waited:.0f} s of waiting; the report is published, retry the task later"
    )


def _fingerprint(published: dict[str, Any]) -> str:
    payload = json.dumps(
        [published.get("report_key"), published.get("generated_at"), published["slack_message"]],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def deliver_once(
    published: dict[str, Any],
    send: Callable[[dict[str, Any]], Any],
    store: ObjectStore,
    **options: Any,
) -> bool:
    """Post a published report's message unless this exact publication was posted.

    ``published`` is what ``pipeline.publish`` returns. After Slack accepts the
    message, a marker is written: ``published["slack_marker_key"]`` (one per Airflow
    run) when present, else ``_slack_posted/<folder name>.json`` under the output prefix.
    A retry that finds a run's marker posts nothing. Without a run marker, a rerun that
    publishes the report again has a new ``generated_at`` and posts. Returns whether it
    posted.
    ``options`` go to ``post_message``.
    """
    folder = published["report_key"].rsplit("/", 1)[0]
    parent, _, name = folder.rpartition("/")
    # The pipeline names one marker per Airflow run; without one, per folder.
    per_run = published.get("slack_marker_key")
    marker_key = per_run or join_key(parent, MARKER_FOLDER, name + ".json")
    fingerprint = _fingerprint(published)
    if marker_key in store.list_keys(marker_key):
        try:
            marker = json.loads(store.read_bytes(marker_key))
        except ValueError:
            marker = {}
        if per_run or marker.get("fingerprint") == fingerprint:
            log.info("The message of %s was posted already (%s); not posting it again",
                     published["report_key"], marker.get("posted_at"))
            return False
    post_message(published["slack_message"], send, **options)
    marker = {
        "fingerprint": fingerprint,
        "report_key": published["report_key"],
        "posted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    store.write_bytes(marker_key, json.dumps(marker).encode(), "application/json")
    return True
