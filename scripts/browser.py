"""Open a page in headless Chromium, record its requests and take a screenshot.

Used by the browser tests and by ``scripts/screenshot.py`` for the README image.
Chromium is Debian's ``chromium`` package, started with networking extras off
and driven over the DevTools protocol on a loopback websocket. Every request
the page makes is recorded, so a test can check that none failed and that the
page asked for nothing outside loopback.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


class BrowserError(RuntimeError):
    """Raised when Chromium is missing, does not start or does not load a page."""


@dataclasses.dataclass
class PageResult:
    """What happened while a page loaded.

    Attributes
    ----------
    requests:
        Every URL the page requested, in order.
    failed:
        Requests that failed, each ``{"url", "error"}``: network errors, blocked
        requests and HTTP responses with status 400 or more.
    console_errors:
        Console messages and uncaught exceptions at error level.
    evaluated:
        The value of the ``evaluate`` expression after the load event.
    screenshot:
        Path of the PNG, or ``None`` when none was asked for.
    """

    requests: list[str]
    failed: list[dict[str, str]]
    console_errors: list[str]
    evaluated: Any
    screenshot: Path | None


def chromium_path() -> str:
    """Return the Chromium executable, or raise ``BrowserError`` saying how to install it."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("chromium not found: install it with 'apt-get install -y chromium'")


class _Session:
    """A DevTools protocol connection to one page target."""

    def __init__(self, websocket_url: str) -> None:
        from websockets.sync.client import connect

        self._connection = connect(websocket_url, max_size=None, open_timeout=10)
        self.socket = self._connection.__enter__()
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session_id: str | None = None

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session_id and not method.startswith("Target."):
            message["sessionId"] = self.session_id
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"DevTools {method} failed: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if any(item.get("method") == event for item in self.events):
            return
        while True:
            reply = self._receive(deadline, event)
            self.events.append(reply)
            if reply.get("method") == event:
                return

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError(f"timed out waiting for {waiting_for} from Chromium")
        try:
            return json.loads(self.socket.recv(timeout=remaining))
        except TimeoutError:
            raise BrowserError(f"timed out waiting for {waiting_for} from Chromium") from None

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def _devtools_url(profile: Path, process: subprocess.Popen, timeout: float) -> str:
    # Chromium writes the port it picked and the browser target's path to this file.
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserError(f"chromium exited with code {process.returncode} at start")
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise BrowserError(f"chromium did not open its DevTools port within {timeout:.0f} s")


def _collect(events: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]], list[str]]:
    urls: dict[str, str] = {}
    requests: list[str] = []
    failed: list[dict[str, str]] = []
    errors: list[str] = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            requests.append(url)
        elif method == "Network.loadingFailed":
            url = urls.get(params["requestId"], "?")
            error = params.get("errorText", "") or params.get("blockedReason", "")
            failed.append({"url": url, "error": error})
        elif method == "Network.responseReceived":
            status = params["response"].get("status", 0)
            if status >= 400:
                failed.append({"url": params["response"]["url"], "error": f"HTTP {status}"})
        elif method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            errors.append(" ".join(str(arg.get("value", "")) for arg in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return requests, failed, errors


def open_page(
    url: str,
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 900,
    evaluate: str = "document.title",
    timeout: float = 60.0,
) -> PageResult:
    """Load ``url`` in a new headless Chromium, then evaluate, screenshot and quit.

    The screenshot covers the whole page, ``width`` CSS pixels wide. The browser
    is started for this call alone, with a throwaway profile, and always stopped.
    """
    profile = Path(tempfile.mkdtemp(prefix="humangap-chromium-"))
    command = [
        chromium_path(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session = None
    try:
        session = _Session(_devtools_url(profile, process, timeout=30))
        target = session.call("Target.createTarget", url="about:blank")["targetId"]
        attached = session.call("Target.attachToTarget", targetId=target, flatten=True)
        session.session_id = attached["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            session.call(f"{domain}.enable")
        session.call(
            "Emulation.setDeviceMetricsOverride",
            width=width, height=height, deviceScaleFactor=1, mobile=False,
        )
        navigation = session.call("Page.navigate", url=url)
        if navigation.get("errorText"):
            raise BrowserError(f"chromium could not open {url}: {navigation['errorText']}")
        session.wait_for("Page.loadEventFired", timeout)
        evaluated = session.call(
            "Runtime.evaluate", expression=evaluate, returnByValue=True, awaitPromise=True
        ).get("result", {}).get("value")
        path = None
        if screenshot is not None:
            shot = session.call(
                "Page.captureScreenshot", format="png", captureBeyondViewport=True, timeout=timeout
            )
            path = Path(screenshot)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base64.b64decode(shot["data"]))
        requests, failed, errors = _collect(session.events)
        return PageResult(requests, failed, errors, evaluated, path)
    finally:
        if session is not None:
            session.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
