"""The long field frame: a flat profile table as one row per non-missing field, and back.

The rows (``ProfileId``, ``Field``, ``Value``, ``UpdatedAt``, ``Source``, ``SourceProfileId``) are
described in :mod:`idres.merge`, whose conflict resolution works on them. An address type is one
row whose Value is the JSON of its non-null parts (addresses merge as a whole).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from idres import schema
from idres.errors import InputError, Problem, did_you_mean
from idres.merge import (
    ATTR_PREFIX,
    FIELD,
    FIELD_COLUMNS,
    FIELD_SOURCE,
    FIELD_UPDATED,
    FIELDS_SCHEMA,
    SOURCE_PROFILE_ID,
    STANDARD_FIELDS,
    VALUE,
    json_string,
    listed,
    present_text,
    require_columns,
    timestamp_expr,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "as_fields_lazy",
    "field_order",
    "fields_lazy",
    "flat_profiles",
    "from_fields",
    "sort_fields",
    "to_fields",
]

_PID = schema.PROFILE_ID
_ADDRESS_DTYPE = pl.Struct({p: pl.String for p in schema.ADDRESS_PARTS})


def _present(column: str) -> pl.Expr:
    return present_text(pl.col(column))


def _field_exprs(names: Sequence[str]) -> list[pl.Expr]:
    """One String expression per field present in `names`, named after the field."""
    cols = set(names)
    exprs = [_present(c).alias(c) for c in schema.STRING_FIELDS if c in cols]
    for kind in schema.ADDRESS_TYPES:
        parts = [p for p in schema.ADDRESS_PARTS if f"{kind}.{p}" in cols]
        if parts:
            pieces = [
                pl.concat_str(pl.lit(f'"{p}":'), json_string(_present(f"{kind}.{p}")))
                for p in parts
            ]
            body = pl.concat_str(pieces, separator=",", ignore_nulls=True)
            present = pl.any_horizontal(_present(f"{kind}.{p}").is_not_null() for p in parts)
            exprs.append(
                pl.when(present).then(pl.concat_str(pl.lit("{"), body, pl.lit("}"))).alias(kind)
            )
    return exprs + [_present(c).alias(c) for c in schema.attribute_columns(list(names))]


def fields_lazy(profiles: pl.LazyFrame, index: Sequence[str] = ()) -> pl.LazyFrame:
    """Lazy, unsorted :func:`to_fields`; the `index` columns of `profiles` are kept too."""
    frame_schema = profiles.collect_schema()
    values = _field_exprs(frame_schema.names())
    keep = [_PID, FIELD_UPDATED, FIELD_SOURCE, *index]
    if not values:
        empty = pl.DataFrame(schema=FIELDS_SCHEMA).lazy()
        return empty.with_columns(pl.lit(None, frame_schema[c]).alias(c) for c in index)
    source = (
        pl.col(schema.SOURCE).cast(pl.String)
        if schema.SOURCE in frame_schema
        else pl.lit(None, pl.String)
    )
    return (
        profiles.select(
            pl.col(_PID).cast(pl.String),
            timestamp_expr(frame_schema).alias(FIELD_UPDATED),
            source.alias(FIELD_SOURCE),
            *index,
            *values,
        )
        .unpivot(index=keep, variable_name=FIELD, value_name=VALUE)
        .drop_nulls(VALUE)
        .with_columns(pl.col(_PID).alias(SOURCE_PROFILE_ID))
        .select(*FIELD_COLUMNS, *index)
    )


def to_fields(profiles: pl.DataFrame) -> pl.DataFrame:
    """The long field rows of a flat profile table, sorted by ProfileId, then :func:`field_order`.

    Each non-missing field becomes one row with its record's LastUpdatedAt and SourceObjectType;
    an address type becomes one row whose Value is the JSON of its non-null parts.

    >>> p = pl.DataFrame({"ProfileId": ["a"], "FirstName": ["Ann"], "LastName": [" "],
    ...     "Address.City": ["Oslo"], "Attributes.Tier": ["gold"]})
    >>> to_fields(p).select("Field", "Value").rows()
    [('FirstName', 'Ann'), ('Address', '{"City":"Oslo"}'), ('Attributes.Tier', 'gold')]
    """
    require_columns(profiles, [_PID], "profiles")
    return sort_fields(fields_lazy(profiles.lazy()).collect())


def as_fields_lazy(fields: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """`fields` with the long columns and dtypes (UpdatedAt, Source, SourceProfileId optional)."""
    require_columns(fields, [_PID, FIELD, VALUE], "fields")
    frame_schema = fields.collect_schema()
    source = pl.col(FIELD_SOURCE) if FIELD_SOURCE in frame_schema else pl.lit(None)
    origin = pl.col(SOURCE_PROFILE_ID) if SOURCE_PROFILE_ID in frame_schema else pl.col(_PID)
    return fields.lazy().select(
        pl.col(_PID, FIELD, VALUE).cast(pl.String),
        timestamp_expr(frame_schema, FIELD_UPDATED).alias(FIELD_UPDATED),
        source.cast(pl.String).alias(FIELD_SOURCE),
        origin.cast(pl.String).alias(SOURCE_PROFILE_ID),
    )


def field_order(names: Iterable[str]) -> dict[str, int]:
    """Output order of field names: standard fields in schema order, then the others sorted.

    >>> field_order(["Attributes.b", "Address", "FirstName", "Attributes.a"])
    {'FirstName': 0, 'Address': 1, 'Attributes.a': 2, 'Attributes.b': 3}
    """
    names = set(names)
    standard = [f for f in STANDARD_FIELDS if f in names]
    return {f: i for i, f in enumerate([*standard, *sorted(names - set(standard))])}


def sort_fields(frame: pl.DataFrame, by: str = _PID) -> pl.DataFrame:
    """Long rows sorted by `by` (ProfileId or an integer rank of it), then :func:`field_order`."""
    if frame.is_empty():
        return frame
    order = field_order(frame.get_column(FIELD).unique().to_list())
    rank = pl.col(FIELD).replace_strict(order, return_dtype=pl.UInt32)
    if frame.schema[by].is_integer():  # one integer key sorts fastest
        return frame.sort(pl.col(by).cast(pl.UInt64) * (1 << 32) + rank)
    return frame.sort(by, rank)


def _check_field_names(fields: pl.DataFrame) -> None:
    names = fields.get_column(FIELD).unique().sort().to_list()
    problems = [
        Problem(None, FIELD, f"unknown field{did_you_mean(n, STANDARD_FIELDS)} (got {n!r})")
        for n in names
        if n not in STANDARD_FIELDS and not n.startswith(ATTR_PREFIX)
    ]
    dup = fields.filter(pl.struct(_PID, FIELD).is_duplicated()).select(_PID, FIELD).unique()
    problems += [
        Problem(None, FIELD, f"more than one row for a profile's field (got {pair!r})")
        for pair in dup.sort(_PID, FIELD).rows()
    ]
    if problems:
        raise InputError(listed(problems))


def from_fields(
    fields: pl.DataFrame | pl.LazyFrame, *, template: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The flat profile table (docs/DESIGN.md "Profile table") of long field rows.

    Field values come from `fields` only. Record columns (SourceObjectType, LastUpdatedAt and
    pass-through columns such as MergedProfileIds) and the Attributes columns to keep come from
    `template`; a profile absent from it takes the latest UpdatedAt and that row's Source. Columns:
    the standard ones, ``Attributes.*`` sorted, SourceObjectType, LastUpdatedAt, pass-through in
    template order; rows sorted by ProfileId.

    >>> p = pl.DataFrame({"ProfileId": ["a"], "ShippingAddress.City": ["Oslo"]})
    >>> from_fields(to_fields(p)).select("ProfileId", "ShippingAddress.City").rows()
    [('a', 'Oslo')]
    """
    fields = as_fields_lazy(fields).collect()
    _check_field_names(fields)
    return flat_profiles(fields, template)


