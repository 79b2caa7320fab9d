"""Slack delivery in real DAG runs: a rate-limited webhook, and a webhook that stays down."""

import datetime as dt
import json

import pytest

import localenv
from helpers import keys_under
from humangap import sample

pytestmark = pytest.mark.airflow

DAY = "2026-11-05"


@pytest.fixture
def sample_bucket(s3, bucket, tmp_path):
    sample.write_sample(tmp_path / "data", dt.date.fromisoformat(DAY))
    localenv.upload_folder(s3, bucket, tmp_path / "data")
    return bucket


def slack_connection(receiver) -> str:
    return json.dumps({"conn_type": "slackwebhook", "password": receiver.url})


def test_rate_limited_post_waits_and_succeeds(s3, sample_bucket, run_dag, slack_receiver):
    slack_receiver.respond_with(429, {"Retry-After": "1"}, "rate_limited")
    result = run_dag(
        sample_bucket, {"first_date": DAY}, AIRFLOW_CONN_SLACK_DEFAULT=slack_connection(slack_receiver)
    )
    assert result.returncode == 0, result.log[-5000:]
    assert "state=failed" not in result.log
    assert "Slack rate-limited the post (429) on attempt 1; retrying in 1 s" in result.log
    first, second = slack_receiver.posts
    assert first == second
    # One marker for the run, named by its run id, under the report folder's name.
    (marker,) = keys_under(s3, sample_bucket, "reports/_slack_posted/")
    assert marker.startswith(f"reports/_slack_posted/dt={DAY}/manual__")


def test_webhook_down_publishes_report_and_fails_task(s3, sample_bucket, run_dag, slack_receiver):
    # The DAG retries a task twice, so three tries each get a 500.
    for _ in range(3):
        slack_receiver.respond_with(500, {}, "internal_error")
    result = run_dag(
        sample_bucket, {"first_date": DAY}, AIRFLOW_CONN_SLACK_DEFAULT=slack_connection(slack_receiver)
    )
    assert result.returncode != 0 or "state=failed" in result.log
    assert "the Slack webhook returned HTTP 500 ('internal_error') on attempt 1" in result.log
    folder = f"reports/dt={DAY}/"
    assert folder + "report.json" in keys_under(s3, sample_bucket, folder)
    # One post per try of the task, and no marker, since Slack accepted none.
    assert len(slack_receiver.posts) == 3
    assert keys_under(s3, sample_bucket, "reports/_slack_posted/") == []
