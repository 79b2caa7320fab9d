"""The whole pipeline without Airflow, against the moto S3 server."""

import json

import pytest

import localenv
from humangap.config import HumangapConfig
from humangap.pipeline import run_report
from humangap.storage import S3ClientStore
from humangap.validation import ValidationFailed
from humangap.window import resolve_window
from helpers import assert_matches_reference

WINDOW = resolve_window("2026-11-01", "2026-11-05", None, None)
RUN = {"dag_id": None, "run_id": "test"}


def test_real_dataset_matches_reference(s3, bucket, cifar_bucket_dir):
    localenv.upload_folder(s3, bucket, cifar_bucket_dir, prefix="team")
    config = HumangapConfig(bucket=bucket, prefix="team")
    published = run_report(S3ClientStore(s3, bucket), config, WINDOW, RUN)
    assert published["report_key"] == "reports/window=2026-11-01_2026-11-05/report.json"
    report = json.loads(s3.get_object(Bucket=bucket, Key=published["report_key"])["Body"].read())
    assert_matches_reference(report)
    assert report["inputs"]["predictions"]["rows"] == 250_000
    assert all("every measured class" in model["summary"] for model in report["models"])
    for model in report["models"]:
        accuracies = [row["model_accuracy"] for row in model["classes"]]
        assert accuracies == sorted(accuracies)


def test_validation_failure_publishes_no_report(s3, bucket):
    s3.put_object(Bucket=bucket, Key="gold/dt=2026-11-01/gold.csv", Body=b"item_id,label\n1,cat\n2,dog\n")
    s3.put_object(Bucket=bucket, Key="annotations/dt=2026-11-01/a.csv", Body=b"item_id,annotator_id,label\n1,w,cat\n")
    s3.put_object(Bucket=bucket, Key="predictions/dt=2026-11-01/p.csv", Body=b"item_id,predicted_label\n1,cat\n2,lizard\n")
    config = HumangapConfig(bucket=bucket)
    window = resolve_window("2026-11-01", None, None, None)
    with pytest.raises(ValidationFailed, match="lizard"):
        run_report(S3ClientStore(s3, bucket), config, window, RUN)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]]
    assert keys == ["reports/dt=2026-11-01/validation.json"]
