"""Fixtures of the scheduler tests: one LocalExecutor deployment shared by a module."""

from __future__ import annotations

import uuid

import pytest

import localenv
from deployment import Deployment, deployment_env, postgres_database, slack_connection


@pytest.fixture(scope="module")
def cifar_bucket(s3_endpoint, cifar_bucket_dir):
    """A bucket on the local S3 endpoint loaded with the five days of the real dataset."""
    client = localenv.s3_client(s3_endpoint)
    name = f"sched-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    localenv.upload_folder(client, name, cifar_bucket_dir)
    return name


@pytest.fixture(scope="module")
def local_airflow(tmp_path_factory, s3_endpoint, cifar_bucket, module_slack_receiver):
    """api-server, dag-processor and scheduler with LocalExecutor on a fresh PostgreSQL database."""
    home = tmp_path_factory.mktemp("airflow-local")
    with postgres_database() as database:
        api_port = localenv.free_port()
        env = deployment_env(
            home,
            s3_endpoint,
            cifar_bucket,
            database,
            api_port,
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            # No scheduled run: the newest report stays the last backfilled day.
            HUMANGAP_END_DATE="2026-11-06",
            AIRFLOW_CONN_SLACK_DEFAULT=slack_connection(module_slack_receiver.url),
        )
        deployment = Deployment(home, env, database)
        try:
            deployment.airflow("db", "migrate", timeout=600)
            deployment.start("api-server", "api-server")
            deployment.start("dag-processor", "dag-processor")
            deployment.start("scheduler", "scheduler", "--skip-serve-logs")
            deployment.wait_for(
                lambda: _answers(f"http://127.0.0.1:{api_port}/api/v2/version"),
                120,
                "the api-server to answer",
            )
            deployment.wait_for_dag()
            deployment.api_port = api_port
            yield deployment
        finally:
            deployment.stop_all()


def _answers(url: str) -> bool:
    try:
        localenv.wait_for_http(url, timeout=1)
    except TimeoutError:
        return False
    return True
