"""The rule-based job: normalize → rule keys → links → groups → merges, as one stage function.

:func:`run_rule_based` turns a profile table and a ``RuleBasedMatching`` config into a
:class:`RuleBasedResult` (match groups with their RuleLevel, merge groups, merged profiles, the merge
plan, dead letters and risk findings). Groups come from a minimum spanning forest over the links
weighted by rule level: the forest's links of level ≤ L connect exactly what all links of level ≤ L
connect, so a group's RuleLevel is its forest's largest level and merge groups are the forest's
components at MaxAllowedRuleLevelForMerging.

The merge needs only the merge groups, so it runs in a background thread while MatchIds, links
and the summary are built (and, through :func:`idres.results.write_results`, while the other
files are written): on two cores the merge leaves about half of one idle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from idres import graph, schema
from idres.allocator import heap_kept
from idres.ids import group_ids
from idres.level_union import level_components
from idres.rules import (
    DEFAULT_LOW_CARDINALITY_LIMIT,
    ROW,
    plan_levels,
    raw_columns,
    rule_links,
)
from idres.threads import in_background
from idres.timings import timed_call

if TYPE_CHECKING:
    from idres.config import RuleBasedMatching
    from idres.merged_text import WideMerge

log = logging.getLogger(__name__)

DEFAULT_MAX_GROUP_SIZE = 50
DEFAULT_HUB_LIMIT = 20


@dataclass(frozen=True)
class RuleBasedOptions:
    """Knobs of the rule-based preview that AWS does not expose (all documented choices)."""

    low_cardinality_limit: int = DEFAULT_LOW_CARDINALITY_LIMIT
    max_group_size: int = DEFAULT_MAX_GROUP_SIZE
    hub_limit: int = DEFAULT_HUB_LIMIT
    normalization: str = "standard"
    #: Keep numpy's large blocks in one glibc heap while rule keys are built
    #: (:func:`idres.allocator.heap_kept`: process-wide effects; the ``idres`` command sets it).
    keep_heap: bool = False


@dataclass(frozen=True)
class RuleBasedResult:
    """Everything the rule-based job produced, with ProfileIds (not row indices).

    links: ProfileIdA, ProfileIdB, RuleLevel, KeyId (star links of each key group);
    keys: RuleLevel, KeyId, Key, Profiles; groups: ProfileId, MatchId, RuleLevel, MergeGroupId
    (profiles in match groups of two or more only); dead_letters: ProfileId, RuleLevel, Message;
    merging: the merge, or the Future of one still running (read it through :attr:`merge`).
    """

    links: pl.DataFrame
    keys: pl.DataFrame
    groups: pl.DataFrame
    dead_letters: pl.DataFrame
    merging: WideMerge | Future[WideMerge] | None
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def merge(self) -> WideMerge | None:
        """The merged profiles (waits for a merge still running; raises what it raised)."""
        if isinstance(self.merging, Future):
            return self.merging.result()
        return self.merging

    @property
    def merge_plan(self) -> list[dict[str, Any]]:
        """The MergeProfiles requests that replay the merges (built on first use)."""
        return self.merge.plan if self.merge is not None else []


def merge_labels(
    n: int, a: np.ndarray, b: np.ndarray, level: np.ndarray, *, max_merging_level: int
) -> np.ndarray:
    """Merge-group label (smallest row of the group) of rows ``0..n-1``: components over the
    links of level ≤ `max_merging_level` only, so the merge can start before the match groups
    and their levels are worked out.

    >>> merge_labels(4, np.array([0, 1]), np.array([1, 2]), np.array([1, 2]),
    ...              max_merging_level=1).tolist()
    [0, 0, 2, 3]
    """
    return level_components(n, a, b, level, upto=max_merging_level)[0]


def assign_groups(
    n: int,
    a: np.ndarray,
    b: np.ndarray,
    level: np.ndarray,
    *,
    max_merging_level: int | None,
    merged: tuple[np.ndarray, np.ndarray] | None = None,
) -> pl.DataFrame:
    """Match groups, their RuleLevel and merge groups of rows ``0..n-1`` from leveled links.

    Returns ``__row``, ``__group`` (smallest row of the match group), ``RuleLevel`` and
    ``__merge`` (smallest row of the merge group, null when the profile merges with nobody), for
    rows in match groups of two or more. `merged`, when given, is :func:`merge_labels`'s result
    and the size of each row's merge group (not worked out again).

    >>> assign_groups(4, np.array([0, 1]), np.array([1, 2]), np.array([1, 2]),
    ...               max_merging_level=1).rows()
    [(0, 0, 2, 0), (1, 0, 2, 0), (2, 0, 2, None)]
    """
    labels, group_level = level_components(n, a, b, level)
    sizes = graph.component_sizes(labels)
    if max_merging_level is None:
        merged = np.arange(n), np.ones(n, dtype=np.int64)
    elif merged is None:
        own = merge_labels(n, a, b, level, max_merging_level=max_merging_level)
        merged = own, graph.component_sizes(own)
    merge_group, merge_size = merged
    rows = np.flatnonzero(sizes >= 2)
    merge = np.where(merge_size[rows] >= 2, merge_group[rows], -1)
    return pl.DataFrame(
        {
            ROW: rows.astype(np.uint32),
            "__group": labels[rows].astype(np.uint32),
            "RuleLevel": group_level[rows].astype(np.int32),
            "__merge": merge.astype(np.int64),
        }
    ).with_columns(
        pl.when(pl.col("__merge") >= 0).then(pl.col("__merge").cast(pl.UInt32)).alias("__merge")
    )


def _by_label(ids: pl.DataFrame, label: str, n: int, wanted: np.ndarray) -> pl.Series:
    """``ids.__id`` of the group labelled ``wanted[i]`` (labels are rows ``< n``; a label with no
    row of `ids` gets any value, for the caller to mask)."""
    if not ids.height:
        return pl.repeat(None, wanted.size, dtype=pl.String, eager=True)
    slot = np.zeros(max(n, 1), dtype=np.int64)
    slot[ids.get_column(label).to_numpy()] = np.arange(ids.height)
    return ids.get_column("__id").gather(slot[wanted])


def named_groups(assigned: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """ProfileId, MatchId, RuleLevel and MergeGroupId of the rows of :func:`assign_groups`.

    `ids` are the ProfileIds by row. A merge group as large as its match group has its members,
    hence its MatchId; the others get their own. Labels are rows, so group sizes are counted and
    ids looked up by array index (no hash join).

    >>> a = assign_groups(3, np.array([0]), np.array([1]), np.array([1]), max_merging_level=1)
    >>> g = named_groups(a, pl.Series(["p", "q", "r"]))
    >>> g.get_column("ProfileId").to_list(), g.item(0, "MatchId") == g.item(0, "MergeGroupId")
    (['p', 'q'], True)
    """
    n = ids.len()
    group = assigned.get_column("__group").to_numpy().astype(np.int64)
    merge_col = assigned.get_column("__merge")
    has_merge = merge_col.is_not_null().to_numpy()
    merge = merge_col.fill_null(0).to_numpy().astype(np.int64)
    with_ids = assigned.with_columns(ids.gather(assigned.get_column(ROW)).alias("ProfileId"))
    match_ids = group_ids(with_ids, "__group", order_col=ROW)
    merge_size = np.bincount(merge[has_merge], minlength=n)
    group_size = np.bincount(group, minlength=n)
    part = has_merge & (merge_size[merge] < group_size[group])
    part_ids = group_ids(with_ids.filter(pl.Series(part)), "__merge", order_col=ROW)
    return pl.DataFrame(
        {
            "ProfileId": with_ids.get_column("ProfileId"),
            "MatchId": _by_label(match_ids, "__group", n, group),
            "RuleLevel": assigned.get_column("RuleLevel"),
            "__own": _by_label(part_ids, "__merge", n, merge),
            "__part": part,
            "__merges": has_merge,
        }
    ).select(
        "ProfileId",
        "MatchId",
        "RuleLevel",
        pl.when("__part")
        .then("__own")
        .when("__merges")
        .then("MatchId")
        .cast(pl.String)
        .alias("MergeGroupId"),
    )


def run_rule_based(
    profiles: pl.DataFrame | pl.LazyFrame,
    rules: RuleBasedMatching,
    *,
    domain_name: str = "preview",
    options: RuleBasedOptions | None = None,
    on_step: Callable[[str], None] | None = None,
) -> RuleBasedResult:
    """Run the rule-based identity resolution job on a canonical profile table.

    Rows are worked on in ProfileId order (as :func:`idres.profiles.read_profiles` returns them;
    any other order is sorted first), so results do not depend on the input's row order. A
    LazyFrame (:func:`idres.profiles.scan_profiles`) is read twice: the rule columns of every
    profile, then, a batch of columns at a time, the profiles that merge. ``merge.untouched``
    counts the others.
    """
    from idres.merge_wide import merge_wide

    opts = options or RuleBasedOptions()
    lazy = profiles.lazy()
    names = lazy.collect_schema().names()
    # One chunk: ids are gathered by row several times (links, groups, dead letters), and a
    # gather from a scan's row-group chunks took 0.45 s for 5.6M rows at 10M, 0.06 s from one.
    ids = lazy.select(schema.PROFILE_ID).collect().get_column(schema.PROFILE_ID).rechunk()
    by_id, file_rows = lazy, None
    if not ids.is_sorted():  # row index = rank of ProfileId
        by_id = lazy.sort(schema.PROFILE_ID)
        file_rows = ids.arg_sort().to_numpy()  # row index -> row of the input
        ids = ids.gather(file_rows)
    timings: dict[str, float] = {}
    step = on_step or (lambda _name: None)
    plans = plan_levels(rules)
    needed = raw_columns(plans)
    missing = [c for c in needed if c not in names]
    if missing:
        log.warning("rule attributes absent from every profile (never match): %s", missing)

    step("building rule keys")
    # Only the rule columns are read here; the other columns only for profiles that merge.
    rule_frame = by_id.select([c for c in needed if c in names])
    if file_rows is not None:  # read and sort once, not once per rule attribute
        rule_frame = rule_frame.collect().lazy()
    with heap_kept(opts.keep_heap):
        rl = timed_call(
            timings,
            "rule keys",
            lambda: rule_links(
                rule_frame,
                plans,
                low_cardinality_limit=opts.low_cardinality_limit,
                mode=opts.normalization,
            ),
        )
    n = ids.len()
    a = rl.links.get_column("a").to_numpy()
    b = rl.links.get_column("b").to_numpy()
    level = rl.links.get_column("RuleLevel").to_numpy()
    merging: Future[WideMerge] | None = None
    merged: tuple[np.ndarray, np.ndarray] | None = None  # merge-group labels and sizes
    step("grouping")
    if rules.max_merging_level is not None:
        # The merge needs only the merge groups: it starts in the background before the match
        # groups and their levels are worked out.
        limit = rules.max_merging_level
        labels = timed_call(
            timings, "merge groups", lambda: merge_labels(n, a, b, level, max_merging_level=limit)
        )
        merged = labels, graph.component_sizes(labels)  # counted once, for assign_groups too
        rows = np.flatnonzero(merged[1] >= 2)
        if rows.size:
            step("merging (and grouping)")
            members = labels[rows]
            untouched = n - rows.size
            merging = in_background(
                lambda: timed_call(
                    timings,
                    "merge",
                    lambda: merge_wide(
                        lazy,
                        members,
                        rows=rows if file_rows is None else file_rows[rows],
                        resolution=rules.ConflictResolution,
                        domain_name=domain_name,
                        untouched=untouched,
                    ),
                ),
                name="idres-merge",
            )
    assigned = timed_call(
        timings,
        "groups",
        lambda: assign_groups(
            n, a, b, level, max_merging_level=rules.max_merging_level, merged=merged
        ),
    )

    groups = timed_call(timings, "match ids", lambda: named_groups(assigned, ids))
    links = timed_call(
        timings,
        "links",
        lambda: rl.links.select(
            ids.gather(rl.links.get_column("a")).alias("ProfileIdA"),
            ids.gather(rl.links.get_column("b")).alias("ProfileIdB"),
            "RuleLevel",
            "KeyId",
        ),
    )
    dead = rl.dead_letters.select(
        ids.gather(rl.dead_letters.get_column(ROW)).alias("ProfileId"),
        "RuleLevel",
        "Message",
    )

    from idres.findings import rule_based_summary

    summary = timed_call(
        timings,
        "summary",
        lambda: rule_based_summary(
            profiles_reviewed=n,
            groups=groups,
            keys=rl.keys,
            links=links,
            dead_letters=dead,
            plans=plans,
            max_merging_level=rules.max_merging_level,
            max_group_size=opts.max_group_size,
            hub_limit=opts.hub_limit,
            missing_attributes=missing,
            match_keys=assigned.get_column("__group"),
            merge_keys=assigned.get_column("__merge"),
        ),
    )
    return RuleBasedResult(
        links=links,
        keys=rl.keys,
        groups=groups,
        dead_letters=dead,
        merging=merging,
        summary=summary,
        timings=timings,
    )
