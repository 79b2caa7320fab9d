import gzip
import io
import json

import pandas as pd
import pytest

from humangap.config import HumangapConfig
from humangap import readers
from humangap.readers import InputFormatError, file_format, read_source_file

CONFIG = HumangapConfig(bucket="b")
ROWS = [{"item_id": "7", "label": "cat"}, {"item_id": "007", "label": "dog"}]


def encode(extension):
    frame = pd.DataFrame(ROWS)
    if extension.startswith(".csv"):
        data = frame.to_csv(index=False).encode()
    elif extension.startswith(".jsonl"):
        data = "".join(json.dumps(row) + "\n" for row in ROWS).encode()
    else:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    return gzip.compress(data) if extension.endswith(".gz") else data


@pytest.mark.parametrize("extension", [".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz"])
def test_every_format_reads_the_same(extension):
    parsed = read_source_file(encode(extension), f"gold/dt=2026-11-01/part{extension}", "gold", CONFIG)
    assert parsed.frame["item_id"].tolist() == ["7", "007"]
    assert parsed.frame["label"].tolist() == ["cat", "dog"]
    assert parsed.header == ["item_id", "label"]


def test_integer_ids_in_jsonl_become_strings():
    data = b'{"item_id": 7, "label": "cat"}\n{"item_id": 8, "label": "dog"}\n'
    parsed = read_source_file(data, "gold/x.jsonl", "gold", CONFIG)
    assert parsed.frame["item_id"].tolist() == ["7", "8"]


def test_mapped_column_is_renamed():
    config = HumangapConfig.from_dict({"bucket": "b", "columns": {"predictions": {"predicted_label": "pred_label"}}})
    data = b"item_id,pred_label,extra\n1,cat,x\n"
    parsed = read_source_file(data, "predictions/x.csv", "predictions", config)
    assert list(parsed.frame.columns) == ["item_id", "predicted_label"]
    assert parsed.header == ["item_id", "pred_label", "extra"]


def test_unknown_extension_rejected():
    assert file_format("gold/_SUCCESS") is None
    with pytest.raises(InputFormatError, match="unsupported file type"):
        read_source_file(b"", "gold/notes.txt", "gold", CONFIG)


def test_corrupt_parquet_names_the_file():
    with pytest.raises(InputFormatError, match=r"gold/broken.parquet: could not be read as \.parquet"):
        read_source_file(b"not parquet", "gold/broken.parquet", "gold", CONFIG)


def test_score_is_numeric():
    data = b"item_id,predicted_label,score\n1,cat,0.5\n"
    parsed = read_source_file(data, "p.csv", "predictions", CONFIG)
    assert parsed.frame["score"].tolist() == [0.5]


# CSV files that pyarrow parses, each read the same as by pandas.read_csv.
ARROW_CSV = {
    "crlf": b"item_id,label\r\n1,cat\r\n2,dog\r\n",
    "no final newline": b"item_id,label\n1,cat\n2,dog",
    "blank lines": b"\n\nitem_id,label\n\n1,cat\n\n\n2,dog\n\n",
    "quoted": b'"item_id","label"\n"a1","cat"\n"a 2","d,og"\n',
    "empty and quoted empty": b'item_id,label\n1,""\n2,\n3," "\n4,cat\n',
    "empty ids": b'item_id,annotator_id,label\n,w,cat\n"",,dog\n3,"",cat\n',
    "doubled quote": b'item_id,label\n1,"say ""hi"""\n',
    "quote inside value": b'item_id,label\n1,ca"t\n',
    "space before quote": b'item_id,label\n1, "cat"\n',
    "newline in quoted value": b'item_id,label\n1,"ca\nt"\n2,dog\n',
    "pandas NA words": b"item_id,label\nNA,null\nNaN,None\n#N/A,n/a\n",
    "spaces": b"item_id,label\n 1 , cat \n2,   \n",
    "unicode": "item_id,label\n1,café\n2,猫\n".encode(),
    "leading zeros": b"item_id,label\n007,1\n1e3,2.50\n",
    "header only": b"item_id,label\n",
    "scores": b"item_id,predicted_label,score\n1,cat,0.5\n2,dog,\n3,cat,high\n4,dog,1\n",
    "integer scores": b"item_id,predicted_label,score\n1,cat,1\n2,dog,0\n",
}
# CSV files that pyarrow rejects or whose columns pandas names differently. pandas reads them.
PANDAS_CSV = {
    "short row": b"item_id,annotator_id,label\n1,w\n2,w,dog\n",
    "long row": b"item_id,label\n1,cat,x\n2,dog\n",
    "duplicate column": b"item_id,label,label\n1,cat,dog\n",
    "unnamed column": b"item_id,,label\n1,x,cat\n",
}


def source_of(data):
    if b"predicted_label" in data:
        return "predictions"
    return "annotations" if b"annotator_id" in data else "gold"


def read_with_pandas(monkeypatch, data, source):
    with monkeypatch.context() as patch:
        patch.setattr(readers, "_parse_csv_arrow", lambda *args: None)
        return read_source_file(data, f"{source}/x.csv", source, CONFIG)


@pytest.mark.parametrize("case", sorted(ARROW_CSV) + sorted(PANDAS_CSV))
def test_csv_reads_as_pandas_would(case, monkeypatch):
    data = ARROW_CSV.get(case) or PANDAS_CSV[case]
    source = source_of(data)
    arrow_frame = readers._parse_csv_arrow(data, "x.csv", ",")
    assert (arrow_frame is not None) == (case in ARROW_CSV)
    parsed = read_source_file(data, f"{source}/x.csv", source, CONFIG)
    expected = read_with_pandas(monkeypatch, data, source)
    pd.testing.assert_frame_equal(parsed.frame, expected.frame)
    assert parsed.header == expected.header
    assert parsed.rows_read == expected.rows_read
    assert parsed.changed_labels == expected.changed_labels
    assert parsed.empty_labels == expected.empty_labels


def test_csv_newlines_in_values_across_blocks(monkeypatch):
    # pyarrow parses a file in blocks of 1 MiB, and a quoted newline must not end a row.
    data = b"item_id,label\n" + b"".join(b'%d,"ca\nt"\n' % number for number in range(300_000))
    assert readers._parse_csv_arrow(data, "x.csv", ",") is not None
    parsed = read_source_file(data, "gold/x.csv", "gold", CONFIG)
    expected = read_with_pandas(monkeypatch, data, "gold")
    pd.testing.assert_frame_equal(parsed.frame, expected.frame)
    assert parsed.frame["label"].unique().tolist() == ["ca\nt"]


def test_csv_columns_are_arrow_strings():
    parsed = read_source_file(ARROW_CSV["scores"], "p.csv", "predictions", CONFIG)
    assert parsed.frame["item_id"].dtype == readers.STRING_DTYPE
    assert parsed.frame["predicted_label"].dtype == readers.STRING_DTYPE
    # Empty and unparseable scores become NaN in a numpy column, as with pandas.read_csv.
    assert parsed.frame["score"].dtype == "float64"
    assert parsed.frame["score"].isna().tolist() == [False, True, True, False]


def test_invalid_utf8_csv_names_the_file():
    with pytest.raises(InputFormatError, match=r"gold/x.csv: could not be read as \.csv: 'utf-8' codec"):
        read_source_file(b"item_id,label\n1,ca\xfft\n", "gold/x.csv", "gold", CONFIG)
