"""Conflict resolution on long field rows (SPEC §6): provenance, RECENCY, SOURCE, survivors.

Merging works on a *long* ("field") frame with one row per non-missing field of a profile:

- ``ProfileId``: the record that owns the row now (the survivor, after a merge);
- ``Field``: a scalar member (``FirstName``), an address type (``ShippingAddress``, whose value is
  the canonical JSON of its non-null parts: addresses merge as a whole) or ``Attributes.<key>``;
- ``Value`` (``pl.String``, never null), ``UpdatedAt`` (UTC, null = oldest), ``Source`` (the
  SourceObjectType it came from, null matches no SourceName) and ``SourceProfileId`` (the original
  ProfileId it came from).

Every field keeps its own timestamp and source, so merges chain (AutoMerging runs criterion by
criterion): :func:`resolve_fields` can run over its own output. Merging flat profile tables lives
in :mod:`idres.merge_long` (``merge_profiles``, ``MergeOutcome``); the FieldSourceProfileIds map,
the merge plan and the nested shape in :mod:`idres.merge_plan` (``merge_plan``, ``merged_nested``);
all are importable from here too.

Choices [choice]: a value empty or only whitespace is missing. Values compare exactly (raw strings).
Per field the winner is the first by: from SourceName (SOURCE only), latest UpdatedAt, held by the
survivor, smallest SourceProfileId, smallest Value. Equal values are no conflict: the field takes
UpdatedAt, Source and SourceProfileId of the latest row holding the winning value (same order
without the SourceName preference). The survivor is the member with the earliest record
LastUpdatedAt (null first), then the smallest ProfileId. Rows with a null MergeGroupId and groups of
one profile merge nothing.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any, Final, Protocol

import polars as pl

from idres import schema
from idres.errors import InputError, Problem, ProfileError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from idres.field_rows import from_fields, to_fields
    from idres.merge_long import MergeOutcome, merge_profiles
    from idres.merge_plan import merge_plan, merged_nested

__all__ = [
    "FIELD_COLUMNS",
    "MERGED_IDS",
    "MERGE_GROUP_ID",
    "ConflictResolutionLike",
    "MergeOutcome",
    "from_fields",
    "merge_plan",
    "merge_profiles",
    "merged_nested",
    "resolve",
    "resolve_fields",
    "to_fields",
]

#: Names defined elsewhere, importable from here (imported on first use: no import cycle).
_ELSEWHERE: Final = {
    **dict.fromkeys(
        ("merge_plan", "merge_plan_lines", "merged_json_lines", "merged_nested"), "idres.merge_plan"
    ),
    **dict.fromkeys(("MergeOutcome", "merge_profiles"), "idres.merge_long"),
    **dict.fromkeys(("from_fields", "to_fields"), "idres.field_rows"),
}


def __getattr__(name: str) -> Any:
    """Names of :data:`_ELSEWHERE`, from their own modules."""
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


log = logging.getLogger(__name__)

MERGE_GROUP_ID: Final = "MergeGroupId"
_PID = schema.PROFILE_ID
TS: Final = "__ts"
SURVIVOR: Final = "__survivor"
_ROW = "__row"
_K = "__k"
_SCORE = "__score"
_RECENT = "__recent"
OLDEST: Final = "__oldest"
GROUP: Final = "__g"  # unsigned integer code of a merge group
IDX: Final = "__idx"  # row of a profile in the ProfileId-sorted table
MAX_LISTED = 10

FIELD: Final = "Field"
VALUE: Final = "Value"
FIELD_UPDATED: Final = "UpdatedAt"
FIELD_SOURCE: Final = "Source"
SOURCE_PROFILE_ID: Final = "SourceProfileId"
MERGED_IDS: Final = "MergedProfileIds"
FIELD_COLUMNS: Final = (_PID, FIELD, VALUE, FIELD_UPDATED, FIELD_SOURCE, SOURCE_PROFILE_ID)
FIELDS_SCHEMA: Final = pl.Schema(
    [
        (_PID, pl.String),
        (FIELD, pl.String),
        (VALUE, pl.String),
        (FIELD_UPDATED, schema.TIMESTAMP_DTYPE),
        (FIELD_SOURCE, pl.String),
        (SOURCE_PROFILE_ID, pl.String),
    ]
)
#: Field names other than ``Attributes.<key>``, in output order.
STANDARD_FIELDS: Final = (*schema.STRING_FIELDS, *schema.ADDRESS_TYPES)
ATTR_PREFIX = schema.ATTRIBUTES + "."


class ConflictResolutionLike(Protocol):
    """Anything shaped like ``idres.config.ConflictResolution``."""

    ConflictResolvingModel: str
    SourceName: str | None


def preferred_source(resolution: ConflictResolutionLike | None) -> str | None:
    """The preferred SourceName (None under RECENCY) of a ConflictResolution."""
    if resolution is None:
        return None
    model = getattr(resolution, "ConflictResolvingModel", None)
    if model == "RECENCY":
        return None
    if model == "SOURCE":
        return getattr(resolution, "SourceName", None)
    raise InputError(
        Problem(
            None,
            "ConflictResolution.ConflictResolvingModel",
            f"must be RECENCY or SOURCE (got {model!r})",
        )
    )


def listed(problems: list[Problem]) -> list[Problem]:
    """At most MAX_LISTED problems, then one that counts the rest."""
    if len(problems) <= MAX_LISTED:
        return problems
    more = Problem(None, problems[0].location, f"... and {len(problems) - MAX_LISTED} more")
    return [*problems[:MAX_LISTED], more]


def require_columns(frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str], what: str) -> None:
    """Raise InputError naming each of `columns` that `frame` lacks."""
    names = frame.collect_schema().names()
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputError(
            [Problem(None, what, f"missing column {c!r} (got columns {names!r})") for c in missing]
        )


def check_groups(groups: pl.DataFrame, known: pl.Series | None) -> None:
    """Each ProfileId in at most one group; with `known`, every ProfileId among them."""
    require_columns(groups, [_PID, MERGE_GROUP_ID], "groups")
    ids = groups.filter(pl.col(MERGE_GROUP_ID).is_not_null()).get_column(_PID).cast(pl.String)
    problems = [
        Problem(None, "groups", f"ProfileId in more than one row (got {p!r})")
        for p in ids.filter(ids.is_duplicated()).unique().sort().to_list()
    ]
    if known is not None:
        unknown = ids.filter(~ids.is_in(known.implode())).unique().sort().to_list()
        problems += [Problem(None, "groups", f"unknown ProfileId (got {p!r})") for p in unknown]
    if problems:
        raise InputError(listed(problems))


def json_string(expr: pl.Expr) -> pl.Expr:
    r"""`expr` (a String) as a JSON string literal, quotes and escapes included; null stays null.

    >>> print(pl.select(json_string(pl.lit('say "hi"'))).item())
    "say \"hi\""
    """
    # One Aho-Corasick pass (a third faster than encoding a struct and slicing its text); the
    # escapes are Polars' JSON writer's, byte for byte: short forms, else \u00XX; no others.
    return pl.concat_str(pl.lit('"'), expr.str.replace_many(*JSON_ESCAPES), pl.lit('"'))


_SHORT_ESCAPES: Final = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}
JSON_ESCAPES: Final = (
    ["\\", '"', *(chr(i) for i in range(32))],
    ["\\\\", '\\"', *(_SHORT_ESCAPES.get(i, f"\\u{i:04x}") for i in range(32))],
)


def _utc(expr: pl.Expr, dtype: pl.DataType, name: str) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        expr = (
            expr.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else expr.dt.convert_time_zone("UTC")
        )
    elif dtype == pl.Date:
        expr = expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif dtype != pl.Null:
        raise ProfileError(Problem(None, name, f"must be a timestamp column (got {str(dtype)!r})"))
    return expr.cast(schema.TIMESTAMP_DTYPE)


def timestamp_expr(frame_schema: pl.Schema, name: str = schema.UPDATED) -> pl.Expr:
    """Column `name` of a frame with `frame_schema` as ``Datetime("us", "UTC")``; null if absent.

    >>> pl.DataFrame({"x": [1]}).select(timestamp_expr(pl.Schema({"x": pl.Int64}))).dtypes
    [Datetime(time_unit='us', time_zone='UTC')]
    """
    if name not in frame_schema:
        return pl.lit(None, schema.TIMESTAMP_DTYPE)
    return _utc(pl.col(name), frame_schema[name], name)


def holds_text(expr: pl.Expr) -> pl.Expr:
    """Whether `expr` (cast to String) holds a value: not null, not empty, not only whitespace.

    >>> pl.select(holds_text(pl.lit(pl.Series(["a", " ", None])))).to_series().to_list()
    [True, False, False]
    """
    return (expr.cast(pl.String).str.strip_chars().str.len_bytes() > 0).fill_null(False)


def present_text(expr: pl.Expr) -> pl.Expr:
    """`expr` as a String, null when empty or only whitespace (a missing value)."""
    return pl.when(holds_text(expr)).then(expr.cast(pl.String))


def with_survivors(groups: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of groups with two or more members, each with its group's survivor in ``__survivor``.

    `groups` has ProfileId, MergeGroupId and the record timestamp ``__ts``.
    """
    epoch = pl.col(TS).dt.epoch("us").fill_null(pl.lit(-(2**63), pl.Int64))
    oldest = epoch == epoch.min().over(MERGE_GROUP_ID)
    return (
        groups.filter(pl.col(MERGE_GROUP_ID).is_not_null())
        .filter(pl.len().over(MERGE_GROUP_ID) >= 2)
        .with_columns(oldest.alias(OLDEST))  # a window inside a window is slow: two steps
        .with_columns(
            pl.when(pl.col(OLDEST)).then(pl.col(_PID)).min().over(MERGE_GROUP_ID).alias(SURVIVOR)
        )
        .drop(OLDEST)
    )


