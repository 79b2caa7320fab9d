"""Read input files into data frames with canonical column names.

The format follows the key's extension: ``.csv``, ``.csv.gz``, ``.parquet``,
``.jsonl`` and ``.jsonl.gz``. Ids and labels are read as strings.
"""

from __future__ import annotations

import dataclasses
import gzip
import io

import pandas as pd
import pyarrow.parquet as pq

from humangap.config import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, HumangapConfig

FORMATS = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")
STRING_DTYPE = pd.StringDtype("pyarrow")


class InputFormatError(ValueError):
    """Raised when a file cannot be parsed in the format its extension names."""


@dataclasses.dataclass
class SourceFile:
    """One input file, parsed.

    Attributes
    ----------
    key:
        The object key the file was read from.
    frame:
        The rows, with only the canonical columns the file has.
    header:
        The column names as they appear in the file.
    """

    key: str
    frame: pd.DataFrame
    header: list[str]


def file_format(key: str) -> str | None:
    """Return the format extension of ``key``, or ``None`` when it has none we read."""
    lowered = key.lower()
    for extension in sorted(FORMATS, key=len, reverse=True):
        if lowered.endswith(extension):
            return extension
    return None


def _parse(data: bytes, key: str, extension: str) -> pd.DataFrame:
    if extension.endswith(".gz"):
        data = gzip.decompress(data)
        extension = extension[: -len(".gz")]
    buffer = io.BytesIO(data)
    if extension == ".csv":
        return pd.read_csv(buffer, dtype=str, keep_default_na=False, na_values=[""])
    if extension == ".jsonl":
        return pd.read_json(buffer, lines=True, dtype=False)
    return pq.read_table(buffer).to_pandas()


def read_source_file(data: bytes, key: str, source: str, config: HumangapConfig) -> SourceFile:
    """Parse one file of ``source`` and rename its columns to the canonical names."""
    extension = file_format(key)
    if extension is None:
        raise InputFormatError(
            f"{key}: unsupported file type; name files with one of {', '.join(FORMATS)}"
        )
    try:
        frame = _parse(data, key, extension)
    except Exception as error:  # pandas and pyarrow raise many parser types
        raise InputFormatError(
            f"{key}: could not be read as {extension}: {error}. "
            "Check that the file is complete and in the format its name says."
        ) from error
    header = [str(name) for name in frame.columns]
    canonical = REQUIRED_COLUMNS[source] + OPTIONAL_COLUMNS[source]
    renames = {config.file_column(source, name): name for name in canonical}
    frame = frame.rename(columns=renames)
    frame = frame[[name for name in canonical if name in frame.columns]]
    for name in frame.columns:
        if name == "score":
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        else:
            frame[name] = _as_string(frame[name])
    return SourceFile(key=key, frame=frame.reset_index(drop=True), header=header)


def _as_string(column: pd.Series) -> pd.Series:
    # Integers read from JSON or Parquet become "7", not "7.0"; missing stays missing.
    if pd.api.types.is_float_dtype(column) and column.dropna().mod(1).eq(0).all():
        column = column.astype("Int64")
    return column.astype(STRING_DTYPE)
