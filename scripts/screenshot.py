"""Take a screenshot of a report.html in headless Chromium, as the browser test does.

Used for the README image: ``make screenshot`` runs the demo, then this script on
the report it wrote. The page is served from a loopback HTTP server, and the
script fails when the page made a failed request or shows fewer charts than
model versions.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browser  # noqa: E402

LOADED_CHARTS = (
    "Array.from(document.querySelectorAll('img.chart'))"
    ".filter(image => image.complete && image.naturalWidth > 0).length"
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="path of report.html")
    parser.add_argument("output", type=Path, help="path of the PNG to write")
    parser.add_argument(
        "--width", type=int, default=1100, help="page width in CSS pixels (default 1100)"
    )
    args = parser.parse_args()
    if not args.report.is_file():
        print(f"error: {args.report} is not a file; run make demo first", file=sys.stderr)
        return 2
    handler = functools.partial(_QuietHandler, directory=str(args.report.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{args.report.name}"
        result = browser.open_page(
            url, screenshot=args.output, width=args.width, evaluate=LOADED_CHARTS
        )
    finally:
        server.shutdown()
        server.server_close()
    if result.failed or not result.evaluated:
        print(
            f"error: failed requests {result.failed}, {result.evaluated} chart(s) loaded",
            file=sys.stderr,
        )
        return 1
    print(f"Wrote {args.output} ({result.evaluated} chart(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
