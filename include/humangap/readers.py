"""Read input files into data frames with canonical column names.

The format follows the key's extension: ``.csv``, ``.csv.gz``, ``.parquet``,
``.jsonl`` and ``.jsonl.gz``. Ids and labels are read as strings. Labels are
normalised the same way in every source (see ``normalise_labels``), and what a
repair changed is counted on the returned ``SourceFile``.
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import io
import json
import logging
import zlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from humangap.config import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, HumangapConfig

log = logging.getLogger(__name__)

FORMATS = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")
STRING_DTYPE = pd.StringDtype("pyarrow")
NAN_STRING_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
# Delimiters that spreadsheet and vendor exports use instead of a comma.
OTHER_DELIMITERS = (";", "\t", "|", ",")
# How many bad line numbers an error message lists.
LINES_SHOWN = 10


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
    rows_read:
        Data rows parsed from the file, before rows with an empty label are excluded.
    changed_labels:
        Labels that trimming or case folding changed.
    empty_labels:
        Rows whose label is empty after trimming. They are excluded from ``frame``
        when the ``empty_label`` policy is ``exclude``.
    bad_lines:
        1-based numbers of JSON Lines lines that could not be parsed, skipped.
    skipped:
        True for a 0-byte file skipped under the ``empty_files`` policy ``skip``.
    """

    key: str
    frame: pd.DataFrame
    header: list[str]
    rows_read: int = 0
    changed_labels: int = 0
    empty_labels: int = 0
    bad_lines: list[int] = dataclasses.field(default_factory=list)
    skipped: bool = False


def file_format(key: str) -> str | None:
    """Return the format extension of ``key``, or ``None`` when it has none we read."""
    lowered = key.lower()
    for extension in sorted(FORMATS, key=len, reverse=True):
        if lowered.endswith(extension):
            return extension
    return None


def label_column(source: str) -> str:
    """Return the canonical name of the label column of ``source``."""
    return "predicted_label" if source == "predictions" else "label"


def _parse_jsonl(data: bytes, key: str) -> tuple[pd.DataFrame, list[int]]:
    """Parse JSON Lines, skipping blank lines; return the rows and the bad line numbers."""
    try:
        return pd.read_json(io.BytesIO(data), lines=True, dtype=False), []
    except (ValueError, TypeError):
        # pandas raises TypeError for a line that is JSON but not an object.
        pass
    # Slow path, taken only when the fast parser failed: find the bad lines so
    # the error can name them, and keep every line that parses as an object.
    good: list[bytes] = []
    bad: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad.append(number)
            continue
        if isinstance(value, dict):
            good.append(line)
        else:
            bad.append(number)
    if not good:
        return pd.DataFrame(), bad
    return pd.read_json(io.BytesIO(b"\n".join(good)), lines=True, dtype=False), bad


def _parse_csv(data: bytes, key: str, source: str, delimiter: str) -> pd.DataFrame:
    frame = _parse_csv_arrow(data, key, delimiter)
    if frame is None:
        frame = _parse_csv_pandas(data, delimiter)
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        found = [other for other in OTHER_DELIMITERS if other != delimiter and other in header]
        if found:
            raise InputFormatError(
                f"{key}: read one column named {header!r} with the delimiter {delimiter!r}, "
                f"but the header looks separated by {found[0]!r}. Export the file with "
                f"{delimiter!r}, or set \"csv_delimiters\": {{\"{source}\": \"{found[0]}\"}} "
                "in the configuration file."
            )
    return frame


