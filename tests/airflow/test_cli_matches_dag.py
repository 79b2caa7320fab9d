"""The command line and the DAG build the same report from the same inputs."""

import json

import pytest

import localenv
from helpers import keys_under, read_json
from humangap import cli

pytestmark = pytest.mark.airflow

WINDOW = ("2026-11-01", "2026-11-05")
FOLDER = "reports/window=2026-11-01_2026-11-05/"


def comparable(report: dict) -> dict:
    """The report without the fields that name the run that built it.

    The count of evaluated expectations is left out too: the DAG validates each
    prediction file in its own mapped task, so it runs a different number of
    checks over the same rows than the one-process command line.
    """
    kept = {key: value for key, value in report.items() if key not in ("generated_at", "run")}
    kept["validation"] = {
        key: value for key, value in kept["validation"].items() if key != "evaluated_expectations"
    }
    return kept


def test_cli_report_equals_dag_report(s3, bucket, cifar_bucket_dir, run_dag, tmp_path, capsys):
    localenv.upload_folder(s3, bucket, cifar_bucket_dir)
    result = run_dag(bucket, {"first_date": WINDOW[0], "last_date": WINDOW[1]})
    assert result.returncode == 0, result.log[-5000:]
    assert FOLDER + "report.json" in keys_under(s3, bucket, FOLDER)
    dag_report = read_json(s3, bucket, FOLDER + "report.json")

    out = tmp_path / "out"
    code = cli.main(
        ["report", "--input", str(cifar_bucket_dir), "--from", WINDOW[0], "--to", WINDOW[1], "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    cli_report = json.loads((out / FOLDER / "report.json").read_text())

    assert comparable(cli_report) == comparable(dag_report)
    assert cli_report["run"]["window"] == dag_report["run"]["window"]
    assert dag_report["run"]["dag_id"] == "humangap_report"
    assert cli_report["run"]["run_type"] == "command_line"
    dag_csv = s3.get_object(Bucket=bucket, Key=FOLDER + "per_class.csv")["Body"].read()
    assert (out / FOLDER / "per_class.csv").read_bytes() == dag_csv
