import gzip
import io
import json

import pandas as pd
import pytest

from humangap.config import HumangapConfig
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
