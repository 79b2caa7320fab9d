"""report.html in headless Chromium: it loads with no failed request and shows its charts."""

import functools
import http.server
import struct
import threading
from pathlib import Path

import pytest

import browser
from report_shapes import real_report, real_report_folder

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOADED_CHARTS = (
    "Array.from(document.querySelectorAll('img.chart'))"
    ".filter(image => image.complete && image.naturalWidth > 0).length"
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder over HTTP on loopback; return a function that gives its base URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_missing_resource_is_a_failed_request(serve, tmp_path):
    (tmp_path / "page.html").write_text(
        '<!doctype html><link rel="icon" href="data:,"><img src="missing.png"><p>text</p>'
    )
    base = serve(tmp_path)
    result = browser.open_page(f"{base}/page.html")
    assert result.failed == [{"url": f"{base}/missing.png", "error": "HTTP 404"}]


def test_unreachable_resource_is_a_failed_request(serve, tmp_path):
    port = browser_free_port()
    (tmp_path / "page.html").write_text(
        f'<!doctype html><link rel="icon" href="data:,"><img src="http://127.0.0.1:{port}/x.png">'
    )
    result = browser.open_page(f"{serve(tmp_path)}/page.html")
    assert [item["url"] for item in result.failed] == [f"http://127.0.0.1:{port}/x.png"]
    assert result.failed[0]["error"].startswith("net::ERR_CONNECTION_REFUSED")


def browser_free_port() -> int:
    import localenv

    return localenv.free_port()


def test_real_report_loads_with_charts(serve):
    folder = real_report_folder()
    base = serve(folder)
    page_url = f"{base}/report.html"
    screenshot = ARTIFACTS / "real-data-report.png"
    result = browser.open_page(page_url, screenshot=screenshot, width=1280, evaluate=LOADED_CHARTS)
    assert result.failed == []
    assert result.console_errors == []
    assert [url for url in result.requests if not url.startswith("data:")] == [page_url]
    # One accuracy chart per model version; the first report of a prefix has no trend.
    assert result.evaluated == len(real_report()["models"]) == 5
    width, height = png_size(screenshot)
    assert width == 1280
    assert height > 2000


def test_real_report_with_history_shows_trends(serve, tmp_path):
    from humangap import html_report
    from report_shapes import with_window

    current = real_report()
    history = [
        with_window(current, "2026-10-27", "2026-10-31", gap_shift=0.02),
        with_window(current, "2026-10-22", "2026-10-26", gap_shift=0.01)
    ][::-1]
    (tmp_path / "report.html").write_bytes(html_report.render_html(current, history))
    page_url = f"{serve(tmp_path)}/report.html"
    result = browser.open_page(
        page_url, screenshot=ARTIFACTS / "real-data-report-with-trend.png", evaluate=LOADED_CHARTS
    )
    assert result.failed == []
    # An accuracy chart and a trend chart per model version.
    assert result.evaluated == 2 * len(current["models"]) == 10
