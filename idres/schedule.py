"""When jobs run and when the configuration may change: the ML job calendar and rule-based status.

Pure functions over timezone-aware UTC datetimes (a naive datetime is read as UTC; any other offset is
converted to UTC).

ML matching (the weekly Identity Resolution Job) [AWS]: the first job runs within 24 hours of enabling
``Matching``, then weekly at ``JobSchedule`` (``DayOfTheWeek``, ``Time`` in UTC; default SATURDAY 00:00).
[choice] The first job starts at the earlier of the first scheduled slot at or after enabling and
``as_of + first_job_delay`` (default 24 hours, the latest AWS allows); the weekly jobs are the
scheduled slots strictly after the first job. AWS documents no more than "within 24 hours", so the
delay is an option; 0 means "right away".

Rule-based matching status [AWS]: a new domain goes straight to IN_PROGRESS; an existing one waits in
PENDING for one hour first. The configuration is locked while IN_PROGRESS and for 24 hours after the
status becomes ACTIVE. [choice] AWS does not say how long IN_PROGRESS lasts: the processing duration
is an option, by default :data:`DEFAULT_PROCESSING` (one hour), or estimated from a profile count by
:func:`processing_duration`. [choice] A change while PENDING is accepted (it restarts the wait). All
intervals are half-open: a change exactly 24 hours after ACTIVE is accepted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final, Literal

from idres.errors import InputError, Problem

DAYS: Final[tuple[str, ...]] = (
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
)  # index = datetime.weekday()
DEFAULT_DAY: Final = "SATURDAY"
DEFAULT_TIME: Final = "00:00"
WEEK: Final = timedelta(days=7)
#: [AWS] "the first job runs within 24 hours": the default delay is that upper bound.
FIRST_JOB_DELAY: Final = timedelta(hours=24)
#: [AWS] an existing domain waits this long in PENDING.
PENDING_WAIT: Final = timedelta(hours=1)
#: [AWS] the configuration stays locked this long after ACTIVE.
LOCK_AFTER_ACTIVE: Final = timedelta(hours=24)
#: [choice] IN_PROGRESS duration when nothing else is known.
DEFAULT_PROCESSING: Final = timedelta(hours=1)
#: [choice] processing rate used by :func:`processing_duration` (profiles per hour).
PROFILES_PER_HOUR: Final = 1_000_000
#: [choice] shortest IN_PROGRESS duration used by :func:`processing_duration`.
MIN_PROCESSING: Final = timedelta(minutes=15)

Status = Literal["PENDING", "IN_PROGRESS", "ACTIVE"]
_TIME = re.compile(r"^([0-9]|0[0-9]|1[0-9]|2[0-3]):[0-5][0-9]$")


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime (naive input is read as UTC).

    >>> as_utc(datetime(2024, 6, 1, 12, 0)).isoformat()
    '2024-06-01T12:00:00+00:00'
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_moment(text: str, *, option: str = "time") -> datetime:
    """Parse an ISO-8601 date or date-time (``Z`` allowed) into aware UTC.

    >>> parse_moment("2024-06-01T10:30Z").isoformat()
    '2024-06-01T10:30:00+00:00'
    """
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise InputError(
            Problem(
                None, option, f"not an ISO-8601 date-time such as 2024-06-01T10:30Z (got {text!r})"
            )
        ) from None


def weekly_slot(day: str, at: str) -> tuple[int, time]:
    """Check a JobSchedule (DayOfTheWeek, Time) and return (weekday index, time of day in UTC).

    >>> weekly_slot("SATURDAY", "9:05")
    (5, datetime.time(9, 5))
    """
    problems = []
    if day not in DAYS:
        problems.append(
            Problem(
                None, "JobSchedule.DayOfTheWeek", f"must be one of {', '.join(DAYS)} (got {day!r})"
            )
        )
    if not isinstance(at, str) or not _TIME.match(at):
        problems.append(
            Problem(None, "JobSchedule.Time", f"must be H:MM or HH:MM in UTC (got {at!r})")
        )
    if problems:
        raise InputError(problems)
    hour, minute = (int(p) for p in at.split(":"))
    return DAYS.index(day), time(hour, minute)


def next_slot(day: str, at: str, *, after: datetime) -> datetime:
    """The first weekly slot ``day at`` (UTC) at or after `after`.

    >>> next_slot("SATURDAY", "00:00", after=datetime(2024, 6, 5, 12)).isoformat()  # a Wednesday
    '2024-06-08T00:00:00+00:00'
    >>> next_slot("SATURDAY", "00:00", after=datetime(2024, 6, 8)).isoformat()  # exactly on the slot
    '2024-06-08T00:00:00+00:00'
    """
    weekday, clock = weekly_slot(day, at)
    start = as_utc(after)
    days_ahead = (weekday - start.weekday()) % 7
    slot = datetime.combine(start.date() + timedelta(days=days_ahead), clock, tzinfo=UTC)
    return slot if slot >= start else slot + WEEK


def _schedule_of(config: Any) -> tuple[str, str] | None:
    """(DayOfTheWeek, Time) of an enabled Matching, or None when ML matching is off."""
    matching = getattr(config, "Matching", None)
    if matching is None or not getattr(matching, "Enabled", False):
        return None
    schedule = getattr(matching, "schedule", None) or getattr(matching, "JobSchedule", None)
    if schedule is None:
        return DEFAULT_DAY, DEFAULT_TIME
    return schedule.DayOfTheWeek, schedule.Time


def next_job_times(
    config: Any,
    *,
    as_of: datetime,
    weeks: int,
    first_job_delay: timedelta = FIRST_JOB_DELAY,
) -> list[datetime]:
    """Start times of the ML Identity Resolution Jobs in the `weeks` weeks after enabling at `as_of`.

    The first job starts at ``min(next scheduled slot >= as_of, as_of + first_job_delay)``; the
    weekly jobs follow at the scheduled slots after it. Only starts before ``as_of + weeks`` weeks
    are listed; none when ``config.Matching`` is absent or not enabled.

    >>> from types import SimpleNamespace as NS
    >>> cfg = NS(Matching=NS(Enabled=True, schedule=NS(DayOfTheWeek="SATURDAY", Time="00:00")))
    >>> [t.isoformat() for t in next_job_times(cfg, as_of=datetime(2024, 6, 3, 9), weeks=2)]
    ['2024-06-04T09:00:00+00:00', '2024-06-08T00:00:00+00:00', '2024-06-15T00:00:00+00:00']
    """
    if weeks < 0:
        raise InputError(Problem(None, "weeks", f"must be 0 or more (got {weeks!r})"))
    if first_job_delay < timedelta(0):
        raise InputError(
            Problem(None, "first_job_delay", f"must not be negative (got {first_job_delay!r})")
        )
    schedule = _schedule_of(config)
    if schedule is None:
        return []
    start = as_utc(as_of)
    end = start + weeks * WEEK
    slot = next_slot(*schedule, after=start)
    first = min(slot, start + first_job_delay)
    following = slot if slot > first else slot + WEEK
    count = max(0, math.ceil((end - following) / WEEK))
    return [t for t in (first, *(following + i * WEEK for i in range(count))) if t < end]


def processing_duration(
    profile_count: int | None = None,
    *,
    profiles_per_hour: float = PROFILES_PER_HOUR,
    minimum: timedelta = MIN_PROCESSING,
) -> timedelta:
    """[choice] Estimated IN_PROGRESS duration: ``profile_count / profiles_per_hour``, at least
    `minimum`; :data:`DEFAULT_PROCESSING` when the count is unknown.

    >>> processing_duration(3_000_000)
    datetime.timedelta(seconds=10800)
    >>> processing_duration(10)
    datetime.timedelta(seconds=900)
    """
    if profile_count is None:
        return DEFAULT_PROCESSING
    if profile_count < 0:
        raise InputError(Problem(None, "profiles", f"must be 0 or more (got {profile_count!r})"))
    if profiles_per_hour <= 0:
        raise InputError(
            Problem(None, "profiles_per_hour", f"must be positive (got {profiles_per_hour!r})")
        )
    return max(minimum, timedelta(hours=profile_count / profiles_per_hour))


@dataclass(frozen=True, slots=True)
class Phase:
    """One status of the rule-based matching timeline: ``[start, end)``; ``end`` None = open."""

    status: Status
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class StatusTimeline:
    """Rule-based matching status after a configuration is applied at `applied`.

    ``locked_from``/``locked_until`` bound the interval in which configuration changes are refused.
    """

    applied: datetime
    new_domain: bool
    phases: tuple[Phase, ...]
    locked_from: datetime
    locked_until: datetime

    @property
    def active_since(self) -> datetime:
        """When the status becomes ACTIVE."""
        return self.phases[-1].start

    def status_at(self, at: datetime) -> Status | None:
        """The status at `at`; None before the configuration was applied."""
        moment = as_utc(at)
        for phase in self.phases:
            if phase.start <= moment and (phase.end is None or moment < phase.end):
                return phase.status
        return None


def rule_status_timeline(
    *,
    as_of: datetime,
    new_domain: bool,
    processing: timedelta = DEFAULT_PROCESSING,
) -> StatusTimeline:
    """The rule-based matching status timeline of a configuration applied at `as_of`.

    >>> tl = rule_status_timeline(as_of=datetime(2024, 6, 1), new_domain=False)
    >>> [(p.status, p.start.hour) for p in tl.phases]
    [('PENDING', 0), ('IN_PROGRESS', 1), ('ACTIVE', 2)]
    >>> tl.locked_until.isoformat()
    '2024-06-02T02:00:00+00:00'
    """
    if processing < timedelta(0):
        raise InputError(Problem(None, "processing", f"must not be negative (got {processing!r})"))
    start = as_utc(as_of)
    in_progress = start if new_domain else start + PENDING_WAIT
    active = in_progress + processing
    phases = (
        *(() if new_domain else (Phase("PENDING", start, in_progress),)),
        Phase("IN_PROGRESS", in_progress, active),
        Phase("ACTIVE", active, None),
    )
    return StatusTimeline(start, new_domain, phases, in_progress, active + LOCK_AFTER_ACTIVE)


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def can_change_config(timeline: StatusTimeline, at: datetime) -> tuple[bool, str]:
    """Whether AWS would accept a rule-based matching configuration change at `at`, and why.

    >>> tl = rule_status_timeline(as_of=datetime(2024, 6, 1), new_domain=True)
    >>> can_change_config(tl, datetime(2024, 6, 1, 0, 30))[0]
    False
    >>> can_change_config(tl, datetime(2024, 6, 2, 1, 0))
    (True, 'ACTIVE since 2024-06-01 01:00 UTC for 24 hours or more: change accepted')
    """
    moment = as_utc(at)
    if moment < timeline.applied:
        raise InputError(
            Problem(
                None,
                "change-at",
                f"must not be before the configuration is applied at {_fmt(timeline.applied)} "
                f"(got {moment.isoformat()!r})",
            )
        )
    status = timeline.status_at(moment)
    if status == "PENDING":
        return True, (
            f"PENDING until {_fmt(timeline.locked_from)}: change accepted (the one-hour wait restarts)"
        )
    if status == "IN_PROGRESS":
        return False, (
            f"IN_PROGRESS until {_fmt(timeline.active_since)}: rule-based matching configuration is "
            "locked while the existing data is evaluated"
        )
    if moment < timeline.locked_until:
        left = timeline.locked_until - moment
        return False, (
            f"ACTIVE since {_fmt(timeline.active_since)}: configuration is locked for 24 hours after "
            f"ACTIVE, until {_fmt(timeline.locked_until)} ({_fmt_delta(left)} left)"
        )
    return True, f"ACTIVE since {_fmt(timeline.active_since)} for 24 hours or more: change accepted"


def _fmt_delta(delta: timedelta) -> str:
    minutes = math.ceil(delta.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
