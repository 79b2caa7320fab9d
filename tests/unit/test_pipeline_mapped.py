"""The per-file steps of the scaled-out DAG, without Airflow, against the moto S3 server."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from humangap.config import HumangapConfig
from humangap.counts import LabelCounts
from humangap.pipeline import (
    combine_counts,
    count_file,
    plan_inputs,
    publish,
    run_report,
    slack_marker_key,
    update_latest,
    validate_and_count,
    validate_labels,
)
from humangap.storage import S3ClientStore
from humangap.validation import ValidationFailed
from humangap.window import resolve_window

RUN = {"dag_id": None, "run_id": "test"}
DAY = "2026-11-03"


def _mapped_counts(store, config, window):
    """Run the steps the DAG maps, in this process, and return (plan, counted)."""
    plan = plan_inputs(store, config, window)
    labels = validate_labels(store, config, plan)
    per_file = [count_file(store, config, plan, key, labels) for key in plan["keys"]["predictions"] or [None]]
    json.dumps(per_file)  # What a mapped task returns must fit in an XCom as JSON.
    return plan, combine_counts(store, config, plan, labels, per_file)


def _put_parquet(s3, bucket, key, frame):
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def _split_day(s3, bucket, cifar_bucket_dir, parts):
    """Upload one real day with its predictions split into ``parts`` files by rows."""
    for source, name in (("gold", "gold.csv"), ("annotations", "annotations.jsonl.gz")):
        path = cifar_bucket_dir / source / f"dt={DAY}" / name
        s3.upload_file(str(path), bucket, f"{source}/dt={DAY}/{name}")
    predictions = pd.read_parquet(cifar_bucket_dir / "predictions" / f"dt={DAY}" / "predictions.parquet")
    size = -(-len(predictions) // parts)
    for index in range(parts):
        part = predictions.iloc[index * size : (index + 1) * size]
        _put_parquet(s3, bucket, f"predictions/dt={DAY}/part-{index:03d}.parquet", part)
    return predictions


def test_split_files_equal_single_task(s3, bucket, cifar_bucket_dir):
    _split_day(s3, bucket, cifar_bucket_dir, parts=7)
    store = S3ClientStore(s3, bucket)
    config = HumangapConfig(bucket=bucket)
    window = resolve_window(DAY, DAY, None, None)
    plan, mapped = _mapped_counts(store, config, window)
    assert len(plan["keys"]["predictions"]) == 7
    single = run_report(store, config, window, RUN)
    single_report = json.loads(store.read_bytes(single["report_key"]))
    expected = validate_and_count(store, config, plan)
    assert mapped["counts"] == expected["counts"]
    assert mapped["rows"] == expected["rows"] == {"predictions": 50_000, "gold": 10_000, "annotations": 30_000}
    assert mapped["coverage"] == expected["coverage"]
    assert mapped["classes"] == expected["classes"]
    published = publish(store, plan, mapped, RUN)
    mapped_report = json.loads(store.read_bytes(published["report_key"]))
    assert mapped_report["models"] == single_report["models"]
    assert mapped_report["inputs"] == single_report["inputs"]


def test_duplicates_across_files_rejected(s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"gold/dt={DAY}/g.csv", Body=b"item_id,label\n1,cat\n2,dog\n3,dog\n")
    s3.put_object(Bucket=bucket, Key=f"annotations/dt={DAY}/a.csv", Body=b"item_id,annotator_id,label\n1,w,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/a.csv", Body=b"item_id,predicted_label,model_version\n1,cat,m1\n3,dog,m1\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/b.csv", Body=b"item_id,predicted_label,model_version\n2,dog,m1\n3,cat,m1\n1,cat,m2\n")
    store = S3ClientStore(s3, bucket)
    with pytest.raises(ValidationFailed, match=r"3 / m1") as raised:
        _mapped_counts(store, HumangapConfig(bucket=bucket), resolve_window(DAY, DAY, None, None))
    assert "predictions/dt=2026-11-03/a.csv, predictions/dt=2026-11-03/b.csv" in str(raised.value)
    validation = json.loads(store.read_bytes(f"reports/dt={DAY}/validation.json"))
    (failure,) = validation["failures"]
    assert failure["expectation"] == "expect_compound_columns_to_be_unique"
    assert failure["unexpected_count"] == 2
    assert failure["sample_values"] == ["3 / m1"]


def test_disjoint_files_are_not_reread(s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"gold/dt={DAY}/g.csv", Body=b"item_id,label\n1,cat\n2,dog\n")
    s3.put_object(Bucket=bucket, Key=f"annotations/dt={DAY}/a.csv", Body=b"item_id,annotator_id,label\n1,w,cat\n2,w,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/a.csv", Body=b"item_id,predicted_label\n1,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/b.csv", Body=b"item_id,predicted_label\n2,cat\n")
    store = S3ClientStore(s3, bucket)
    _, counted = _mapped_counts(store, HumangapConfig(bucket=bucket), resolve_window(DAY, DAY, None, None))
    table = LabelCounts.from_records(counted["counts"]).table
    records = {(r.kind, r.gold, r.label): r.n for r in table.itertuples()}
    assert records == {
        ("model", "cat", "cat"): 1,
        ("model", "dog", "cat"): 1,
        ("human", "cat", "cat"): 1,
        ("human", "dog", "cat"): 1,
    }


def test_every_failure_reaches_validation_json(s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"gold/dt={DAY}/g.csv", Body=b"item_id,label\n1,cat\n1,dog\n")
    s3.put_object(Bucket=bucket, Key=f"annotations/dt={DAY}/a.csv", Body=b"item_id,annotator_id,label\n1,w,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/good.csv", Body=b"item_id,predicted_label\n1,cat\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/bad.csv", Body=b"item_id,predicted_label\n2,lizard\n")
    s3.put_object(Bucket=bucket, Key=f"predictions/dt={DAY}/renamed.csv", Body=b"item_id,pred\n3,dog\n")
    store = S3ClientStore(s3, bucket)
    with pytest.raises(ValidationFailed, match="3 expectation"):
        _mapped_counts(store, HumangapConfig(bucket=bucket), resolve_window(DAY, DAY, None, None))
    validation = json.loads(store.read_bytes(f"reports/dt={DAY}/validation.json"))
    found = sorted((f["source"], f["files"][0], f["expectation"]) for f in validation["failures"])
    assert found == [
        ("gold", f"gold/dt={DAY}/g.csv", "expect_column_values_to_be_unique"),
        ("predictions", f"predictions/dt={DAY}/bad.csv", "expect_column_values_to_be_in_set"),
        ("predictions", f"predictions/dt={DAY}/renamed.csv", "expect_column_to_exist"),
    ]
    assert validation["sources"]["predictions"]["rows"] == 3
    assert keys_of(s3, bucket, "reports/") == [f"reports/dt={DAY}/validation.json"]


def test_no_prediction_files_reports_no_data(s3, bucket):
    s3.put_object(Bucket=bucket, Key=f"gold/dt={DAY}/g.csv", Body=b"item_id,label\n1,cat\n")
    # The source folders exist, with files on other days only.
    s3.put_object(Bucket=bucket, Key="predictions/dt=2026-01-01/p.csv", Body=b"item_id,predicted_label\n")
    s3.put_object(Bucket=bucket, Key="annotations/dt=2026-01-01/a.csv", Body=b"item_id,annotator_id,label\n")
    store = S3ClientStore(s3, bucket)
    plan, counted = _mapped_counts(store, HumangapConfig(bucket=bucket), resolve_window(DAY, DAY, None, None))
    published = publish(store, plan, counted, RUN)
    report = json.loads(store.read_bytes(published["report_key"]))
    assert report["status"] == "no_data"
    assert report["inputs"]["predictions"]["rows"] == 0


def keys_of(s3, bucket, prefix):
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def _window(first, last):
    return {"first_date": first, "last_date": last}


def test_latest_never_moves_backwards(s3, bucket):
    store = S3ClientStore(s3, bucket)

    def latest():
        return json.loads(store.read_bytes("reports/latest.json"))["report_key"]

    assert update_latest(store, "reports/dt=2026-11-04/", _window("2026-11-04", "2026-11-04"), RUN)
    assert latest() == "reports/dt=2026-11-04/report.json"
    assert not update_latest(store, "reports/dt=2026-11-02/", _window("2026-11-02", "2026-11-02"), RUN)
    assert latest() == "reports/dt=2026-11-04/report.json"
    assert update_latest(store, "reports/dt=2026-11-05/", _window("2026-11-05", "2026-11-05"), RUN)
    # A longer window that ends on the same day does not replace the one-day report.
    assert not update_latest(
        store, "reports/window=2026-11-01_2026-11-05/", _window("2026-11-01", "2026-11-05"), RUN
    )
    assert latest() == "reports/dt=2026-11-05/report.json"
    # A rerun of the newest day rewrites the pointer with its run id.
    rerun = {**RUN, "run_id": "rerun"}
    assert update_latest(store, "reports/dt=2026-11-05/", _window("2026-11-05", "2026-11-05"), rerun)
    assert json.loads(store.read_bytes("reports/latest.json"))["run_id"] == "rerun"


def test_slack_marker_outside_report_folder():
    key = slack_marker_key("team/reports/dt=2026-11-05/", "backfill__2026-11-05T00:00:00+00:00")
    assert key == "team/reports/_slack_posted/dt=2026-11-05/backfill__2026-11-05T00_00_00+00_00.json"
