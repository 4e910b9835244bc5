"""The canonical profile table, built from whatever columns a reader or a caller hands in.

One plan does it all, lazily: nested ``Address`` / ``ShippingAddress`` / ``MailingAddress`` /
``BillingAddress`` / ``Attributes`` struct columns become dot-joined flat columns; the two bookkeeping
columns are renamed from their overridable names; standard and attribute columns become ``pl.String``
(numbers are accepted and written as their decimal text); the update time is parsed; missing standard
columns are added as nulls; other columns pass through unchanged; rows are sorted by ``ProfileId``.

The checks that need data (missing, empty or duplicate ProfileIds, unreadable timestamps) read only
those two columns, so a lazily scanned Parquet file is not loaded to be checked. Every problem found is
raised at once in one :class:`idres.errors.ProfileError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from idres import profile_timestamps as ts
from idres.errors import ProfileError, did_you_mean
from idres.profile_locations import MAX_DUPLICATES, MAX_PROBLEMS, Locator, Report, shorten
from idres.schema import (
    ADDRESS_TYPES,
    ATTRIBUTES,
    PROFILE_COLUMNS,
    PROFILE_ID,
    SOURCE,
    TIMESTAMP_DTYPE,
    UPDATED,
)

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

#: Members of the AWS profile object that are objects (flattened to ``Name.key`` columns).
NESTED: tuple[str, ...] = (*ADDRESS_TYPES, ATTRIBUTES)

_RECORD = "__record"
_RAW = "__raw_updated"


@dataclass(frozen=True)
class Names:
    """The input's names of the two bookkeeping columns (renamed to SourceObjectType/LastUpdatedAt)."""

    source: str = SOURCE
    updated: str = UPDATED


def is_text_column(name: str) -> bool:
    """True for columns that must hold text: standard members, attributes, the source.

    >>> is_text_column("Attributes.LoyaltyId"), is_text_column("Address.Latitude")
    (True, False)
    """
    return name in PROFILE_COLUMNS or name == SOURCE or name.startswith(ATTRIBUTES + ".")


def as_text(expr: pl.Expr, dtype: PolarsDataType) -> pl.Expr | None:
    """`expr` as ``pl.String`` when `dtype` holds text or numbers; None when it cannot.

    >>> pl.select(as_text(pl.lit(12345), pl.Int64)).item()
    '12345'
    """
    if dtype == pl.String:
        return expr
    if dtype == pl.Null or dtype.is_numeric() or isinstance(dtype, pl.Categorical | pl.Enum):
        return expr.cast(pl.String)
    return None


Flat = dict[str, tuple[pl.Expr, "PolarsDataType"]]


def _flatten(schema: pl.Schema, report: Report, reported: frozenset[str]) -> Flat:
    """Flat column name -> (expression, dtype); nested objects become ``Name.key`` columns."""
    flat: Flat = {}
    for name, dtype in schema.items():
        if name in NESTED and not isinstance(dtype, pl.Struct):
            if dtype != pl.Null and name not in reported:
                report.add(
                    f"column {name}",
                    f"expected an object (a struct, or dot-joined columns such as {name}.City"
                    f" in flat files) (got a {dtype} column)",
                )
            continue
        members = (
            [(f"{name}.{f.name}", pl.col(name).struct.field(f.name), f.dtype) for f in dtype.fields]
            if isinstance(dtype, pl.Struct) and name in NESTED
            else [(name, pl.col(name), dtype)]
        )
        for flat_name, expr, flat_dtype in members:
            if flat_name in flat:
                report.add(f"column {flat_name}", "given twice (flat and inside its object)")
            else:
                flat[flat_name] = (expr, flat_dtype)
    return flat


