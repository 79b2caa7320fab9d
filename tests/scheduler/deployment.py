"""Real Airflow deployments for the scheduler tests: its own processes on PostgreSQL.

Each deployment gets a fresh PostgreSQL database, an AIRFLOW_HOME under the test's
tmp dir, an api-server on a free loopback port, and logs in files that are printed
when a wait times out. Every process it starts is stopped, and the database is
dropped, when the fixture ends, whether or not the tests passed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import psycopg2

import localenv

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DAG_ID = "humangap_report"
TAIL_CHARS = 4000


def _postgres_admin():
    connection = psycopg2.connect(dbname="postgres", **POSTGRES)
    connection.autocommit = True
    return connection


class Deployment:
    """Airflow processes started by a test, with helpers to drive and inspect them."""

    def __init__(self, home: Path, env: dict[str, str], database: str) -> None:
        self.home = home
        self.env = env
        self.database = database
        self.logs = home / "logs-processes"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str, **extra_env: str) -> subprocess.Popen:
        """Start ``airflow ARGS`` in its own process group, logging to ``<name>.log``."""
        airflow = Path(sys.executable).with_name("airflow")
        log_file = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(
            [str(airflow), *args],
            env={**self.env, **extra_env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        self.processes[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Send ``sig`` to the process group of ``name`` and wait for its leader to exit."""
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name)
        # Children left behind by a SIGTERM'd leader share its process group.
        time.sleep(1)

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run an ``airflow`` CLI command and raise with its output if it fails."""
        result = localenv.airflow_command(list(args), self.env, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} failed:\n{result.stdout[-TAIL_CHARS:]}\n"
                f"{result.stderr[-TAIL_CHARS:]}"
            )
        return result

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Run ``sql`` on the metadata database and return every row."""
        connection = psycopg2.connect(dbname=self.database, **POSTGRES)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(sql, parameters)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def clear_task(self, api_port: int, run_id: str, task_id: str) -> dict:
        """Clear one task of one run through the REST API, as the UI's Clear button does."""
        base = f"http://127.0.0.1:{api_port}"
        # With simple_auth_manager_all_admins, GET /auth/token returns a token without credentials.
        with urllib.request.urlopen(f"{base}/auth/token", timeout=30) as response:
            token = json.load(response)["access_token"]
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False}
        request = urllib.request.Request(
            f"{base}/api/v2/dags/{DAG_ID}/clearTaskInstances",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def log_tails(self) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace")
            parts.append(f"----- {path.name} (last {TAIL_CHARS} chars) -----\n{text[-TAIL_CHARS:]}")
        return "\n".join(parts)

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll ``condition`` every second until it returns a true value."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(
                        f"airflow {name} exited with {process.returncode} while waiting for "
                        f"{what}\n{self.log_tails()}"
                    )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {what}\n{self.task_states()}\n"
                    f"{self.log_tails()}"
                )
            time.sleep(1)

    def task_states(self) -> str:
        rows = self.query(
            "SELECT run_id, task_id, map_index, state, try_number FROM task_instance "
            "ORDER BY run_id, task_id, map_index"
        )
        return "task instances:\n" + "\n".join(" ".join(str(value) for value in row) for row in rows)

    def runs(self, run_type: str | None = None) -> list[dict[str, Any]]:
        """Return the DAG runs, oldest logical date first."""
        sql = (
            "SELECT run_id, run_type, state, logical_date, data_interval_start FROM dag_run "
            "WHERE dag_id = %s"
        )
        parameters: tuple = (DAG_ID,)
        if run_type:
            sql += " AND run_type = %s"
            parameters += (run_type,)
        rows = self.query(sql + " ORDER BY logical_date NULLS LAST, id", parameters)
        names = ("run_id", "run_type", "state", "logical_date", "data_interval_start")
        return [dict(zip(names, row)) for row in rows]

    def wait_for_dag(self, timeout: float = 180) -> None:
        self.wait_for(
            lambda: self.query("SELECT 1 FROM serialized_dag WHERE dag_id = %s", (DAG_ID,)),
            timeout,
            "the dag-processor to serialize the DAG",
        )

    def wait_for_runs_finished(self, run_ids: list[str], timeout: float) -> dict[str, str]:
        """Wait until every run of ``run_ids`` is finished; fail unless all succeeded."""

        def finished():
            rows = self.query(
                "SELECT run_id, state FROM dag_run WHERE dag_id = %s AND run_id = ANY(%s)",
                (DAG_ID, run_ids),
            )
            states = dict(rows)
            if len(states) == len(run_ids) and all(
                state in ("success", "failed") for state in states.values()
            ):
                return states
            return None

        states = self.wait_for(finished, timeout, f"runs {run_ids} to finish")
        failed = [run_id for run_id, state in states.items() if state != "success"]
        assert not failed, f"runs failed: {failed}\n{self.task_states()}\n{self.log_tails()}"
        return states

    def backfill(self, first: str, last: str, *extra: str, timeout: float = 300) -> list[str]:
        """Create a backfill and wait for its runs; return their run ids."""
        before = self.query("SELECT coalesce(max(id), 0) FROM backfill")[0][0]
        self.airflow(
            "backfill", "create", "--dag-id", DAG_ID, "--from-date", first, "--to-date", last, *extra
        )
        (backfill_id,) = self.query("SELECT max(id) FROM backfill")[0]
        assert backfill_id > before, "airflow backfill create made no backfill"
        run_ids = [
            row[0]
            for row in self.query(
                "SELECT dr.run_id FROM backfill_dag_run b JOIN dag_run dr ON dr.id = b.dag_run_id "
                "WHERE b.backfill_id = %s ORDER BY b.sort_ordinal",
                (backfill_id,),
            )
        ]
        assert run_ids, f"backfill {backfill_id} created no runs: {self.query('SELECT * FROM backfill_dag_run')}"
        self.wait_for_runs_finished(run_ids, timeout)
        # Airflow allows one running backfill per DAG; the scheduler marks it
        # completed shortly after its last run finishes.
        self.wait_for(
            lambda: self.query("SELECT completed_at FROM backfill WHERE id = %s", (backfill_id,))[0][0],
            120,
            f"backfill {backfill_id} to be marked completed",
        )
        return run_ids


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """Create a fresh, uniquely named PostgreSQL database and drop it on exit."""
    name = f"humangap_test_{uuid.uuid4().hex[:10]}"
    admin = _postgres_admin()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def deployment_env(
    home: Path, endpoint: str, bucket: str, database: str, api_port: int, **extra: str
) -> dict[str, str]:
    """Return the environment shared by every Airflow process of a deployment."""
    return localenv.airflow_env(
        home,
        endpoint,
        bucket,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=(
            f"postgresql+psycopg2://{POSTGRES['user']}@{POSTGRES['host']}:{POSTGRES['port']}/{database}"
        ),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex,
        AIRFLOW__CORE__FERNET_KEY=_fernet_key(),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__CORE__PARALLELISM="4",
        # Backfill runs of a paused DAG are not scheduled. Unpaused, the DAG also
        # gets one scheduled run for the last complete day (catchup is off).
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="600",
        # A scheduler whose heartbeat is older than the threshold counts as dead and
        # its tasks are reset. Below Airflow's default of 30 s, a busy machine made
        # the live scheduler reset its own running tasks.
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD="30",
        AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL="10",
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="120",
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="5",
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(localenv.free_port()),
        HUMANGAP_START_DATE="2026-11-01",
        HUMANGAP_RETRY_DELAY_SECONDS="2",
        **extra,
    )


def slack_connection(url: str) -> str:
    return json.dumps({"conn_type": "slackwebhook", "password": url})