def _group_frame(groups: pl.DataFrame, fields: pl.LazyFrame) -> pl.LazyFrame:
    """ProfileId, MergeGroupId, ``__ts`` (from groups' LastUpdatedAt, else the latest field)."""
    lf = groups.lazy()
    if schema.UPDATED in groups.columns:
        return lf.select(
            pl.col(_PID).cast(pl.String),
            pl.col(MERGE_GROUP_ID),
            timestamp_expr(groups.schema).alias(TS),
        )
    latest = fields.group_by(_PID).agg(pl.col(FIELD_UPDATED).max().alias(TS))
    return lf.select(pl.col(_PID).cast(pl.String), pl.col(MERGE_GROUP_ID)).join(
        latest, on=_PID, how="left"
    )


def _best(frame: pl.DataFrame, score: str, ties: list[str]) -> pl.DataFrame:
    """Per ``__k`` (group and field) the row with the highest `score`, ties by `ties` ascending."""
    top = (
        frame.lazy()
        .select(_K, score)
        .with_row_index(_ROW)
        .filter(pl.col(score) == pl.col(score).max().over(_K))
        .select(_K, _ROW)
        .collect()
    )
    tied = top.select(pl.len().over(_K) > 1).to_series()
    rows = top.filter(~tied).get_column(_ROW)
    if tied.any():  # rare: equal scores, so compare SourceProfileId, then Value
        rest = top.filter(tied)
        picked = (
            frame[rest.get_column(_ROW)]
            .select(ties)
            .hstack(rest)
            .group_by(_K)
            .agg(pl.col(_ROW).sort_by(ties, nulls_last=True).first())
        )
        rows = pl.concat([rows, picked.get_column(_ROW)])
    return frame[rows.sort()]


