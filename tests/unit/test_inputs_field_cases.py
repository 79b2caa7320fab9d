"""Messy real-world inputs, each run through the whole pipeline against moto S3.

Every expected number is counted by hand from the few rows written in the test.
"""

import json

import pytest

from helpers import keys_under, read_json
from humangap.config import HumangapConfig
from humangap.pipeline import run_report
from humangap.readers import InputFormatError, read_source_file
from humangap.storage import LocalStore, S3ClientStore
from humangap.validation import ValidationFailed
from humangap.window import resolve_window

DAY = "2026-11-01"
FOLDER = f"reports/dt={DAY}/"
RUN = {"dag_id": None, "run_id": "field-case"}
REPORT_FILES = [
    "annotators.csv",
    "per_class.csv",
    "report.html",
    "report.json",
    "slack_message.json",
    "validation.json",
]


def put(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)


def run(s3, bucket, **settings):
    config = HumangapConfig.from_dict({"bucket": bucket, **settings})
    window = resolve_window(DAY, None, None, None)
    published = run_report(S3ClientStore(s3, bucket), config, window, RUN)
    return read_json(s3, bucket, published["report_key"]), published


def failed_run(s3, bucket, error_type, **settings):
    with pytest.raises(error_type) as caught:
        run(s3, bucket, **settings)
    return caught.value


def rows_of(report, model=0):
    return {row["class"]: row for row in report["models"][model]["classes"]}


def put_sources(s3, bucket, gold, predictions, annotations):
    put(s3, bucket, f"gold/dt={DAY}/gold.csv", gold)
    put(s3, bucket, f"predictions/dt={DAY}/predictions.csv", predictions)
    put(s3, bucket, f"annotations/dt={DAY}/annotations.csv", annotations)


# Labels and classes


def test_configured_class_absent_from_window(s3, bucket):
    put_sources(
        s3,
        bucket,
        "item_id,label\n1,cat\n2,cat\n3,dog\n4,dog\n",
        "item_id,predicted_label\n1,cat\n2,dog\n3,dog\n4,dog\n",
        "item_id,annotator_id,label\n1,w,cat\n2,w,cat\n3,w,dog\n4,w,cat\n",
    )
    # Minimums of 1 so that cat and dog get a status on these few items.
    report, _ = run(s3, bucket, classes=["cat", "dog", "bird"], min_gold_items=1, min_human_labels=1)
    rows = rows_of(report)
    bird = rows["bird"]
    assert bird["support"] == 0
    assert bird["model_accuracy"] is None
    assert bird["human_accuracy"] is None
    assert bird["gap"] is None
    assert bird["priority_rank"] is None
    assert bird["assessment"] == "not_measured"
    assert bird["reason"] == "no gold items of this class have a prediction from this model version"
    # Listed last and left out of the summary's count of measured classes.
    assert report["models"][0]["classes"][-1]["class"] == "bird"
    assert "measured class (2:" in report["models"][0]["summary"]
    # cat: model 1/2, humans 2/2, gap 0.5; dog: model 2/2, humans 1/2, model ahead.
    assert rows["cat"]["priority_rank"] == 1
    assert rows["dog"]["priority_rank"] == 2


GOLD_AB = "item_id,label\n1,a\n2,a\n3,b\n4,b\n5,b\n"
PREDICTIONS_ABC = "item_id,predicted_label\n1,a\n2,a\n3,b\n4,b\n5,c\n"
ANNOTATIONS_AB = "item_id,annotator_id,label\n1,w,a\n2,w,a\n3,w,b\n4,w,b\n5,w,b\n"


def test_unknown_predicted_class_fails_by_default(s3, bucket):
    put_sources(s3, bucket, GOLD_AB, PREDICTIONS_ABC, ANNOTATIONS_AB)
    error = failed_run(s3, bucket, ValidationFailed)
    (failure,) = error.result["failures"]
    assert failure["column"] == "predicted_label"
    assert failure["sample_values"] == ["c"]
    assert failure["unexpected_count"] == 1
    assert failure["files"] == [f"predictions/dt={DAY}/predictions.csv"]
    assert "unknown_predicted_label 'warn'" in str(error)
    assert keys_under(s3, bucket, "reports/") == [FOLDER + "validation.json"]


