"""When matches and merges would happen as profiles arrive: the domain simulated over time.

Profiles arrive at their ``LastUpdatedAt``; [choice] a profile without one, or updated before
`as_of`, is in the domain from the start (arrives at `as_of`). The configuration is applied at
`as_of`; the timeline runs to ``as_of + weeks`` and profiles arriving later are left out.

Rule-based [AWS: near real time once ACTIVE]: the status follows
:func:`idres.schedule.rule_status_timeline`. At ACTIVE every profile present so far has been matched
in one batch; afterwards each profile is matched when it arrives, so a link forms at
``max(arrival of both ends, ACTIVE)`` and groups form and complete at link times counted on a
minimum spanning forest (:mod:`idres.timeline_rules`). [choice] The low-cardinality guard is
evaluated on every profile of the timeline, not on those present at each moment.

ML [AWS]: jobs start at :func:`idres.schedule.next_job_times`; each reviews every profile present at
its start. Merges are irreversible: [choice] a merged profile stays in the domain as one profile
(its survivor's ProfileId, values resolved by the config's ConflictResolution) and later jobs score
it like any other profile (:mod:`idres.timeline_ml`). [choice] Rule-based and ML merges are
simulated independently.
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

from idres import schedule, schema
from idres.atomic import atomic_dir
from idres.errors import InputError, Problem
from idres.timeline_ml import MLJob, default_ml_job, run_ml_jobs
from idres.timeline_rules import NEVER, rule_based_states, rule_based_times

log = logging.getLogger(__name__)

Snapshots = Literal["day", "week", "job"]
_PID = schema.PROFILE_ID
_TS = schema.TIMESTAMP_DTYPE
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
    (schema.RULE_LEVEL, pl.Int32),
    (schema.CONFIDENCE, pl.Float64),
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
    """int64 µs since the epoch (``NEVER`` = null) as UTC datetimes."""
    series = pl.Series(np.asarray(values, dtype=np.int64))
    return series.set(series == NEVER, None).cast(_TS)


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
        frame, matched, merged, forests = rule_based_times(
            kept, arrival, rules, _us(status.active_since), config.DomainName, opts.rule_based
        )
        groups.append(frame)
        per_profile = per_profile.with_columns(
            RuleBasedMatchedAt=_times(matched), RuleBasedMergedAt=_times(merged)
        )
        at = _snapshot_times(start, end, [status.active_since, *jobs], opts.snapshots)
        moments = np.array([_us(t) for t in at], dtype=np.int64)
        frames.append(rule_based_states(at, moments, status, arrival, matched, merged, forests))
    run = ml_job or (default_ml_job(opts.ml) if jobs else None)
    if jobs and run is None:
        notes.append("ML jobs not simulated: this build has no ML job (idres.mljob)")
    elif jobs and run is not None:
        step("ML jobs")
        starts = np.array([_us(t) for t in jobs], dtype=np.int64)
        ml_events, ml_groups, ml_times = run_ml_jobs(
            kept, arrival, config, jobs, run, starts=starts, group_schema=GROUP_SCHEMA
        )
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
