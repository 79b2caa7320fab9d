"""humangap_report under CeleryExecutor: Redis as broker, PostgreSQL as metadata and results.

Two Celery workers run the tasks. One day's predictions are split into several
files so that the mapped counting tasks spread over both workers. The tests share
one deployment and run in file order. The last one stops the Celery scheduler and
workers, reruns the same day under a LocalExecutor scheduler on the same database,
and compares that report with the Celery one.
"""

from __future__ import annotations

import io
import os
import socket
import uuid
from pathlib import Path

import pandas as pd
import pytest
import redis

import localenv
from deployment import Deployment, deployment_env, postgres_database, slack_connection
from helpers import keys_under, read_json
from humangap.config import HumangapConfig
from humangap.pipeline import run_report
from humangap.storage import S3ClientStore
from humangap.window import resolve_window
from reference_counts import daily_counts, report_counts

pytestmark = [pytest.mark.scheduler, pytest.mark.airflow]

# A Redis database number that no other test uses; it is flushed before and after.
REDIS_DB = 13
DAY = "2026-11-03"
PARTS = 6
WORKERS = ("worker1", "worker2")
HERE = Path(__file__).resolve().parent


def _folder(day: str) -> str:
    return f"reports/dt={day}/"


def _read_bytes(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _count_predictions_instances(deployment: Deployment, run_id: str) -> list[tuple]:
    """Return (map_index, hostname, state) of each count_predictions task of a run."""
    return deployment.query(
        "SELECT map_index, hostname, state FROM task_instance "
        "WHERE run_id = %s AND task_id = 'count_predictions' ORDER BY map_index",
        (run_id,),
    )


def _requests_for(receiver, day: str) -> list[dict]:
    return [post for post in receiver.posts if post["text"].startswith(f"humangap, {day}:")]


@pytest.fixture(scope="module")
def split_bucket(s3_endpoint, cifar_bucket_dir):
    """The real dataset with the predictions of one day split into ``PARTS`` files by rows."""
    client = localenv.s3_client(s3_endpoint)
    name = f"celery-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    for source in ("gold", "annotations"):
        localenv.upload_folder(client, name, cifar_bucket_dir / source, prefix=source)
    predictions = pd.read_parquet(cifar_bucket_dir / "predictions" / f"dt={DAY}" / "predictions.parquet")
    size = -(-len(predictions) // PARTS)
    for index in range(PARTS):
        buffer = io.BytesIO()
        predictions.iloc[index * size : (index + 1) * size].to_parquet(buffer, index=False)
        key = f"predictions/dt={DAY}/part-{index:03d}.parquet"
        client.put_object(Bucket=name, Key=key, Body=buffer.getvalue())
    return name


@pytest.fixture(scope="module")
def celery_airflow(tmp_path_factory, s3_endpoint, split_bucket, module_slack_receiver):
    """api-server, dag-processor, scheduler and two Celery workers on PostgreSQL and Redis."""
    broker = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    broker.flushdb()
    home = tmp_path_factory.mktemp("airflow-celery")
    with postgres_database() as database:
        api_port = localenv.free_port()
        env = deployment_env(
            home,
            s3_endpoint,
            split_bucket,
            database,
            api_port,
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
            AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql+psycopg2://postgres@127.0.0.1:5432/{database}",
            AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
            AIRFLOW__CORE__HOSTNAME_CALLABLE="worker_hostname.get",
            AIRFLOW_CONN_SLACK_DEFAULT=slack_connection(module_slack_receiver.url),
        )
        env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(HERE)])
        deployment = Deployment(home, env, database)
        deployment.api_port = api_port
        # The scheduled run's first post gets a server error, so its notify_slack
        # task fails once and Airflow retries it.
        module_slack_receiver.respond_with(500, text="internal_error")
        try:
            deployment.airflow("db", "migrate", timeout=600)
            deployment.start("api-server", "api-server")
            deployment.start("dag-processor", "dag-processor")
            deployment.start("scheduler", "scheduler", "--skip-serve-logs")
            for worker in WORKERS:
                deployment.start(
                    worker,
                    "celery", "worker", "--celery-hostname", f"{worker}@%h", "--skip-serve-logs",
                    "--without-mingle", "--without-gossip",
                    HUMANGAP_WORKER_NAME=worker,
                )
            deployment.wait_for_dag()
            yield deployment
        finally:
            deployment.stop_all()
            broker.flushdb()
            broker.close()