def test_unknown_predicted_class_warns_and_counts(s3, bucket):
    put_sources(s3, bucket, GOLD_AB, PREDICTIONS_ABC, ANNOTATIONS_AB)
    report, _ = run(s3, bucket, unknown_predicted_label="warn")
    assert report["classes"] == ["a", "b"]
    rows = rows_of(report)
    assert sorted(rows) == ["a", "b"]
    # The "c" prediction on item 5 counts as wrong for its gold class b.
    assert (rows["b"]["support"], rows["b"]["model_correct"]) == (3, 2)
    assert (rows["a"]["support"], rows["a"]["model_correct"]) == (2, 2)
    unknown = report["data_quality"]["unknown_predicted_labels"]
    assert unknown == {"policy": "warn", "rows": 1, "labels": {"c": 1}}
    validation = read_json(s3, bucket, FOLDER + "validation.json")
    assert validation["success"] is True
    (warning,) = validation["warnings"]
    assert warning["sample_values"] == ["c"]


def test_class_with_predictions_only_never_ranks_first(s3, bucket):
    # Items 1-4 are cats and dogs. The model predicts "fox" twice, but no gold item is a fox.
    put_sources(
        s3,
        bucket,
        "item_id,label\n1,cat\n2,cat\n3,dog\n4,dog\n",
        "item_id,predicted_label\n1,fox\n2,cat\n3,fox\n4,dog\n",
        "item_id,annotator_id,label\n1,w,cat\n2,w,cat\n3,w,dog\n4,w,dog\n",
    )
    report, _ = run(s3, bucket, classes=["cat", "dog", "fox"])
    ranked = report["models"][0]["classes"]
    fox = rows_of(report)["fox"]
    assert fox["support"] == 0
    assert fox["human_labels"] == 0
    assert fox["model_accuracy"] is None
    assert fox["priority_rank"] is None
    assert ranked[0]["class"] != "fox"
    assert ranked[-1]["class"] == "fox"
    # cat and dog: model 1/2, humans 2/2, so both have a gap of 0.5; ties go by name.
    assert [row["class"] for row in ranked[:2]] == ["cat", "dog"]


MIXED_CASE = {
    "gold": "item_id,label\n1,Positive\n2, negative\n",
    "predictions": "item_id,predicted_label\n1,positive \n2,NEGATIVE\n",
    "annotations": "item_id,annotator_id,label\n1,w, POSITIVE\n2,w,negative\n",
}


def test_labels_trimmed_and_case_folded(s3, bucket):
    put_sources(s3, bucket, MIXED_CASE["gold"], MIXED_CASE["predictions"], MIXED_CASE["annotations"])
    report, _ = run(s3, bucket, case_fold_labels=True)
    assert report["classes"] == ["negative", "positive"]
    rows = rows_of(report)
    assert (rows["positive"]["model_correct"], rows["positive"]["support"]) == (1, 1)
    assert (rows["negative"]["human_correct"], rows["negative"]["human_labels"]) == (1, 1)
    quality = report["data_quality"]
    assert quality["label_normalisation"] == {"trim": True, "case_fold": True}
    changed = {source: counts["changed_labels"] for source, counts in quality["sources"].items()}
    # gold: "Positive", " negative"; predictions: both; annotations: " POSITIVE" only.
    assert changed == {"predictions": 2, "gold": 2, "annotations": 1}


def test_labels_trimmed_without_case_folding(s3, bucket):
    put_sources(s3, bucket, MIXED_CASE["gold"], MIXED_CASE["predictions"], MIXED_CASE["annotations"])
    error = failed_run(s3, bucket, ValidationFailed)
    assert error.result["classes"] == ["Positive", "negative"]
    predicted = next(f for f in error.result["failures"] if f["source"] == "predictions")
    # Trimmed, so "positive " is shown as "positive", but its case still differs.
    assert sorted(predicted["sample_values"]) == ["NEGATIVE", "positive"]


