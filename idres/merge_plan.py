"""The AWS shapes of a merge outcome (SPEC §6, §7): FieldSourceProfileIds, MergeProfiles requests
and merged profiles as JSON.

An outcome comes from :func:`idres.merge_long.merge_profiles`. :func:`merge_plan` turns it into
MergeProfiles requests; :func:`merged_json_lines` and :func:`merged_nested` into the nested AWS
profile shape with each field's source and provenance. :mod:`idres.merged_text` writes the same
bytes from a wide first merge.

Choices [choice]:

- FieldSourceProfileIds keys are the MergeProfiles API's: a standard field or address type under its
  own name, ``Attributes`` as a map by key. PartyTypeString and GenderString fold into PartyType and
  Gender: the key points to the record whose PartyTypeString (GenderString) was kept when there is
  one, else to the one whose PartyType (Gender) was kept.
- Merge plan: one request per 20 profiles to merge into the survivor (ProfileIds sorted, chunked
  in that order; requests sorted by MainProfileId, then chunk). AWS takes a listed profile's value
  "even if it is NULL", keeps the main profile's value on a conflict otherwise, and deletes the
  merged profiles after each call; so each field's entry goes in the request that merges its
  source profile, and entries sourced from the main profile go in the first request (a request
  without entries leaves FieldSourceProfileIds out). After a call the main profile holds the
  values chosen so far; later calls keep them on a conflict and overwrite only fields whose winner
  they bring.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from idres import schema
from idres.errors import ConfigError, Problem
from idres.field_rows import as_fields_lazy, sort_fields
from idres.merge import (
    ATTR_PREFIX,
    FIELD,
    FIELD_SOURCE,
    FIELD_UPDATED,
    MERGED_IDS,
    SOURCE_PROFILE_ID,
    VALUE,
    json_string,
)

if TYPE_CHECKING:
    from idres.merge_long import MergeOutcome

__all__ = [
    "FIELD_SOURCE_KEYS",
    "MAX_PROFILES_PER_REQUEST",
    "field_sources_frame",
    "merge_plan",
    "merge_plan_lines",
    "merged_json_lines",
    "merged_nested",
    "sorted_field_sources",
]

FIELD_SOURCE_PROFILE_IDS: Final = "FieldSourceProfileIds"
MAX_PROFILES_PER_REQUEST: Final = 20
_FOLD: Final = {"PartyTypeString": "PartyType", "GenderString": "Gender"}
#: Keys of FieldSourceProfileIds that idres fills, in the API model's order.
FIELD_SOURCE_KEYS: Final = (
    *(f for f in schema.STRING_FIELDS if f not in _FOLD),
    *schema.ADDRESS_TYPES,
    schema.ATTRIBUTES,
)
_DOMAIN_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PID = schema.PROFILE_ID
_KEY, _ATTR, _JSON, _CHUNK, _RUN = "__key", "__attr", "__json", "__chunk", "__run"


def _runs(fields: pl.DataFrame, ids: pl.Series) -> pl.Expr:
    """The row of each field row's ProfileId in `ids` (both sorted by ProfileId)."""
    return pl.lit(ids.search_sorted(fields.get_column(_PID)).cast(pl.UInt32)).alias(_RUN)


def _entries(fields: pl.DataFrame, ids: pl.Series) -> pl.LazyFrame:
    """FieldSourceProfileIds entries in output order: ``__run`` (row of the ProfileId in `ids`),
    ProfileId, ``__key`` (API key, or attribute key when ``__attr``), SourceProfileId.

    `fields` is sorted by ProfileId, then field order, so a PartyTypeString (GenderString) row
    directly follows its profile's PartyType (Gender) row, which it replaces.
    """
    replaced = (
        pl.col(FIELD).is_in(list(_FOLD.values()))
        & (pl.col(_PID).shift(-1) == pl.col(_PID))
        & (pl.col(FIELD).shift(-1) == pl.col(FIELD) + "String")
    ).fill_null(False)
    is_attr = pl.col(FIELD).str.starts_with(ATTR_PREFIX)
    key = pl.when(is_attr).then(pl.col(FIELD).str.slice(len(ATTR_PREFIX)))
    return (
        fields.lazy()
        .with_columns(_runs(fields, ids))
        .filter(~replaced)
        .select(
            _RUN,
            _PID,
            key.otherwise(pl.col(FIELD).replace(_FOLD)).alias(_KEY),
            is_attr.alias(_ATTR),
            SOURCE_PROFILE_ID,
        )
    )