def _rename(flat: Flat, names: Names, report: Report) -> tuple[Flat, dict[str, str]]:
    """Rename the bookkeeping columns; also return canonical name -> the input's name."""
    shown = {name: name for name in flat}
    if names.source == names.updated:
        report.add("", f"the source and update-time columns must differ (got {names.source!r})")
        return flat, shown
    out = dict(flat)
    for given, canonical, role in (
        (names.source, SOURCE, "source column"),
        (names.updated, UPDATED, "update-time column"),
    ):
        if given == canonical:
            continue
        if given in PROFILE_COLUMNS or given in (SOURCE, UPDATED):
            report.add("", f"the {role} cannot be a standard profile column (got {given!r})")
        elif given not in flat:
            report.add("", f"no {role} named {given!r}{did_you_mean(given, flat)}")
        elif canonical in flat:
            report.add(
                f"column {canonical}", f"clashes with the {role} {given!r} (drop one of them)"
            )
        else:
            out[canonical] = out.pop(given)
            shown[canonical] = given
    return out, shown


def _column_order(names: list[str]) -> list[str]:
    attributes = sorted(n for n in names if n.startswith(ATTRIBUTES + "."))
    standard = {*PROFILE_COLUMNS, SOURCE, UPDATED, *attributes}
    others = sorted(n for n in names if n not in standard)
    return [*PROFILE_COLUMNS, SOURCE, UPDATED, *attributes, *others]


def canonical_plan(
    lf: pl.LazyFrame,
    *,
    where: Locator,
    report: Report,
    names: Names = Names(),
    reported: frozenset[str] = frozenset(),
    require_rows: bool = False,
    eager: bool = True,
) -> pl.LazyFrame:
    """Check `lf` and return the plan of its canonical profile table; raise every problem at once.

    `where` locates rows in messages; `report` holds what a reader already found; `reported` names
    columns already reported (read as null so they are not reported twice). With `eager` the
    typed table is computed once and checked in memory; without, the checks read only the ProfileId
    and update-time columns (a Parquet scan stays lazy).

    >>> plan = canonical_plan(pl.LazyFrame({"ProfileId": ["b", "a"], "Zip": [1, 2]}),
    ...                       where=Locator("row"), report=Report("f"))
    >>> plan.collect().select("ProfileId", "Zip").rows()
    [('a', 2), ('b', 1)]
    """
    wildcards = [
        name
        for name in lf.collect_schema().names()
        if name == "*" or (name.startswith("^") and name.endswith("$"))
    ]
    for name in wildcards:  # Polars reads these as a wildcard / regular expression, not one column
        report.add(f"column {name}", f"this column name is not supported (got {name!r})")
    if wildcards:
        raise ProfileError(report.capped())
    flat, shown = _rename(_flatten(lf.collect_schema(), report, reported), names, report)
    columns: dict[str, pl.Expr] = {}
    scratch: list[pl.Expr] = []  # the raw update time, kept for messages until checked
    for name, (expr, dtype) in flat.items():
        if name in reported or shown[name] in reported:
            columns[name] = pl.lit(None, TIMESTAMP_DTYPE if name == UPDATED else pl.String)
        elif name == UPDATED:
            if ts.readable_dtype(dtype):
                columns[name] = ts.parse(expr, dtype)
                scratch = [expr.cast(pl.String).alias(_RAW)]
            else:
                report.add(f"column {shown[name]}", f"{ts.EXPECTED} (got a {dtype} column)")
        elif is_text_column(name):
            text = as_text(expr, dtype)
            if text is None:
                report.add(f"column {shown[name]}", f"expected text (got a {dtype} column)")
            else:
                columns[name] = text
        else:
            columns[name] = expr
    if PROFILE_ID not in flat:
        report.add(
            "", f"no {PROFILE_ID} column; every profile needs one{did_you_mean(PROFILE_ID, flat)}"
        )
    id_checked = PROFILE_ID in columns and PROFILE_ID not in reported
    for name in (*PROFILE_COLUMNS, SOURCE):
        columns.setdefault(name, pl.lit(None, pl.String))
    columns.setdefault(UPDATED, pl.lit(None, TIMESTAMP_DTYPE))
    order = _column_order(list(columns))
    typed = lf.select(*(columns[n].alias(n) for n in order), *scratch)
    if eager:
        typed = typed.collect().lazy()
    in_order = _row_problems(
        typed,
        id_checked=id_checked,
        time_checked=bool(scratch),
        shown=shown,
        where=where,
        report=report,
        require_rows=require_rows,
    )
    if report:
        raise ProfileError(report.capped())
    out = typed.drop(_RAW) if scratch else typed
    return out if in_order else out.sort(PROFILE_ID)


