import numpy as np
import pandas as pd
import pytest

from humangap import encode
from humangap.readers import SourceFile
from humangap.validation import ValidationFailed, validate_inputs


def source(key, rows, columns):
    frame = pd.DataFrame(rows, columns=columns)
    for name in frame.columns:
        if name != "score":
            frame[name] = frame[name].astype("string")
    return SourceFile(key=key, frame=frame, header=list(columns))


def good_files():
    return {
        "predictions": [source("p/1.csv", [("1", "cat", 0.9), ("2", "dog", 0.8)], ["item_id", "predicted_label", "score"])],
        "gold": [source("g/1.csv", [("1", "cat"), ("2", "dog")], ["item_id", "label"])],
        "annotations": [source("a/1.csv", [("1", "w1", "cat"), ("2", "w1", "dog")], ["item_id", "annotator_id", "label"])],
    }


def failures_of(files, classes=None):
    with pytest.raises(ValidationFailed) as caught:
        validate_inputs(files, classes)
    return caught.value


def test_valid_inputs_pass():
    validated = validate_inputs(good_files(), None)
    assert validated.result["success"] is True
    assert validated.classes == ["cat", "dog"]
    assert validated.result["class_set_source"] == "gold"
    assert len(validated.frames["predictions"]) == 2


def test_unknown_predicted_label_named_with_file_and_samples():
    files = good_files()
    files["predictions"].append(source("p/2.csv", [("3", "lizard", 0.5)], ["item_id", "predicted_label", "score"]))
    error = failures_of(files)
    (failure,) = error.result["failures"]
    assert failure["expectation"] == "expect_column_values_to_be_in_set"
    assert failure["files"] == ["p/2.csv"]
    assert failure["sample_values"] == ["lizard"]
    assert failure["unexpected_count"] == 1
    assert "predictions (p/2.csv): column 'predicted_label'" in str(error)


def test_missing_column_lists_columns_found():
    files = good_files()
    files["predictions"].append(source("p/3.csv", [("3", "cat")], ["item_id", "Label"]))
    error = failures_of(files)
    missing = [f for f in error.result["failures"] if f["expectation"] == "expect_column_to_exist"]
    assert len(missing) == 1
    assert missing[0]["files"] == ["p/3.csv"]
    assert missing[0]["columns_found"] == ["item_id", "Label"]
    assert "columns found: ['item_id', 'Label']" in str(error)


def test_all_failures_reported_together():
    files = good_files()
    files["gold"] = [source("g/1.csv", [("1", "cat"), ("1", "dog"), (None, "dog")], ["item_id", "label"])]
    files["annotations"] = [source("a/1.csv", [("1", "w1", "cat"), ("1", "w1", "dog")], ["item_id", "annotator_id", "label"])]
    files["predictions"][0].frame.loc[0, "score"] = 1.5
    error = failures_of(files)
    kinds = sorted((f["source"], f["expectation"]) for f in error.result["failures"])
    assert kinds == [
        ("annotations", "expect_compound_columns_to_be_unique"),
        ("gold", "expect_column_values_to_be_unique"),
        ("gold", "expect_column_values_to_not_be_null"),
        ("predictions", "expect_column_values_to_be_between"),
    ]
    assert error.result["failed_expectations"] == 4


def test_configured_classes_check_gold():
    error = failures_of(good_files(), classes=("cat",))
    sources = sorted(f["source"] for f in error.result["failures"])
    assert sources == ["annotations", "gold", "predictions"]


def test_sample_values_capped_at_ten():
    rows = [(str(i), f"class-{i}", 0.5) for i in range(30)]
    files = good_files()
    files["predictions"] = [source("p/1.csv", rows, ["item_id", "predicted_label", "score"])]
    error = failures_of(files)
    assert len(error.result["failures"][0]["sample_values"]) == 10
    assert error.result["failures"][0]["unexpected_count"] == 30


def test_annotations_without_annotator_id_pass():
    files = good_files()
    files["annotations"] = [source("a/1.csv", [("1", "cat"), ("2", "cat")], ["item_id", "label"])]
    validated = validate_inputs(files, None)
    assert validated.result["success"] is True
    assert "annotator_id" not in validated.frames["annotations"].columns


def test_empty_annotator_id_is_named():
    files = good_files()
    files["annotations"] = [source("a/1.csv", [("1", None, "cat")], ["item_id", "annotator_id", "label"])]
    error = failures_of(files)
    assert "column 'annotator_id' failed expect_column_values_to_not_be_null on 1 row(s)" in str(error)


