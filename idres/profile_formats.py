"""Which format a profile file is in, and its raw table before canonicalization.

Formats by extension: ``.jsonl`` / ``.ndjson`` (JSON Lines), ``.json`` (a JSON array, the
search-profiles response ``{"Items": [...]}``, or JSON Lines), ``.csv``, ``.parquet`` / ``.pq``; an
explicit ``format=`` wins. Text files must be UTF-8 (a UTF-8 byte-order mark is accepted).

CSV [choice]: every column is read as text; an empty cell, quoted or not, is null (CSV cannot tell an
empty string from a missing value).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from idres.errors import Problem, ProfileError, did_you_mean
from idres.profile_canonical import Names
from idres.profile_json import PARSE_ERRORS, JsonSource, check_types, json_form
from idres.profile_locations import MAX_PROBLEMS, Locator, Report, shorten

#: Accepted ``format=`` values -> the reader used.
FORMATS: dict[str, str] = {
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "json",
    "csv": "csv",
    "parquet": "parquet",
    "pq": "parquet",
}
EXTENSIONS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class RawTable:
    """What a reader found: the table as read, how to locate its rows, and problems so far."""

    frame: pl.LazyFrame
    where: Locator
    report: Report
    reported: frozenset[str] = frozenset()


def detect_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The reader for `path`: ``jsonl``, ``json``, ``csv`` or ``parquet``.

    >>> detect_format("p.ndjson"), detect_format("p.txt", "csv")
    ('jsonl', 'csv')
    """
    if format is not None:
        key = format.lower().lstrip(".")
        if key not in FORMATS:
            hint = did_you_mean(key, FORMATS)
            raise ProfileError(
                Problem(
                    None,
                    "format",
                    f"unknown profile format{hint}; use one of "
                    f"{', '.join(FORMATS)} (got {format!r})",
                )
            )
        return FORMATS[key]
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ProfileError(
            Problem(
                str(path),
                "",
                "cannot tell the format from the file name; name it .jsonl, .json, .csv or "
                f".parquet, or give the format (got {suffix or 'no extension'!r})",
            )
        )
    return EXTENSIONS[suffix]


def _file_problem(path: Path) -> Problem | None:
    if not path.exists():
        return Problem(str(path), "", "no such file")
    if path.is_dir():
        return Problem(str(path), "", "is a folder, not a profile file")
    if path.stat().st_size == 0:
        return Problem(str(path), "", "empty file; expected profiles")
    return None


def read_bytes(path: Path) -> bytes:
    """The bytes of a text profile file; ProfileError when missing, empty or not UTF-8 text."""
    problem = _file_problem(path)
    if problem:
        raise ProfileError(problem)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProfileError(Problem(str(path), "", f"cannot read: {exc.strerror}")) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ProfileError(
            Problem(str(path), "", "UTF-16 text; idres reads UTF-8: save the file as UTF-8")
        )
    if data.isspace() or data == _BOM or data.removeprefix(_BOM).isspace():
        raise ProfileError(Problem(str(path), "", "empty file; expected profiles"))
    return data


