"""Read and write customer profiles: one canonical flat table from every input form (SPEC §2).

Input forms: JSON Lines or a JSON array of nested AWS profile objects, the response of
``aws customer-profiles search-profiles`` (``{"Items": [...]}``), and CSV or Parquet with flat,
dot-joined column names (``Address.City``, ``ShippingAddress.PostalCode``, ``Attributes.LoyaltyId``).
The format comes from the extension (``.jsonl``/``.ndjson``, ``.json``, ``.csv``, ``.parquet``/``.pq``)
unless ``format=`` says otherwise.

The profile table (docs/DESIGN.md): one row per profile sorted by ``ProfileId``; every column of
:data:`idres.schema.PROFILE_COLUMNS` as ``pl.String`` (null when absent); ``Attributes.<key>`` as
``pl.String``; ``SourceObjectType`` (``pl.String``) and ``LastUpdatedAt`` (``Datetime("us", "UTC")``),
read from columns whose names can be overridden; any other column passed through unchanged.

Choices [choice]: column order is ProfileId, the standard members in AWS's order, the address
columns, SourceObjectType, LastUpdatedAt, then ``Attributes.*`` and other columns each sorted by name
(so the table does not depend on the order of the records). A ProfileId that is empty or only spaces
is an error. A file holding no profiles is an error. Bad input raises
:class:`idres.errors.ProfileError` with every problem found (at most 20 listed, then a count): the file,
where (``line N``, ``[i]``, ``row N, column C``) and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from idres.errors import Problem, ProfileError
from idres.profile_canonical import Names, canonical_plan
from idres.profile_formats import FORMATS, RawTable, detect_format, read_raw
from idres.profile_json import PARSE_ERRORS
from idres.profile_locations import Locator, Report, shorten
from idres.profile_writers import json_text_expr, nested_struct_expr, to_nested, write_file
from idres.schema import SOURCE, UPDATED

__all__ = [
    "FORMATS",
    "canonicalize",
    "json_text_expr",
    "nested_struct_expr",
    "read_profiles",
    "scan_profiles",
    "to_nested",
    "write_profiles",
]


def _plan(raw: RawTable, names: Names, *, eager: bool) -> pl.LazyFrame:
    try:
        return canonical_plan(
            raw.frame,
            where=raw.where,
            report=raw.report,
            names=names,
            reported=raw.reported,
            require_rows=True,
            eager=eager,
        )
    except PARSE_ERRORS as exc:  # a Parquet file whose data (not header) is damaged
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProfileError(
            Problem(raw.report.file, "", f"cannot read ({shorten(message, 120)})")
        ) from None


def scan_profiles(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    source_column: str = SOURCE,
    updated_column: str = UPDATED,
) -> pl.LazyFrame:
    """The canonical profile table of `path` as a LazyFrame (Parquet is scanned, not loaded).

    The file is checked first (ProfileIds and timestamps; for Parquet only those two columns are
    read), so collecting the plan does not fail on bad input. Other formats are read eagerly.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.parquet"
    >>> pl.DataFrame({"ProfileId": ["b", "a"], "Address.City": ["Oslo", None]}).write_parquet(path)
    >>> scan_profiles(path).select("ProfileId", "Address.City").collect().rows()
    [('a', None), ('b', 'Oslo')]
    """
    fmt = detect_format(path, format)
    names = Names(source_column, updated_column)
    lazy = fmt == "parquet"
    return _plan(read_raw(path, fmt, names, lazy=lazy), names, eager=not lazy)


def read_profiles(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    source_column: str = SOURCE,
    updated_column: str = UPDATED,
) -> pl.DataFrame:
    """Read a profile file into the canonical flat profile table.

    Parameters
    ----------
    path : the file (JSON Lines, JSON array, search-profiles response, CSV or Parquet).
    format : ``jsonl``/``ndjson``, ``json``, ``csv`` or ``parquet``/``pq``; default from the extension.
    source_column, updated_column : the file's names of the bookkeeping columns; they come out as
        ``SourceObjectType`` and ``LastUpdatedAt``.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.jsonl"
    >>> _ = path.write_text('{"ProfileId": "p1", "Address": {"City": "Oslo"}, "updated": 0}\\n')
    >>> frame = read_profiles(path, updated_column="updated")
    >>> frame.select("ProfileId", "Address.City", "LastUpdatedAt").rows()[0][:2]
    ('p1', 'Oslo')
    >>> str(frame["LastUpdatedAt"][0])
    '1970-01-01 00:00:00+00:00'
    """
    fmt = detect_format(path, format)
    names = Names(source_column, updated_column)
    plan = _plan(read_raw(path, fmt, names, lazy=False), names, eager=True)
    return plan.collect()


def canonicalize(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    source: str = "<frame>",
    source_column: str = SOURCE,
    updated_column: str = UPDATED,
) -> pl.DataFrame:
    """Make any frame of profiles a canonical profile table (what every reader does last).

    Nested object columns (``Address`` etc. as structs) are flattened, the bookkeeping columns
    renamed, missing standard columns added as nulls, text columns cast to ``pl.String`` (numbers
    become their decimal text), timestamps parsed, ProfileIds checked, rows sorted by ProfileId.
    Problems name `source` and the 0-based row index.

    >>> canonicalize(pl.DataFrame({"ProfileId": ["b", "a"], "ts": ["2024-05-01", None]}),
    ...              updated_column="ts").select("ProfileId", "LastUpdatedAt").rows()[1][0]
    'b'
    """
    names = Names(source_column, updated_column)
    plan = canonical_plan(
        frame.lazy(),
        where=Locator("row"),
        report=Report(source),
        names=names,
        eager=isinstance(frame, pl.DataFrame),
    )
    return plan.collect()


def write_profiles(
    frame: pl.DataFrame | pl.LazyFrame, path: str | os.PathLike[str], *, format: str | None = None
) -> None:
    """Write a profile table to `path`, atomically (nothing is left behind if it fails).

    JSON Lines and JSON write the nested AWS profile shape with null members left out; CSV and
    Parquet write the flat table. See :mod:`idres.profile_writers`.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.jsonl"
    >>> write_profiles(pl.DataFrame({"ProfileId": ["a"], "Address.City": ["Oslo"]}), path)
    >>> path.read_text()
    '{"ProfileId":"a","Address":{"City":"Oslo"}}\\n'
    """
    fmt = detect_format(path, format)
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    write_file(data, Path(path), fmt)
