"""The Slack summary of a report: per model version, the top three priorities."""

from __future__ import annotations

from typing import Any

from humangap.metrics import STATUS_WORDS
from humangap.report import model_label

TOP = 3


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _priority_line(row: dict[str, Any]) -> str:
    gap = row["gap"]
    words = STATUS_WORDS.get(row.get("status"), "")
    if row["assessment"] == "humans_ahead":
        return f"{row['priority_rank']}. {escape(row['class'])}: gap {gap * 100:+.1f} points ({words})"
    return (
        f"{row['priority_rank']}. {escape(row['class'])}: gap {gap * 100:+.1f} points "
        f"({words}, model accuracy {row['model_accuracy']:.2f})"
    )


def build_message(report: dict[str, Any], report_url: str) -> dict[str, Any]:
    """Return a webhook payload with ``text`` and Block Kit ``blocks``."""
    window = report["run"]["window"]
    title = f"humangap: {window['first_date']} to {window['last_date']}"
    if not report["models"]:
        text = f"{title}: no predictions in this window, nothing to report. Report: {report_url}"
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
    ]
    paragraphs = []
    for model in report["models"]:
        ranked = [row for row in model["classes"] if row["priority_rank"] is not None][:TOP]
        lines = [f"*{escape(model_label(model['model_version']))}*: {escape(model['summary'])}"]
        lines += [_priority_line(row) for row in ranked] or ["no class could be measured"]
        body = "\n".join(lines)
        paragraphs.append(body)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Report: {report_url}"}]})
    text = f"{title}\n" + "\n".join(paragraphs) + f"\nReport: {report_url}"
    return {"text": text, "blocks": blocks}