def test_configured_classes_are_normalised():
    config = HumangapConfig.from_dict({"bucket": "b", "classes": [" Cat", "dog"], "case_fold_labels": True})
    assert config.classes == ("cat", "dog")
    with pytest.raises(ValueError, match="duplicates after trimming and case folding"):
        HumangapConfig.from_dict({"bucket": "b", "classes": ["Cat", "cat "], "case_fold_labels": True})


EMPTY_LABELS = {
    # Items 7 and 8 have an empty gold label (one is only spaces).
    "gold": "item_id,label\n1,cat\n2,cat\n3,dog\n4,cat\n5,dog\n6,dog\n7,\n8,   \n",
    # The model abstained on items 1, 2 and 3.
    "predictions": "item_id,predicted_label\n1,\n2,\n3,\n4,cat\n5,cat\n6,dog\n7,dog\n8,cat\n",
    "annotations": "item_id,annotator_id,label\n4,w,cat\n5,w,dog\n6,w,dog\n",
}


def test_empty_labels_excluded_and_counted(s3, bucket):
    put_sources(s3, bucket, EMPTY_LABELS["gold"], EMPTY_LABELS["predictions"], EMPTY_LABELS["annotations"])
    report, _ = run(s3, bucket)
    assert report["classes"] == ["cat", "dog"]
    sources = report["data_quality"]["sources"]
    assert sources["predictions"] == {"rows_read": 8, "changed_labels": 0, "empty_label_rows": 3, "excluded_rows": 3}
    assert sources["gold"]["excluded_rows"] == 2
    assert report["inputs"]["predictions"]["rows"] == 5
    assert report["inputs"]["gold"]["rows"] == 6
    # Items 4-6 are scored; 7 and 8 lost their gold label, so they count as without gold.
    supports = sum(row["support"] for row in report["models"][0]["classes"])
    assert supports == 3
    assert report["inputs"]["predictions_without_gold"] == 2
    assert supports + report["inputs"]["predictions_without_gold"] + sources["predictions"]["excluded_rows"] == 8


def test_empty_labels_fail_when_configured(s3, bucket):
    put_sources(s3, bucket, EMPTY_LABELS["gold"], EMPTY_LABELS["predictions"], EMPTY_LABELS["annotations"])
    error = failed_run(s3, bucket, ValidationFailed, empty_label="fail")
    nulls = sorted(
        (f["source"], f["unexpected_count"])
        for f in error.result["failures"]
        if f["expectation"] == "expect_column_values_to_not_be_null"
    )
    assert nulls == [("gold", 2), ("predictions", 3)]


# Files

CONFIG = HumangapConfig(bucket="b")


def test_byte_order_mark_and_quoted_header():
    plain = b'"item_id","label"\n"a1","cat"\n"a2","dog"\n'
    with_mark = b"\xef\xbb\xbf" + plain
    expected = read_source_file(plain, "gold/plain.csv", "gold", CONFIG)
    parsed = read_source_file(with_mark, "gold/excel.csv", "gold", CONFIG)
    assert parsed.header == ["item_id", "label"]
    assert parsed.frame.equals(expected.frame)
    assert parsed.frame["item_id"].tolist() == ["a1", "a2"]


def test_semicolon_file_rejected_with_header():
    data = b"item_id;annotator_id;label\n1;w;cat\n"
    with pytest.raises(InputFormatError) as caught:
        read_source_file(data, "annotations/dt=2026-11-01/vendor.csv", "annotations", CONFIG)
    message = str(caught.value)
    assert "annotations/dt=2026-11-01/vendor.csv" in message
    assert "'item_id;annotator_id;label'" in message
    assert '"csv_delimiters": {"annotations": ";"}' in message


def test_semicolon_file_read_with_delimiter_option():
    config = HumangapConfig.from_dict({"bucket": "b", "csv_delimiters": {"annotations": ";"}})
    parsed = read_source_file(b"item_id;annotator_id;label\n1;w;cat\n", "a.csv", "annotations", config)
    assert parsed.frame.to_dict("records") == [{"item_id": "1", "annotator_id": "w", "label": "cat"}]


