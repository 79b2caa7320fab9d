"""Statuses, outliers and the trend through the whole pipeline, against the moto S3 server."""

import datetime as dt
import io
import json

import pandas as pd
import pytest

from humangap import sample, trend
from humangap.config import HumangapConfig
from humangap.pipeline import run_report
from humangap.storage import S3ClientStore
from humangap.window import resolve_window
from helpers import read_json

RUN = {"dag_id": None, "run_id": "test"}


def upload(s3, bucket, root, day, frames):
    for path in sample.write_sample(root / day, dt.date.fromisoformat(day), frames):
        key = path.relative_to(root / day).as_posix()
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def renamed(frames, prefix):
    """Give every item a new id, so two days of samples can share a lookback window."""
    return {
        name: frame.assign(item_id=prefix + frame["item_id"].astype(str)) for name, frame in frames.items()
    }


def run_day(s3, bucket, day, **config):
    published = run_report(
        S3ClientStore(s3, bucket), HumangapConfig(bucket=bucket, **config), resolve_window(day, None, None, None), RUN
    )
    return read_json(s3, bucket, published["report_key"]), published


def test_twenty_items_per_class_is_insufficient_data(s3, bucket, tmp_path):
    frames = sample.sample_frames(
        items_per_class=20,
        model_correct={"paper": 19, "rock": 16, "scissors": 15},
        human_correct={"paper": 59, "rock": 57, "scissors": 46},
    )
    upload(s3, bucket, tmp_path, "2026-11-05", frames)
    report, published = run_day(s3, bucket, "2026-11-05")
    rows = report["models"][0]["classes"]
    assert {row["status"] for row in rows} == {"insufficient_data"}
    assert all("20 gold items, fewer than 30" in row["reason"] for row in rows)
    assert "insufficient data" in published["slack_message"]["text"]
    html = s3.get_object(Bucket=bucket, Key="reports/dt=2026-11-05/report.html")["Body"].read().decode()
    assert "insufficient data" in html


def test_seed_sample_keeps_its_order_with_statuses(s3, bucket, tmp_path):
    upload(s3, bucket, tmp_path, "2026-11-05", sample.sample_frames())
    report, published = run_day(s3, bucket, "2026-11-05")
    rows = report["models"][0]["classes"]
    assert [(row["class"], row["status"]) for row in rows] == [
        ("rock", "behind_human"), ("scissors", "at_human_level"), ("paper", "at_human_level")
    ]
    text = published["slack_message"]["text"]
    assert "rock: gap +13.0 points [" in text
    assert "behind human; scissors" in text
    # The same inputs give the same report, intervals included.
    again, _ = run_day(s3, bucket, "2026-11-05")
    assert again["models"] == report["models"]
    csv = pd.read_csv(io.BytesIO(s3.get_object(Bucket=bucket, Key="reports/dt=2026-11-05/per_class.csv")["Body"].read()))
    assert list(csv["status"]) == ["behind_human", "at_human_level", "at_human_level"]
    assert csv.loc[0, "gap_low"] == pytest.approx(rows[0]["gap_ci"][0], abs=1e-6)


def with_bad_annotator(frames):
    classes = list(sample.CLASSES)
    annotations = frames["annotations"].copy()
    bad = annotations["annotator_id"] == "annotator-1"
    gold = annotations["item_id"].map(frames["gold"].set_index("item_id")["label"])
    # Always the next class over: never right.
    annotations.loc[bad, "label"] = gold[bad].map(lambda name: classes[(classes.index(name) + 1) % 3])
    return {**frames, "annotations": annotations}


