"""A reverse proxy on loopback that fails chosen S3 requests, then forwards the rest.

Put it between a client and the moto server to see retries at work: each request
is sorted into a kind (``list``, ``get``, ``head``, ``put``, ``post``, ``delete``) and
takes the next fault queued for that kind, if any. Faults:

- ``"500"`` and ``"503"``: an S3 XML error with that status, nothing forwarded;
- ``"drop"``: the connection is closed before any response, nothing forwarded;
- ``"truncate"``: the request is forwarded, then half the response body is sent
  under the full ``Content-Length`` and the connection is closed;
- ``"403"``: an ``InvalidAccessKeyId`` error, as S3 returns for unknown keys.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from urllib.parse import urlsplit

ERROR_CODES = {
    "500": (500, "InternalError"),
    "503": (503, "ServiceUnavailable"),
    "403": (403, "InvalidAccessKeyId"),
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def request_kind(method: str, path: str) -> str:
    """Return the kind of an S3 request: a bucket listing or an object operation."""
    if method == "GET":
        target, _, query = path.partition("?")
        is_bucket = target.strip("/").count("/") == 0
        return "list" if "list-type" in query or is_bucket else "get"
    return method.lower()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.proxy
        body = self._body()
        kind = request_kind(self.command, self.path)
        fault = proxy.next_fault(kind, self.path)
        if fault == "drop":
            self.close_connection = True
            return
        if fault in ERROR_CODES:
            status, code = ERROR_CODES[fault]
            text = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f"<Error><Code>{code}</Code><Message>injected by the test</Message></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return
        status, headers, content = proxy.forward(self.command, self.path, self.headers, body)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        length = headers_length(headers, content, self.command)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if fault == "truncate":
            self.wfile.write(content[: len(content) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(content)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815

    def log_message(self, *args) -> None:
        pass


def headers_length(headers: list[tuple[str, str]], content: bytes, method: str) -> int:
    """Return the Content-Length to send: the upstream's for HEAD, else the body's."""
    if method == "HEAD":
        for name, value in headers:
            if name.lower() == "content-length":
                return int(value)
        return 0
    return len(content)


class FaultProxy:
    """The proxy server, its fault queues and a record of the faults it injected."""

    def __init__(self, upstream: str, faults: dict[str, list[str]] | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.faults = {kind: list(queue) for kind, queue in (faults or {}).items()}
        self.injected: list[tuple[str, str, str]] = []
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def next_fault(self, kind: str, path: str) -> str | None:
        with self.lock:
            self.requests.append((kind, path))
            queue = self.faults.get(kind) or []
            if not queue:
                return None
            fault = queue.pop(0)
            self.injected.append((kind, fault, path))
            return fault

    def pending(self) -> dict[str, list[str]]:
        """Return the faults not injected yet, by kind."""
        with self.lock:
            return {kind: list(queue) for kind, queue in self.faults.items() if queue}

    def forward(self, method: str, path: str, headers, body: bytes):
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            sent = {name: value for name, value in headers.items() if name.lower() not in HOP_BY_HOP}
            sent["Content-Length"] = str(len(body))
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
