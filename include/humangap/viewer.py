"""Find published reports under an output prefix, for the Airflow plugin's view.

A folder counts as published once it has ``report.json``, which is written last.
"""

from __future__ import annotations

import re

from humangap.config import join_key
from humangap.storage import ObjectStore

# Output folder names: dt=YYYY-MM-DD for one day, window=FIRST_LAST for longer windows.
FOLDER_PATTERN = re.compile(r"(dt=\d{4}-\d{2}-\d{2}|window=\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2})")


class ReportNotFound(LookupError):
    """Raised when no published report matches a request."""


def folder_end(name: str) -> str:
    """Return the last date of a folder's window, as ``YYYY-MM-DD`` text."""
    return name[3:] if name.startswith("dt=") else name.split("_", 1)[1]


def published_folders(store: ObjectStore, output_prefix: str) -> list[str]:
    """Return the names of the folders that hold a ``report.json``, latest window last."""
    prefix = join_key(output_prefix) + "/" if join_key(output_prefix) else ""
    names = set()
    for key in store.list_keys(prefix):
        parts = key[len(prefix):].split("/")
        if len(parts) == 2 and parts[1] == "report.json" and FOLDER_PATTERN.fullmatch(parts[0]):
            names.add(parts[0])
    return sorted(names, key=lambda name: (folder_end(name), name))


def report_html(
    store: ObjectStore, output_prefix: str, folder: str | None = None
) -> tuple[str, bytes]:
    """Return the folder name and ``report.html`` of ``folder``, or of the latest report.

    Raises ``ReportNotFound`` for a name that is not an output folder name, a
    folder without ``report.json``, or an output prefix without any report.
    """
    if folder is None:
        folders = published_folders(store, output_prefix)
        if not folders:
            raise ReportNotFound(f"no report has been published under {output_prefix!r} yet")
        folder = folders[-1]
    elif not FOLDER_PATTERN.fullmatch(folder):
        raise ReportNotFound(
            f"invalid report folder {folder!r}: expected dt=YYYY-MM-DD or "
            "window=YYYY-MM-DD_YYYY-MM-DD"
        )
    report_key = join_key(output_prefix, folder, "report.json")
    if report_key not in store.list_keys(report_key):
        raise ReportNotFound(f"no published report in {folder!r}")
    return folder, store.read_bytes(join_key(output_prefix, folder, "report.html"))