def _bodies(entries: pl.LazyFrame, by: list[str], value: pl.Expr) -> pl.LazyFrame:
    """Per group of `by` (in first-seen order), ProfileId and the inside of a JSON object
    (``"key":value,...`` in row order) as ``__json``."""
    entry = pl.concat_str(json_string(pl.col(_KEY)), pl.lit(":"), value)
    return (
        entries.with_row_index("__n")
        .group_by(by, maintain_order=True)
        .agg(pl.col(_PID).first(), entry.sort_by("__n").str.join(",").alias(_JSON))
    )


def _source_objects(entries: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Per group of `by`, ProfileId and its FieldSourceProfileIds JSON object (sorted by `by`)."""
    spi = json_string(pl.col(SOURCE_PROFILE_ID))
    scalars = _bodies(entries.filter(~pl.col(_ATTR)), by, spi)
    attrs = _bodies(entries.filter(pl.col(_ATTR)), by, spi)
    both = scalars.join(attrs, on=by, how="full", coalesce=True)
    body = pl.concat_str(
        pl.col(_JSON),
        pl.concat_str(pl.lit('"Attributes":{'), pl.col(_JSON + "_right"), pl.lit("}")),
        separator=",",
        ignore_nulls=True,
    )
    return both.select(
        *by,
        pl.coalesce(_PID, _PID + "_right").alias(_PID),
        pl.concat_str(pl.lit("{"), body, pl.lit("}")).alias(_JSON),
    ).sort(by)


def field_sources_frame(fields: pl.DataFrame | pl.LazyFrame, *, ids: pl.Series) -> pl.DataFrame:
    """ProfileId and its ``FieldSourceProfileIds`` JSON object, for every ProfileId in `ids`.

    >>> f = pl.DataFrame({"ProfileId": ["a"] * 3, "Field": ["Attributes.Tier", "Gender",
    ...     "GenderString"], "Value": ["x", "y", "z"], "SourceProfileId": ["a", "b", "c"]})
    >>> field_sources_frame(f, ids=pl.Series(["a"])).item(0, "FieldSourceProfileIds")
    '{"Gender":"c","Attributes":{"Tier":"a"}}'
    """
    rows = sort_fields(as_fields_lazy(fields).collect())
    return sorted_field_sources(rows, ids.cast(pl.String).sort())


def sorted_field_sources(fields: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """:func:`field_sources_frame` of rows sorted by ProfileId, then field order, and sorted `ids`
    (no sort: a :class:`idres.merge_long.MergeOutcome` holds them so)."""
    objects = _source_objects(_entries(fields, ids), [_RUN]).collect()
    values = pl.repeat("{}", ids.len(), dtype=pl.String, eager=True)
    values = values.scatter(objects.get_column(_RUN), objects.get_column(_JSON))
    return pl.DataFrame([ids.alias(_PID), values.alias(FIELD_SOURCE_PROFILE_IDS)])


def merge_plan_lines(outcome: MergeOutcome, *, domain_name: str = "preview") -> pl.Series:
    """Each MergeProfiles request of :func:`merge_plan` as one JSON string (fast to write out)."""
    if not _DOMAIN_NAME.match(domain_name):
        raise ConfigError(
            Problem(None, "DomainName", f"must match ^[a-zA-Z0-9_-]+$, 1..64 (got {domain_name!r})")
        )
    merged = outcome.merged.select(_PID, MERGED_IDS).with_row_index(_RUN)
    member = pl.col(MERGED_IDS)
    others = member.list.len() - 1  # every list holds the main profile once
    position = pl.int_range(pl.len()) - pl.col("__start")
    members = (
        merged.lazy()
        .with_columns((others.cum_sum() - others).alias("__start"))
        .explode(MERGED_IDS)
        .filter(member != pl.col(_PID))
        .with_columns((position // MAX_PROFILES_PER_REQUEST).alias(_CHUNK))
        .drop("__start")
    )
    requests = members.group_by(_RUN, _CHUNK, maintain_order=True).agg(
        pl.col(_PID).first(), member.alias("ProfileIdsToBeMerged")
    )
    entries = _entries(outcome.fields, outcome.merged.get_column(_PID))
    big = merged.filter(member.list.len() > MAX_PROFILES_PER_REQUEST + 1).get_column(_RUN)
    chunked = entries.filter(pl.col(_RUN).is_in(big.implode())).join(
        members.select(_RUN, member.alias(SOURCE_PROFILE_ID), _CHUNK),
        on=[_RUN, SOURCE_PROFILE_ID],
        how="left",
        maintain_order="left",
    )
    entries = pl.concat(
        [
            entries.filter(~pl.col(_RUN).is_in(big.implode())).with_columns(
                pl.lit(0, pl.Int64).alias(_CHUNK)
            ),
            chunked.with_columns(pl.col(_CHUNK).fill_null(0).cast(pl.Int64)),
        ]
    )
    objects = _source_objects(entries, [_RUN, _CHUNK]).drop(_PID)
    ids_json = pl.struct("ProfileIdsToBeMerged").struct.json_encode().str.slice(1).str.head(-1)
    line = pl.concat_str(
        pl.lit('{"DomainName":'),
        json_string(pl.lit(domain_name)),
        pl.lit(',"MainProfileId":'),
        json_string(pl.col(_PID)),
        pl.lit(","),
        ids_json,
        pl.concat_str(pl.lit(f',"{FIELD_SOURCE_PROFILE_IDS}":'), pl.col(_JSON)),
        pl.lit("}"),
        ignore_nulls=True,
    )
    return (
        requests.with_columns(pl.col(_CHUNK).cast(pl.Int64))
        .join(objects, on=[_RUN, _CHUNK], how="left", maintain_order="left")
        .sort(_RUN, _CHUNK)
        .select(line.alias("Request"))
        .collect()
        .to_series()
    )


def merge_plan(outcome: MergeOutcome, *, domain_name: str = "preview") -> list[dict[str, Any]]:
    """MergeProfiles requests that replay `outcome` (1..20 ProfileIdsToBeMerged each).

    >>> p = pl.DataFrame({"ProfileId": ["a", "b"], "FirstName": ["Ann", "Anne"]})
    >>> from idres.merge_long import merge_profiles
    >>> out = merge_profiles(p, pl.DataFrame({"ProfileId": ["a", "b"], "MergeGroupId": [1, 1]}))
    >>> merge_plan(out, domain_name="demo")  # doctest: +NORMALIZE_WHITESPACE
    [{'DomainName': 'demo', 'MainProfileId': 'a', 'ProfileIdsToBeMerged': ['b'],
      'FieldSourceProfileIds': {'FirstName': 'a'}}]
    """
    lines = merge_plan_lines(outcome, domain_name=domain_name)
    return json.loads("[" + ",".join(lines.to_list()) + "]")


def merged_json_lines(outcome: MergeOutcome) -> pl.Series:
    """Each merged profile as one JSON object (see :func:`merged_nested`), sorted by ProfileId."""
    merged, fields = outcome.merged, outcome.fields
    is_attr = pl.col(FIELD).str.starts_with(ATTR_PREFIX)
    value = (
        pl.when(pl.col(FIELD).is_in(schema.ADDRESS_TYPES))
        .then(pl.col(VALUE))
        .otherwise(json_string(pl.col(VALUE)))
    )
    rows = fields.lazy().with_columns(_runs(fields, merged.get_column(_PID)))
    standard = _bodies(rows.filter(~is_attr).with_columns(pl.col(FIELD).alias(_KEY)), [_RUN], value)
    attributes = _bodies(
        rows.filter(is_attr).with_columns(pl.col(FIELD).str.slice(len(ATTR_PREFIX)).alias(_KEY)),
        [_RUN],
        value,
    )
    # The kept value's ProfileId is FieldSourceProfileIds' (not repeated: half the bytes).
    origin = pl.struct(pl.col(FIELD_UPDATED), pl.col(FIELD_SOURCE)).struct.json_encode()
    provenance = _bodies(rows.with_columns(pl.col(FIELD).alias(_KEY)), [_RUN], origin)
    record = [c for c in merged.columns if c in schema.BOOKKEEPING_COLUMNS]
    record += [c for c in merged.columns if c != _PID and schema.is_passthrough(c)]
    body = pl.concat_str(
        pl.concat_str(pl.lit(f'"{_PID}":'), json_string(pl.col(_PID))),
        pl.col("__standard"),
        pl.concat_str(pl.lit('"Attributes":{'), pl.col("__attributes"), pl.lit("}")),
        pl.struct(record).struct.json_encode().str.slice(1).str.head(-1),
        pl.concat_str(pl.lit(f'"{FIELD_SOURCE_PROFILE_IDS}":'), pl.col(FIELD_SOURCE_PROFILE_IDS)),
        pl.concat_str(pl.lit('"FieldProvenance":{'), pl.col("__provenance"), pl.lit("}")),
        separator=",",
        ignore_nulls=True,
    )
    base = (
        merged.select(_PID, *record)
        .with_row_index(_RUN)
        .with_columns(outcome.field_sources.get_column(FIELD_SOURCE_PROFILE_IDS))
    )
    out = base.lazy()
    for name, part in (
        ("__standard", standard),
        ("__attributes", attributes),
        ("__provenance", provenance),
    ):
        out = out.join(
            part.select(_RUN, pl.col(_JSON).alias(name)), on=_RUN, how="left", maintain_order="left"
        )
    return (
        out.select(pl.concat_str(pl.lit("{"), body, pl.lit("}")).alias("Profile"))
        .collect()
        .to_series()
    )


def merged_nested(outcome: MergeOutcome) -> list[dict[str, Any]]:
    """Each merged profile in the nested AWS profile shape, with its provenance.

    Standard fields and address structures at the top, ``Attributes`` as a map, then
    SourceObjectType, LastUpdatedAt, pass-through columns (``MergedProfileIds``),
    ``FieldSourceProfileIds`` (per field the ProfileId whose value was kept, in the MergeProfiles
    shape) and ``FieldProvenance`` (per field, unfolded: the UpdatedAt and Source of the kept
    value). Absent fields are left out.

    >>> p = pl.DataFrame({"ProfileId": ["a", "b"], "Address.City": ["Oslo", None],
    ...     "Attributes.Tier": [None, "gold"]})
    >>> from idres.merge_long import merge_profiles
    >>> out = merge_profiles(p, pl.DataFrame({"ProfileId": ["a", "b"], "MergeGroupId": [1, 1]}))
    >>> d = merged_nested(out)[0]
    >>> d["Address"], d["Attributes"], d["MergedProfileIds"], d["FieldSourceProfileIds"]
    ({'City': 'Oslo'}, {'Tier': 'gold'}, ['a', 'b'], {'Address': 'a', 'Attributes': {'Tier': 'b'}})
    """
    lines = merged_json_lines(outcome)
    return json.loads("[" + ",".join(lines.to_list()) + "]")
