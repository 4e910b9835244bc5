"""When matches and merges would happen as profiles arrive: the domain simulated over time.

Profiles arrive at their ``LastUpdatedAt``; [choice] a profile without one, or updated before
`as_of`, is in the domain from the start (arrives at `as_of`). The configuration is applied at
`as_of`; the timeline runs to ``as_of + weeks`` and profiles arriving later are left out.

Rule-based [AWS: near real time once ACTIVE]: the status follows
:func:`idres.schedule.rule_status_timeline`. At ACTIVE every profile present so far has been matched
in one batch; afterwards each profile is matched when it arrives. The rule-based job runs once on
every profile; a key's profiles are linked to the key's earliest arrival, so a link forms at
``max(arrival of both ends, ACTIVE)``. On the minimum spanning forest of those link times
(:func:`idres.graph.spanning_forest`) the forest links up to time t connect exactly what all links up
to t connect, so a group first forms at its earliest forest link, is complete at its latest, and the
state at a time is counted, not recomputed (in a forest, groups = profiles touched - links): one
binary search per report time over sorted link times. [choice] The low-cardinality guard is
evaluated on every profile of the timeline, not on those present at each moment.

ML [AWS]: jobs start at :func:`idres.schedule.next_job_times`; each reviews every profile present at
its start. Merges are irreversible: [choice] a merged profile stays in the domain as one profile
(its survivor's ProfileId, values resolved by the config's ConflictResolution) and later jobs score
it like any other profile. [choice] Rule-based and ML merges are simulated independently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from idres import graph, schedule, schema
from idres.atomic import atomic_dir
from idres.errors import IdresError, InputError, Problem
from idres.ids import match_id

log = logging.getLogger(__name__)

Snapshots = Literal["day", "week", "job"]
MLJob = Callable[[pl.DataFrame, Any], Any]
_PID = schema.PROFILE_ID
_MEMBERS = "MergedProfileIds"
_TS = schema.TIMESTAMP_DTYPE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = np.iinfo(np.int64).max
_KIND_ORDER = {"STATUS": 0, "CONFIG_UNLOCKED": 1, "ML_JOB": 2, "RULE_BASED_STATE": 3}
_COUNTS = (
    "Profiles",
    "MatchGroups",
    "ProfilesInMatchGroups",
    "MergeGroups",
    "ProfilesMerged",
    "ProfilesAfterMerge",
    "NumberOfProfilesReviewed",
    "NumberOfMatchesFound",
    "NumberOfMergesDone",
)
_EVENT_COLUMNS: list[tuple[str, Any]] = [
    ("Time", _TS),
    *((c, pl.String) for c in ("Kind", "Job", "Status")),
    ("JobNumber", pl.Int32),
    *((c, pl.Int64) for c in _COUNTS),
    ("Detail", pl.String),
]
EVENT_SCHEMA = pl.Schema(_EVENT_COLUMNS)
_GROUP_COLUMNS: list[tuple[str, Any]] = [
    *((c, pl.String) for c in ("Job", "Kind", "GroupId")),
    ("Profiles", pl.Int64),
    ("ProfileIds", pl.List(pl.String)),
    ("RuleLevel", pl.Int32),
    ("ConfidenceScore", pl.Float64),
    *((c, _TS) for c in ("FirstFormedAt", "CompletedAt")),
    *((c, pl.Int32) for c in ("FormationSteps", "JobNumber")),
]
GROUP_SCHEMA = pl.Schema(_GROUP_COLUMNS)


@dataclass(frozen=True)
class TimelineOptions:
    """Knobs of the simulation (`snapshots`: rule-based state at every UTC midnight, every week
    after `as_of`, or only at job times; ACTIVE, each ML job and the end are always reported)."""

    weeks: int = 4
    new_domain: bool = False
    processing: timedelta = schedule.DEFAULT_PROCESSING
    first_job_delay: timedelta = schedule.FIRST_JOB_DELAY
    snapshots: Snapshots = "day"
    rule_based: Any = None
    ml: Any = None


@dataclass(frozen=True)
class Timeline:
    """What :func:`build_timeline` produced: events in time order, per-group formation times,
    per-profile times (ProfileId, ArrivedAt, RuleBasedMatchedAt, RuleBasedMergedAt, MlMergedAt)."""

    as_of: datetime
    end: datetime
    options: TimelineOptions
    status: schedule.StatusTimeline | None
    job_times: tuple[datetime, ...]
    events: pl.DataFrame
    groups: pl.DataFrame
    profiles: pl.DataFrame
    counts: dict[str, int]
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """timeline.json: settings, profile counts, status phases, ML jobs, notes and events."""
        phases = [
            {"Status": p.status, "Start": _iso(p.start), "End": _iso(p.end) if p.end else None}
            for p in (self.status.phases if self.status else ())
        ]
        return {
            "AsOf": _iso(self.as_of),
            "End": _iso(self.end),
            "Weeks": self.options.weeks,
            "NewDomain": self.options.new_domain,
            "Snapshots": self.options.snapshots,
            "Profiles": self.counts,
            "RuleBasedStatus": phases,
            "ConfigLockedUntil": _iso(self.status.locked_until) if self.status else None,
            "MlJobTimes": [_iso(t) for t in self.job_times],
            "Notes": list(self.notes),
            "Events": events_json(self.events),
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _us(moment: datetime) -> int:
    return (schedule.as_utc(moment) - _EPOCH) // timedelta(microseconds=1)


def _times(values: Any) -> pl.Series:
    """int64 µs since the epoch (``_NEVER`` = null) as UTC datetimes."""
    series = pl.Series(np.asarray(values, dtype=np.int64))
    return series.set(series == _NEVER, None).cast(_TS)


def events_json(events: pl.DataFrame) -> list[dict[str, Any]]:
    """Events as JSON objects (ISO times, null members left out).

    >>> events_json(pl.DataFrame({"Time": [datetime(2024, 6, 1, tzinfo=UTC)], "Kind": ["STATUS"],
    ...                           "Detail": [None]}))
    [{'Time': '2024-06-01T00:00:00Z', 'Kind': 'STATUS'}]
    """
    rows = events.with_columns(pl.col("Time").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_dicts()
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def _arrivals(profiles: pl.DataFrame, start: int, end: int) -> tuple[pl.DataFrame, np.ndarray]:
    """Profiles arriving by `end` and their arrival (µs; at least `start`, null = `start`)."""
    arrival = profiles.get_column(schema.UPDATED).dt.epoch("us").fill_null(start).to_numpy()
    arrival = np.maximum(arrival, start)
    keep = arrival <= end
    return profiles.filter(pl.Series(keep)), arrival[keep]


def _forest_times(n: int, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Minimum spanning forest over link times; per node its earliest forest link (``_NEVER``)."""
    fa, fb, fw = graph.spanning_forest(n, a, b, t.astype(np.float64))
    ft = np.rint(fw).astype(np.int64)
    joined = np.full(n, _NEVER, dtype=np.int64)
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