def put_three_prediction_files(s3, bucket):
    put(s3, bucket, f"gold/dt={DAY}/gold.csv", "item_id,label\n1,cat\n2,dog\n3,cat\n")
    put(s3, bucket, f"annotations/dt={DAY}/a.csv", "item_id,annotator_id,label\n1,w,cat\n2,w,dog\n3,w,dog\n")
    put(s3, bucket, f"predictions/dt={DAY}/p1.csv", "item_id,predicted_label,score\n1,cat,0.9\n")
    put(s3, bucket, f"predictions/dt={DAY}/p2.csv", "score,predicted_label,item_id\n0.8,cat,2\n")
    put(s3, bucket, f"predictions/dt={DAY}/p3.csv", "item_id,pred_label,score\n3,cat,0.7\n")


def test_renamed_column_names_its_file(s3, bucket):
    put_three_prediction_files(s3, bucket)
    error = failed_run(s3, bucket, ValidationFailed)
    (failure,) = error.result["failures"]
    assert failure["expectation"] == "expect_column_to_exist"
    assert failure["files"] == [f"predictions/dt={DAY}/p3.csv"]
    assert failure["columns_found"] == ["item_id", "pred_label", "score"]


def test_columns_align_by_name_and_mapping(s3, bucket):
    put_three_prediction_files(s3, bucket)
    report, _ = run(s3, bucket, columns={"predictions": {"predicted_label": "pred_label"}})
    assert report["inputs"]["predictions"]["rows"] == 3
    rows = rows_of(report)
    # Item 2 (dog) was predicted cat in the reordered file; items 1 and 3 are right.
    assert (rows["cat"]["model_correct"], rows["cat"]["support"]) == (2, 2)
    assert (rows["dog"]["model_correct"], rows["dog"]["support"]) == (0, 1)


def test_file_with_both_names_rejected():
    config = HumangapConfig.from_dict({"bucket": "b", "columns": {"predictions": {"predicted_label": "pred_label"}}})
    with pytest.raises(InputFormatError, match="p4.csv: has both 'predicted_label' and 'pred_label'"):
        read_source_file(b"item_id,predicted_label,pred_label\n1,cat,dog\n", "p4.csv", "predictions", config)


def put_empty_and_header_only(s3, bucket):
    put(s3, bucket, f"gold/dt={DAY}/gold.csv", "item_id,label\n1,cat\n2,dog\n")
    put(s3, bucket, f"annotations/dt={DAY}/a.csv", "item_id,annotator_id,label\n1,w,cat\n2,w,dog\n")
    put(s3, bucket, f"predictions/dt={DAY}/p1.csv", "item_id,predicted_label\n1,cat\n2,cat\n")
    put(s3, bucket, f"predictions/dt={DAY}/empty.csv", b"")
    put(s3, bucket, f"predictions/dt={DAY}/header.csv", "item_id,predicted_label\n")


def test_zero_byte_file_fails_naming_it(s3, bucket):
    put_empty_and_header_only(s3, bucket)
    error = failed_run(s3, bucket, InputFormatError)
    assert f"predictions/dt={DAY}/empty.csv: the file is empty (0 bytes)" in str(error)
    assert "empty_files to 'skip'" in str(error)
    assert keys_under(s3, bucket, "reports/") == []


def test_zero_byte_file_skipped_when_configured(s3, bucket):
    put_empty_and_header_only(s3, bucket)
    report, _ = run(s3, bucket, empty_files="skip")
    assert report["data_quality"]["empty_files"] == {
        "policy": "skip",
        "skipped_keys": [f"predictions/dt={DAY}/empty.csv"],
    }
    assert report["inputs"]["predictions"]["rows"] == 2
    assert sum(row["support"] for row in report["models"][0]["classes"]) == 2


def test_header_only_file_has_no_rows():
    parsed = read_source_file(b"item_id,predicted_label\n", "p.csv", "predictions", CONFIG)
    assert len(parsed.frame) == 0
    assert list(parsed.frame.columns) == ["item_id", "predicted_label"]


