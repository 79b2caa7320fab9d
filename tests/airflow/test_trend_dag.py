"""Two daily runs of humangap_report on the real dataset: the second reports the trend."""

import pytest

import localenv
from helpers import keys_under, read_json

pytestmark = pytest.mark.airflow


def test_second_day_reports_the_trend_since_the_first(s3, bucket, cifar_bucket_dir, run_dag):
    localenv.upload_folder(s3, bucket, cifar_bucket_dir)
    for day, logical_date in (("2026-11-04", "2026-11-05"), ("2026-11-05", "2026-11-06")):
        result = run_dag(bucket, {"first_date": day, "last_date": day}, logical_date=logical_date)
        assert result.returncode == 0, result.log[-5000:]
        assert "state=failed" not in result.log, result.log[-5000:]
    first = read_json(s3, bucket, "reports/dt=2026-11-04/report.json")
    second = read_json(s3, bucket, "reports/dt=2026-11-05/report.json")
    assert first["previous_report_key"] is None
    assert second["previous_report_key"] == "reports/dt=2026-11-04/report.json"
    assert "reports/dt=2026-11-05/annotators.csv" in keys_under(s3, bucket, "reports/dt=2026-11-05/")
    before = {
        (model["model_version"], row["class"]): row for model in first["models"] for row in model["classes"]
    }
    assert len(second["models"]) == 5
    for model in second["models"]:
        assert len(model["classes"]) == 10
        for row in model["classes"]:
            change = row["trend"]
            assert change["previous_report_key"] == "reports/dt=2026-11-04/report.json"
            assert change["previous_window"] == {"first_date": "2026-11-04", "last_date": "2026-11-04"}
            earlier = before[(model["model_version"], row["class"])]
            assert change["model_accuracy_change"] == pytest.approx(
                row["model_accuracy"] - earlier["model_accuracy"]
            )
            assert change["gap_change"] == pytest.approx(row["gap"] - earlier["gap"])
            low, high = change["model_accuracy_change_ci"]
            assert low <= change["model_accuracy_change"] <= high
            assert change["regression"] == (high < 0)