def resolve_rows(cand: pl.DataFrame, source_name: str | None) -> pl.DataFrame:
    """Winning field rows (ProfileId = survivor, plus ``__g``) of candidate rows, unsorted.

    `cand` holds the long rows of the members with their group's code ``__g`` (an unsigned
    integer) and survivor. Scores pack the order into one integer: SourceName first (SOURCE),
    then UpdatedAt (null lowest), then held by the survivor; ties by SourceProfileId, Value.
    """
    if cand.is_empty():
        return cand.select(pl.col(SURVIVOR).alias(_PID), *FIELD_COLUMNS[1:], GROUP)
    epoch = pl.col(FIELD_UPDATED).dt.epoch("us")
    lo, hi = cand.select(epoch.min().alias("lo"), epoch.max().alias("hi")).row(0)
    if lo is not None and hi - lo >= 1 << 59:
        raise ProfileError(Problem(None, FIELD_UPDATED, f"spans too long (got {lo!r}..{hi!r} us)"))
    own = (pl.col(_PID) == pl.col(SURVIVOR)).cast(pl.Int64)
    recency = (epoch - (lo or 0) + 1).fill_null(0) * 2 + own
    prefer = (
        (pl.col(FIELD_SOURCE) == source_name).fill_null(False).cast(pl.Int64)
        if source_name is not None
        else pl.lit(0, pl.Int64)
    )
    from idres.field_rows import field_order

    order = field_order(cand.get_column(FIELD).unique().to_list())
    key = pl.col(GROUP).cast(pl.UInt64) * (1 << 16) + pl.col(FIELD).replace_strict(
        order, return_dtype=pl.UInt64
    )
    cand = cand.with_columns(
        key.alias(_K),
        recency.alias(_RECENT),
        (prefer * (1 << 61) + recency).alias(_SCORE),
    )
    ties = [SOURCE_PROFILE_ID, VALUE, FIELD_SOURCE]
    winner = _best(cand, _SCORE, ties)
    if source_name is not None:
        # Equal values are no conflict: provenance from the latest row holding the winning value.
        same = cand.join(winner.select(_K, VALUE), on=[_K, VALUE], how="semi")
        winner = _best(same, _RECENT, ties)
    return winner.select(pl.col(SURVIVOR).alias(_PID), *FIELD_COLUMNS[1:], GROUP)


