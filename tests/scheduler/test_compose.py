"""docker-compose.yaml is a valid Compose file that deploys every part humangap needs."""

from __future__ import annotations

import json
import shutil
import subprocess

import yaml

import localenv

COMPOSE_FILE = localenv.REPO / "docker-compose.yaml"
AIRFLOW_SERVICES = {
    "airflow-api-server": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}


def _resolved_config() -> dict:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is not installed: apt-get install -y docker-compose"
    result = subprocess.run(
        [compose, "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=localenv.REPO,
        env={**localenv.QUIET_ENV, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_validates():
    config = _resolved_config()
    services = config["services"]
    assert {"postgres", "redis", "minio", "minio-init", "airflow-init"} <= set(services)
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["command"] == command, name
        assert service["image"].startswith("apache/airflow:3.3."), name
        environment = service["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
        assert "@postgres:5432/" in environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert environment["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://")
        assert environment["PYTHONPATH"] == "/opt/airflow/include"
        assert "requirements.txt" in environment["_PIP_ADDITIONAL_REQUIREMENTS"]
        connection = json.loads(environment["AIRFLOW_CONN_AWS_DEFAULT"])
        assert connection["extra"]["endpoint_url"] == "http://minio:9000"
        targets = {volume.split(":")[1] for volume in service["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/include"} <= targets
    assert services["airflow-worker"]["deploy"]["replicas"] >= 2
    assert "mc mb --ignore-existing" in services["minio-init"]["entrypoint"][-1]
