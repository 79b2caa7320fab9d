"""Fixtures for tests that run Airflow itself, in a throwaway AIRFLOW_HOME on SQLite."""

from __future__ import annotations

import pytest

import localenv


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory, s3_endpoint):
    """An AIRFLOW_HOME with a migrated SQLite metadata database."""
    home = tmp_path_factory.mktemp("airflow")
    localenv.migrate_db(localenv.airflow_env(home, s3_endpoint, "unused"))
    return home


@pytest.fixture
def run_dag(airflow_home, s3_endpoint):
    """Run humangap_report with ``airflow dags test``; return the process result."""

    def run(bucket: str, conf: dict, logical_date: str = "2026-11-06", **env_extra: str):
        env = localenv.airflow_env(airflow_home, s3_endpoint, bucket, **env_extra)
        result = localenv.test_dag(env, "humangap_report", logical_date, conf)
        result.log = result.stdout + result.stderr
        return result

    return run

