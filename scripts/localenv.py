"""Local stand-ins for a deployment: an S3 endpoint on loopback and a throwaway Airflow.

Used by ``scripts/demo.py`` and the test suite. Everything listens on 127.0.0.1
only, and every telemetry switch of Airflow and Great Expectations is off.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
TEST_KEY_ID = "humangap-test-key"
TEST_SECRET = "humangap-test-secret"

# Switches that keep Airflow, GX and friends from contacting any other host.
QUIET_ENV = {
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "true",
    "SCARF_ANALYTICS": "false",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until it responds with any HTTP status, or raise ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not respond within {timeout:.0f} s") from None
            time.sleep(0.2)


@contextlib.contextmanager
def moto_server(log_path: Path | None = None) -> Iterator[str]:
    """Run moto in server mode on a free loopback port and yield its endpoint URL."""
    port = free_port()
    log_file = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **QUIET_ENV},
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(endpoint + "/moto-api/")
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if log_path:
            log_file.close()


def s3_client(endpoint: str):
    """Return a boto3 S3 client for the local endpoint with the test credentials."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=TEST_KEY_ID,
        aws_secret_access_key=TEST_SECRET,
        region_name="us-east-1",
    )


def upload_folder(client, bucket: str, folder: Path, prefix: str = "") -> int:
    """Upload every file under ``folder`` keeping relative paths; return the count."""
    count = 0
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            key = "/".join(part for part in (prefix.strip("/"), path.relative_to(folder).as_posix()) if part)
            client.upload_file(str(path), bucket, key)
            count += 1
    return count


def download_prefix(client, bucket: str, prefix: str, target: Path) -> list[Path]:
    """Download every object under ``prefix`` into ``target``, keeping the key layout."""
    paths = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            path = target / item["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, item["Key"], str(path))
            paths.append(path)
    return paths


def airflow_env(home: Path, endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    """Return the environment of an Airflow process that reads the local S3 endpoint."""
    connection = {
        "conn_type": "aws",
        "login": TEST_KEY_ID,
        "password": TEST_SECRET,
        "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    python_path = [str(REPO / "include"), os.environ.get("PYTHONPATH", "")]
    env = {
        **os.environ,
        **QUIET_ENV,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "HUMANGAP_BUCKET": bucket,
        "PYTHONPATH": os.pathsep.join(part for part in python_path if part),
    }
    env.update(extra)
    return env


def airflow_command(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the ``airflow`` command of this interpreter's environment."""
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run(
        [str(airflow), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def migrate_db(env: dict[str, str]) -> None:
    """Create the Airflow metadata database, raising with its output on failure."""
    result = airflow_command(["db", "migrate"], env)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}")


def test_dag(env: dict[str, str], dag_id: str, logical_date: str, conf: dict | None = None) -> subprocess.CompletedProcess:
    """Run one DAG run in-process with ``airflow dags test`` and return the result."""
    args = ["dags", "test", dag_id, logical_date]
    if conf:
        args[2:2] = ["-c", json.dumps(conf)]
    return airflow_command(args, env)
