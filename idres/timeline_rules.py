"""The rule-based side of a domain timeline (see :mod:`idres.timeline`): when links and groups form.

The rule-based job runs once on every profile; a key's profiles are linked to the key's earliest
arrival, so a link forms at ``max(arrival of both ends, ACTIVE)``. On the minimum spanning forest of
those link times (:func:`idres.graph.spanning_forest`) the forest links up to time t connect exactly
what all links up to t connect, so a group first forms at its earliest forest link, is complete at
its latest, and the state at a time is counted, not recomputed (in a forest, groups = profiles
touched - links): one binary search per report time over sorted link times.

Times are int64 µs since the epoch; :data:`NEVER` stands for "never".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from idres import graph, schedule, schema
from idres.schema import MATCH_ID, MERGE_GROUP_ID, PROFILE_ID_A, PROFILE_ID_B, RULE_LEVEL

__all__ = ["NEVER", "rule_based_states", "rule_based_times"]

#: The time of what never happens (int64 µs).
NEVER = np.iinfo(np.int64).max
_PID = schema.PROFILE_ID
_TS = schema.TIMESTAMP_DTYPE


def _forest_times(n: int, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Minimum spanning forest over link times; per node its earliest forest link (``NEVER``)."""
    fa, fb, fw = graph.spanning_forest(n, a, b, t.astype(np.float64))
    ft = np.rint(fw).astype(np.int64)
    joined = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(joined, fa, ft)
    np.minimum.at(joined, fb, ft)
    return fa, ft, joined


def _group_times(
    fa: np.ndarray, ft: np.ndarray, members: pl.DataFrame, id_col: str
) -> pl.DataFrame:
    """First/complete formation time and steps per group (`members`: __row, `id_col`)."""
    links = pl.DataFrame({"__row": fa.astype(np.uint32), "__t": ft}).join(members, on="__row")
    return links.group_by(id_col).agg(
        pl.col("__t").min().alias("FirstFormedAt"),
        pl.col("__t").max().alias("CompletedAt"),
        pl.col("__t").n_unique().cast(pl.Int32).alias("FormationSteps"),
    )