def _parse_csv_arrow(data: bytes, key: str, delimiter: str) -> pd.DataFrame | None:
    """Parse CSV with pyarrow into Arrow-backed string columns, or return ``None``.

    pyarrow parses on several threads and builds the Arrow strings directly, where
    ``pandas.read_csv`` builds a Python string per value on one thread. It returns
    ``None`` when pyarrow raises or would name the columns differently from pandas:
    rows with fewer or more fields than the header, invalid UTF-8, a duplicate or
    empty column name. ``_parse_csv_pandas`` then reads the file, so short rows are
    padded with missing values and broken files raise pandas' errors.
    """
    # Quoted values may contain newlines, as pandas allows. Without this option pyarrow
    # raises on such a value when it crosses a block boundary.
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    try:
        # Opening a streaming reader parses only the header and the first block (1 MiB),
        # which is enough to name the columns and type them all as strings.
        with pacsv.open_csv(pa.BufferReader(data), parse_options=parse_options) as reader:
            names = reader.schema.names
        if "" in names or len(set(names)) < len(names):
            # pandas renames these to "Unnamed: 1" or "label.1", and validation messages
            # list the columns by those names.
            return None
        table = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in names},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as error:
        log.debug("Reading %s with pandas, because pyarrow could not parse it: %s", key, error)
        return None
    return table.to_pandas(types_mapper=_string_type)


def _parse_csv_pandas(data: bytes, delimiter: str) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(data),
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        sep=delimiter,
        encoding="utf-8-sig",
    )


