"""Helpers shared by the tests: the real dataset, its reference, and S3 look-ups."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "cifar10n_train"

FIELDS = {
    "support": "support",
    "model_accuracy": "model_accuracy",
    "human_accuracy": "human_accuracy_pooled",
    "human_accuracy_mean_per_annotator": "human_accuracy_mean_per_annotator",
}


def reference_full_window() -> pd.DataFrame:
    return pd.read_csv(DATASET / "reference_full_window.csv")


def report_rows(report: dict) -> pd.DataFrame:
    rows = [
        {"model_version": model["model_version"], **row}
        for model in report["models"]
        for row in model["classes"]
    ]
    return pd.DataFrame(rows)


def assert_matches_reference(report: dict) -> None:
    """Assert support and accuracies (model, pooled and mean per annotator) equal the reference to 6 decimals."""
    reference = reference_full_window()
    got = report_rows(report)
    assert len(got) == len(reference) == 50
    merged = reference.merge(got, on=["model_version", "class"], suffixes=("_ref", ""))
    assert len(merged) == 50
    for ours, theirs in FIELDS.items():
        expected = merged[theirs if theirs != ours else f"{ours}_ref"]
        difference = (merged[ours].astype(float) - expected.astype(float)).abs().max()
        assert difference < 5e-7, f"{ours} differs from the reference by {difference}"


def read_json(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def keys_under(s3, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)
