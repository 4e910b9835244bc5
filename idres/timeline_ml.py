"""The ML jobs of a domain timeline (see :mod:`idres.timeline`).

[AWS] Each Identity Resolution Job reviews every profile present at its start. Merges are
irreversible: [choice] a merged profile stays in the domain as one profile (its survivor's
ProfileId, values resolved by the config's ConflictResolution) and later jobs score it like any
other profile. A job that fails is reported as FAILED and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from idres import schema
from idres.errors import IdresError
from idres.ids import match_id
from idres.schema import CONFIDENCE, MATCH_ID, MERGE_GROUP_ID

__all__ = ["MLJob", "default_ml_job", "run_ml_jobs"]

#: ``ml_job(profiles, config)`` returns an object with ``groups`` (ProfileId, MatchId,
#: ConfidenceScore, MergeGroupId), like :func:`idres.mljob.run_ml_job`.
MLJob = Callable[[pl.DataFrame, Any], Any]
_PID = schema.PROFILE_ID
_MEMBERS = "MergedProfileIds"
_TS = schema.TIMESTAMP_DTYPE


def run_ml_jobs(
    profiles: pl.DataFrame,
    arrival: np.ndarray,
    config: Any,
    jobs: tuple[datetime, ...],
    run: MLJob,
    *,
    starts: np.ndarray,
    group_schema: pl.Schema,
) -> tuple[list[dict[str, Any]], pl.DataFrame, pl.DataFrame]:
    """Run the ML job on the profiles present at each job start, carrying merges forward.

    `arrival` and `starts` (the `jobs` as µs since the epoch) are in the same unit. Returns the
    ML_JOB events, the ML groups (laid out as `group_schema`) and each merged profile's MlMergedAt.
    """
    from idres.merge import merge_profiles

    auto = config.Matching.AutoMerging
    resolution = auto.conflict_resolution if auto is not None else None
    order = np.argsort(arrival, kind="stable")
    present_by = np.searchsorted(arrival[order], starts, side="right")
    events: list[dict[str, Any]] = []
    matches: list[pl.DataFrame] = []
    merges: list[pl.DataFrame] = []
    domain = profiles.clear().with_columns(pl.lit(None, pl.List(pl.String)).alias(_MEMBERS))
    seen = 0
    for number, (start, present) in enumerate(zip(jobs, present_by, strict=True), 1):
        arrived = profiles[order[seen:present]]
        seen = int(present)
        domain = pl.concat([domain, arrived], how="diagonal_relaxed").sort(_PID)
        row = {"Time": start, "Kind": "ML_JOB", "Job": "ml", "JobNumber": number}
        row |= {"Profiles": seen, "NumberOfProfilesReviewed": domain.height}
        try:
            groups = run(domain.drop(_MEMBERS), config).groups if domain.height else None
        except IdresError as exc:
            events.append(row | {"Status": "FAILED", "Detail": f"job {number} failed: {exc}"})
            continue
        if groups is None or groups.is_empty():
            groups = pl.DataFrame(schema={_PID: pl.String, MATCH_ID: pl.String})
        if MERGE_GROUP_ID not in groups.columns:
            groups = groups.with_columns(MergeGroupId=pl.lit(None, pl.String))
        to_merge = groups.filter(pl.col(MERGE_GROUP_ID).is_not_null())
        done = to_merge.height - to_merge.get_column(MERGE_GROUP_ID).n_unique()
        score = pl.col(CONFIDENCE).first() if CONFIDENCE in groups.columns else None
        matches.append(
            groups.group_by(MATCH_ID)
            .agg(pl.col(_PID).sort().alias("ProfileIds"), *([score] if score is not None else []))
            .with_columns(FirstFormedAt=pl.lit(start, _TS), JobNumber=pl.lit(number, pl.Int32))
        )
        if done:
            outcome = merge_profiles(
                domain, to_merge.select(_PID, MERGE_GROUP_ID), resolution=resolution
            )
            domain = outcome.consolidated
            now = outcome.merged.filter(pl.col(_PID).is_in(to_merge.get_column(_PID).implode()))
            merges.append(now.select(_MEMBERS).with_columns(__t=pl.lit(start, _TS)))
        n_matches = groups.get_column(MATCH_ID).drop_nulls().n_unique()
        row |= {"Status": "COMPLETED", "NumberOfMatchesFound": n_matches}
        row |= {"NumberOfMergesDone": done, "ProfilesAfterMerge": domain.height}
        row |= {"ProfilesMerged": seen - domain.height}
        reviewed = row["NumberOfProfilesReviewed"]
        row["Detail"] = (
            f"job {number}: {reviewed:,} reviewed, {n_matches:,} matches, {done:,} merges"
        )
        events.append(row)
    return events, *_ml_groups(matches, merges, domain, jobs, group_schema)


def _ml_groups(
    matches: list[pl.DataFrame],
    merges: list[pl.DataFrame],
    domain: pl.DataFrame,
    jobs: tuple[datetime, ...],
    group_schema: pl.Schema,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ML match groups at their first job; each merged profile from its first merge to its last
    growth; per original profile the job time it was first merged (MlMergedAt)."""
    parts = [group_schema.to_frame()]
    if matches:
        found = pl.concat(matches, how="diagonal_relaxed").sort("JobNumber", MATCH_ID)
        parts.append(
            found.unique(MATCH_ID, keep="first", maintain_order=True)
            .rename({MATCH_ID: "GroupId"})
            .with_columns(Kind=pl.lit("match"), CompletedAt="FirstFormedAt", FormationSteps=1)
        )
    grown = pl.DataFrame(schema={_PID: pl.String, "__t": _TS})
    if merges:
        grown = pl.concat(merges).explode(_MEMBERS).rename({_MEMBERS: _PID})
        final = (
            domain.filter(pl.col(_MEMBERS).list.len() >= 2)
            .select(pl.col(_MEMBERS).list.sort().alias("ProfileIds"))
            .with_row_index("__g")
        )
        owner = final.explode("ProfileIds").rename({"ProfileIds": _PID})
        span = (
            grown.join(owner, on=_PID)
            .group_by("__g")
            .agg(
                pl.col("__t").min().alias("FirstFormedAt"),
                pl.col("__t").max().alias("CompletedAt"),
                pl.col("__t").n_unique().cast(pl.Int32).alias("FormationSteps"),
            )
            .join(final, on="__g")
            .sort("__g")
        )
        ids = [match_id(m) for m in span.get_column("ProfileIds").to_list()]
        number = {t: i for i, t in enumerate(jobs, 1)}
        parts.append(
            span.drop("__g").with_columns(
                GroupId=pl.Series(ids, dtype=pl.String),
                Kind=pl.lit("merge"),
                JobNumber=pl.col("CompletedAt").replace_strict(number, return_dtype=pl.Int32),
            )
        )
    frame = pl.concat(parts, how="diagonal_relaxed").with_columns(
        Job=pl.lit("ml"), Profiles=pl.col("ProfileIds").list.len()
    )
    return frame, grown.group_by(_PID).agg(pl.col("__t").min().alias("MlMergedAt"))


def default_ml_job(options: Any) -> MLJob | None:
    """:func:`idres.mljob.run_ml_job` with `options`, or None when this build has no ML job."""
    try:
        from idres.mljob import run_ml_job
    except ModuleNotFoundError as exc:
        if exc.name != "idres.mljob":
            raise
        return None
    return lambda profiles, config: run_ml_job(profiles, config, options=options, on_step=None)