def test_outlier_is_listed_and_its_effect_shown(s3, bucket, tmp_path):
    upload(s3, bucket, tmp_path, "2026-11-05", with_bad_annotator(sample.sample_frames()))
    report, _ = run_day(s3, bucket, "2026-11-05")
    section = report["annotators"]
    assert section["available"] is True
    assert section["count"] == 5
    (outlier,) = section["outliers"]
    assert outlier["annotator_id"] == "annotator-1"
    assert outlier["accuracy"] == 0
    assert outlier["p_value"] < 0.05
    assert outlier["expected_accuracy"] > 0.5
    assert section["excluded_outliers"] is False
    effect = {row["class"]: row for row in section["effect_of_excluding_outliers"]["classes"]}
    rows = {row["class"]: row for row in report["models"][0]["classes"]}
    for name, row in rows.items():
        assert effect[name]["baseline_accuracy_kept"] == row["baseline_accuracy"]
        assert effect[name]["baseline_accuracy_excluded"] > effect[name]["baseline_accuracy_kept"]
    csv = pd.read_csv(io.BytesIO(s3.get_object(Bucket=bucket, Key=section["annotators_key"])["Body"].read()))
    assert list(csv.columns[:9]) == [
        "annotator_id", "labels", "correct", "accuracy", "accuracy_low", "accuracy_high", "outlier",
        "expected_accuracy", "p_value",
    ]
    assert csv.set_index("annotator_id")["outlier"].to_dict() == {
        "annotator-1": True, "annotator-2": False, "annotator-3": False, "annotator-4": False, "annotator-5": False
    }
    assert {"accuracy_paper", "accuracy_rock", "accuracy_scissors"} <= set(csv.columns)

    excluded, _ = run_day(s3, bucket, "2026-11-05", exclude_outliers=True)
    assert excluded["annotators"]["excluded_outliers"] is True
    for row in excluded["models"][0]["classes"]:
        assert row["baseline_accuracy"] == effect[row["class"]]["baseline_accuracy_excluded"]
        assert row["human_labels"] < rows[row["class"]]["human_labels"]


def test_second_report_compares_with_the_first(s3, bucket, tmp_path):
    upload(s3, bucket, tmp_path, "2026-11-04", renamed(sample.sample_frames(seed=1), "day1-"))
    first, _ = run_day(s3, bucket, "2026-11-04")
    assert first["previous_report_key"] is None
    assert all(row["trend"] is None for row in first["models"][0]["classes"])
    worse = sample.sample_frames(seed=2, model_correct={"paper": 97, "rock": 50, "scissors": 75})
    upload(s3, bucket, tmp_path, "2026-11-05", renamed(worse, "day2-"))
    second, _ = run_day(s3, bucket, "2026-11-05")
    assert second["previous_report_key"] == "reports/dt=2026-11-04/report.json"
    rows = {row["class"]: row for row in second["models"][0]["classes"]}
    rock = rows["rock"]["trend"]
    assert rock["previous_report_key"] == "reports/dt=2026-11-04/report.json"
    assert rock["previous_window"] == {"first_date": "2026-11-04", "last_date": "2026-11-04"}
    assert rock["model_accuracy_change"] == pytest.approx(0.50 - 0.82)
    assert rock["model_accuracy_change_ci"][1] < 0
    assert rock["regression"] is True
    assert rows["paper"]["trend"]["model_accuracy_change"] == pytest.approx(0)
    assert rows["paper"]["trend"]["regression"] is False
    assert rows["paper"]["trend"]["gap_change"] == pytest.approx(rows["paper"]["gap"] - 0.01)
    low, high = rows["paper"]["trend"]["gap_change_ci"]
    assert low < rows["paper"]["trend"]["gap_change"] < high


def put_report(s3, bucket, folder, dag_id):
    document = {"run": {"dag_id": dag_id, "window": {}}, "models": []}
    s3.put_object(Bucket=bucket, Key=f"reports/{folder}/report.json", Body=json.dumps(document).encode())


def test_previous_report_latest_earlier_same_dag(s3, bucket):
    store = S3ClientStore(s3, bucket)
    assert trend.find_previous(store, "reports", "2026-11-05", "humangap_report") is None
    put_report(s3, bucket, "dt=2026-11-01", "humangap_report")
    put_report(s3, bucket, "window=2026-11-02_2026-11-03", "humangap_report")
    put_report(s3, bucket, "dt=2026-11-04", "other_dag")
    put_report(s3, bucket, "window=2026-11-04_2026-11-05", "humangap_report")  # overlaps the window
    put_report(s3, bucket, "dt=2026-11-06", "humangap_report")  # later
    s3.put_object(Bucket=bucket, Key="reports/dt=2026-11-04/per_class.csv", Body=b"")
    key, document = trend.find_previous(store, "reports", "2026-11-05", "humangap_report")
    assert key == "reports/window=2026-11-02_2026-11-03/report.json"
    assert document["run"]["dag_id"] == "humangap_report"
