"""Tests of idres.normalize_dates: BirthDate dates by hand-made cases, then a property."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idres.normalize import normalize_value
from tests.test_normalize import frame_values

P = pytest.param

DATE_CASES = [
    P("1980-01-05", "1980-01-05", id="iso"),
    P("1980-1-5", "1980-01-05", id="iso-unpadded"),
    P("1980/01/05", "1980-01-05", id="year-slash"),
    P("1980.01.05", "1980-01-05", id="year-dot"),
    P("19800105", "1980-01-05", id="compact"),
    P("01/05/1980", "1980-01-05", id="us-month-first"),
    P("1/5/1980", "1980-01-05", id="us-unpadded"),
    P("01-05-1980", "1980-01-05", id="us-dashes"),
    P("31/12/1980", "1980-12-31", id="day-first-when-month-impossible"),
    P("05.01.1980", "1980-01-05", id="dotted-day-first"),
    P("Jan 5 1980", "1980-01-05", id="month-abbrev-first"),
    P("January 5, 1980", "1980-01-05", id="month-name-comma"),
    P("Sept. 5th, 1980", "1980-09-05", id="sept-ordinal"),
    P("5 January 1980", "1980-01-05", id="day-month-name"),
    P("05-Jan-1980", "1980-01-05", id="day-abbrev-dashes"),
    P("1980-01-05T13:45:00Z", "1980-01-05", id="iso-time-z"),
    P("1980-01-05 13:45:00.000+02:00", "1980-01-05", id="iso-time-offset"),
    P("01/05/1980 10:00 AM", "1980-01-05", id="us-time"),
    P("２０００－０２－２９", "2000-02-29", id="full-width-leap-day"),
    P("1900-02-29", "1900-02-29", id="not-a-leap-year-kept-as-text"),
    P("1980-02-30", "1980-02-30", id="invalid-day-kept-as-text"),
    P("13/13/1980", "13/13/1980", id="invalid-month-kept-as-text"),
    P("01/05/80", "01/05/80", id="two-digit-year-kept-as-text"),
    P("0080-01-01", "0080-01-01", id="year-before-1000-kept-as-text"),
    P(" Unknown ", "unknown", id="text-string-rule"),
    P("", None, id="empty-null"),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_CASES)
def test_birthdate_rule(raw: str, expected: str | None) -> None:
    assert normalize_value("BirthDate", raw) == expected
    assert frame_values("BirthDate", [raw, None]) == [expected, None]


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_birthdate_formats_agree(day: dt.date) -> None:
    shapes = [
        day.isoformat(),
        day.strftime("%Y%m%d"),
        day.strftime("%m/%d/%Y"),
        day.strftime("%d.%m.%Y"),
        f"{day:%B} {day.day}, {day:%Y}",
        f"{day.day} {day:%b} {day:%Y}",
        f"{day.isoformat()}T23:59:59Z",
    ]
    assert set(frame_values("BirthDate", shapes)) == {day.isoformat()}
