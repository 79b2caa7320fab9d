"""Outputs: whole-number counts, strict JSON, skipped partition files, safe reruns."""

import datetime as dt
import io
import json

import pandas as pd
import pytest

from humangap import sample
from humangap.config import HumangapConfig
from humangap.pipeline import run_report
from humangap.storage import LocalStore
from humangap.validation import ValidationFailed
from humangap.window import resolve_window

DAY = "2026-11-05"
WINDOW = resolve_window(DAY, None, None, None)


def test_csv_ranks_stay_integers_beside_unranked_class(tmp_path):
    sample.write_sample(tmp_path, dt.date.fromisoformat(DAY))
    config = HumangapConfig(bucket="local", classes=("paper", "rock", "scissors", "lizard"))
    published = run_report(LocalStore(tmp_path), config, WINDOW, {"run_id": "test"})
    text = (tmp_path / published["report_key"]).with_name("per_class.csv").read_text()
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert frame["priority_rank"].tolist()[:3] == ["1", "2", "3"]
    assert frame.loc[frame["class"] == "lizard", "priority_rank"].item() == ""
    assert frame["support"].tolist() == ["100", "100", "100", "0"]


def test_validation_json_is_strict_json_with_nulls(tmp_path):
    sample.write_sample(tmp_path, dt.date.fromisoformat(DAY))
    gold = tmp_path / "gold" / f"dt={DAY}" / "gold.csv"
    gold.write_text(gold.read_text() + ",rock\n")
    with pytest.raises(ValidationFailed):
        run_report(LocalStore(tmp_path), HumangapConfig(bucket="local"), WINDOW, {"run_id": "test"})
    raw = (tmp_path / "reports" / f"dt={DAY}" / "validation.json").read_text()

    def reject(constant):
        raise AssertionError(f"validation.json contains {constant}")

    result = json.loads(raw, parse_constant=reject)
    assert result["success"] is False


def test_hidden_and_nested_files_are_skipped(tmp_path):
    sample.write_sample(tmp_path, dt.date.fromisoformat(DAY))
    partition = tmp_path / "gold" / f"dt={DAY}"
    (partition / "_temporary" / "0").mkdir(parents=True)
    (partition / "_temporary" / "0" / "part-0.csv").write_text("item_id,label\nrps-00000,paper\n")
    (partition / ".hidden.csv").write_text("item_id,label\nrps-00000,paper\n")
    (partition / "_SUCCESS").write_text("")
    published = run_report(LocalStore(tmp_path), HumangapConfig(bucket="local"), WINDOW, {"run_id": "t"})
    report = json.loads((tmp_path / published["report_key"]).read_text())
    assert report["inputs"]["gold"]["keys"] == [f"gold/dt={DAY}/gold.csv"]
    assert sorted(report["inputs"]["skipped_keys"]) == [
        f"gold/dt={DAY}/.hidden.csv",
        f"gold/dt={DAY}/_SUCCESS",
        f"gold/dt={DAY}/_temporary/0/part-0.csv",
    ]


class FailingStore(LocalStore):
    """A folder store whose writes fail once a given file name comes up."""

    def __init__(self, root, fail_on):
        super().__init__(root)
        self.fail_on = fail_on

    def write_bytes(self, key, data, content_type):
        if key.endswith(self.fail_on):
            raise OSError(f"injected failure writing {key}")
        super().write_bytes(key, data, content_type)


def test_rerun_dying_midway_leaves_no_report_json(tmp_path):
    sample.write_sample(tmp_path, dt.date.fromisoformat(DAY))
    config = HumangapConfig(bucket="local")
    published = run_report(LocalStore(tmp_path), config, WINDOW, {"run_id": "first"})
    report_path = tmp_path / published["report_key"]
    assert report_path.is_file()
    with pytest.raises(OSError, match="injected failure"):
        run_report(FailingStore(tmp_path, "report.html"), config, WINDOW, {"run_id": "second"})
    # The old report.json is gone, so no reader trusts a folder of mixed runs.
    assert not report_path.exists()
    run_report(LocalStore(tmp_path), config, WINDOW, {"run_id": "third"})
    assert json.loads(report_path.read_text())["run"]["run_id"] == "third"
