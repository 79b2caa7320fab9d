"""Shared fixtures: a real S3 endpoint (moto in server mode) and a real Slack webhook receiver."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "include"))
sys.path.insert(0, str(REPO / "scripts"))

import localenv  # noqa: E402
from helpers import DATASET  # noqa: E402


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """URL of a moto S3 server on loopback, shared by the session."""
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with localenv.moto_server(log_path) as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint):
    """boto3 client for the moto server."""
    return localenv.s3_client(s3_endpoint)


@pytest.fixture
def bucket(s3):
    """A new, empty bucket for one test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def cifar_bucket_dir():
    """The real CIFAR-10N dataset in the input layout (read-only, never copied into the repo)."""
    path = DATASET / "bucket"
    if not path.is_dir():
        pytest.fail(f"dataset folder {path} is missing: the tests need ../shared/datasets")
    return path


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, headers, text = server.responses.pop(0) if server.responses else (200, {}, "ok")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args):
        pass


class SlackReceiver:
    """A real HTTP server on loopback that records webhook posts."""

    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        self.server.requests = []
        self.server.responses = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"

    @property
    def posts(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.server.requests]

    def respond_with(self, status: int, headers: dict | None = None, text: str = "") -> None:
        """Queue a response for the next post; posts beyond the queue get 200 ok."""
        self.server.responses.append((status, headers or {}, text))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack_receiver():
    receiver = SlackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def module_slack_receiver():
    """A webhook receiver shared by the tests of one module."""
    receiver = SlackReceiver()
    yield receiver
    receiver.close()
