"""humangap_report under Airflow's own scheduler, LocalExecutor and PostgreSQL.

The tests share one deployment and run in file order: each later test builds on
the reports the earlier ones published.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

from deployment import DAG_ID
from helpers import keys_under, read_json
from reference_counts import daily_counts, report_counts

pytestmark = [pytest.mark.scheduler, pytest.mark.airflow]

DAYS = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
REPORT_FILES = [
    "annotators.csv",
    "per_class.csv",
    "report.html",
    "report.json",
    "slack_message.json",
    "validation.json",
]


def _folder(day: str) -> str:
    return f"reports/dt={day}/"


def _title(day: str) -> str:
    return f"humangap, {day}:"


def _requests_for(receiver, day: str) -> list[dict]:
    return [post for post in receiver.posts if post["text"].startswith(_title(day))]


def _stable(report: dict) -> dict:
    """Return a report without the fields that name the run or the time it was generated."""
    stable = json.loads(json.dumps(report))
    stable.pop("generated_at")
    for key in ("run_id", "run_type"):
        stable["run"].pop(key)
    return stable


def _modified(s3, bucket: str, key: str):
    return s3.head_object(Bucket=bucket, Key=key)["LastModified"]


def test_backfill_publishes_each_day(local_airflow, s3, cifar_bucket, cifar_bucket_dir, module_slack_receiver):
    run_ids = local_airflow.backfill(DAYS[0], DAYS[-1])
    assert len(run_ids) == 5
    for day in DAYS:
        folder = _folder(day)
        assert keys_under(s3, cifar_bucket, folder) == [folder + name for name in REPORT_FILES]
        report = read_json(s3, cifar_bucket, folder + "report.json")
        assert report["run"]["window"] == {"first_date": day, "last_date": day}
        assert report["run"]["run_type"] == "backfill"
        expected = daily_counts(cifar_bucket_dir, day).to_dict(orient="records")
        assert report_counts(report).to_dict(orient="records") == expected, day
    latest = read_json(s3, cifar_bucket, "reports/latest.json")
    assert latest["report_key"] == "reports/dt=2026-11-05/report.json"
    assert latest["window"] == {"first_date": "2026-11-05", "last_date": "2026-11-05"}
    assert not any(_requests_for(module_slack_receiver, day) for day in DAYS)


def test_reprocess_backfill_same_content(local_airflow, s3, cifar_bucket, module_slack_receiver):
    before = {day: read_json(s3, cifar_bucket, _folder(day) + "report.json") for day in DAYS}
    csv_before = {
        day: s3.get_object(Bucket=cifar_bucket, Key=_folder(day) + "per_class.csv")["Body"].read()
        for day in DAYS
    }
    written_before = {day: _modified(s3, cifar_bucket, _folder(day) + "report.json") for day in DAYS}
    time.sleep(1)  # S3 LastModified has one-second resolution.
    local_airflow.backfill(DAYS[0], DAYS[-1], "--reprocess-behavior", "completed")
    for day in DAYS:
        key = _folder(day) + "report.json"
        assert _modified(s3, cifar_bucket, key) > written_before[day], f"{key} was not rewritten"
        assert _stable(read_json(s3, cifar_bucket, key)) == _stable(before[day])
        csv_after = s3.get_object(Bucket=cifar_bucket, Key=_folder(day) + "per_class.csv")["Body"].read()
        assert csv_after == csv_before[day]
        assert keys_under(s3, cifar_bucket, _folder(day)) == [_folder(day) + n for n in REPORT_FILES]
    assert not any(_requests_for(module_slack_receiver, day) for day in DAYS)


def test_older_backfill_keeps_latest(local_airflow, s3, cifar_bucket):
    latest_before = read_json(s3, cifar_bucket, "reports/latest.json")
    written_before = _modified(s3, cifar_bucket, _folder("2026-11-02") + "report.json")
    time.sleep(1)
    local_airflow.backfill("2026-11-02", "2026-11-02", "--reprocess-behavior", "completed")
    assert _modified(s3, cifar_bucket, _folder("2026-11-02") + "report.json") > written_before
    assert read_json(s3, cifar_bucket, "reports/latest.json") == latest_before


def test_publish_emits_report_asset(local_airflow, cifar_bucket):
    # A reprocessing backfill clears the runs, which moves their earlier tries to
    # task_instance_history.
    published = sum(
        local_airflow.query(
            f"SELECT count(*) FROM {table} WHERE dag_id = %s AND task_id = 'publish_report' "
            "AND state = 'success'",
            (DAG_ID,),
        )[0][0]
        for table in ("task_instance", "task_instance_history")
    )
    events = local_airflow.query(
        "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = %s",
        # The Amazon provider normalizes the declared s3://<bucket>/reports/ to this URI.
        (f"s3://{cifar_bucket}/reports",),
    )[0][0]
    assert published >= 11
    assert events == published


def test_manual_run_without_params(local_airflow, s3, cifar_bucket, module_slack_receiver):
    local_airflow.airflow("dags", "trigger", DAG_ID, "--run-id", "manual_no_params")
    local_airflow.wait_for_runs_finished(["manual_no_params"], 240)
    ((run_after, interval_start),) = local_airflow.query(
        "SELECT run_after, data_interval_start FROM dag_run WHERE run_id = 'manual_no_params'"
    )
    assert interval_start is None
    # The last complete daily interval before the trigger: the day before run_after.
    day = (run_after.date().toordinal() - 1)
    expected_day = type(run_after.date()).fromordinal(day).isoformat()
    report = read_json(s3, cifar_bucket, _folder(expected_day) + "report.json")
    assert report["run"]["run_id"] == "manual_no_params"
    assert report["run"]["window"] == {"first_date": expected_day, "last_date": expected_day}
    marker = f"reports/_slack_posted/dt={expected_day}/manual_no_params.json"
    assert keys_under(s3, cifar_bucket, marker) == [marker]


def test_scheduler_killed_mid_run(local_airflow, s3, cifar_bucket, cifar_bucket_dir, module_slack_receiver):
    day = "2026-11-04"
    before = read_json(s3, cifar_bucket, _folder(day) + "report.json")
    latest_before = read_json(s3, cifar_bucket, "reports/latest.json")
    conf = json.dumps({"first_date": day, "last_date": day})
    local_airflow.airflow("dags", "trigger", DAG_ID, "--run-id", "manual_killed", "-c", conf)
    local_airflow.wait_for(
        lambda: local_airflow.query(
            "SELECT 1 FROM task_instance WHERE run_id = 'manual_killed' "
            "AND task_id = 'count_predictions' AND state = 'running'"
        ),
        180,
        "count_predictions of the manual run to start",
    )
    # SIGKILL to the whole process group: the scheduler and the task processes of
    # its LocalExecutor die at once, as on a lost machine.
    local_airflow.kill("scheduler", signal.SIGKILL)
    time.sleep(3)
    local_airflow.start("scheduler", "scheduler", "--skip-serve-logs")
    local_airflow.wait_for_runs_finished(["manual_killed"], 300)

    folder = _folder(day)
    assert keys_under(s3, cifar_bucket, folder) == [folder + name for name in REPORT_FILES]
    after = read_json(s3, cifar_bucket, folder + "report.json")
    assert after["run"]["run_id"] == "manual_killed"
    assert after["models"] == before["models"]
    expected = daily_counts(cifar_bucket_dir, day).to_dict(orient="records")
    assert report_counts(after).to_dict(orient="records") == expected
    assert read_json(s3, cifar_bucket, "reports/latest.json") == latest_before
    assert len(_requests_for(module_slack_receiver, day)) == 1
    marker = f"reports/_slack_posted/dt={day}/manual_killed.json"
    assert keys_under(s3, cifar_bucket, marker) == [marker]
