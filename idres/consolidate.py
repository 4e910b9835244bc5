"""AutoMerging (SPEC §5): consolidation criteria over the ML match groups, with conflict resolution.

Only profiles of one match group are merge candidates, and only groups whose ConfidenceScore is at
least ``MinAllowedConfidenceScoreForMerging``. The criteria of
``Consolidation.MatchingAttributesList`` run in list order. Within a criterion, the current profiles
of a match group (originals and profiles consolidated by earlier criteria, the latter with the values
conflict resolution chose for them) that agree on every attribute of the criterion, after
normalization and with none missing, are merged into one; the others stay apart. The next criterion
runs over the result, so criteria act as OR and a later criterion compares resolved values. Merging
is :func:`idres.merge.merge_profiles` (RECENCY / SOURCE with per-field timestamps, chained).

Attribute names are those a Consolidation criterion accepts (``idres.config``): a standard field, an
address type (the whole address), ``<AddressType>.<Part>``, ``<AddressType>.Address`` (Address1..4
joined) and ``Attributes.<key>``; values are normalized with :mod:`idres.normalize`.

Choices [choice]:

- no ``MinAllowedConfidenceScoreForMerging``: every match group is a candidate (no threshold);
- a whole address agrees when every component (the joined line, City, County, State, Province,
  Country, PostalCode) is equal after normalization, a component missing on both sides counting as
  equal; the address is missing when all its components are;
- ``Gender`` (``PartyType``) is GenderString (PartyTypeString) when present, else Gender (PartyType),
  as in matching; ``GenderString`` / ``PartyTypeString`` / ``AdditionalInformation`` follow the string
  rule on their own value;
- a merge group is identified by the smallest ProfileId among the current profiles merged; the
  survivor and the resolved values are merge.py's (a consolidated profile takes part in a later merge
  with its latest member's LastUpdatedAt).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from idres import schema
from idres.field_rows import to_fields
from idres.ids import group_ids
from idres.merge import MERGE_GROUP_ID, MERGED_IDS, merge_profiles
from idres.normalize import Mode, normalize, normalizer_for

if TYPE_CHECKING:
    from idres.merge import ConflictResolutionLike, MergeOutcome

__all__ = [
    "CONFIDENCE",
    "MATCH_ID",
    "ConsolidationResult",
    "consolidate",
    "criterion_keys",
    "eligible_profiles",
]

log = logging.getLogger(__name__)

_PID: Final = schema.PROFILE_ID
MATCH_ID: Final = schema.MATCH_ID
CONFIDENCE: Final = schema.CONFIDENCE
_LABEL: Final = "__label"
_KEY: Final = "__key"
_MISSING: Final = "\x00"
_SEP: Final = "\x1f"
#: Address components compared when a criterion names a whole address type.
_WHOLE_ADDRESS: Final = (
    schema.ADDRESS_LINE,
    *(p for p in schema.ADDRESS_PARTS if p not in schema.ADDRESS_LINE_PARTS),
)
#: Standard fields normalize() does not produce: normalized on their own value.
_OWN_RULE: Final = frozenset({"GenderString", "PartyTypeString", "AdditionalInformation"})


@dataclass(frozen=True)
class ConsolidationResult:
    """What :func:`consolidate` produced.

    assignment: ``ProfileId``, ``MergeGroupId`` (the MatchId-style id of the merged profile's
      original members) for every original profile merged with another, sorted by ProfileId;
    merge: the cumulative :class:`~idres.merge.MergeOutcome` of the merged profiles (None when
      nothing merged; its ``others`` / ``untouched`` are empty: untouched profiles stay outside);
    criteria: one row per criterion: ``Criterion`` (1-based), ``Attributes``, ``MergeGroups``
      (merges made by it), ``ProfilesMerged`` (current profiles it merged), ``OriginalProfiles``;
    candidates / candidate_groups: original profiles and match groups eligible for merging.
    """

    assignment: pl.DataFrame
    merge: MergeOutcome | None
    criteria: pl.DataFrame
    candidates: int
    candidate_groups: int

    @property
    def profiles_merged(self) -> int:
        """Original profiles that take part in a merge (survivors included)."""
        return self.assignment.height

    @property
    def merge_groups(self) -> int:
        """Merged profiles made."""
        return self.assignment.get_column(MERGE_GROUP_ID).n_unique()


def _parts(attribute: str) -> tuple[str, ...]:
    """Normalization targets an attribute name stands for (several for a whole address)."""
    if attribute in schema.ADDRESS_TYPES:
        return tuple(f"{attribute}.{p}" for p in _WHOLE_ADDRESS)
    return (attribute,)


def criterion_keys(
    frame: pl.DataFrame, criterion: Sequence[str], *, mode: Mode = "standard"
) -> pl.Series:
    """One key per row of `frame` for `criterion`: equal keys agree on every attribute; null when
    an attribute is missing. Raw columns absent from `frame` are missing values.

    >>> f = pl.DataFrame({"FirstName": ["Ann ", "ANN", "Ann", None], "Address.City": ["Oslo"] * 4,
    ...                   "EmailAddress": ["a@x.io", " A@x.io", "b@x.io", "a@x.io"]})
    >>> keys = criterion_keys(f, ["FirstName", "EmailAddress"])
    >>> keys[0] == keys[1], keys[0] == keys[2], keys[3]
    (True, False, None)
    >>> criterion_keys(f, ["Address"]).n_unique()
    1
    """
    names = set(frame.columns)
    targets = [t for a in criterion if a not in _OWN_RULE for t in _parts(a)]
    normalized = normalize(
        frame.select(c for c in frame.columns if not c.startswith("_")),
        mode=mode,
        columns=list(dict.fromkeys(targets)),
    )
    values: list[pl.Expr] = []
    for attribute in criterion:
        if attribute in _OWN_RULE:
            raw = pl.col(attribute) if attribute in names else pl.lit(None, pl.String)
            values.append(normalizer_for(attribute, mode=mode)(raw.cast(pl.String)))
            continue
        parts = [pl.col(schema.norm(t)) for t in _parts(attribute)]
        if len(parts) == 1:
            values.append(parts[0])
            continue
        joined = pl.concat_str([p.fill_null(_MISSING) for p in parts], separator=_SEP)
        values.append(pl.when(pl.any_horizontal(p.is_not_null() for p in parts)).then(joined))
    missing = pl.any_horizontal(v.is_null() for v in values)
    key = pl.concat_str([v.fill_null("") for v in values], separator=_SEP)
    return normalized.select(pl.when(~missing).then(key).alias(_KEY)).to_series()


def eligible_profiles(groups: pl.DataFrame, min_confidence: float | None) -> pl.DataFrame:
    """``ProfileId``, ``MatchId`` of the profiles in match groups of two or more whose
    ConfidenceScore is at least `min_confidence` (every group when None), sorted by ProfileId.

    >>> g = pl.DataFrame({"ProfileId": ["a", "b", "c", "d"], "MatchId": ["m", "m", "n", "n"],
    ...                   "ConfidenceScore": [0.95, 0.95, 0.7, 0.7]})
    >>> eligible_profiles(g, 0.9).get_column("ProfileId").to_list()
    ['a', 'b']
    """
    keep = pl.col(MATCH_ID).is_not_null() & (pl.len().over(MATCH_ID) >= 2)
    if min_confidence is not None:
        keep &= pl.col(CONFIDENCE) >= min_confidence
    return groups.filter(keep).select(_PID, MATCH_ID).sort(_PID)


def _labels(
    current: pl.DataFrame, match_of: pl.DataFrame, criterion: Sequence[str], mode: Mode
) -> pl.DataFrame:
    """ProfileId and merge label of the current profiles that criterion merges."""
    keys = criterion_keys(current, criterion, mode=mode)
    frame = pl.DataFrame({_PID: current.get_column(_PID), _KEY: keys}).join(
        match_of, on=_PID, how="left", maintain_order="left"
    )
    by = [MATCH_ID, _KEY]
    return (
        frame.filter(pl.col(_KEY).is_not_null() & (pl.len().over(by) >= 2))
        .with_columns(pl.col(_PID).min().over(by).alias(MERGE_GROUP_ID))
        .select(_PID, MERGE_GROUP_ID)
    )


def _merge_step(
    current: pl.DataFrame,
    taking: pl.DataFrame,
    merged_fields: pl.DataFrame | None,
    labels: pl.DataFrame,
    resolution: ConflictResolutionLike | None,
    domain_name: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Merge the current profiles `taking` part (labelled by `labels`); only they are passed to
    merge.py. Returns the new current profiles and the field rows of every merged profile."""
    merged_before = pl.col(MERGED_IDS).list.len() >= 2
    parts = [to_fields(taking.filter(~merged_before).drop(MERGED_IDS))]
    if merged_fields is not None:
        ids = taking.filter(merged_before).get_column(_PID)
        parts.append(merged_fields.filter(pl.col(_PID).is_in(ids.implode())))
    fields = pl.concat(parts, how="vertical")
    out = merge_profiles(
        taking, labels, resolution=resolution, domain_name=domain_name, fields=fields
    )
    gone = pl.col(_PID).is_in(taking.get_column(_PID).implode())
    columns = current.columns + [c for c in out.merged.columns if c not in current.columns]
    current = (
        pl.concat([current.filter(~gone), out.merged], how="diagonal_relaxed")
        .select(columns)
        .sort(_PID)
    )
    kept = [] if merged_fields is None else [merged_fields.filter(~gone)]
    return current, pl.concat([*kept, out.fields], how="vertical")