def _rule_based(
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
        found = pl.DataFrame(schema=dict.fromkeys((_PID, "MatchId", "MergeGroupId"), pl.String))
        found = found.with_columns(RuleLevel=pl.lit(None, pl.Int32))
        ends = pl.DataFrame(schema={"ProfileIdA": pl.String, "ProfileIdB": pl.String})
        ends = ends.with_columns(RuleLevel=pl.lit(None, pl.Int32), KeyId=pl.lit(None, pl.UInt32))
    rows = pl.DataFrame(
        {_PID: profiles.get_column(_PID), "__row": np.arange(n, dtype=np.uint32), "__arr": arrival}
    )
    keys = ["RuleLevel", "KeyId"]
    either = [ends.select(pl.col(c).alias(_PID), *keys) for c in ("ProfileIdA", "ProfileIdB")]
    members = pl.concat(either).unique().join(rows, on=_PID)
    # Re-star each key on its earliest arrival: its links then form exactly when its members arrive.
    anchor = pl.col("__row").sort_by("__arr", "__row").first().over(keys).alias("__anchor")
    links = members.with_columns(anchor).filter(pl.col("__row") != pl.col("__anchor"))
    links = links.filter(pl.col("RuleLevel") <= rules.max_matching_level)
    a, b = links.get_column("__anchor").to_numpy(), links.get_column("__row").to_numpy()
    t = np.maximum(links.get_column("__arr").to_numpy(), active)
    level = links.get_column("RuleLevel").to_numpy()
    groups = found.join(rows.select(_PID, "__row"), on=_PID)
    fa, ft, matched = _forest_times(n, a, b, t)
    out = _group_times(fa, ft, groups.select("__row", "MatchId"), "MatchId").join(
        groups.group_by("MatchId").agg(
            pl.col(_PID).sort().alias("ProfileIds"), pl.col("RuleLevel").first()
        ),
        on="MatchId",
    )
    parts = [out.rename({"MatchId": "GroupId"}).with_columns(Kind=pl.lit("match"))]
    forests = {"match": ft}
    merged = np.full(n, _NEVER, dtype=np.int64)
    if rules.max_merging_level is not None:
        keep = level <= rules.max_merging_level
        ma, mt, merged = _forest_times(n, a[keep], b[keep], t[keep])
        forests["merge"] = mt
        in_merge = groups.filter(pl.col("MergeGroupId").is_not_null())
        merge = _group_times(ma, mt, in_merge.select("__row", "MergeGroupId"), "MergeGroupId")
        merge = merge.join(
            in_merge.group_by("MergeGroupId").agg(pl.col(_PID).sort().alias("ProfileIds")),
            on="MergeGroupId",
        )
        parts.append(merge.rename({"MergeGroupId": "GroupId"}).with_columns(Kind=pl.lit("merge")))
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


def _snapshot_times(
    start: datetime, end: datetime, extra: list[datetime], how: Snapshots
) -> list[datetime]:
    times = {start, end, *(t for t in extra if start <= t <= end)}
    if how == "day":
        day = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        times.update(day + timedelta(days=i) for i in range((end - day).days + 1))
    elif how == "week":
        times.update(
            start + i * schedule.WEEK for i in range(1, (end - start) // schedule.WEEK + 1)
        )
    return sorted(t for t in times if t <= end)


def _status_events(status: schedule.StatusTimeline, end: datetime) -> list[dict[str, Any]]:
    """One event per status change and one when configuration changes are accepted again."""
    moments = [(p.start, "STATUS", p.status) for p in status.phases]
    moments.append((status.locked_until, "CONFIG_UNLOCKED", "ACTIVE"))
    return [
        {"Time": t, "Kind": kind, "Job": "rule-based", "Status": state}
        | {"Detail": schedule.can_change_config(status, t)[1]}
        for t, kind, state in moments
        if t <= end
    ]


def _rb_events(
    at: list[datetime],
    status: schedule.StatusTimeline,
    arrival: np.ndarray,
    matched: np.ndarray,
    merged: np.ndarray,
    forests: dict[str, np.ndarray],
) -> pl.DataFrame:
    """The rule-based domain state at each report time, from forest-link counts."""
    moments = np.array([_us(t) for t in at], dtype=np.int64)
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


# --- ML jobs (a self-contained block: _ml, _ml_groups, _default_ml_job) ---


def _ml(
    profiles: pl.DataFrame, arrival: np.ndarray, config: Any, jobs: tuple[datetime, ...], run: MLJob
) -> tuple[list[dict[str, Any]], pl.DataFrame, pl.DataFrame]:
    """Run the ML job on the profiles present at each job start, carrying merges forward."""
    from idres.merge import merge_profiles

    auto = config.Matching.AutoMerging
    resolution = auto.conflict_resolution if auto is not None else None
    order = np.argsort(arrival, kind="stable")
    present_by = np.searchsorted(arrival[order], [_us(t) for t in jobs], side="right")
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
            groups = pl.DataFrame(schema={_PID: pl.String, "MatchId": pl.String})
        if "MergeGroupId" not in groups.columns:
            groups = groups.with_columns(MergeGroupId=pl.lit(None, pl.String))
        to_merge = groups.filter(pl.col("MergeGroupId").is_not_null())
        done = to_merge.height - to_merge.get_column("MergeGroupId").n_unique()
        score = pl.col("ConfidenceScore").first() if "ConfidenceScore" in groups.columns else None
        matches.append(
            groups.group_by("MatchId")
            .agg(pl.col(_PID).sort().alias("ProfileIds"), *([score] if score is not None else []))
            .with_columns(FirstFormedAt=pl.lit(start, _TS), JobNumber=pl.lit(number, pl.Int32))
        )
        if done:
            outcome = merge_profiles(
                domain, to_merge.select(_PID, "MergeGroupId"), resolution=resolution
            )
            domain = outcome.consolidated
            now = outcome.merged.filter(pl.col(_PID).is_in(to_merge.get_column(_PID).implode()))
            merges.append(now.select(_MEMBERS).with_columns(__t=pl.lit(start, _TS)))
        n_matches = groups.get_column("MatchId").drop_nulls().n_unique()
        row |= {"Status": "COMPLETED", "NumberOfMatchesFound": n_matches}
        row |= {"NumberOfMergesDone": done, "ProfilesAfterMerge": domain.height}
        row |= {"ProfilesMerged": seen - domain.height}
        reviewed = row["NumberOfProfilesReviewed"]
        row["Detail"] = (
            f"job {number}: {reviewed:,} reviewed, {n_matches:,} matches, {done:,} merges"
        )
        events.append(row)
    return events, *_ml_groups(matches, merges, domain, jobs)


def _ml_groups(
    matches: list[pl.DataFrame],
    merges: list[pl.DataFrame],
    domain: pl.DataFrame,
    jobs: tuple[datetime, ...],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ML match groups at their first job; each merged profile from its first merge to its last
    growth; per original profile the job time it was first merged (MlMergedAt)."""
    parts = [GROUP_SCHEMA.to_frame()]
    if matches:
        found = pl.concat(matches, how="diagonal_relaxed").sort("JobNumber", "MatchId")
        parts.append(
            found.unique("MatchId", keep="first", maintain_order=True)
            .rename({"MatchId": "GroupId"})
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


def _default_ml_job(options: Any) -> MLJob | None:
    """:func:`idres.mljob.run_ml_job` with `options`, or None when this build has no ML job."""
    try:
        from idres.mljob import run_ml_job
    except ModuleNotFoundError as exc:
        if exc.name != "idres.mljob":
            raise
        return None
    return lambda profiles, config: run_ml_job(profiles, config, options=options, on_step=None)


def build_timeline(
    config: Any,
    profiles: pl.DataFrame,
    *,
    as_of: datetime,
    options: TimelineOptions | None = None,
    ml_job: MLJob | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Timeline:
    """Simulate `profiles` arriving in a domain configured with `config` at `as_of`.

    `profiles` is a canonical profile table (LastUpdatedAt = arrival). `ml_job(profiles, config)`
    returns an object with ``groups`` (ProfileId, MatchId, ConfidenceScore, MergeGroupId); by
    default :func:`idres.mljob.run_ml_job`.

    >>> from idres.config import parse_domain
    >>> from idres.profiles import canonicalize
    >>> cfg = parse_domain({"RuleBasedMatching": {"Enabled": True,
    ...     "MatchingRules": [{"Rule": ["EmailAddress"]}]}})
    >>> p = canonicalize(pl.DataFrame({"ProfileId": ["a", "b"], "EmailAddress": ["x@y", "x@y"],
    ...     "LastUpdatedAt": [None, "2024-06-03T10:00Z"]}))
    >>> tl = build_timeline(cfg, p, as_of=datetime(2024, 6, 1, tzinfo=UTC),
    ...     options=TimelineOptions(weeks=1, new_domain=True))
    >>> tl.groups.select("Kind", "FirstFormedAt").rows()[0][1].isoformat()
    '2024-06-03T10:00:00+00:00'
    """
    opts = options or TimelineOptions()
    problems = []
    if not isinstance(opts.weeks, int) or opts.weeks < 0:
        problems.append(Problem(None, "--weeks", f"must be 0 or more (got {opts.weeks!r})"))
    if opts.snapshots not in ("day", "week", "job"):
        message = f"must be day, week or job (got {opts.snapshots!r})"
        problems.append(Problem(None, "--snapshots", message))
    if problems:
        raise InputError(problems)
    step = on_step or (lambda _name: None)
    start = schedule.as_utc(as_of)
    end = start + opts.weeks * schedule.WEEK
    kept, arrival = _arrivals(profiles, _us(start), _us(end))
    counts = {
        "Total": profiles.height,
        "PresentAtStart": int((arrival == _us(start)).sum()),
        "ArrivingLater": int((arrival > _us(start)).sum()),
        "AfterEnd": profiles.height - kept.height,
    }
    if counts["AfterEnd"]:
        log.info("%d profiles arrive after %s and are left out", counts["AfterEnd"], _iso(end))
    jobs = tuple(
        schedule.next_job_times(
            config, as_of=start, weeks=opts.weeks, first_job_delay=opts.first_job_delay
        )
    )
    per_profile = pl.DataFrame({_PID: kept.get_column(_PID), "ArrivedAt": _times(arrival)})
    events: list[dict[str, Any]] = []
    frames: list[pl.DataFrame] = []
    groups: list[pl.DataFrame] = []
    notes: list[str] = []
    status = None
    rules = config.RuleBasedMatching
    if rules is not None and rules.Enabled:
        status = schedule.rule_status_timeline(
            as_of=start, new_domain=opts.new_domain, processing=opts.processing
        )
        events += _status_events(status, end)
        step("rule-based job")
        frame, matched, merged, forests = _rule_based(
            kept, arrival, rules, _us(status.active_since), config.DomainName, opts.rule_based
        )
        groups.append(frame)
        per_profile = per_profile.with_columns(
            RuleBasedMatchedAt=_times(matched), RuleBasedMergedAt=_times(merged)
        )
        at = _snapshot_times(start, end, [status.active_since, *jobs], opts.snapshots)
        frames.append(_rb_events(at, status, arrival, matched, merged, forests))
    run = ml_job or (_default_ml_job(opts.ml) if jobs else None)
    if jobs and run is None:
        notes.append("ML jobs not simulated: this build has no ML job (idres.mljob)")
    elif jobs and run is not None:
        step("ML jobs")
        ml_events, ml_groups, ml_times = _ml(kept, arrival, config, jobs, run)
        events += ml_events
        groups.append(ml_groups)
        per_profile = per_profile.join(ml_times, on=_PID, how="left", maintain_order="left")
    if status is None and not jobs:
        notes.append("the config enables neither RuleBasedMatching nor Matching: nothing happens")
    order = pl.col("Kind").replace_strict(_KIND_ORDER, return_dtype=pl.Int8)
    event_frame = (
        pl.concat([pl.DataFrame(events, schema=EVENT_SCHEMA), *frames], how="diagonal_relaxed")
        .select([pl.col(c).cast(d) for c, d in EVENT_SCHEMA.items()])
        .sort("Time", order, "JobNumber", nulls_last=True, maintain_order=True)
    )
    group_frame = (
        pl.concat([GROUP_SCHEMA.to_frame(), *groups], how="diagonal_relaxed")
        .select([pl.col(c).cast(d) for c, d in GROUP_SCHEMA.items()])
        .sort("Job", "Kind", "FirstFormedAt", "GroupId")
    )
    return Timeline(
        start, end, opts, status, jobs, event_frame, group_frame, per_profile, counts, tuple(notes)
    )


def write_timeline(timeline: Timeline, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write timeline.json, events.parquet, groups.parquet and profiles.parquet atomically."""
    with atomic_dir(out_dir, force=force) as tmp:
        text = json.dumps(timeline.to_json(), indent=2, default=str) + "\n"
        (tmp / "timeline.json").write_text(text, "utf-8")
        timeline.events.write_parquet(tmp / "events.parquet")
        timeline.groups.write_parquet(tmp / "groups.parquet")
        timeline.profiles.write_parquet(tmp / "profiles.parquet")
    return Path(out_dir)


__all__ = [
    "EVENT_SCHEMA",
    "GROUP_SCHEMA",
    "Timeline",
    "TimelineOptions",
    "build_timeline",
    "events_json",
    "write_timeline",
]