def _string_type(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    """Map Arrow string columns to ``STRING_DTYPE`` in ``Table.to_pandas``.

    ``STRING_DTYPE`` stores ``large_string``: those columns are wrapped without a
    copy, and ``string`` columns (as Parquet files store them) get 64-bit offsets.
    """
    if arrow_type in (pa.string(), pa.large_string()):
        return STRING_DTYPE
    return None


def _decompress(data: bytes, key: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise InputFormatError(
            f"{key}: could not be decompressed as gzip: {error}. "
            "Check that the file is complete and really gzip-compressed."
        ) from error


def _empty_file(key: str, source: str, config: HumangapConfig) -> SourceFile:
    if config.empty_files == "skip":
        log.warning("Skipping %s: the file is empty (0 bytes)", key)
        frame = pd.DataFrame({name: pd.Series(dtype=STRING_DTYPE) for name in REQUIRED_COLUMNS[source]})
        return SourceFile(key=key, frame=frame, header=[], skipped=True)
    raise InputFormatError(
        f"{key}: the file is empty (0 bytes), so it has no header. Write a file with a "
        "header and no rows for a day without data, remove the file, or set "
        "empty_files to 'skip' to skip such files."
    )


def read_source_file(data: bytes, key: str, source: str, config: HumangapConfig) -> SourceFile:
    """Parse one file of ``source``, rename its columns and normalise its labels."""
    extension = file_format(key)
    if extension is None:
        raise InputFormatError(
            f"{key}: unsupported file type; name files with one of {', '.join(FORMATS)}"
        )
    if extension.endswith(".gz"):
        data = _decompress(data, key)
        extension = extension[: -len(".gz")]
    if len(data) == 0:
        return _empty_file(key, source, config)

    if extension != ".parquet" and data.startswith(codecs.BOM_UTF8):
        # Excel writes a byte order mark before UTF-8 text; it is not part of the header.
        data = data[len(codecs.BOM_UTF8):]
    bad_lines: list[int] = []
    try:
        if extension == ".csv":
            frame = _parse_csv(data, key, source, config.csv_delimiters.get(source, ","))
        elif extension == ".jsonl":
            frame, bad_lines = _parse_jsonl(data, key)
        else:
            frame = pq.read_table(io.BytesIO(data)).to_pandas(types_mapper=_string_type)
    except InputFormatError:
        raise
    except Exception as error:  # pandas and pyarrow raise many parser types
        raise InputFormatError(
            f"{key}: could not be read as {extension}: {error}. "
            "Check that the file is complete and in the format its name says."
        ) from error
    if len(bad_lines) > config.max_bad_lines:
        raise bad_lines_error(key, bad_lines, config.max_bad_lines)

    header = [str(name) for name in frame.columns]
    frame = _canonical_columns(frame, header, key, source, config)
    parsed = SourceFile(key=key, frame=frame, header=header, rows_read=len(frame), bad_lines=bad_lines)
    normalise_labels(parsed, source, config)
    return parsed


def bad_lines_error(key: str, lines: list[int], allowed: int) -> InputFormatError:
    """Return the error for JSON Lines lines that could not be parsed."""
    shown = ", ".join(str(number) for number in lines[:LINES_SHOWN])
    if len(lines) > LINES_SHOWN:
        shown += f" and {len(lines) - LINES_SHOWN} more"
    return InputFormatError(
        f"{key}: {len(lines)} line(s) are not valid JSON objects (line {shown}); "
        f"max_bad_lines allows {allowed} in a run. Fix or remove those lines, or raise "
        "max_bad_lines to skip them."
    )


def _canonical_columns(
    frame: pd.DataFrame, header: list[str], key: str, source: str, config: HumangapConfig
) -> pd.DataFrame:
    canonical = REQUIRED_COLUMNS[source] + OPTIONAL_COLUMNS[source]
    renames = {}
    for name in canonical:
        in_file = config.file_column(source, name)
        if in_file == name or in_file not in header:
            continue
        if name in header:
            raise InputFormatError(
                f"{key}: has both {name!r} and {in_file!r}, which the 'columns' setting maps "
                f"to {name!r}. Remove one of the two columns from the file."
            )
        renames[in_file] = name
    frame = frame.rename(columns=renames)
    frame = frame[[name for name in canonical if name in frame.columns]]
    for name in frame.columns:
        if name == "score":
            frame[name] = _as_number(frame[name])
        else:
            frame[name] = _as_string(frame[name])
    return frame.reset_index(drop=True)


def normalise_labels(parsed: SourceFile, source: str, config: HumangapConfig) -> None:
    """Trim labels, fold their case if configured, and handle empty labels.

    Counts the labels that changed and the rows whose label is empty. Rows with an
    empty label are removed when the ``empty_label`` policy is ``exclude``; with
    ``fail`` they stay, so the not-null expectation names them.
    """
    column = label_column(source)
    if column not in parsed.frame.columns:
        return
    original = parsed.frame[column]
    # pyarrow compute keeps the common case, a clean file, to a few cheap calls.
    values = pa.array(original, type=pa.large_string())
    normalised = pc.utf8_trim_whitespace(values)
    if config.case_fold_labels:
        normalised = pa.array(pd.Series(normalised, dtype=STRING_DTYPE).str.casefold(), type=pa.large_string())
    empty = pc.fill_null(pc.equal(normalised, ""), True)
    changed = pc.and_(pc.invert(empty), pc.not_equal(normalised, values))
    parsed.changed_labels = pc.sum(changed).as_py() or 0
    parsed.empty_labels = pc.sum(empty).as_py() or 0
    if not parsed.changed_labels and not parsed.empty_labels:
        return
    normalised = pc.if_else(empty, pa.scalar(None, pa.large_string()), normalised)
    frame = parsed.frame.assign(**{column: pd.Series(normalised, dtype=STRING_DTYPE, index=parsed.frame.index)})
    if config.empty_label == "exclude" and parsed.empty_labels:
        keep = pc.invert(empty).to_numpy(zero_copy_only=False)
        frame = frame.loc[keep].reset_index(drop=True)
    parsed.frame = frame


def _as_number(column: pd.Series) -> pd.Series:
    # On strings with pd.NA, to_numeric returns nullable Float64 or Int64. With NaN
    # for missing, as pandas.read_csv returns them, it returns numpy float64 or int64.
    if column.dtype == STRING_DTYPE:
        column = column.astype(NAN_STRING_DTYPE)
    return pd.to_numeric(column, errors="coerce")


def _as_string(column: pd.Series) -> pd.Series:
    # Integers read from JSON or Parquet become "7", not "7.0"; missing stays missing.
    if pd.api.types.is_float_dtype(column) and column.dropna().mod(1).eq(0).all():
        column = column.astype("Int64")
    return column.astype(STRING_DTYPE)
