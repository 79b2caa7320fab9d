"""Real runs of humangap_report with ``airflow dags test`` against moto S3."""

import json

import localenv
from helpers import assert_matches_reference, keys_under, read_json


def test_real_dataset_window_matches_reference(s3, bucket, cifar_bucket_dir, run_dag, slack_receiver):
    localenv.upload_folder(s3, bucket, cifar_bucket_dir)
    slack = json.dumps({"conn_type": "slackwebhook", "password": slack_receiver.url})
    result = run_dag(bucket, {"first_date": "2026-11-01", "last_date": "2026-11-05"}, AIRFLOW_CONN_SLACK_DEFAULT=slack)
    assert result.returncode == 0, result.log[-5000:]
    folder = "reports/window=2026-11-01_2026-11-05/"
    assert keys_under(s3, bucket, folder) == [
        folder + name
        for name in (
            "annotators.csv", "per_class.csv", "report.html", "report.json", "slack_message.json", "validation.json"
        )
    ]
    report = read_json(s3, bucket, folder + "report.json")
    assert_matches_reference(report)
    assert report["run"]["dag_id"] == "humangap_report"
    assert report["run"]["window"] == {"first_date": "2026-11-01", "last_date": "2026-11-05"}
    assert len(report["models"]) == 5
    for model in report["models"]:
        assert "at or past human level on every measured class" in model["summary"]
        accuracies = [row["model_accuracy"] for row in model["classes"]]
        assert accuracies == sorted(accuracies)
        assert [row["priority_rank"] for row in model["classes"]] == list(range(1, 11))
    # The summary reached the webhook once, through the Slack provider's hook.
    (post,) = slack_receiver.posts
    assert slack_receiver.server.requests[0]["path"] == "/services/T000/B000/XXXX"
    assert post == read_json(s3, bucket, folder + "slack_message.json")
    assert "s3://" + bucket + "/" + folder + "report.html" in post["text"]
    assert post["blocks"][0]["type"] == "header"
    for model in report["models"]:
        top = [row["class"] for row in model["classes"][:3]]
        header = next(
            index for index, b in enumerate(post["blocks"])
            if b["type"] == "header" and model["model_version"] in b["text"]["text"]
        )
        section = post["blocks"][header + 1]["text"]["text"]
        for position, name in enumerate(top, start=1):
            assert f"{position}. {name}: gap" in section


def test_bad_predictions_fail_at_validation(s3, bucket, run_dag):
    day = "dt=2026-11-03"
    s3.put_object(Bucket=bucket, Key=f"gold/{day}/gold.csv", Body=b"item_id,label\n1,cat\n2,dog\n3,dog\n")
    s3.put_object(Bucket=bucket, Key=f"annotations/{day}/a.csv", Body=b"item_id,annotator_id,label\n1,w,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/{day}/good.csv", Body=b"item_id,predicted_label\n1,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/{day}/unknown.csv", Body=b"item_id,predicted_label\n2,lizard\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/{day}/renamed.csv", Body=b"item_id,pred\n3,dog\n")
    result = run_dag(bucket, {"first_date": "2026-11-03", "last_date": "2026-11-03"})
    assert result.returncode != 0 or "state=failed" in result.log
    assert "Input validation failed: 2 expectation(s) not met" in result.log
    assert "predictions (predictions/dt=2026-11-03/unknown.csv): column 'predicted_label' failed expect_column_values_to_be_in_set on 1 row(s); sample values: ['lizard']" in result.log
    assert "predictions (predictions/dt=2026-11-03/renamed.csv): column 'predicted_label' failed expect_column_to_exist" in result.log
    assert "columns found: ['item_id', 'pred']" in result.log
    assert keys_under(s3, bucket, "reports/") == ["reports/dt=2026-11-03/validation.json"]
    validation = read_json(s3, bucket, "reports/dt=2026-11-03/validation.json")
    assert validation["success"] is False
    assert validation["failed_expectations"] == 2
