"""What a profile table holds: fill rates, the most common values, and crowded values.

"Crowded" values are those held by more than ``limit`` profiles (500 by default) after
normalization: AWS's low-cardinality guard treats them as useless for rule-based matching, so a rule
level made only of such attributes matches nothing for those profiles (SPEC §4). Seeing them before a
run explains missing matches (``test@test.com``, ``N/A``, a call-centre phone number).

Everything here returns frames; the CLI (``idres profiles inspect``) only formats them.

Choices [choice]: a value counts as filled when it is not null and, for text, not blank. Top values
and crowded values are counted on normalized values (``idres.normalize``), so ``John`` and ``JOHN ``
are one value; nulls and values empty after normalization are not values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from idres.schema import ADDRESS_TYPES, EMAIL_FIELDS, NORM_PREFIX, PHONE_FIELDS, norm

if TYPE_CHECKING:
    from idres.normalize import Mode

#: Columns whose most common values are shown (names, emails, phones, postal codes, birth dates).
KEY_COLUMNS: tuple[str, ...] = (
    "FirstName",
    "LastName",
    "BusinessName",
    *EMAIL_FIELDS,
    *PHONE_FIELDS,
    *(f"{t}.PostalCode" for t in ADDRESS_TYPES),
    "BirthDate",
)
#: AWS's low-cardinality limit: a value held by more profiles than this is skipped by rule matching.
LOW_CARDINALITY_LIMIT = 500


def _filled(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    present = col.is_not_null()
    if dtype == pl.String:
        present = present & (col.str.strip_chars() != "")
    return present.sum().cast(pl.Int64).alias(name)


def fill_rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Filled values per column: ``column``, ``filled`` (count) and ``fill_rate`` (0..1).

    >>> frame = pl.DataFrame({"ProfileId": ["a", "b"], "FirstName": ["Ann", " "]})
    >>> fill_rates(frame).rows()
    [('ProfileId', 2, 1.0), ('FirstName', 1, 0.5)]
    """
    schema = {"column": pl.String, "filled": pl.Int64, "fill_rate": pl.Float64}
    if not frame.columns:
        return pl.DataFrame(schema=schema)
    counts = frame.select(_filled(n, d) for n, d in frame.schema.items())
    rows = max(frame.height, 1)
    return pl.DataFrame(
        {"column": counts.columns, "filled": counts.row(0)}, schema_overrides=schema
    ).with_columns((pl.col("filled") / rows).alias("fill_rate"))


def _value_counts(frame: pl.DataFrame, source: str, label: str) -> pl.LazyFrame:
    value = pl.col(source).cast(pl.String)
    return (
        frame.lazy()
        .select(value.alias("value"))
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
        .group_by("value")
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .select(pl.lit(label).alias("column"), "value", "count")
    )


def _empty_counts() -> pl.DataFrame:
    return pl.DataFrame(schema={"column": pl.String, "value": pl.String, "count": pl.Int64})


def top_values(
    normalized: pl.DataFrame, columns: tuple[str, ...] = KEY_COLUMNS, *, n: int = 5
) -> pl.DataFrame:
    """The `n` most common normalized values of each of `columns`: ``column``, ``value``, ``count``.

    The normalized copy ``_n.<column>`` is used when present, else the raw column; columns with no
    value are left out. Ties are broken by value, so the result is deterministic.

    >>> frame = pl.DataFrame({"_n.FirstName": ["ann", "ann", "bo", None]})
    >>> top_values(frame, ("FirstName",), n=1).rows()
    [('FirstName', 'ann', 2)]
    """
    plans = []
    for column in columns:
        source = norm(column) if norm(column) in normalized.columns else column
        if source in normalized.columns:
            plans.append(
                _value_counts(normalized, source, column)
                .sort(["count", "value"], descending=[True, False])
                .head(n)
            )
    if not plans:
        return _empty_counts()
    return pl.concat(pl.collect_all(plans))


def low_cardinality(
    normalized: pl.DataFrame, *, limit: int = LOW_CARDINALITY_LIMIT
) -> pl.DataFrame:
    """Normalized values held by more than `limit` profiles: ``column``, ``value``, ``count``.

    Every ``_n.<column>`` of `normalized` is counted (``column`` names the attribute without the
    prefix); rows are sorted by column, then by count (largest first), then by value.

    >>> frame = pl.DataFrame({"_n.EmailAddress": ["x@y.z"] * 3 + ["a@b.c"]})
    >>> low_cardinality(frame, limit=2).rows()
    [('EmailAddress', 'x@y.z', 3)]
    """
    sources = [c for c in normalized.columns if c.startswith(NORM_PREFIX)]
    plans = [
        _value_counts(normalized, c, c.removeprefix(NORM_PREFIX)).filter(pl.col("count") > limit)
        for c in sources
    ]
    if not plans:
        return _empty_counts()
    order = {c.removeprefix(NORM_PREFIX): i for i, c in enumerate(sources)}
    found = pl.concat(pl.collect_all(plans))
    return (
        found.with_columns(
            pl.col("column").replace_strict(order, return_dtype=pl.Int64).alias("__order")
        )
        .sort(["__order", "count", "value"], descending=[False, True, False])
        .drop("__order")
    )


@dataclass(frozen=True)
class Inspection:
    """A profile table's summary: what ``idres profiles inspect`` shows."""

    rows: int
    fill: pl.DataFrame
    top: pl.DataFrame
    crowded: pl.DataFrame
    limit: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``--json`` prints)."""
        return {
            "rows": self.rows,
            "columns": self.fill.to_dicts(),
            "top_values": self.top.to_dicts(),
            "low_cardinality": {"limit": self.limit, "values": self.crowded.to_dicts()},
        }


def inspect_profiles(
    frame: pl.DataFrame,
    *,
    limit: int = LOW_CARDINALITY_LIMIT,
    top: int = 5,
    mode: Mode = "standard",
) -> Inspection:
    """Summarise a canonical profile table (see :func:`idres.profiles.read_profiles`).

    `mode` is the normalization mode passed to :func:`idres.normalize.normalize`.

    >>> frame = pl.DataFrame({"ProfileId": ["a", "b"], "FirstName": ["Ann", "ANN "]})
    >>> result = inspect_profiles(frame, limit=1)
    >>> result.rows, result.crowded.rows()
    (2, [('FirstName', 'ann', 2)])
    """
    from idres.normalize import normalize

    normalized = normalize(frame, mode=mode)
    return Inspection(
        rows=frame.height,
        fill=fill_rates(frame),
        top=top_values(normalized, n=top),
        crowded=low_cardinality(normalized, limit=limit),
        limit=limit,
    )