def _row_problems(
    typed: pl.LazyFrame,
    *,
    id_checked: bool,
    time_checked: bool,
    shown: dict[str, str],
    where: Locator,
    report: Report,
    require_rows: bool,
) -> bool:
    """Add the problems found in the data: ids missing, empty or repeated; unreadable timestamps.

    Returns True when the rows are already sorted by ProfileId.
    """
    false = pl.lit(False)
    pid = pl.col(PROFILE_ID)
    # Sorting a wide table costs more than everything else here: skip it when already in order
    # (then no id can repeat either, which spares the duplicate count).
    in_order = (pid.is_not_null().all() & (pid.shift(1) < pid).all()) if id_checked else false
    summary = typed.select(pl.len().alias("rows"), in_order.alias("in_order")).collect()
    sorted_ids = bool(summary["in_order"].item())
    missing = (pid.is_null() | (pid.str.strip_chars() == "")) if id_checked else false
    repeated = ((pl.len().over(pid) > 1) & ~missing) if id_checked and not sorted_ids else false
    raw = pl.col(_RAW) if time_checked else pl.lit(None, pl.String)
    bad_time = (
        pl.col(UPDATED).is_null() & (raw.str.strip_chars().fill_null("") != "")
        if time_checked
        else false
    )
    found = (
        typed.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias(_RECORD),
            pid.alias("pid") if id_checked else pl.lit(None, pl.String).alias("pid"),
            raw.alias("raw"),
            missing.alias("missing"),
            repeated.alias("repeated"),
            bad_time.alias("bad_time"),
        )
        .filter(pl.col("missing") | pl.col("repeated") | pl.col("bad_time"))
        .collect()
    )
    count = summary["rows"]
    if require_rows and count.item() == 0:
        report.add("", "no profiles in the file (got an empty table)")
    missing_rows = found.filter("missing")
    for rec, value in missing_rows.head(MAX_PROBLEMS).select(_RECORD, "pid").iter_rows():
        what = "missing" if value is None else "empty"
        got = "" if value is None else f" (got {value!r})"
        report.add(
            where(rec, shown.get(PROFILE_ID)),
            f"{what}; every profile needs a non-empty {PROFILE_ID}{got}",
        )
    report.hidden += max(missing_rows.height - MAX_PROBLEMS, 0)
    _duplicates(found.filter("repeated"), where, report)
    bad_rows = found.filter("bad_time")
    for rec, value in bad_rows.head(MAX_PROBLEMS).select(_RECORD, "raw").iter_rows():
        report.add(
            where(rec, shown.get(UPDATED)),
            f"unreadable timestamp; {ts.EXPECTED} (got {shorten(value)})",
        )
    report.hidden += max(bad_rows.height - MAX_PROBLEMS, 0)
    return sorted_ids


def _duplicates(rows: pl.DataFrame, where: Locator, report: Report) -> None:
    if rows.is_empty():
        return
    groups = (
        rows.group_by("pid")
        .agg(pl.col(_RECORD).sort().alias("records"))
        .with_columns(pl.col("records").list.first().alias("first"))
        .sort("first")
    )
    for pid, records, _ in groups.head(MAX_DUPLICATES).iter_rows():
        report.add(
            where.record(records[0]),
            f"duplicate {PROFILE_ID}: {len(records)} profiles have it, also at "
            f"{where.many(records[1:])} (got {pid!r})",
        )
    if groups.height > MAX_DUPLICATES:
        report.add(
            "",
            f"and {groups.height - MAX_DUPLICATES} more duplicated {PROFILE_ID}s "
            f"({rows.height} profiles hold a duplicated {PROFILE_ID} in all)",
        )