def consolidate(
    profiles: pl.DataFrame,
    groups: pl.DataFrame,
    criteria: Sequence[Sequence[str]],
    *,
    resolution: ConflictResolutionLike | None = None,
    min_confidence: float | None = None,
    mode: Mode = "standard",
    domain_name: str = "preview",
) -> ConsolidationResult:
    """Run AutoMerging: `criteria` in order over the match groups of `groups`.

    `profiles` is a canonical profile table holding (at least) every profile of `groups`;
    `groups` has ProfileId, MatchId and the group's ConfidenceScore. `resolution` None means
    RECENCY; `min_confidence` None means no threshold. Loops over the criteria only.

    >>> p = pl.DataFrame({"ProfileId": ["a", "b", "c"], "FirstName": ["Ann", "ann", "Ann"],
    ...                   "LastName": ["Li", "Li", "Wu"]})
    >>> g = pl.DataFrame({"ProfileId": ["a", "b", "c"], "MatchId": ["m"] * 3,
    ...                   "ConfidenceScore": [0.97] * 3})
    >>> out = consolidate(p, g, [["FirstName", "LastName"]], min_confidence=0.9)
    >>> out.assignment.get_column("ProfileId").to_list(), out.merge_groups
    (['a', 'b'], 1)
    """
    eligible = eligible_profiles(groups, min_confidence)
    match_of = eligible.select(_PID, pl.col(MATCH_ID).cast(pl.String))
    current = (
        profiles.join(eligible.select(_PID), on=_PID, how="semi")
        .sort(_PID)
        .with_columns(pl.concat_list(pl.col(_PID)).alias(MERGED_IDS))
    )
    merged_fields: pl.DataFrame | None = None
    rows: list[dict[str, Any]] = []
    for number, criterion in enumerate(criteria, 1):
        labels = _labels(current, match_of, criterion, mode)
        taking = current.join(labels.select(_PID), on=_PID, how="semi")
        rows.append(
            {
                "Criterion": number,
                "Attributes": list(criterion),
                "MergeGroups": labels.get_column(MERGE_GROUP_ID).n_unique(),
                "ProfilesMerged": labels.height,
                "OriginalProfiles": int(taking.get_column(MERGED_IDS).list.len().sum() or 0),
            }
        )
        log.info("criterion %d %s: %d profiles merged", number, list(criterion), labels.height)
        if labels.height:
            current, merged_fields = _merge_step(
                current, taking, merged_fields, labels, resolution, domain_name
            )
    outcome = None
    merged = current.filter(pl.col(MERGED_IDS).list.len() >= 2)
    if merged_fields is not None and merged.height:
        # Every merged profile again, with no new merge: the cumulative outcome of the chain.
        none = merged.select(_PID, pl.lit(None, pl.String).alias(MERGE_GROUP_ID))
        outcome = merge_profiles(
            merged, none, resolution=resolution, domain_name=domain_name, fields=merged_fields
        )
    criteria_frame = pl.DataFrame(
        rows,
        schema={
            "Criterion": pl.Int32,
            "Attributes": pl.List(pl.String),
            "MergeGroups": pl.Int64,
            "ProfilesMerged": pl.Int64,
            "OriginalProfiles": pl.Int64,
        },
    )
    return ConsolidationResult(
        assignment=_assignment(merged),
        merge=outcome,
        criteria=criteria_frame,
        candidates=eligible.height,
        candidate_groups=eligible.get_column(MATCH_ID).n_unique(),
    )


def _assignment(merged: pl.DataFrame | None) -> pl.DataFrame:
    """ProfileId and MergeGroupId of every original member of the merged profiles."""
    if merged is None or merged.is_empty():
        return pl.DataFrame(schema={_PID: pl.String, MERGE_GROUP_ID: pl.String})
    members = merged.select(pl.col(_PID).alias(_LABEL), pl.col(MERGED_IDS).alias(_PID))
    members = members.explode(_PID)
    ids = group_ids(members, _LABEL).rename({"__id": MERGE_GROUP_ID})
    return members.join(ids, on=_LABEL, how="left").select(_PID, MERGE_GROUP_ID).sort(_PID)