def test_window_without_rows_publishes_no_data(s3, bucket):
    put(s3, bucket, f"gold/dt={DAY}/gold.csv", "item_id,label\n")
    put(s3, bucket, f"annotations/dt={DAY}/a.csv", "item_id,annotator_id,label\n")
    put(s3, bucket, f"predictions/dt={DAY}/p.csv", "item_id,predicted_label\n")
    _, published = run(s3, bucket)
    raw = s3.get_object(Bucket=bucket, Key=FOLDER + "report.json")["Body"].read().decode()

    def reject(constant):
        raise AssertionError(f"report.json contains {constant}")

    report = json.loads(raw, parse_constant=reject)
    assert report["status"] == "no_data"
    assert report["models"] == []
    assert "nan" not in raw.lower()
    assert "nothing to report" in published["slack_message"]["text"]
    assert keys_under(s3, bucket, "reports/") == [FOLDER + name for name in REPORT_FILES] + ["reports/latest.json"]


JSONL_GOLD = (
    b'{"item_id": "1", "label": "cat"}\n'
    b"\n"
    b'{"item_id": "2", "label": "dog"}\n'
    b'{"item_id": "3", "lab\n'
    b'{"item_id": "4", "label": "dog"}\n'
)


def put_jsonl_case(s3, bucket):
    put(s3, bucket, f"gold/dt={DAY}/gold.jsonl", JSONL_GOLD)
    put(s3, bucket, f"annotations/dt={DAY}/a.csv", "item_id,annotator_id,label\n1,w,cat\n2,w,dog\n4,w,dog\n")
    put(s3, bucket, f"predictions/dt={DAY}/p.csv", "item_id,predicted_label\n1,cat\n2,dog\n3,cat\n4,cat\n")


def test_truncated_jsonl_line_fails_with_number(s3, bucket):
    put_jsonl_case(s3, bucket)
    error = failed_run(s3, bucket, InputFormatError)
    assert f"gold/dt={DAY}/gold.jsonl: 1 line(s) are not valid JSON objects (line 4)" in str(error)


def test_truncated_jsonl_line_allowed_and_counted(s3, bucket):
    put_jsonl_case(s3, bucket)
    report, _ = run(s3, bucket, max_bad_lines=1)
    # Lines 1, 3 and 5 hold items 1, 2 and 4; the blank line 2 is skipped silently.
    assert report["inputs"]["gold"]["rows"] == 3
    assert report["data_quality"]["bad_lines"] == {
        "max_bad_lines": 1,
        "skipped": [{"key": f"gold/dt={DAY}/gold.jsonl", "lines": [4]}],
    }
    assert report["inputs"]["predictions_without_gold"] == 1
    assert sum(row["support"] for row in report["models"][0]["classes"]) == 3


def test_bad_line_maximum_counts_all_files(s3, bucket):
    put_jsonl_case(s3, bucket)
    put(s3, bucket, f"gold/dt={DAY}/more.jsonl", b'{"item_id": "5", "label": "cat"}\n{oops}\n')
    error = failed_run(s3, bucket, InputFormatError, max_bad_lines=1)
    assert "2 JSON Lines line(s) could not be parsed" in str(error)
    assert "more.jsonl line(s) [2]" in str(error)


@pytest.mark.parametrize("line", [b"[1, 2]", b'"text"', b"5", b"null"])
def test_jsonl_line_not_an_object_named(line):
    data = b'{"item_id": "1", "label": "cat"}\n' + line + b"\n"
    with pytest.raises(InputFormatError, match=r"g.jsonl: 1 line\(s\) are not valid JSON objects \(line 2\)"):
        read_source_file(data, "g.jsonl", "gold", CONFIG)


def test_blank_lines_only_skipped():
    parsed = read_source_file(b'\n{"item_id": 1, "label": "cat"}\n\n\n', "g.jsonl", "gold", CONFIG)
    assert parsed.frame["item_id"].tolist() == ["1"]
    assert parsed.bad_lines == []