def rule_based_times(
    profiles: pl.DataFrame,
    arrival: np.ndarray,
    rules: Any,
    active: int,
    domain_name: str,
    opts: Any,
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Run the rule-based job once; group rows, per-profile match/merge times, forest link times."""
    from idres import rulebased

    n = profiles.height
    if n:
        result = rulebased.run_rule_based(profiles, rules, domain_name=domain_name, options=opts)
        found, ends = result.groups, result.links
    else:  # nobody arrives before the end: no job to run
        found = pl.DataFrame(schema=dict.fromkeys((_PID, MATCH_ID, MERGE_GROUP_ID), pl.String))
        found = found.with_columns(RuleLevel=pl.lit(None, pl.Int32))
        ends = pl.DataFrame(schema={PROFILE_ID_A: pl.String, PROFILE_ID_B: pl.String})
        ends = ends.with_columns(RuleLevel=pl.lit(None, pl.Int32), KeyId=pl.lit(None, pl.UInt32))
    rows = pl.DataFrame(
        {_PID: profiles.get_column(_PID), "__row": np.arange(n, dtype=np.uint32), "__arr": arrival}
    )
    keys = [RULE_LEVEL, "KeyId"]
    either = [ends.select(pl.col(c).alias(_PID), *keys) for c in (PROFILE_ID_A, PROFILE_ID_B)]
    members = pl.concat(either).unique().join(rows, on=_PID)
    # Re-star each key on its earliest arrival: its links then form exactly when its members arrive.
    anchor = pl.col("__row").sort_by("__arr", "__row").first().over(keys).alias("__anchor")
    links = members.with_columns(anchor).filter(pl.col("__row") != pl.col("__anchor"))
    links = links.filter(pl.col(RULE_LEVEL) <= rules.max_matching_level)
    a, b = links.get_column("__anchor").to_numpy(), links.get_column("__row").to_numpy()
    t = np.maximum(links.get_column("__arr").to_numpy(), active)
    level = links.get_column(RULE_LEVEL).to_numpy()
    groups = found.join(rows.select(_PID, "__row"), on=_PID)
    fa, ft, matched = _forest_times(n, a, b, t)
    out = _group_times(fa, ft, groups.select("__row", MATCH_ID), MATCH_ID).join(
        groups.group_by(MATCH_ID).agg(
            pl.col(_PID).sort().alias("ProfileIds"), pl.col(RULE_LEVEL).first()
        ),
        on=MATCH_ID,
    )
    parts = [out.rename({MATCH_ID: "GroupId"}).with_columns(Kind=pl.lit("match"))]
    forests = {"match": ft}
    merged = np.full(n, NEVER, dtype=np.int64)
    if rules.max_merging_level is not None:
        keep = level <= rules.max_merging_level
        ma, mt, merged = _forest_times(n, a[keep], b[keep], t[keep])
        forests["merge"] = mt
        in_merge = groups.filter(pl.col(MERGE_GROUP_ID).is_not_null())
        merge = _group_times(ma, mt, in_merge.select("__row", MERGE_GROUP_ID), MERGE_GROUP_ID)
        merge = merge.join(
            in_merge.group_by(MERGE_GROUP_ID).agg(pl.col(_PID).sort().alias("ProfileIds")),
            on=MERGE_GROUP_ID,
        )
        parts.append(merge.rename({MERGE_GROUP_ID: "GroupId"}).with_columns(Kind=pl.lit("merge")))
    frame = pl.concat(parts, how="diagonal_relaxed").with_columns(
        Job=pl.lit("rule-based"),
        Profiles=pl.col("ProfileIds").list.len(),
        FirstFormedAt=pl.col("FirstFormedAt").cast(_TS),
        CompletedAt=pl.col("CompletedAt").cast(_TS),
    )
    return frame, matched, merged, forests


def _state(
    at: np.ndarray, arrival: np.ndarray, joined: np.ndarray, link_times: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per time: profiles present, profiles in groups, groups (a forest's groups = nodes - links)."""
    present = np.searchsorted(np.sort(arrival), at, side="right")
    nodes = np.searchsorted(np.sort(joined), at, side="right")
    links = np.searchsorted(np.sort(link_times), at, side="right")
    return present, nodes, nodes - links


def rule_based_states(
    at: list[datetime],
    moments: np.ndarray,
    status: schedule.StatusTimeline,
    arrival: np.ndarray,
    matched: np.ndarray,
    merged: np.ndarray,
    forests: dict[str, np.ndarray],
) -> pl.DataFrame:
    """The rule-based domain state at each report time `at` (`moments`: the same in µs), from
    forest-link counts."""
    present, in_groups, groups = _state(moments, arrival, matched, forests["match"])
    merge_times = forests.get("merge", np.zeros(0, dtype=np.int64))
    _, in_merges, merge_groups = _state(moments, arrival, merged, merge_times)
    frame = pl.DataFrame(
        {
            "Time": pl.Series(at, dtype=_TS),
            "Status": [status.status_at(t) for t in at],
            "Profiles": present,
            "MatchGroups": groups,
            "ProfilesInMatchGroups": in_groups,
            "MergeGroups": merge_groups,
            "ProfilesMerged": in_merges - merge_groups,
            "ProfilesAfterMerge": present - (in_merges - merge_groups),
        }
    )
    detail = pl.format(
        "{} profiles, {} match groups ({} profiles), {} merged",
        *("Profiles", "MatchGroups", "ProfilesInMatchGroups", "ProfilesMerged"),
    )
    return frame.with_columns(
        Kind=pl.lit("RULE_BASED_STATE"), Job=pl.lit("rule-based"), Detail=detail
    )
