"""Airflow plugin: a "Human gap" view in the Airflow UI that shows the published reports.

``/humangap/`` serves the latest ``report.html`` under the configured output prefix,
``/humangap/reports/`` lists every published report, and
``/humangap/reports/<folder>`` serves the report of one data interval, such as
``dt=2026-11-05``. The reports are read through the Amazon provider's ``S3Hook`` with
the connection ``HUMANGAP_AWS_CONN_ID`` (default ``aws_default``) from the bucket of
``humangap.config.load_config``. Every route requires a logged-in Airflow user, through
the auth manager's own FastAPI dependency.
"""

from __future__ import annotations

import html
import logging
import os

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from airflow.api_fastapi.core_api.security import GetUserDep
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

URL_PREFIX = "/humangap"
# The reports are self-contained: forbid scripts and every fetch but inline data.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

app = FastAPI(title="Human gap", docs_url=None, redoc_url=None, openapi_url=None)


def _store_and_prefix():
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from humangap.config import load_config
    from humangap.storage import S3HookStore

    config = load_config()
    hook = S3Hook(aws_conn_id=os.environ.get("HUMANGAP_AWS_CONN_ID", "aws_default"))
    return S3HookStore(hook, config.bucket), config.output_prefix


def _page(folder: str | None) -> HTMLResponse:
    from humangap.config import ConfigError
    from humangap.viewer import ReportNotFound, report_html

    try:
        store, prefix = _store_and_prefix()
        name, body = report_html(store, prefix, folder)
    except ReportNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except ConfigError as error:
        log.error("The Human gap view has no valid configuration: %s", error)
        raise HTTPException(
            status_code=500, detail=f"humangap is not configured: {error}"
        ) from None
    log.info("Serving the human gap report %s", name)
    return HTMLResponse(body, headers=SECURITY_HEADERS)


@app.get("/", response_class=HTMLResponse)
def latest_report(user: GetUserDep) -> HTMLResponse:
    """Serve the report of the latest window."""
    return _page(None)


@app.get("/reports/", response_class=HTMLResponse)
def report_index(user: GetUserDep) -> HTMLResponse:
    """List the published reports, latest first, with links to each."""
    from humangap.viewer import published_folders

    store, prefix = _store_and_prefix()
    folders = published_folders(store, prefix)[::-1]
    items = "".join(
        f'<li><a href="{html.escape(name)}">{html.escape(name)}</a></li>' for name in folders
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Human gap reports'
        '</title><link rel="icon" href="data:,"></head><body style="font-family:sans-serif">'
        f"<h1>Human gap reports</h1><ul>{items or '<li>No report yet.</li>'}</ul></body></html>"
    )
    return HTMLResponse(body, headers=SECURITY_HEADERS)


@app.get("/reports/{folder}", response_class=HTMLResponse)
def interval_report(folder: str, user: GetUserDep) -> HTMLResponse:
    """Serve the report of one output folder, such as ``dt=2026-11-05``."""
    return _page(folder)


class HumangapPlugin(AirflowPlugin):
    """Adds the Human gap view to the Airflow UI."""

    name = "humangap"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Human gap"}]
    external_views = [
        {
            "name": "Human gap",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "human-gap",
        }
    ]
