"""The Human gap plugin in a real ``airflow api-server`` with SimpleAuthManager."""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import localenv

pytestmark = pytest.mark.airflow

USER, ADMIN, PASSWORD = "gap-viewer", "gap-admin", "password-for-tests"


def fetch(url, token=None, data=None, cookie=None):
    """Return status, headers and body of a request; HTTP errors are returned too."""
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = f"_token={cookie}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def api_server(airflow_home, s3_endpoint, bucket, tmp_path):
    """An api-server on a free loopback port that loads plugins/; yield its base URL."""
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD, ADMIN: PASSWORD}))
    port = localenv.free_port()
    env = localenv.airflow_env(
        airflow_home,
        s3_endpoint,
        bucket,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:viewer,{ADMIN}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        AIRFLOW__API_AUTH__JWT_SECRET="plugin-test-jwt-secret",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
    )
    airflow = Path(sys.executable).with_name("airflow")
    log_path = tmp_path / "api-server.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [str(airflow), "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"],
            env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            localenv.wait_for_http(f"{base}/api/v2/monitor/health", timeout=120)
            yield base
        except TimeoutError:
            pytest.fail("api-server did not start:\n" + log_path.read_text()[-5000:])
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def put(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/html")


def test_view_serves_reports_to_logged_in_users(s3, bucket, api_server):
    put(s3, bucket, "reports/dt=2026-11-04/report.html", b"<html>report of 4 November</html>")
    put(s3, bucket, "reports/dt=2026-11-04/report.json", b"{}")
    put(s3, bucket, "reports/window=2026-11-01_2026-11-05/report.html", b"<html>window report</html>")
    put(s3, bucket, "reports/window=2026-11-01_2026-11-05/report.json", b"{}")
    # A folder without report.json is not published yet, so it is never served.
    put(s3, bucket, "reports/dt=2026-11-06/report.html", b"<html>unfinished</html>")

    status, _, _ = fetch(f"{api_server}/humangap/")
    assert status in (401, 403)
    status, _, _ = fetch(f"{api_server}/humangap/reports/dt=2026-11-04")
    assert status in (401, 403)

    body = json.dumps({"username": USER, "password": PASSWORD}).encode()
    status, _, answer = fetch(f"{api_server}/auth/token", data=body)
    assert status == 201, answer
    token = json.loads(answer)["access_token"]

    status, headers, page = fetch(f"{api_server}/humangap/", token=token)
    assert status == 200, page
    assert page == b"<html>window report</html>"
    assert headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]

    status, _, page = fetch(f"{api_server}/humangap/reports/dt=2026-11-04", token=token)
    assert (status, page) == (200, b"<html>report of 4 November</html>")
    # The UI's iframe sends the session cookie instead of a bearer token.
    status, _, page = fetch(f"{api_server}/humangap/reports/dt=2026-11-04", cookie=token)
    assert (status, page) == (200, b"<html>report of 4 November</html>")

    status, _, index = fetch(f"{api_server}/humangap/reports/", token=token)
    assert status == 200
    assert index.index(b"window=2026-11-01_2026-11-05") < index.index(b"dt=2026-11-04")
    assert b"dt=2026-11-06" not in index

    for folder in ("dt=2026-11-06", "dt=2026-11-07", "..%2Fsecrets", "dt=2026-11-04%2F..%2Fx"):
        status, _, _ = fetch(f"{api_server}/humangap/reports/{folder}", token=token)
        assert status == 404, folder

    status, _, answer = fetch(f"{api_server}/humangap/", token="not-a-valid-token")
    assert status in (401, 403)

    # The plugin registers the view in the UI's navigation.
    body = json.dumps({"username": ADMIN, "password": PASSWORD}).encode()
    _, _, answer = fetch(f"{api_server}/auth/token", data=body)
    status, _, answer = fetch(f"{api_server}/api/v2/plugins", token=json.loads(answer)["access_token"])
    assert status == 200, answer
    (plugin,) = [item for item in json.loads(answer)["plugins"] if item["name"] == "humangap"]
    assert [view["href"] for view in plugin["external_views"]] == ["/humangap/"]
    assert plugin["external_views"][0]["name"] == "Human gap"
    assert plugin["external_views"][0]["destination"] == "nav"
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/humangap"]
