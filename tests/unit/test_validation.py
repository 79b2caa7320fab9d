import pandas as pd
import pytest

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
