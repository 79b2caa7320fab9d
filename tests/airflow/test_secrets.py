"""A full DAG run never writes the AWS secret key or the Slack webhook URL anywhere.

The run also goes through a fault proxy in front of moto, so the S3Hook's retries
(set by ``config_kwargs`` in the connection's extras) and their logs are exercised.
"""

import json
from pathlib import Path

import pytest

import localenv
from faultproxy import FaultProxy
from helpers import keys_under, read_json

DAY = "2026-11-03"
AWS_SECRET = "hgSecretKey-5c1f0e9a7d2b4c6e8f0a1b3c5d7e9f11"
WEBHOOK_TOKEN = "hgWebhookToken-93ab17cd55ef20"
FAULTS = {"list": ["503"], "get": ["500", "drop", "truncate"], "put": ["503", "drop"]}


def put_small_case(s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"gold/dt={DAY}/gold.csv", Body=b"item_id,label\n1,cat\n2,dog\n3,dog\n")
    s3.put_object(Bucket=bucket, Key=f"annotations/dt={DAY}/a.csv", Body=b"item_id,annotator_id,label\n1,w,cat\n2,w,dog\n3,w,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/p.csv", Body=b"item_id,predicted_label\n1,cat\n2,cat\n3,dog\n")


def files_containing(root: Path, secrets: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {secret[:12]}..." for secret in secrets if secret.encode() in data]
    return found


@pytest.mark.airflow
def test_dag_run_leaks_no_secret(s3, s3_endpoint, bucket, run_dag, airflow_home, slack_receiver):
    put_small_case(s3, bucket)
    proxy = FaultProxy(s3_endpoint, {kind: list(queue) for kind, queue in FAULTS.items()})
    webhook = slack_receiver.url.replace("/services/T000/B000/XXXX", f"/services/T0/B0/{WEBHOOK_TOKEN}")
    aws = {
        "conn_type": "aws",
        "login": localenv.TEST_KEY_ID,
        "password": AWS_SECRET,
        "extra": {
            "endpoint_url": proxy.url,
            "region_name": "us-east-1",
            "config_kwargs": {"retries": {"max_attempts": 4, "mode": "standard"}},
        },
    }
    slack = {"conn_type": "slackwebhook", "password": webhook}
    try:
        result = run_dag(
            bucket,
            {"first_date": DAY, "last_date": DAY},
            AIRFLOW_CONN_AWS_DEFAULT=json.dumps(aws),
            AIRFLOW_CONN_SLACK_DEFAULT=json.dumps(slack),
        )
    finally:
        proxy.close()
    assert result.returncode == 0, result.log[-5000:]
    assert "state=failed" not in result.log
    # Every fault was injected and retried through, and the summary reached Slack.
    assert proxy.pending() == {}
    assert len(proxy.injected) == sum(len(queue) for queue in FAULTS.values())
    folder = f"reports/dt={DAY}/"
    report = read_json(s3, bucket, folder + "report.json")
    assert report["status"] == "ok"
    assert len(slack_receiver.posts) == 1
    assert WEBHOOK_TOKEN in slack_receiver.server.requests[0]["path"]
    # The task logs reach the scanned output: the retried body read is logged there.
    assert "broke off (attempt 1 of 3)" in result.log
    # The metadata database is scanned too, and it does hold this run's XComs.
    assert any(bucket.encode() in path.read_bytes() for path in Path(airflow_home).rglob("*.db"))

    secrets = [AWS_SECRET, WEBHOOK_TOKEN, webhook]
    for secret in secrets:
        assert secret not in result.log
    assert files_containing(Path(airflow_home), secrets) == []
    for key in keys_under(s3, bucket, ""):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        for secret in secrets:
            assert secret.encode() not in body, f"{key} contains a secret"
    for request in slack_receiver.server.requests:
        assert AWS_SECRET.encode() not in request["body"]