def test_duplicate_gold_ids_fail_before_join(s3, bucket):
    put_sources(
        s3,
        bucket,
        "item_id,label\na1,cat\na1,dog\na2,dog\n",
        "item_id,predicted_label\na1,cat\na2,dog\n",
        "item_id,annotator_id,label\na1,w,cat\na2,w,dog\n",
    )
    error = failed_run(s3, bucket, ValidationFailed)
    (failure,) = error.result["failures"]
    assert failure["expectation"] == "expect_column_values_to_be_unique"
    assert failure["column"] == "item_id"
    assert failure["sample_values"] == ["a1"]
    assert failure["unexpected_count"] == 2
    assert keys_under(s3, bucket, "reports/") == [FOLDER + "validation.json"]


# Great Expectations


def test_wrong_case_column_reported_as_data(s3, bucket):
    put_sources(
        s3,
        bucket,
        "item_id,Label\n1,cat\n",
        "item_id,predicted_label\n1,cat\n",
        "item_id,annotator_id,label\n1,w,cat\n",
    )
    error = failed_run(s3, bucket, ValidationFailed)
    (failure,) = error.result["failures"]
    assert failure["expectation"] == "expect_column_to_exist"
    assert failure["column"] == "label"
    assert failure["columns_found"] == ["item_id", "Label"]
    assert "error" not in failure
    assert "Traceback" not in str(error)
    assert "columns found: ['item_id', 'Label']" in str(error)
    stored = read_json(s3, bucket, FOLDER + "validation.json")
    assert stored["failures"][0]["columns_found"] == ["item_id", "Label"]


# Security

ODD_LABELS = {
    "gold": "item_id,label\n1,../../escape\n2,a/b\n3,/abs\n",
    "predictions": "item_id,predicted_label\n1,../../escape\n2,/abs\n3,/abs\n",
    "annotations": "item_id,annotator_id,label\n1,w,../../escape\n2,w,a/b\n3,w,/abs\n",
}


def test_path_like_labels_do_not_move_outputs(s3, bucket):
    put_sources(s3, bucket, ODD_LABELS["gold"], ODD_LABELS["predictions"], ODD_LABELS["annotations"])
    report, _ = run(s3, bucket)
    assert report["classes"] == ["../../escape", "/abs", "a/b"]
    every_key = keys_under(s3, bucket, "")
    written = [key for key in every_key if not key.startswith(("gold/", "predictions/", "annotations/"))]
    assert written == [FOLDER + name for name in REPORT_FILES] + ["reports/latest.json"]


def test_path_like_labels_stay_in_local_folder(tmp_path):
    data = tmp_path / "bucket"
    for source, text in ODD_LABELS.items():
        path = data / source / f"dt={DAY}" / f"{source}.csv"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    config = HumangapConfig(bucket="local")
    run_report(LocalStore(data), config, resolve_window(DAY, None, None, None), RUN)
    outside = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert [p for p in outside if not p.startswith("bucket/")] == []
    reports = sorted(p.name for p in (data / "reports" / f"dt={DAY}").iterdir())
    assert reports == REPORT_FILES


def test_single_labels_and_split_votes(s3, bucket):
    # Item 1 has one annotation; items 2 and 3 are split 1-1; item 4 has a clear majority.
    put_sources(
        s3,
        bucket,
        "item_id,label\n1,cat\n2,cat\n3,dog\n4,dog\n",
        "item_id,predicted_label\n1,cat\n2,cat\n3,dog\n4,dog\n",
        "item_id,annotator_id,label\n1,a,cat\n2,a,cat\n2,b,dog\n3,a,dog\n3,b,cat\n"
        "4,a,dog\n4,b,dog\n4,c,cat\n",
    )
    report, _ = run(s3, bucket, min_gold_items=1, min_human_labels=1)
    rows = rows_of(report)
    # Tie rule: a 1-1 split has no majority and counts as a tie, not as correct.
    assert rows["cat"]["majority_ties"] == 1
    assert rows["dog"]["majority_ties"] == 1
    # cat: item 1 (majority of one, right), item 2 (tie) -> 1 of 2.
    assert rows["cat"]["human_accuracy_majority"] == 1 / 2
    # dog: item 3 (tie), item 4 (dog 2-1, right) -> 1 of 2.
    assert rows["dog"]["human_accuracy_majority"] == 1 / 2
    section = report["annotators"]
    assert section["items_with_two_or_more_labels"] == 3
    assert section["items_with_one_label_skipped"] == 1
