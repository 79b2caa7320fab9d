import json

import pytest

from humangap.config import ConfigError, HumangapConfig, load_config


def test_defaults():
    config = HumangapConfig(bucket="data")
    assert config.lookback_days == 30
    assert config.source_prefix("gold") == "gold/"
    assert config.file_column("predictions", "predicted_label") == "predicted_label"


def test_column_mapping():
    config = HumangapConfig.from_dict({"bucket": "b", "columns": {"predictions": {"predicted_label": "pred_label"}}})
    assert config.file_column("predictions", "predicted_label") == "pred_label"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param({"bucket": ""}, "invalid bucket", id="empty-bucket"),
        pytest.param({"bucket": "a/b"}, "invalid bucket", id="slash-in-bucket"),
        pytest.param({"bucket": "b", "lookback_days": -1}, "invalid lookback_days", id="negative-lookback"),
        pytest.param({"bucket": "b", "classes": []}, "classes is empty", id="empty-classes"),
        pytest.param({"bucket": "b", "classes": ["a", "a"]}, "classes has duplicates", id="duplicate-classes"),
        pytest.param({"bucket": "b", "columns": {"preds": {}}}, "unknown source 'preds'", id="unknown-source"),
        pytest.param({"bucket": "b", "columns": {"gold": {"lable": "x"}}}, "unknown column 'lable'", id="unknown-column"),
        pytest.param({"bucket": "b", "colour": 1}, r"unknown configuration keys \['colour'\]", id="unknown-key"),
        pytest.param({"bucket": "b", "min_gold_items": 0}, "invalid min_gold_items 0", id="zero-min-gold"),
        pytest.param({"bucket": "b", "min_human_labels": "many"}, "invalid min_human_labels 'many'", id="text-min-labels"),
        pytest.param({"bucket": "b", "baseline": "median"}, "invalid baseline 'median': expected one of pooled", id="unknown-baseline"),
        pytest.param({"bucket": "b", "exclude_outliers": "maybe"}, "invalid exclude_outliers 'maybe'", id="bad-exclude"),
        pytest.param({"bucket": "b", "bootstrap_resamples": 10}, "invalid bootstrap_resamples 10", id="few-resamples"),
        pytest.param({"bucket": "b", "seed": -1}, "invalid seed -1", id="negative-seed"),
        pytest.param({"bucket": "b", "empty_label": "drop"}, "invalid empty_label 'drop'", id="empty-label-policy"),
        pytest.param({"bucket": "b", "unknown_predicted_label": "ignore"}, "invalid unknown_predicted_label", id="unknown-label-policy"),
        pytest.param({"bucket": "b", "empty_files": "ignore"}, "invalid empty_files 'ignore'", id="empty-files-policy"),
        pytest.param({"bucket": "b", "max_bad_lines": -1}, "invalid max_bad_lines -1", id="negative-bad-lines"),
        pytest.param({"bucket": "b", "max_bad_lines": "many"}, "invalid max_bad_lines 'many'", id="text-bad-lines"),
        pytest.param({"bucket": "b", "case_fold_labels": "maybe"}, "invalid case_fold_labels 'maybe'", id="case-fold-text"),
        pytest.param({"bucket": "b", "csv_delimiters": {"gold": ";;"}}, "invalid csv_delimiters", id="long-delimiter"),
        pytest.param({"bucket": "b", "csv_delimiters": {"golds": ";"}}, "unknown source 'golds'", id="delimiter-source"),
        pytest.param({"bucket": "b", "classes": ["a", " "]}, "classes has an empty name", id="blank-class"),
    ],
)
def test_invalid_config_rejected(values, message):
    with pytest.raises(ConfigError, match=message):
        HumangapConfig.from_dict(values)


def test_load_config_layers(tmp_path, monkeypatch):
    path = tmp_path / "humangap.json"
    path.write_text(json.dumps({"bucket": "from-file", "lookback_days": 7, "classes": ["a", "b"]}))
    monkeypatch.setenv("HUMANGAP_CONFIG", str(path))
    monkeypatch.setenv("HUMANGAP_PREFIX", "env-prefix")
    config = load_config({"bucket": "from-override", "output_prefix": None})
    assert config.bucket == "from-override"
    assert config.prefix == "env-prefix"
    assert config.lookback_days == 7
    assert config.classes == ("a", "b")


def test_statistics_settings(monkeypatch):
    config = HumangapConfig(bucket="b")
    assert (config.min_gold_items, config.min_human_labels, config.baseline) == (30, 30, "pooled")
    assert config.exclude_outliers is False
    monkeypatch.delenv("HUMANGAP_CONFIG", raising=False)
    monkeypatch.setenv("HUMANGAP_BUCKET", "b")
    monkeypatch.setenv("HUMANGAP_BASELINE", "majority")
    monkeypatch.setenv("HUMANGAP_EXCLUDE_OUTLIERS", "true")
    loaded = load_config({"seed": "7"})
    assert loaded.stats_settings().baseline == "majority"
    assert loaded.stats_settings().exclude_outliers is True
    assert loaded.seed == 7


def test_load_config_without_bucket(monkeypatch):
    monkeypatch.delenv("HUMANGAP_CONFIG", raising=False)
    monkeypatch.delenv("HUMANGAP_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="no bucket configured"):
        load_config()


def test_load_config_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv("HUMANGAP_CONFIG", str(tmp_path / "absent.json"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config()


def test_policy_defaults_and_environment(monkeypatch):
    config = HumangapConfig(bucket="b")
    assert (config.empty_label, config.unknown_predicted_label, config.empty_files) == ("exclude", "fail", "fail")
    assert (config.max_bad_lines, config.case_fold_labels, config.csv_delimiters) == (0, False, {})
    monkeypatch.delenv("HUMANGAP_CONFIG", raising=False)
    monkeypatch.setenv("HUMANGAP_BUCKET", "b")
    monkeypatch.setenv("HUMANGAP_CASE_FOLD_LABELS", "true")
    monkeypatch.setenv("HUMANGAP_MAX_BAD_LINES", "3")
    monkeypatch.setenv("HUMANGAP_UNKNOWN_PREDICTED_LABEL", "warn")
    loaded = load_config()
    assert loaded.case_fold_labels is True
    assert loaded.max_bad_lines == 3
    assert loaded.unknown_predicted_label == "warn"
