"""Birth dates (SPEC §3): the date recognition of the BirthDate rule, as one Polars expression.

The BirthDate rule of :mod:`idres.normalize` is the string rule, then :func:`iso_date`: a recognised
date becomes ``YYYY-MM-DD``; anything else keeps its string-rule value (the forms recognised are
listed at :func:`idres.normalize.norm_birthdate`). A date is read as three tokens (digits or a name
in :data:`MONTHS`, ordinal suffixes and a trailing time ignored) or as ``YYYYMMDD``; like every
rule, the expression evaluates each intermediate once, through a struct.
"""

from __future__ import annotations

from typing import Final

import polars as pl

__all__ = ["MONTHS", "iso_date"]

#: English month names (and abbreviations) read in birth dates.
MONTHS: Final[dict[str, int]] = {
    name: i + 1
    for i, names in enumerate(
        [
            *("jan january", "feb february", "mar march", "apr april", "may", "jun june"),
            *("jul july", "aug august", "sep sept september", "oct october", "nov november"),
            "dec december",
        ]
    )
    for name in names.split()
}
# A date as three tokens: digits or a month name, ordinal suffixes and a trailing time ignored.
_TIME: Final = r"(?:[ t]\d{1,2}:\d{2}.*)?$"
_DATE_TOKENS: Final = (
    r"^(\d+|[a-z]+)(?:st|nd|rd|th)?([-/., ]+)(\d+|[a-z]+)(?:st|nd|rd|th)?[-/., ]+(\d+)" + _TIME
)
_DATE_COMPACT: Final = r"^(\d{4})(\d{2})(\d{2})" + _TIME


def iso_date(text: pl.Expr) -> pl.Expr:
    """A string-rule text as ``YYYY-MM-DD`` when it holds a valid date, else unchanged.

    `text` must already be through the string rule (lower case, single spaces, trimmed).

    >>> s = pl.Series(["1980-01-05t10:00z", "jan 5, 1980", "31/12/1980", "1980-02-30", "unknown"])
    >>> s.to_frame("v").select(iso_date(pl.col("v"))).to_series().to_list()
    ['1980-01-05', '1980-01-05', '1980-12-31', '1980-02-30', 'unknown']
    """
    f = pl.field
    tokens = [f("tokens").struct.field(str(i)) for i in range(1, 5)]
    t1, sep, t2, t3 = tokens
    compact = [f("compact").struct.field(str(i)).cast(pl.Int32) for i in (1, 2, 3)]
    numbers = [
        *(t.cast(pl.Int32, strict=False).alias(f"n{i}") for i, t in enumerate((t1, t2, t3), 1)),
        *(
            t.replace_strict(MONTHS, default=None, return_dtype=pl.Int32).alias(f"a{i}")
            for i, t in enumerate((t1, t2), 1)
        ),
        (t1.str.len_bytes() == 4).alias("four1"),
        (t3.str.len_bytes() == 4).alias("four3"),
        sep.str.contains(".", literal=True).alias("dotted"),
        *(c.alias(f"c{i}") for i, c in enumerate(compact, 1)),
    ]
    n1, n2, n3, a1, a2 = f("n1"), f("n2"), f("n3"), f("a1"), f("a2")
    year_first = f("four1") & n1.is_not_null()
    # both numeric, year last: US order (month first) unless dotted or the first cannot be a month
    month_first = n2.is_not_null() & (n1 <= 12) & ~f("dotted")
    fields = [
        pl.coalesce(pl.when(year_first).then(n1).when(f("four3")).then(n3), f("c1")).alias("y"),
        pl.coalesce(
            pl.when(year_first)
            .then(pl.coalesce(n2, a2))
            .when(a1.is_not_null())
            .then(a1)
            .when(a2.is_not_null())
            .then(a2)
            .when(month_first)
            .then(n1)
            .otherwise(n2),
            f("c2"),
        ).alias("m"),
        pl.coalesce(
            pl.when(year_first)
            .then(n3)
            .when(a1.is_not_null() | month_first)
            .then(n2)
            .otherwise(n1),
            f("c3"),
        ).alias("d"),
    ]
    year, month, day = f("y"), f("m"), f("d")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days_in_month = (
        pl.when(month == 2)
        .then(28 + leap.cast(pl.Int32))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    valid = (year >= 1000) & month.is_between(1, 12) & day.is_between(1, days_in_month)
    date = pl.date(year, pl.when(valid).then(month), day).dt.to_string("%Y-%m-%d")
    return (
        pl.struct(text.alias("text"))
        .struct.with_fields(
            f("text").str.extract_groups(_DATE_TOKENS).alias("tokens"),
            f("text").str.extract_groups(_DATE_COMPACT).alias("compact"),
        )
        .struct.with_fields(numbers)
        .struct.with_fields(fields)
        .struct.with_fields(pl.coalesce(date, f("text")).alias("out"))
        .struct.field("out")
    )