def test_mapped_tasks_run_on_both_workers(celery_airflow, s3, split_bucket, cifar_bucket_dir):
    (run_id,) = celery_airflow.backfill(DAY, DAY, timeout=400)
    rows = _count_predictions_instances(celery_airflow, run_id)
    assert [row[0] for row in rows] == list(range(PARTS))
    assert {row[2] for row in rows} == {"success"}
    assert {row[1] for row in rows} == set(WORKERS)

    report = read_json(s3, split_bucket, f"reports/dt={DAY}/report.json")
    assert len(report["inputs"]["predictions"]["keys"]) == PARTS
    expected = daily_counts(cifar_bucket_dir, DAY).to_dict(orient="records")
    assert report_counts(report).to_dict(orient="records") == expected
    # The same window computed by one process, with no mapping and no XComs.
    single = run_report(
        S3ClientStore(s3, split_bucket),
        HumangapConfig(bucket=split_bucket, output_prefix="single"),
        resolve_window(DAY, DAY, None, None),
        {"dag_id": None, "run_id": "single"},
    )
    single_report = read_json(s3, split_bucket, single["report_key"])
    assert report["models"] == single_report["models"]
    assert report["inputs"] == single_report["inputs"]


def test_scheduled_run_posts_once_despite_retry(celery_airflow, s3, split_bucket, module_slack_receiver):
    # The celery_airflow fixture queues a server error as the response to the first post.
    (run,) = celery_airflow.wait_for(
        lambda: celery_airflow.runs("scheduled"), 120, "the scheduler to create a scheduled run"
    )
    celery_airflow.wait_for_runs_finished([run["run_id"]], 240)
    day = run["data_interval_start"].date().isoformat()
    tries = celery_airflow.query(
        "SELECT try_number FROM task_instance WHERE run_id = %s AND task_id = 'notify_slack'",
        (run["run_id"],),
    )
    assert tries == [(2,)]
    # Two requests reached the webhook: the one that got status 500 and the one that posted.
    requests = _requests_for(module_slack_receiver, day)
    assert len(requests) == 2
    assert requests[0] == requests[1]
    marker = f"reports/_slack_posted/dt={day}/"
    assert len(keys_under(s3, split_bucket, marker)) == 1

    # A cleared and rerun notify_slack finds the marker and does not post again.
    cleared = celery_airflow.clear_task(celery_airflow.api_port, run["run_id"], "notify_slack")
    assert cleared["total_entries"] == 1
    celery_airflow.wait_for(
        lambda: celery_airflow.query(
            "SELECT 1 FROM task_instance WHERE run_id = %s AND task_id = 'notify_slack' "
            "AND try_number = 3 AND state = 'success'",
            (run["run_id"],),
        ),
        180,
        "the cleared notify_slack to run again",
    )
    assert len(_requests_for(module_slack_receiver, day)) == 2
    report = read_json(s3, split_bucket, _folder(day) + "report.json")
    assert report["status"] == "no_data"
    assert report["run"]["run_type"] == "scheduled"


def test_local_executor_same_report(celery_airflow, s3, split_bucket):
    folder = _folder(DAY)
    celery_report = read_json(s3, split_bucket, folder + "report.json")
    celery_csv = _read_bytes(s3, split_bucket, folder + "per_class.csv")
    written_before = s3.head_object(Bucket=split_bucket, Key=folder + "report.json")["LastModified"]
    celery_rows = _count_predictions_instances(celery_airflow, celery_report["run"]["run_id"])
    assert {row[1] for row in celery_rows} == set(WORKERS)

    # The LocalExecutor scheduler shares the database, environment and output
    # prefix of the Celery deployment, so only the executor differs. Its tasks run
    # in its child processes, which inherit that environment, and they rewrite the
    # files read above.
    for name in ("scheduler", *WORKERS):
        celery_airflow.kill(name)
    celery_airflow.start(
        "local-scheduler", "scheduler", "--skip-serve-logs", AIRFLOW__CORE__EXECUTOR="LocalExecutor"
    )
    (run_id,) = celery_airflow.backfill(DAY, DAY, "--reprocess-behavior", "completed", timeout=400)
    rows = _count_predictions_instances(celery_airflow, run_id)
    assert [row[0] for row in rows] == list(range(PARTS))
    assert {row[2] for row in rows} == {"success"}
    # worker_hostname.get returns the machine's name outside the Celery workers.
    assert {row[1] for row in rows} == {socket.getfqdn()}

    written_after = s3.head_object(Bucket=split_bucket, Key=folder + "report.json")["LastModified"]
    assert written_after > written_before, "the LocalExecutor run did not rewrite report.json"
    local_report = read_json(s3, split_bucket, folder + "report.json")
    assert local_report["models"] == celery_report["models"]
    assert local_report["inputs"] == celery_report["inputs"]
    assert _read_bytes(s3, split_bucket, folder + "per_class.csv") == celery_csv
    # The rest of report.json must match too, except generated_at.
    local_report.pop("generated_at")
    celery_report.pop("generated_at")
    assert local_report == celery_report