def test_duplicate_pairs_across_files_found(monkeypatch):
    # Two rows per hash-table part, so the ids are encoded in several parts.
    monkeypatch.setattr(encode, "ROWS_PER_PART", 2)
    columns = ["item_id", "predicted_label", "model_version", "score"]
    files = good_files()
    first = [("1", "cat", "v1", 0.9), ("2", "dog", "v1", 0.8), ("2", "dog", "v2", 0.7)]
    second = [("3", "cat", "v1", 0.5), ("2", "cat", "v1", 0.6), ("1", "cat", "v2", 0.4)]
    files["predictions"] = [source("p/1.csv", first, columns), source("p/2.csv", second, columns)]
    error = failures_of(files)
    (failure,) = error.result["failures"]
    assert failure["expectation"] == "expect_compound_columns_to_be_unique"
    assert failure["unexpected_count"] == 2
    assert failure["files"] == ["p/1.csv", "p/2.csv"]
    assert failure["sample_values"] == ["2 / v1"]


def test_results_hold_counts_without_codes():
    files = good_files()
    rows = [("1", "cat"), ("1", "dog"), ("2", "dog")]
    files["gold"] = [source("g/1.csv", rows, ["item_id", "label"])]
    error = failures_of(files)
    (unique,) = [
        check
        for check in error.result["sources"]["gold"]["results"]
        if check["expectation_config"]["type"] == "expect_column_values_to_be_unique"
    ]
    assert unique["success"] is False
    assert unique["result"]["unexpected_count"] == 2
    assert unique["result"]["element_count"] == 3
    # GX saw integer codes for the ids, so no GX list of unexpected values is kept.
    assert "partial_unexpected_list" not in unique["result"]
    assert error.result["failures"][0]["sample_values"] == ["1"]


def test_frames_keep_input_values():
    files = good_files()
    columns = ["item_id", "predicted_label", "score"]
    files["predictions"].append(source("p/2.csv", [("3", "dog", 0.1)], columns))
    frame = validate_inputs(files, None).frames["predictions"]
    inputs = pd.concat([item.frame for item in files["predictions"]], ignore_index=True)
    pd.testing.assert_frame_equal(frame.drop(columns="source_file"), inputs)
    assert frame["source_file"].astype(str).tolist() == ["p/1.csv", "p/1.csv", "p/2.csv"]


def colliding_hashes(values):
    """Stand-in for ``encode.id_hashes`` under which every id collides with every other."""
    missing = values.isna().to_numpy()
    return np.zeros(len(values), dtype=np.int64), missing


def test_hash_collisions_rechecked_exactly(monkeypatch):
    monkeypatch.setattr(encode, "id_hashes", colliding_hashes)

    validated = validate_inputs(good_files(), None)

    assert validated.result["success"] is True
    gold_checks = validated.result["sources"]["gold"]["results"]
    unique = [check for check in gold_checks if check["expectation_config"]["type"] == "expect_column_values_to_be_unique"]
    assert [check["success"] for check in unique] == [True]


def test_duplicates_found_despite_collisions(monkeypatch):
    monkeypatch.setattr(encode, "id_hashes", colliding_hashes)
    files = good_files()
    files["gold"] = [source("g/1.csv", [("1", "cat"), ("2", "dog"), ("2", "dog"), ("3", "cat")], ["item_id", "label"])]

    error = failures_of(files)

    (failure,) = error.result["failures"]
    assert failure["expectation"] == "expect_column_values_to_be_unique"
    assert failure["unexpected_count"] == 2
    assert failure["sample_values"] == ["2"]


def test_duplicate_pairs_with_empty_version_named():
    columns = ["item_id", "predicted_label", "model_version", "score"]
    files = good_files()
    rows = [("1", "cat", None, 0.9), ("1", "dog", None, 0.8), ("2", "dog", "v1", 0.7)]
    files["predictions"] = [source("p/1.csv", rows, columns)]

    error = failures_of(files)

    by_kind = {failure["expectation"]: failure for failure in error.result["failures"]}
    assert by_kind["expect_column_values_to_not_be_null"]["sample_values"] == ["(empty)"]
    pair = by_kind["expect_compound_columns_to_be_unique"]
    assert pair["unexpected_count"] == 2
    assert pair["sample_values"] == ["1 / (empty)"]
