"""Encode a column as integer codes with pyarrow, in bounded memory.

Two rows get the same code exactly when their values are equal, and a null
value gets the code -1. pyarrow's ``dictionary_encode`` hashes strings without
creating Python objects, but encoding 10M distinct 13-character ids raised the
peak RSS by about 1 GB (pyarrow 26.0.1, bench data). ``id_codes`` therefore
encodes many values in parts: each value goes to one part by the sum of its
bytes, so the parts share no value, and each part's hash table contains a
fraction of them.

``id_hashes`` is the cheaper stand-in for ``id_codes`` where a rare false match
can be checked again: equal ids get equal hashes, computed by DuckDB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

# Rows encoded in one hash table by ``id_codes``. For distinct 13-character ids
# that is about 100 MB, an estimate scaled from the 10M measurement above.
ROWS_PER_PART = 1_000_000
# Strings per slice when ``id_codes`` sums bytes.
SLICE_ROWS = 65_536


def arrow_values(values: pd.Series) -> pa.ChunkedArray | None:
    """Return the column as a pyarrow chunked array, or None when Arrow cannot type it.

    pyarrow-backed columns are returned without a copy. A dictionary column is
    decoded, because a dictionary may contain one value under two indices.
    """
    try:
        array = pa.array(values.array, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    return array


def dictionary_codes(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Return the codes of ``values`` (int32, -1 for null) and the distinct values they index.

    ``dictionary_encode`` of a chunked array gives all chunks one shared
    dictionary in pyarrow 26. This function checks that the chunks share its
    buffers and unifies the dictionaries when they do not.
    """
    if pa.types.is_null(values.type):
        # Arrow types a column of only nulls as null, whose dictionary contains a null.
        return np.full(len(values), -1, dtype=np.int32), pa.array([], type=pa.string())
    encoded = values.dictionary_encode()
    chunks = encoded.chunks
    if len({_buffer_addresses(chunk.dictionary) for chunk in chunks}) > 1:
        chunks = pa.table({"values": encoded}).unify_dictionaries().column("values").chunks
    if not chunks:
        return np.empty(0, dtype=np.int32), pa.array([], type=values.type)
    codes = np.concatenate([chunk.indices.fill_null(-1).to_numpy() for chunk in chunks])
    return codes.astype(np.int32, copy=False), chunks[0].dictionary


def id_codes(values: pd.Series) -> np.ndarray:
    """Return integer codes of an id column (-1 for null).

    Strings are hashed in parts of about ``ROWS_PER_PART`` rows.
    """
    array = arrow_values(values)
    if array is None:
        codes, _ = pd.factorize(values)
        return codes
    parts = -(-len(array) // ROWS_PER_PART)
    if parts <= 1 or not _is_string(array.type):
        return dictionary_codes(array)[0]
    part_of_row = np.concatenate(
        [(_byte_sums(chunk) % np.uint64(parts)).astype(np.uint16) for chunk in array.chunks]
    )
    codes = np.empty(len(array), dtype=np.int32 if len(array) < 2**31 else np.int64)
    first_code = 0
    for part in range(parts):
        rows = part_of_row == part
        part_codes, distinct = dictionary_codes(array.filter(pa.array(rows)))
        codes[rows] = np.where(part_codes >= 0, part_codes + first_code, -1)
        first_code += len(distinct)
    return codes


def id_hashes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return a 64-bit hash of each id and a mask of the null ids.

    Equal ids get equal hashes. Two different ids may get the same hash too
    (for a good 64-bit hash, about once in 2**64 pairs, an estimate), so a check
    that needs exact codes must confirm what it finds on them. DuckDB's
    ``hash`` runs on every CPU, several times faster than ``id_codes`` on 10M ids.
    """
    import duckdb

    array = arrow_values(values)
    if array is None:
        codes = id_codes(values)
        return codes.astype(np.int64), codes < 0
    connection = duckdb.connect()
    try:
        connection.register("ids", pa.table({"id": array}))
        hashed = connection.sql("SELECT hash(id) AS code FROM ids").to_arrow_table()
    finally:
        connection.close()
    codes = hashed["code"].to_numpy().view(np.int64)
    return codes, array.is_null().to_numpy(zero_copy_only=False)


def _is_string(kind: pa.DataType) -> bool:
    return any(
        check(kind)
        for check in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_binary,
            pa.types.is_large_binary,
        )
    )


def _byte_sums(chunk: pa.Array) -> np.ndarray:
    """Return the sum of the bytes of each string in a chunk (0 for null and empty strings)."""
    # A running sum takes 8 bytes per byte of text, so it is taken over slices.
    sums = [np.empty(0, dtype=np.uint64)]
    for start in range(0, len(chunk), SLICE_ROWS):
        sums.append(_slice_byte_sums(chunk.slice(start, SLICE_ROWS)))
    return np.concatenate(sums)


def _slice_byte_sums(chunk: pa.Array) -> np.ndarray:
    large = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    _, offsets_buffer, data_buffer = chunk.buffers()
    if offsets_buffer is None or data_buffer is None:
        return np.zeros(len(chunk), dtype=np.uint64)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if large else np.int32)
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    running = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(data, dtype=np.uint64)])
    starts = offsets - offsets[0]
    return running[starts[1:]] - running[starts[:-1]]


def _buffer_addresses(array: pa.Array) -> tuple[int, ...]:
    return tuple(0 if buffer is None else buffer.address for buffer in array.buffers())


def categorical(values: pd.Series) -> pd.Categorical:
    """Return the column as a categorical, encoded by pyarrow where Arrow can type it."""
    array = arrow_values(values)
    if array is None:
        return pd.Categorical(values)
    codes, distinct = dictionary_codes(array)
    return pd.Categorical.from_codes(codes, categories=pd.Index(distinct.to_pandas()))
