"""Reports for the rendering tests: today's layout, the layout with statistics, the real data."""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from pathlib import Path

from helpers import DATASET
from humangap.config import HumangapConfig
from humangap.pipeline import run_report
from humangap.storage import LocalStore
from humangap.window import resolve_window

REAL_WINDOW = ("2026-11-01", "2026-11-05")


def _row(name, rank, support, model_correct, human_labels, human_correct, assessment):
    model_accuracy = model_correct / support
    human_accuracy = human_correct / human_labels
    return {
        "class": name,
        "support": support,
        "model_correct": model_correct,
        "model_accuracy": model_accuracy,
        "human_labels": human_labels,
        "human_correct": human_correct,
        "human_accuracy": human_accuracy,
        "gap": human_accuracy - model_accuracy,
        "priority_rank": rank,
        "assessment": assessment,
        "reason": None,
        "note": f"note on {name}",
    }


def basic_report(classes=("rock", "scissors", "paper"), window=("2026-11-05", "2026-11-05"), versions=("rps-v1",)):
    """A report in today's layout (no statistics fields), built by hand.

    Per class: 100 gold items; the first class has humans 95/100 against the
    model's 82/100, the others have the model ahead.
    """
    models = []
    for version in versions:
        rows = []
        for rank, name in enumerate(classes, start=1):
            if rank == 1:
                rows.append(_row(name, rank, 100, 82, 100, 95, "humans_ahead"))
            else:
                rows.append(_row(name, rank, 100, 90, 100, 88, "model_at_or_past_human_level"))
        models.append({"model_version": version, "summary": f"summary of {version}", "classes": rows})
    return {
        "schema_version": 1,
        "generator": "humangap 0.1.0",
        "generated_at": "2026-11-06T00:10:00+00:00",
        "run": {
            "dag_id": "humangap_report",
            "run_id": "scheduled__2026-11-05",
            "run_type": "scheduled",
            "data_interval_start": None,
            "data_interval_end": None,
            "window": {"first_date": window[0], "last_date": window[1]},
        },
        "classes": list(classes),
        "inputs": {
            "predictions": {"keys": ["predictions/dt=2026-11-05/p.csv"], "rows": 300},
            "gold": {"keys": ["gold/dt=2026-11-05/g.csv"], "rows": 300},
            "annotations": {"keys": ["annotations/dt=2026-11-05/a.csv"], "rows": 300},
            "skipped_keys": [],
            "label_window": {"first_date": "2026-10-06", "last_date": "2026-11-05"},
            "predictions_without_gold": 0,
            "annotations_without_gold": 0,
        },
        "validation": {
            "success": True,
            "evaluated_expectations": 12,
            "failed_expectations": 0,
            "result_key": "reports/dt=2026-11-05/validation.json",
        },
        "ranking_rule": "Classes where humans beat the model come first.",
        "models": models,
        "status": "ok",
    }


def statistics_report(classes=("rock", "scissors", "paper"), annotator="worker-7"):
    """``basic_report`` with every statistics field of schema additions, set by hand."""
    report = basic_report(classes)
    statuses = ["behind_human", "at_human_level", "ahead_of_human"]
    for model in report["models"]:
        model["baseline"] = "pooled"
        model["gap_interval"] = {"method": "bootstrap over items", "resamples": 2000, "seed": 7, "level": 0.95}
        for index, row in enumerate(model["classes"]):
            row["status"] = statuses[index % 3]
            row["model_accuracy_ci"] = [row["model_accuracy"] - 0.07, row["model_accuracy"] + 0.05]
            row["human_accuracy_ci"] = [row["human_accuracy"] - 0.05, row["human_accuracy"] + 0.03]
            row["gap_ci"] = [row["gap"] - 0.04, row["gap"] + 0.06]
            row["trend"] = {
                "previous_window": {"first_date": "2026-11-04", "last_date": "2026-11-04"},
                "previous_report_key": "reports/dt=2026-11-04/report.json",
                "model_accuracy_change": -0.05,
                "model_accuracy_change_ci": [-0.09, -0.01],
                "human_accuracy_change": 0.0,
                "human_accuracy_change_ci": [-0.02, 0.02],
                "gap_change": 0.05,
                "gap_change_ci": [0.01, 0.09],
                "regression": index == 0,
            }
            row["confusions"] = {
                "model": [{"label": classes[(index + 1) % len(classes)], "rate": 0.12, "count": 12}],
                "human": [{"label": classes[(index + 2) % len(classes)], "rate": 0.03, "count": 9}],
                "model_far_more": [classes[(index + 1) % len(classes)]] if index == 0 else [],
            }
    report["previous_report_key"] = "reports/dt=2026-11-04/report.json"
    report["inputs"]["skipped_keys"] = ["predictions/dt=2026-11-05/_SUCCESS"]
    report["annotators"] = {
        "available": True,
        "reason": None,
        "count": 12,
        "alpha": 0.812,
        "alpha_per_class": {name: 0.8 for name in classes},
        "items_with_two_or_more_labels": 300,
        "outliers": [
            {"annotator_id": annotator, "labels": 40, "accuracy": 0.41, "accuracy_ci": [0.27, 0.57], "p_value": 0.0004}
        ],
        "excluded_outliers": False,
        "effect_of_excluding_outliers": {},
    }
    return report


def with_window(report, first, last, gap_shift=0.0):
    """Return a copy of ``report`` for another window, with ``gap_shift`` added to every gap."""
    copied = copy.deepcopy(report)
    copied["run"]["window"] = {"first_date": first, "last_date": last}
    for model in copied["models"]:
        for row in model["classes"]:
            if row["gap"] is not None:
                row["gap"] += gap_shift
    return copied


@functools.lru_cache(maxsize=1)
def real_report_folder() -> Path:
    """Build the real dataset's report over its five days once per session; return its folder."""
    out = Path(tempfile.mkdtemp(prefix="humangap-real-report-"))
    config = HumangapConfig(bucket="local-folder")
    window = resolve_window(*REAL_WINDOW, None, None)
    published = run_report(
        LocalStore(DATASET / "bucket"), config, window, {"dag_id": None, "run_id": "test"},
        output_store=LocalStore(out),
    )
    return out / published["report_key"].rsplit("/", 1)[0]


def real_report() -> dict:
    return json.loads((real_report_folder() / "report.json").read_text())
