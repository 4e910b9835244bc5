"""Config diff: the groups one run forms that another does not, and the evidence behind each.

Two runs over the same profile set (two results folders, or two previews) are compared job by job
(rule-based, ml) and grouping by grouping — merge groups first, because merges cannot be undone,
then match groups. Each profile gets a label on each side (its group; none when alone or in a group
of one), and one join of (ProfileId → A label, B label) with group-bys over it gives, without
listing pairs:

- *merged in B*: groups of B that join profiles A keeps apart (they hold two or more *pieces* of
  A, a profile alone in A being a piece of its own): the profiles B would merge that A would not;
- *split in B*: groups of A whose profiles B keeps apart (two or more pieces of B);
- *unchanged*: groups with the same members on both sides.

A group can join pieces and lose members at once (a reshuffle): it then counts as merged in B and
the A group it takes from counts as split. Pairs together in B but apart in A are
Σ C(|g|, 2) over B's groups minus Σ C(n, 2) over the (A group, B group) cells.

The reason behind a difference [choice]: rule-based, the *joining level*, the lowest RuleLevel
among the group's links (``links.parquet``) that connect two pieces of the other side; ML, the
group's ConfidenceScore, counted in bands of 0.05. Examples are deterministic (most pieces, then
largest, then smallest group id) and list the pieces and up to five crossing links with their level
and key value, or crossing pairs with their score in both runs (:mod:`idres.diff_examples`). The
runs are read through :class:`idres.runs.Run`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

import polars as pl

from idres import schema
from idres.diff_examples import Example, Piece, side_diff
from idres.errors import Problem, ResultsError
from idres.evaluate import pair_count
from idres.results import RULE_BASED
from idres.runs import Run, Source, check_same_profiles
from idres.schema import CONFIDENCE, MATCH_ID, MERGE_GROUP_ID, RULE_LEVEL

PID: Final = schema.PROFILE_ID
MERGE_GROUPS: Final = "merge groups"
MATCH_GROUPS: Final = "match groups"
#: Groupings in the order they are reported: the irreversible one first.
GROUPINGS: Final = ((MERGE_GROUPS, MERGE_GROUP_ID), (MATCH_GROUPS, MATCH_ID))
_LONE: Final = 1 << 40  # piece codes of lone profiles start here (group codes are below)


@dataclass(frozen=True, slots=True)
class GroupingDiff:
    """The difference of one grouping (merge or match groups) of one job."""

    job: str
    grouping: str
    groups_a: int
    groups_b: int
    profiles_a: int
    profiles_b: int
    merged_groups: int  # B groups joining what A keeps apart
    merged_profiles: int
    merged_pairs: int  # pairs together in B, apart in A
    split_groups: int  # A groups B keeps apart
    split_profiles: int
    split_pairs: int
    unchanged_groups: int
    unchanged_profiles: int
    reason: str  # "RuleLevel" or "ConfidenceScore"
    merged_by: tuple[tuple[Any, int, int], ...]  # (level or score band, groups, profiles)
    split_by: tuple[tuple[Any, int, int], ...]
    merged_examples: tuple[Example, ...] = ()
    split_examples: tuple[Example, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """What run B does differently from run A on the same profiles (see the module docstring)."""

    a: str
    b: str
    profiles: int | None
    jobs: tuple[str, ...]  # jobs compared (present on both sides)
    skipped: tuple[str, ...]  # jobs present on one side only
    diffs: tuple[GroupingDiff, ...]  # merge groups of every job first, then match groups

    def get(self, job: str, grouping: str) -> GroupingDiff:
        """The diff of one job's grouping (KeyError when not compared)."""
        for d in self.diffs:
            if d.job == job and d.grouping == grouping:
                return d
        raise KeyError((job, grouping))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (examples' pieces and evidence as lists)."""
        return asdict(self)


def _labels(groups: pl.DataFrame, col: str, tag: str) -> pl.DataFrame:
    """ProfileId, its group id (`tag`), an integer code of the group (`tag` + "i") and its score,
    for profiles in groups of two or more. One string group-by; later group-bys run on codes."""
    score = [pl.col(CONFIDENCE).cast(pl.Float64).alias(f"{tag}s")] if CONFIDENCE in groups else []
    if col not in groups.columns:  # e.g. no MergeGroupId: nothing merges
        groups = groups.with_columns(pl.lit(None, pl.String).alias(col))
    return (
        groups.filter(pl.col(col).is_not_null())
        .select(pl.col(PID).cast(pl.String), pl.col(col).cast(pl.String).alias(tag), *score)
        .group_by(tag)
        .agg(pl.all())
        .filter(pl.col(PID).list.len() >= 2)
        .with_row_index(f"{tag}i")
        .with_columns(pl.col(f"{tag}i").cast(pl.Int64))
        .explode([PID, *([f"{tag}s"] if score else [])])
    )


def _codes(j: pl.DataFrame) -> pl.DataFrame:
    """Pieces (``__ap``, ``__bp``): the group code, or a code of its own for a lone profile."""
    alone = pl.int_range(pl.len(), dtype=pl.Int64) + _LONE
    return j.with_columns(pl.coalesce(f"{t}i", alone).alias(f"{t}p") for t in ("__a", "__b"))


def _stats(j: pl.DataFrame, own: str, other: str) -> pl.DataFrame:
    """Per group of side `own`: its id, size, pieces of the other side, its one piece, score."""
    score = [pl.col(f"{own}s").first().alias("score")] if f"{own}s" in j.columns else []
    return (
        j.filter(pl.col(f"{own}i").is_not_null())
        .group_by(f"{own}i")
        .agg(
            pl.col(own).first().alias("group"),
            pl.len().cast(pl.Int64).alias("size"),
            pl.col(f"{other}p").n_unique().cast(pl.Int64).alias("pieces"),
            pl.col(f"{other}p").first().alias("piece"),
            *score,
        )
        .rename({f"{own}i": "code"})
    )


def _by(stat: pl.DataFrame, key: str) -> tuple[tuple[Any, int, int], ...]:
    if key not in stat.columns:
        return ()
    rows = (
        stat.group_by(key)
        .agg(pl.len(), pl.col("size").sum())
        .sort(key, descending=key == "band", nulls_last=True)
        .rows()
    )
    return tuple((k, int(g), int(p)) for k, g, p in rows)


def _grouping_diff(
    job: str,
    grouping: str,
    column: str,
    a: Run,
    b: Run,
    *,
    examples: int = 5,
) -> GroupingDiff:
    """The diff of one grouping (`column`: MatchId or MergeGroupId) of one job."""
    ga, gb = a.groups(job), b.groups(job)
    j = _codes(
        _labels(ga, column, "__a").join(
            _labels(gb, column, "__b"), on=PID, how="full", coalesce=True
        )
    )
    sa, sb = _stats(j, "__a", "__b"), _stats(j, "__b", "__a")
    cells = (
        j.filter(pl.col("__ai").is_not_null() & pl.col("__bi").is_not_null())
        .group_by("__ai", "__bi")
        .len()
    )
    same = pair_count(cells.get_column("len"))
    unchanged = (
        sb.filter(pl.col("pieces") == 1)
        .join(sa.select(pl.col("code").alias("piece"), pl.col("size").alias("size_a")), on="piece")
        .filter(pl.col("size") == pl.col("size_a"))
    )
    merged, merged_ex = side_diff(j, sb, "__b", "__a", (a, b), job, examples)
    split, split_ex = side_diff(j, sa, "__a", "__b", (a, b), job, examples)
    reason = RULE_LEVEL if job == RULE_BASED else CONFIDENCE
    key = "level" if job == RULE_BASED else "band"
    return GroupingDiff(
        job=job,
        grouping=grouping,
        groups_a=sa.height,
        groups_b=sb.height,
        profiles_a=int(sa.get_column("size").sum()),
        profiles_b=int(sb.get_column("size").sum()),
        merged_groups=merged.height,
        merged_profiles=int(merged.get_column("size").sum()),
        merged_pairs=pair_count(sb.get_column("size")) - same,
        split_groups=split.height,
        split_profiles=int(split.get_column("size").sum()),
        split_pairs=pair_count(sa.get_column("size")) - same,
        unchanged_groups=unchanged.height,
        unchanged_profiles=int(unchanged.get_column("size").sum()),
        reason=reason,
        merged_by=_by(merged, key),
        split_by=_by(split, key),
        merged_examples=merged_ex,
        split_examples=split_ex,
    )


def diff_results(
    a: Source, b: Source, *, examples: int = 5, jobs: tuple[str, ...] | None = None
) -> ConfigDiff:
    """What run `b` does differently from run `a` (results folders or previews of the same profiles).

    Raises :class:`ResultsError` when the runs were made on different profile sets or share no job.

    >>> import polars as pl, tempfile
    >>> from idres.config import parse_domain
    >>> from idres.pipeline import preview
    >>> from idres.profiles import canonicalize
    >>> p = canonicalize(pl.DataFrame({"ProfileId": ["1", "2", "3"],
    ...     "EmailAddress": ["a@x", "a@x", "b@x"], "LastName": ["li", "lu", "lu"]}))
    >>> def cfg(level):
    ...     return parse_domain({"RuleBasedMatching": {"Enabled": True, "MatchingRules": [
    ...         {"Rule": ["EmailAddress"]}, {"Rule": ["LastName"]}],
    ...         "MaxAllowedRuleLevelForMerging": level}})
    >>> d = diff_results(preview(cfg(1), p), preview(cfg(2), p))
    >>> m = d.get("rule-based", "merge groups")
    >>> m.merged_groups, m.merged_profiles, m.merged_pairs, m.merged_by
    (1, 3, 2, ((2, 1, 3),))
    """
    sa, sb = Run(a, "A"), Run(b, "B")
    check_same_profiles(sa, sb)
    common = tuple(j for j in sa.jobs if j in sb.jobs and (jobs is None or j in jobs))
    if not common:
        raise ResultsError(
            Problem(
                sb.label,
                "",
                f"no job to compare: A has {list(sa.jobs)}, B has {list(sb.jobs)}"
                + (f", asked for {list(jobs)}" if jobs else "")
                + f" (got {list(sb.jobs)!r})",
            )
        )
    skipped = tuple(sorted(set(sa.jobs) ^ set(sb.jobs)))
    diffs = tuple(
        _grouping_diff(job, name, col, sa, sb, examples=examples)
        for name, col in GROUPINGS
        for job in common
    )
    return ConfigDiff(sa.label, sb.label, sa.count, common, skipped, diffs)


__all__ = [
    "GROUPINGS",
    "MATCH_GROUPS",
    "MERGE_GROUPS",
    "ConfigDiff",
    "Example",
    "GroupingDiff",
    "Piece",
    "diff_results",
]
