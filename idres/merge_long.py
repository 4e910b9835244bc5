"""Merging a flat profile table group by group: the long path (SPEC §6).

:func:`merge_profiles` merges the merge groups of a flat profile table (resolution as in
:mod:`idres.merge`) field by field over long rows, and returns a :class:`MergeOutcome`: the merged
profiles (flat and long, with per-field provenance) and what the next merge of a chain needs
(every profile after the merge, flat and long). Fields that carry their own provenance (a previous
outcome's) are compared on it, so chained merges (ML AutoMerging criteria) work here; a first merge
of original records at scale takes :mod:`idres.merge_wide` instead, which writes the same bytes.
The AWS shapes of an outcome (FieldSourceProfileIds, MergeProfiles requests, JSON lines) are
:mod:`idres.merge_plan`'s.

Choices [choice]: a merged profile's LastUpdatedAt is the latest of its members';
SourceObjectType and pass-through columns are the survivor's; ``MergedProfileIds`` lists every
original member, sorted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl

from idres import schema
from idres.errors import Problem, ProfileError
from idres.field_rows import as_fields_lazy, field_order, fields_lazy, flat_profiles, sort_fields
from idres.merge import (
    FIELD,
    FIELD_COLUMNS,
    GROUP,
    IDX,
    MERGE_GROUP_ID,
    MERGED_IDS,
    OLDEST,
    STANDARD_FIELDS,
    SURVIVOR,
    TS,
    check_groups,
    listed,
    preferred_source,
    require_columns,
    resolve_rows,
    timestamp_expr,
)
from idres.merge_plan import merge_plan, sorted_field_sources

if TYPE_CHECKING:
    from idres.merge import ConflictResolutionLike

__all__ = ["MergeOutcome", "merge_profiles"]

log = logging.getLogger(__name__)

_PID = schema.PROFILE_ID


@dataclass(frozen=True, eq=False)
class MergeOutcome:
    """What merging produced, relative to the original profiles (cumulative over chained merges).

    merged: flat profiles (docs/DESIGN.md "Profile table") of the merged profiles, one row each,
      plus ``MergedProfileIds`` (every original member, sorted); sorted by ProfileId.
    fields: their resolved long rows with per-field provenance, sorted by ProfileId, then
      :func:`idres.field_rows.field_order`.
    untouched: number of original profiles merged with nothing.
    others / others_fields: those untouched profiles, flat and long (lazy).
    Built when first read: ``field_sources`` (ProfileId and its ``FieldSourceProfileIds`` JSON
    object), ``plan`` (:func:`merge_plan`), ``consolidated`` and ``consolidated_fields`` (every
    profile after the merge, flat and long: the input of the next merge of a chain).
    """

    merged: pl.DataFrame
    fields: pl.DataFrame
    untouched: int
    others: pl.DataFrame
    others_fields: pl.LazyFrame
    domain_name: str = "preview"

    @cached_property
    def field_sources(self) -> pl.DataFrame:
        """ProfileId and FieldSourceProfileIds of each merged profile."""
        return sorted_field_sources(self.fields, self.merged.get_column(_PID))

    @cached_property
    def plan(self) -> list[dict[str, Any]]:
        """The MergeProfiles requests that replay these merges."""
        return merge_plan(self, domain_name=self.domain_name)

    @cached_property
    def consolidated(self) -> pl.DataFrame:
        """Merged and untouched profiles, flat, sorted by ProfileId."""
        return self.merged.merge_sorted(_conform(self.others, self.merged.schema), key=_PID)

    @cached_property
    def consolidated_fields(self) -> pl.LazyFrame:
        """Long rows of :attr:`consolidated`, sorted by ProfileId, then field order."""
        names = [*STANDARD_FIELDS, *schema.attribute_columns(self.merged.columns)]
        rank = pl.col(FIELD).replace_strict(field_order(names), default=len(names))
        rows = pl.concat([self.fields.lazy(), self.others_fields.select(FIELD_COLUMNS)])
        return rows.sort(_PID, rank, FIELD)


def _conform(frame: pl.DataFrame, like: pl.Schema) -> pl.DataFrame:
    """`frame` with exactly the columns (and dtypes) of `like`; absent ones null."""
    exprs = []
    for name, dtype in like.items():
        if name == schema.UPDATED:
            exprs.append(timestamp_expr(frame.schema).alias(name))
        elif name in frame.columns:
            exprs.append(pl.col(name).cast(dtype))
        else:
            exprs.append(pl.lit(None, dtype).alias(name))
    return frame.select(exprs)


def _members(profiles: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """Members of groups of two or more: ProfileId, row index, ``__ts``, survivor and group code.

    A group's code ``__g`` is its survivor's row index (profiles are sorted by ProfileId, so the
    smallest row index among the oldest members is the smallest ProfileId).
    """
    require_columns(groups, [_PID, MERGE_GROUP_ID], "groups")
    listed_ = groups.filter(pl.col(MERGE_GROUP_ID).is_not_null())
    joined = (
        listed_.lazy()
        .select(pl.col(_PID).cast(pl.String), MERGE_GROUP_ID)
        .join(
            profiles.lazy().select(_PID, IDX, timestamp_expr(profiles.schema).alias(TS)),
            on=_PID,
            how="inner",
        )
        .collect()
    )
    if joined.height != listed_.height or joined.get_column(IDX).is_duplicated().any():
        check_groups(groups, profiles.get_column(_PID))  # raises, naming every problem
    epoch = pl.col(TS).dt.epoch("us").fill_null(pl.lit(-(2**63), pl.Int64))
    oldest = epoch == epoch.min().over(MERGE_GROUP_ID)
    members = (
        joined.lazy()
        .filter(pl.len().over(MERGE_GROUP_ID) >= 2)
        .with_columns(oldest.alias(OLDEST))  # a window inside a window is slow: two steps
        .with_columns(
            pl.when(pl.col(OLDEST)).then(pl.col(IDX)).min().over(MERGE_GROUP_ID).alias(GROUP)
        )
        .drop(OLDEST)
        .sort(IDX)
        .collect()
    )
    survivors = profiles.get_column(_PID).gather(members.get_column(GROUP))
    return members.with_columns(survivors.alias(SURVIVOR))


def merge_profiles(
    profiles: pl.DataFrame,
    groups: pl.DataFrame,
    *,
    resolution: ConflictResolutionLike | None = None,
    domain_name: str = "preview",
    fields: pl.DataFrame | pl.LazyFrame | None = None,
) -> MergeOutcome:
    """Merge each merge group of `profiles` into one profile (SPEC §6).

    `groups` has ProfileId and MergeGroupId (null = merges with nobody). `fields` (long rows of
    `profiles`, e.g. a previous outcome's ``consolidated_fields``) carries per-field provenance;
    without it every field takes its record's LastUpdatedAt and SourceObjectType. Profiles with a
    ``MergedProfileIds`` column (a previous ``consolidated``) keep their members, so the outcome is
    cumulative. `resolution` None means RECENCY.

    >>> import datetime as dt
    >>> p = pl.DataFrame({"ProfileId": ["a", "b", "c"], "FirstName": ["Ann", "Anne", "Bo"],
    ...     "LastUpdatedAt": [dt.datetime(2024, 1, d, tzinfo=dt.timezone.utc) for d in (1, 2, 3)]})
    >>> out = merge_profiles(p, pl.DataFrame({"ProfileId": ["a", "b"], "MergeGroupId": ["g", "g"]}))
    >>> out.merged.select("ProfileId", "FirstName", "MergedProfileIds").rows(), out.untouched
    ([('a', 'Anne', ['a', 'b'])], 1)
    """
    source_name = preferred_source(resolution)
    require_columns(profiles, [_PID], "profiles")
    profiles = profiles.with_columns(pl.col(_PID).cast(pl.String))
    if not profiles.get_column(_PID).is_sorted():
        profiles = profiles.sort(_PID)
    pids = profiles.get_column(_PID)
    dups = pids.filter(pids == pids.shift(1)).unique().to_list()
    if dups:
        raise ProfileError(
            listed([Problem(None, _PID, f"duplicate ProfileId (got {p!r})") for p in dups])
        )
    prior = MERGED_IDS in profiles.columns
    own = pl.concat_list(pl.col(_PID))
    member_ids = (pl.coalesce(pl.col(MERGED_IDS), own) if prior else own).alias(MERGED_IDS)
    profiles = profiles.with_columns(member_ids).with_row_index(IDX)
    # Inside, a profile is its row index and a merge group its survivor's row index.
    members = _members(profiles, groups)
    link = members.lazy().select(IDX, GROUP, SURVIVOR)
    if fields is None:
        all_fields = fields_lazy(profiles.lazy(), index=[IDX])
        cand = fields_lazy(profiles.lazy().join(link, on=IDX), index=[GROUP, SURVIVOR])
    else:
        ids = profiles.lazy().select(_PID, IDX)
        all_fields = as_fields_lazy(fields).join(ids, on=_PID)
        cand = all_fields.join(link, on=IDX)
    resolved = resolve_rows(cand.collect(), source_name)
    resolved = sort_fields(resolved, by=GROUP).drop(GROUP)
    summary = members.lazy()
    member_list = pl.col(_PID).sort_by(IDX)  # row order is ProfileId order
    if prior:
        summary = summary.join(profiles.lazy().select(IDX, MERGED_IDS), on=IDX, how="left")
        member_list = pl.col(MERGED_IDS).list.explode(keep_nulls=False, empty_as_null=False).sort()
    summary = (
        summary.group_by(GROUP)
        .agg(pl.col(TS).max().alias(schema.UPDATED), member_list.alias(MERGED_IDS))
        .rename({GROUP: IDX})
    )
    template = (
        profiles.lazy()
        .drop(schema.UPDATED, MERGED_IDS, strict=False)
        .join(summary, on=IDX, how="inner", maintain_order="left")
        .drop(IDX)
        .collect()
    )
    merged = flat_profiles(resolved, template)
    merged_fields = resolved
    rest = profiles.join(members.select(IDX), on=IDX, how="anti", maintain_order="left")
    if prior:  # profiles merged before and left alone now stay merged
        earlier = rest.filter(pl.col(MERGED_IDS).list.len() >= 2)
        rest = rest.filter(pl.col(MERGED_IDS).list.len() < 2)
        merged = merged.merge_sorted(_conform(earlier, merged.schema), key=_PID)
        earlier_fields = all_fields.join(earlier.lazy().select(IDX), on=IDX, how="semi")
        merged_fields = sort_fields(pl.concat([resolved, earlier_fields.drop(IDX).collect()]))
    rest_fields = all_fields.join(rest.lazy().select(IDX), on=IDX, how="semi").drop(IDX)
    log.debug("merged %d profiles; %d untouched", merged.height, rest.height)
    return MergeOutcome(
        merged=merged,
        fields=merged_fields,
        untouched=rest.height,
        others=rest.drop(IDX),
        others_fields=rest_fields,
        domain_name=domain_name,
    )