def resolve_fields(
    fields: pl.DataFrame | pl.LazyFrame,
    groups: pl.DataFrame,
    *,
    resolution: ConflictResolutionLike | None = None,
    include_untouched: bool = False,
) -> pl.DataFrame:
    """Merge the long field rows of each merge group into one row per (survivor, Field).

    `groups` has ProfileId and MergeGroupId (any type; null = merges with nobody) and optionally
    LastUpdatedAt, the record timestamp that chooses the survivor (without it: the profile's latest
    field UpdatedAt). Rows already merged keep their own per-field UpdatedAt / Source /
    SourceProfileId, so this can run again over its own output. `resolution` None means RECENCY.
    With `include_untouched` the rows of profiles outside any group are returned too. Sorted by
    ProfileId, then :func:`idres.field_rows.field_order`.

    >>> import datetime as dt
    >>> t = lambda d: dt.datetime(2024, 1, d, tzinfo=dt.timezone.utc)
    >>> f = pl.DataFrame({"ProfileId": ["a", "b"], "Field": ["FirstName"] * 2,
    ...     "Value": ["Ann", "Anne"], "UpdatedAt": [t(1), t(2)], "Source": ["crm", "web"],
    ...     "SourceProfileId": ["a", "b"]})
    >>> g = pl.DataFrame({"ProfileId": ["a", "b"], "MergeGroupId": [1, 1]})
    >>> resolve_fields(f, g).select("ProfileId", "Value", "SourceProfileId").rows()
    [('a', 'Anne', 'b')]
    """
    source_name = preferred_source(resolution)
    check_groups(groups, None)
    from idres.field_rows import as_fields_lazy, sort_fields

    lf = as_fields_lazy(fields)
    members = with_survivors(_group_frame(groups, lf)).with_columns(
        pl.col(MERGE_GROUP_ID).rank("dense").alias(GROUP)
    )
    cand = lf.join(members.select(_PID, GROUP, SURVIVOR), on=_PID, how="inner").collect()
    out = resolve_rows(cand, source_name).drop(GROUP)
    if include_untouched:
        rest = lf.join(members.select(_PID), on=_PID, how="anti").collect()
        out = pl.concat([rest, out], how="vertical")
    return sort_fields(out)


#: Alias of :func:`resolve_fields`.
resolve = resolve_fields