def encoding_problem(data: bytes, file: str) -> Problem | None:
    """A Problem naming the first byte that is not UTF-8, or None.

    >>> str(encoding_problem(b'{"a": "Ren\\xe9"}', "p.jsonl"))
    'p.jsonl: line 1, byte 10: not UTF-8 text; save the file as UTF-8 (got byte 0xe9)'
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Problem(
            file,
            f"line {line}, byte {exc.start}",
            f"not UTF-8 text; save the file as UTF-8 (got byte 0x{data[exc.start]:02x})",
        )
    return None


def read_json(path: Path, fmt: str, names: Names) -> RawTable:
    """JSON Lines, a JSON array or a search-profiles response, as a raw frame."""
    file = str(path)
    data = read_bytes(path)
    body = data.removeprefix(_BOM)
    report = Report(file)
    form = json_form(body, fmt)
    if form is None:
        raise ProfileError(
            Problem(
                file,
                "line 1",
                "expected a JSON array of profiles, a search-profiles response "
                f'{{"Items": [...]}} or JSON Lines (got {shorten(body[:40].decode("utf-8", "replace"))})',
            )
        )
    source = JsonSource(body, form, report, names)
    frame = source.frame()
    if frame is None:
        problem = encoding_problem(body, file)
        if problem:
            raise ProfileError(problem)
        source.diagnose()
        raise ProfileError(report.capped())
    _require_rows(frame, file, "an empty list")
    reported = check_types(frame, source, names)
    return RawTable(frame.lazy(), source.where, report, reported)


def _require_rows(frame: pl.DataFrame, file: str, got: str) -> None:
    if frame.height == 0:
        raise ProfileError(Problem(file, "", f"no profiles in the file (got {got})"))


def read_csv(path: Path) -> RawTable:
    """A CSV file with a header row, every column as text, empty cells null."""
    file = str(path)
    data = read_bytes(path)
    report = Report(file)
    try:
        frame = pl.read_csv(data, infer_schema=False, raise_if_empty=False)
    except PARSE_ERRORS as exc:
        problem = encoding_problem(data, file)
        if problem:
            raise ProfileError(problem) from None
        _diagnose_csv(data, report, str(exc).splitlines()[0] if str(exc) else repr(exc))
        raise ProfileError(report.capped()) from None
    header = _header(data)
    for name in sorted({n for n in header if header.count(n) > 1}):
        places = [str(i + 1) for i, n in enumerate(header) if n == name]
        report.add("row 1", f"column {name!r} appears more than once (columns {', '.join(places)})")
    if report:
        raise ProfileError(report.capped())
    _require_rows(frame, file, "a header and no rows")
    frame = frame.with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in frame.columns
    )
    return RawTable(frame.lazy(), Locator("row", first=2), report)


def _header(data: bytes) -> list[str]:
    text = data.removeprefix(_BOM).decode("utf-8", errors="replace")
    return next(csv.reader(io.StringIO(text)), [])


def _diagnose_csv(data: bytes, report: Report, polars_message: str) -> None:
    """Find rows whose field count differs from the header's (read only when Polars failed)."""
    rows = csv.reader(io.StringIO(data.removeprefix(_BOM).decode("utf-8", errors="replace")))
    header = next(rows, [])
    bad = 0
    for number, row in enumerate(rows, 2):
        if row and len(row) != len(header):
            bad += 1
            if bad <= MAX_PROBLEMS:
                report.add(
                    f"row {number}",
                    f"expected {len(header)} fields as in the header, found {len(row)} "
                    f"(got {shorten(row)})",
                )
    report.hidden += max(bad - MAX_PROBLEMS, 0)
    if not report:
        report.add("", f"cannot read as CSV ({polars_message})")


def _all_null_columns(path: Path) -> list[str]:
    """Top-level, non-nested columns that every row group's statistics say are null in every row.

    Exports often hold whole columns that are empty (Address3, County, a sub-type nobody uses:
    16 of 64 in the scale run's file). A scan that reads them still builds a null value per row,
    16 bytes each for text; they are better a literal null. A column without statistics is kept.
    """
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowException, OSError):  # Polars reads what pyarrow does not: no shortcut
        return []
    flat = {f.name for f in meta.schema.to_arrow_schema() if not pa.types.is_nested(f.type)}
    out = []
    for j in range(meta.num_columns):
        name = meta.schema.column(j).path
        if name not in flat or meta.num_row_groups == 0:
            continue
        stats = [meta.row_group(i).column(j).statistics for i in range(meta.num_row_groups)]
        if all(
            s is not None and s.has_null_count and s.null_count == meta.row_group(i).num_rows
            for i, s in enumerate(stats)
        ):
            out.append(name)
    return out


def read_parquet(path: Path, *, lazy: bool) -> RawTable:
    """A Parquet file, scanned lazily (`lazy`) or loaded. Columns that are null in every row
    (by the file's statistics) are not read: they become literal nulls of their type."""
    file = str(path)
    problem = _file_problem(path)
    if problem:
        raise ProfileError(problem)
    try:
        frame = pl.scan_parquet(path)
        types = frame.collect_schema()
        empty = [c for c in _all_null_columns(path) if c in types]
        if empty:
            frame = frame.with_columns(pl.lit(None, dtype=types[c]).alias(c) for c in empty)
        if not lazy:
            frame = frame.collect().lazy()
    except (*PARSE_ERRORS, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProfileError(
            Problem(file, "", f"not a readable Parquet file ({shorten(message, 120)})")
        ) from None
    return RawTable(frame, Locator("row"), Report(file))


def read_raw(path: str | os.PathLike[str], fmt: str, names: Names, *, lazy: bool) -> RawTable:
    """Dispatch to the reader of `fmt` (one of the values of :data:`FORMATS`)."""
    target = Path(path)
    if fmt == "parquet":
        return read_parquet(target, lazy=lazy)
    if fmt == "csv":
        return read_csv(target)
    return read_json(target, fmt, names)
