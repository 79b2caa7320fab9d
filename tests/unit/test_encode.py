"""Integer codes from pyarrow match pandas' factorize on the column types that validation checks."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from humangap import encode


def same_groups(codes, values):
    """Assert that ``codes`` are equal exactly where ``values`` are, and -1 exactly where they are null."""
    expected, _ = pd.factorize(values)
    codes = np.asarray(codes)
    assert len(codes) == len(expected)
    assert ((codes < 0) == (expected < 0)).all()
    pairs = pd.DataFrame({"codes": codes, "expected": expected}).drop_duplicates()
    assert pairs["codes"].is_unique
    assert pairs["expected"].is_unique


def chunked(chunks, kind=pa.string()):
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(chunk, type=kind) for chunk in chunks])))


CASES = {
    "one chunk": chunked([["a", "b", "a", None, "", ""]]),
    "chunks sharing values": chunked([["x1", "x2"], ["x2", None, "x3"], ["x1"]]),
    "large strings": chunked([["id-1", "id-2"], ["id-2", "id-3", None]], pa.large_string()),
    "empty chunks": chunked([[], ["q"], [], ["q", None]]),
    "object strings": pd.Series(["a", None, "b", "a", np.nan], dtype=object),
    "integers": pd.Series([5, 3, 5, 7]),
    "floats with NaN": pd.Series([1.5, np.nan, 1.5, 2.0]),
    "only nulls": pd.Series([None, None], dtype=object),
    "no rows": pd.Series([], dtype="string"),
}


@pytest.mark.parametrize("rows_per_part", [10**9, 3, 1])
@pytest.mark.parametrize("name", CASES)
def test_id_codes_match_factorize(name, rows_per_part, monkeypatch):
    monkeypatch.setattr(encode, "ROWS_PER_PART", rows_per_part)
    values = CASES[name]
    same_groups(encode.id_codes(values), values)


def test_id_codes_in_parts_on_sliced_chunks(monkeypatch):
    monkeypatch.setattr(encode, "ROWS_PER_PART", 4)
    ids = pa.array([f"item-{number % 37:03d}" for number in range(200)] + [None, ""])
    values = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([ids.slice(5, 90), ids.slice(95)])))
    codes = encode.id_codes(values)
    same_groups(codes, values)
    assert codes.max() + 1 == values.nunique()


def test_dictionary_codes_unify_differing_dictionaries():
    values = pa.chunked_array([pa.array(["a", "b"]), pa.array(["c", "b"])]).dictionary_encode()
    separate = pa.chunked_array([pa.array(["a", "b"]).dictionary_encode(), pa.array(["c", "b"]).dictionary_encode()])
    for column in (values, separate):
        codes, distinct = encode.dictionary_codes(column)
        assert [distinct[code].as_py() for code in codes] == ["a", "b", "c", "b"]


def test_dictionary_input_is_decoded():
    # A dictionary may contain one value under two indices, and the codes must still group equal values.
    repeated = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2]), pa.array(["a", "a", "b"]))
    values = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([repeated])))
    codes = encode.id_codes(values)
    assert codes[0] == codes[1]
    assert codes[0] != codes[2]


@pytest.mark.parametrize("name", CASES)
def test_categorical_keeps_values(name):
    values = CASES[name]
    categorical = encode.categorical(values)
    expected = values.astype(object).where(values.notna(), None).tolist()
    assert pd.Series(categorical).astype(object).where(pd.notna(categorical), None).tolist() == expected


@pytest.mark.parametrize("name", CASES)
def test_id_hashes_follow_values(name):
    values = CASES[name]

    hashes, missing = encode.id_hashes(values)

    assert len(hashes) == len(values)
    assert (missing == values.isna().to_numpy()).all()
    # On these few values no two different ids share a hash, so equal hashes mean equal ids.
    present = ~missing
    expected, _ = pd.factorize(values[present])
    pairs = pd.DataFrame({"hashes": hashes[present], "expected": expected}).drop_duplicates()
    assert pairs["hashes"].is_unique
    assert pairs["expected"].is_unique
