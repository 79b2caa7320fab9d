"""Every DAG file imports cleanly, cheaply and with retries on every task."""

import json
import subprocess
import sys

import localenv

DAGS = localenv.REPO / "dags"


def test_dag_files_import_without_errors(tmp_path, s3_endpoint):
    env = localenv.airflow_env(tmp_path, s3_endpoint, "unused")
    script = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"bag = DagBag(dag_folder={str(DAGS)!r});"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},"
        " 'tasks': {d.dag_id: {t.task_id: t.retries for t in d.tasks} for d in bag.dags.values()}}))"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert "humangap_report" in loaded["tasks"]
    for dag_id, tasks in loaded["tasks"].items():
        assert tasks, f"{dag_id} has no tasks"
        for task_id, retries in tasks.items():
            assert retries > 0, f"{dag_id}.{task_id} has no retries"


def test_dag_import_does_not_load_pandas_or_gx(tmp_path, s3_endpoint):
    env = localenv.airflow_env(tmp_path, s3_endpoint, "unused")
    for path in sorted(DAGS.glob("*.py")):
        script = (
            "import sys, json, importlib.util; import airflow; from airflow.sdk import dag;"
            "before = set(sys.modules);"
            f"spec = importlib.util.spec_from_file_location('dagfile', {str(path)!r});"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module);"
            "added = set(sys.modules) - before;"
            "print(json.dumps(sorted(m for m in added if m.split('.')[0] in ('pandas', 'great_expectations'))))"
        )
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        heavy = json.loads(result.stdout.strip().splitlines()[-1])
        assert heavy == [], f"importing {path.name} loads {heavy[:5]}"
