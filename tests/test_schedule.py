"""ML job calendar and rule-based status timeline (idres.schedule) and `idres schedule`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idres.errors import InputError
from idres.schedule import (
    DEFAULT_PROCESSING,
    as_utc,
    can_change_config,
    next_job_times,
    next_slot,
    processing_duration,
    rule_status_timeline,
)


def domain(**matching: Any) -> Any:
    """A real DomainConfig with ML matching enabled (and `matching` members added)."""
    from idres.config import parse_domain

    return parse_domain({"DomainName": "demo", "Matching": {"Enabled": True, **matching}})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# 2024-06-01 is a Saturday; 2024-06-03 a Monday.


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        pytest.param(
            utc(2024, 6, 3, 9), [utc(2024, 6, 4, 9), utc(2024, 6, 8), utc(2024, 6, 15)],
            id="monday-first-job-24h-later",
        ),
        pytest.param(
            utc(2024, 6, 7, 12), [utc(2024, 6, 8), utc(2024, 6, 15)],
            id="slot-within-24h-is-the-first-job",
        ),
        pytest.param(
            utc(2024, 6, 1), [utc(2024, 6, 1), utc(2024, 6, 8)],
            id="as-of-exactly-on-the-slot",
        ),
        pytest.param(
            utc(2024, 6, 7), [utc(2024, 6, 8), utc(2024, 6, 15)],
            id="slot-exactly-24h-later-counted-once",
        ),
    ],
)  # fmt: skip
def test_default_schedule_is_saturday_midnight(as_of: datetime, expected: list[datetime]) -> None:
    assert next_job_times(domain(), as_of=as_of, weeks=2) == expected


def test_custom_day_and_time() -> None:
    config = domain(JobSchedule={"DayOfTheWeek": "WEDNESDAY", "Time": "7:45"})
    jobs = next_job_times(config, as_of=utc(2024, 6, 3, 9), weeks=3)
    assert jobs[0] == utc(2024, 6, 4, 9)
    assert jobs[1:] == [utc(2024, 6, 5, 7, 45), utc(2024, 6, 12, 7, 45), utc(2024, 6, 19, 7, 45)]
    assert all(t.weekday() == 2 and (t.hour, t.minute) == (7, 45) for t in jobs[1:])


@pytest.mark.parametrize("weeks", [0, 1, 4, 52])
def test_weeks_bound_the_listing(weeks: int) -> None:
    as_of = utc(2024, 6, 3, 9)
    jobs = next_job_times(domain(), as_of=as_of, weeks=weeks)
    assert all(as_of <= t < as_of + timedelta(weeks=weeks) for t in jobs)
    assert len(jobs) == (0 if weeks == 0 else weeks + 1)  # the first job plus one a week


def test_first_job_delay_option_and_naive_input() -> None:
    naive = datetime(2024, 6, 3, 9)
    assert next_job_times(domain(), as_of=naive, weeks=1, first_job_delay=timedelta(0))[0] == utc(
        2024, 6, 3, 9
    )
    plus_two = datetime(2024, 6, 3, 11, tzinfo=timezone(timedelta(hours=2)))
    assert next_job_times(domain(), as_of=plus_two, weeks=1)[0] == utc(2024, 6, 4, 9)


def test_disabled_or_absent_matching_has_no_jobs() -> None:
    from idres.config import parse_domain

    off = parse_domain({"Matching": {"Enabled": False}})
    assert next_job_times(off, as_of=utc(2024, 6, 3), weeks=4) == []
    assert next_job_times(parse_domain({}), as_of=utc(2024, 6, 3), weeks=4) == []


def test_negative_weeks_is_an_input_error() -> None:
    with pytest.raises(InputError, match="weeks"):
        next_job_times(domain(), as_of=utc(2024, 6, 3), weeks=-1)


@given(
    as_of=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    day=st.sampled_from(
        ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"]
    ),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    weeks=st.integers(1, 10),
)
def test_job_times_invariants(
    as_of: datetime, day: str, hour: int, minute: int, weeks: int
) -> None:
    time = f"{hour}:{minute:02d}"
    config = domain(JobSchedule={"DayOfTheWeek": day, "Time": time})
    jobs = next_job_times(config, as_of=as_of, weeks=weeks)
    start = as_utc(as_of)
    assert jobs[0] <= start + timedelta(hours=24)  # first job within 24 hours
    assert jobs == sorted(set(jobs))
    slot = next_slot(day, time, after=start)
    assert all(t - slot == (t - slot) // timedelta(weeks=1) * timedelta(weeks=1) for t in jobs[1:])
    assert all(b - a <= timedelta(weeks=1) for a, b in pairwise(jobs))


# -- rule-based status --------------------------------------------------------------------------


def test_new_domain_goes_straight_to_in_progress() -> None:
    timeline = rule_status_timeline(as_of=utc(2024, 6, 1), new_domain=True)
    assert [p.status for p in timeline.phases] == ["IN_PROGRESS", "ACTIVE"]
    assert timeline.status_at(utc(2024, 6, 1)) == "IN_PROGRESS"
    assert timeline.active_since == utc(2024, 6, 1) + DEFAULT_PROCESSING


def test_existing_domain_waits_one_hour_pending() -> None:
    timeline = rule_status_timeline(
        as_of=utc(2024, 6, 1), new_domain=False, processing=timedelta(hours=3)
    )
    assert [(p.status, p.start, p.end) for p in timeline.phases] == [
        ("PENDING", utc(2024, 6, 1, 0), utc(2024, 6, 1, 1)),
        ("IN_PROGRESS", utc(2024, 6, 1, 1), utc(2024, 6, 1, 4)),
        ("ACTIVE", utc(2024, 6, 1, 4), None),
    ]
    assert timeline.status_at(utc(2024, 5, 31)) is None


EXISTING = rule_status_timeline(as_of=utc(2024, 6, 1), new_domain=False)  # ACTIVE at 02:00


@pytest.mark.parametrize(
    ("at", "accepted", "words"),
    [
        pytest.param(utc(2024, 6, 1, 0, 30), True, "PENDING", id="pending-accepted"),
        pytest.param(utc(2024, 6, 1, 1, 30), False, "IN_PROGRESS", id="in-progress-refused"),
        pytest.param(utc(2024, 6, 1, 2), False, "locked for 24 hours", id="just-active-refused"),
        pytest.param(utc(2024, 6, 2, 1), False, "1h00m left", id="23h-after-active-refused"),
        pytest.param(utc(2024, 6, 2, 2), True, "accepted", id="exactly-24h-after-accepted"),
        pytest.param(utc(2024, 6, 2, 3), True, "accepted", id="25h-after-active-accepted"),
    ],
)
def test_can_change_config(at: datetime, accepted: bool, words: str) -> None:
    ok, reason = can_change_config(EXISTING, at)
    assert ok is accepted
    assert words in reason


def test_change_before_the_timeline_is_an_input_error() -> None:
    with pytest.raises(InputError, match="change-at"):
        can_change_config(EXISTING, utc(2024, 5, 31))


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        pytest.param(None, DEFAULT_PROCESSING, id="unknown-count-default"),
        pytest.param(0, timedelta(minutes=15), id="minimum"),
        pytest.param(2_500_000, timedelta(hours=2.5), id="rate"),
    ],
)
def test_processing_duration(profiles: int | None, expected: timedelta) -> None:
    assert processing_duration(profiles) == expected


# -- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def domain_file(tmp_path: Path) -> Path:
    path = tmp_path / "domain.json"
    config = {
        "DomainName": "demo",
        "Matching": {"Enabled": True},
        "RuleBasedMatching": {"Enabled": True, "MatchingRules": [{"Rule": ["EmailAddress"]}]},
    }
    path.write_text(json.dumps(config))
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from idres.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_schedule_tables_and_accepted_change(
    domain_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["schedule", str(domain_file), "--as-of", "2024-06-03T09:00Z", "--weeks", "1"]
    code, out, _ = run([*argv, "--change-at", "2024-06-05T00:00Z"], capsys)
    assert code == 0
    assert "Tue 2024-06-04 09:00 UTC" in out and "Sat 2024-06-08 00:00 UTC" in out
    assert "PENDING" in out and "IN_PROGRESS" in out and "ACTIVE" in out
    assert "accepted" in out


REFUSED = ["--as-of", "2024-06-03T09:00Z", "--new-domain", "--change-at", "2024-06-03T09:30Z"]


def test_cli_schedule_refused_change_says_why(
    domain_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(["schedule", str(domain_file), *REFUSED], capsys)
    assert "refused" in out and "IN_PROGRESS until" in out
    assert "PENDING" not in out  # a new domain skips PENDING


def test_cli_schedule_refused_change_exits_1(
    domain_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(["schedule", str(domain_file), *REFUSED], capsys)
    assert code == 1


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["--as-of", "next tuesday"], id="bad-as-of"),
        pytest.param(["--as-of", "2024-06-03", "--change-at", "2024-06-02"], id="change-before"),
        pytest.param(["--processing-hours", "1", "--profiles", "10"], id="both-durations"),
    ],
)
def test_cli_schedule_bad_input_exits_2(
    domain_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, _, err = run(["schedule", str(domain_file), *extra], capsys)
    assert code == 2
    assert "error:" in err
