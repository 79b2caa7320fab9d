"""Finding published reports for the Airflow view, on a local folder store."""

import pytest

from humangap.storage import LocalStore
from humangap.viewer import ReportNotFound, published_folders, report_html


@pytest.fixture
def store(tmp_path):
    store = LocalStore(tmp_path)
    for folder in ("dt=2026-11-03", "window=2026-10-01_2026-11-04", "dt=2026-11-02"):
        store.write_bytes(f"reports/{folder}/report.html", folder.encode(), "text/html")
        store.write_bytes(f"reports/{folder}/report.json", b"{}", "application/json")
    # Not published yet: report.json is written last.
    store.write_bytes("reports/dt=2026-11-09/report.html", b"unfinished", "text/html")
    store.write_bytes("reports/_slack_posted/dt=2026-11-03.json", b"{}", "application/json")
    return store


def test_published_folders_latest_last(store):
    assert published_folders(store, "reports") == [
        "dt=2026-11-02", "dt=2026-11-03", "window=2026-10-01_2026-11-04",
    ]


def test_latest_report(store):
    assert report_html(store, "reports") == (
        "window=2026-10-01_2026-11-04", b"window=2026-10-01_2026-11-04"
    )


def test_report_of_one_folder(store):
    assert report_html(store, "reports", "dt=2026-11-02") == ("dt=2026-11-02", b"dt=2026-11-02")


@pytest.mark.parametrize("folder", ["dt=2026-11-09", "dt=2026-11-10", "../reports", "dt=2026-11-02/../x", "_slack_posted"])
def test_unpublished_or_invalid_folder(store, folder):
    with pytest.raises(ReportNotFound):
        report_html(store, "reports", folder)


def test_no_report_yet(tmp_path):
    (tmp_path / "reports").mkdir()
    with pytest.raises(ReportNotFound, match="no report has been published under 'reports'"):
        report_html(LocalStore(tmp_path), "reports")