def flat_profiles(fields: pl.DataFrame, template: pl.DataFrame | None) -> pl.DataFrame:
    """:func:`from_fields` of checked long rows (one row per profile and field)."""
    passthrough: list[str] = []
    attributes = {
        f for f in fields.get_column(FIELD).unique().to_list() if f.startswith(ATTR_PREFIX)
    }
    records = pl.DataFrame(
        schema={_PID: pl.String, schema.SOURCE: pl.String, schema.UPDATED: schema.TIMESTAMP_DTYPE}
    )
    if template is not None:
        require_columns(template, [_PID], "template")
        attributes |= set(schema.attribute_columns(template.columns))
        passthrough = [c for c in template.columns if c != _PID and schema.is_passthrough(c)]
        records = template.select(
            pl.col(_PID).cast(pl.String),
            pl.col(schema.SOURCE).cast(pl.String)
            if schema.SOURCE in template.columns
            else pl.lit(None, pl.String).alias(schema.SOURCE),
            timestamp_expr(template.schema).alias(schema.UPDATED),
            *passthrough,
        )
    latest = [FIELD_UPDATED, FIELD_SOURCE, SOURCE_PROFILE_ID, FIELD]
    derived = (
        fields.join(records.select(_PID), on=_PID, how="anti")
        .group_by(_PID)
        .agg(
            pl.col(FIELD_SOURCE)
            .sort_by(latest, descending=[True, False, False, False], nulls_last=True)
            .first()
            .alias(schema.SOURCE),
            pl.col(FIELD_UPDATED).max().alias(schema.UPDATED),
        )
    )
    if derived.height:
        records = pl.concat([records, derived], how="diagonal_relaxed")
    wide = (
        fields.pivot(on=FIELD, index=_PID, values=VALUE)
        if fields.height
        else pl.DataFrame(schema={_PID: pl.String})
    )
    kinds = [k for k in schema.ADDRESS_TYPES if k in wide.columns]
    wide = wide.with_columns(
        pl.col(k)
        .str.json_decode(_ADDRESS_DTYPE)
        .struct.rename_fields([f"{k}.{p}" for p in schema.ADDRESS_PARTS])
        for k in kinds
    ).unnest(kinds)
    out = records.join(wide, on=_PID, how="left", maintain_order="left")
    columns = [*schema.PROFILE_COLUMNS, *sorted(attributes)]
    out = out.select(
        pl.col(_PID),
        *(pl.col(c) if c in out.columns else pl.lit(None, pl.String).alias(c) for c in columns[1:]),
        pl.col(schema.SOURCE),
        pl.col(schema.UPDATED),
        *passthrough,
    )
    return out if out.get_column(_PID).is_sorted() else out.sort(_PID)
