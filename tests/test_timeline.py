"""Profiles arriving over time (idres.timeline) and `idres timeline`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from idres import schedule
from idres.config import parse_domain
from idres.errors import InputError, ModelError
from idres.ids import group_ids
from idres.profiles import canonicalize
from idres.timeline import (
    EVENT_SCHEMA,
    GROUP_SCHEMA,
    TimelineOptions,
    build_timeline,
    events_json,
    write_timeline,
)

AS_OF = datetime(2024, 6, 1, tzinfo=UTC)  # a Saturday
RULES = {
    "Enabled": True,
    "MatchingRules": [{"Rule": ["EmailAddress"]}, {"Rule": ["PhoneNumber"]}],
    "MaxAllowedRuleLevelForMerging": 1,
}
AUTO = {"Enabled": True, "Consolidation": {"MatchingAttributesList": [["EmailAddress"]]}}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def profiles(rows: list[tuple[str, str | None, str | None, datetime | None]]) -> pl.DataFrame:
    """Canonical profiles from (ProfileId, EmailAddress, PhoneNumber, arrival) tuples."""
    ids, emails, phones, times = zip(*rows, strict=True)
    return canonicalize(
        pl.DataFrame(
            {
                "ProfileId": list(ids),
                "EmailAddress": list(emails),
                "PhoneNumber": list(phones),
                "LastUpdatedAt": pl.Series(list(times), dtype=pl.Datetime("us", "UTC")),
            }
        )
    )


def rb_config(**rules: Any) -> Any:
    return parse_domain({"DomainName": "demo", "RuleBasedMatching": RULES | rules})


def run(frame: pl.DataFrame, config: Any = None, **options: Any) -> Any:
    opts = TimelineOptions(**({"weeks": 1, "new_domain": True} | options))
    return build_timeline(config or rb_config(), frame, as_of=AS_OF, options=opts)


def group(tl: Any, members: set[str], kind: str = "match", job: str = "rule-based") -> dict:
    rows = tl.groups.filter(pl.col("Job") == job, pl.col("Kind") == kind).to_dicts()
    found = [r for r in rows if set(r["ProfileIds"]) == members]
    assert len(found) == 1, rows
    return found[0]


# --- rule-based ------------------------------------------------------------------------------


def test_group_forms_when_its_second_member_arrives() -> None:
    tl = run(profiles([("a", "x@y", None, None), ("b", "x@y", None, utc(2024, 6, 3, 10))]))
    g = group(tl, {"a", "b"})
    assert g["FirstFormedAt"] == g["CompletedAt"] == utc(2024, 6, 3, 10)
    assert g["FormationSteps"] == 1


@pytest.mark.parametrize(
    ("new_domain", "active"),
    [
        pytest.param(True, utc(2024, 6, 1, 1), id="new-domain-in-progress-at-once"),
        pytest.param(False, utc(2024, 6, 1, 2), id="existing-domain-pending-one-hour"),
    ],
)
def test_link_between_early_profiles_forms_at_active(new_domain: bool, active: datetime) -> None:
    # a: no timestamp; b: updated before as-of; c: arrives while PENDING / IN_PROGRESS.
    frame = profiles(
        [
            ("a", "x@y", None, None),
            ("b", "x@y", None, utc(2024, 5, 1)),
            ("c", "x@y", None, utc(2024, 6, 1, 0, 30)),
        ]
    )
    tl = run(frame, new_domain=new_domain)
    assert tl.status.active_since == active
    g = group(tl, {"a", "b", "c"})
    assert g["FirstFormedAt"] == g["CompletedAt"] == active
    times = dict(tl.profiles.select("ProfileId", "RuleBasedMatchedAt").rows())
    assert set(times.values()) == {active}


def test_existing_domain_shifts_every_formation_by_one_hour() -> None:
    frame = profiles([("a", "x@y", "1", None), ("b", "x@y", "1", None), ("c", None, "1", None)])
    new, existing = run(frame, new_domain=True), run(frame, new_domain=False)
    shifted = new.groups.with_columns(pl.col("FirstFormedAt", "CompletedAt") + pl.duration(hours=1))
    assert_frame_equal(shifted, existing.groups)


def test_group_that_grows_reports_first_formation_and_completion() -> None:
    frame = profiles(
        [
            ("a", "x@y", "1", None),
            ("b", "x@y", None, None),
            ("c", "z@y", "1", utc(2024, 6, 3)),  # joins a by phone (level 2: match only)
            ("d", "x@y", None, utc(2024, 6, 5)),  # joins a and b by email (level 1: merges)
        ]
    )
    tl = run(frame)
    match = group(tl, {"a", "b", "c", "d"})
    assert (match["FirstFormedAt"], match["CompletedAt"]) == (utc(2024, 6, 1, 1), utc(2024, 6, 5))
    assert (match["FormationSteps"], match["RuleLevel"]) == (3, 2)
    merge = group(tl, {"a", "b", "d"}, kind="merge")
    assert (merge["FirstFormedAt"], merge["CompletedAt"]) == (utc(2024, 6, 1, 1), utc(2024, 6, 5))
    merged = dict(tl.profiles.select("ProfileId", "RuleBasedMergedAt").rows())
    assert merged == {
        "a": utc(2024, 6, 1, 1),
        "b": utc(2024, 6, 1, 1),
        "c": None,
        "d": utc(2024, 6, 5),
    }


def test_key_shared_by_three_links_as_soon_as_two_have_arrived() -> None:
    # The smallest ProfileId arrives last: a star on it would delay b--c until a arrives.
    frame = profiles(
        [
            ("a", "x@y", None, utc(2024, 6, 6)),
            ("b", "x@y", None, utc(2024, 6, 2)),
            ("c", "x@y", None, utc(2024, 6, 3)),
        ]
    )
    g = group(run(frame), {"a", "b", "c"})
    assert (g["FirstFormedAt"], g["CompletedAt"]) == (utc(2024, 6, 3), utc(2024, 6, 6))


def test_state_at_snapshots_counts_groups_and_merges() -> None:
    frame = profiles(
        [
            ("a", "x@y", "1", None),
            ("b", "x@y", None, None),
            ("c", "z@y", "1", utc(2024, 6, 3, 12)),
            ("d", "x@y", None, utc(2024, 6, 5, 12)),
            ("e", "q@y", None, utc(2024, 6, 5, 13)),
        ]
    )
    state = run(frame).events.filter(pl.col("Kind") == "RULE_BASED_STATE")
    cols = ["Profiles", "MatchGroups", "ProfilesInMatchGroups", "MergeGroups", "ProfilesMerged"]
    by_time = {r[0]: r[1:] for r in state.select("Time", *cols).rows()}
    assert by_time[AS_OF] == (2, 0, 0, 0, 0)  # IN_PROGRESS: nothing matched yet
    assert by_time[utc(2024, 6, 1, 1)] == (2, 1, 2, 1, 1)  # ACTIVE: the initial batch
    assert by_time[utc(2024, 6, 4)] == (3, 1, 3, 1, 1)
    assert by_time[utc(2024, 6, 6)] == (5, 1, 4, 1, 2)
    after = state.select((pl.col("Profiles") - pl.col("ProfilesMerged")).alias("x"))
    assert after.get_column("x").to_list() == state.get_column("ProfilesAfterMerge").to_list()


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        pytest.param("day", 8 + 1, id="every-midnight-plus-active"),
        pytest.param("week", 2 + 1, id="as-of-end-plus-active"),
        pytest.param("job", 2 + 1, id="only-fixed-moments"),
    ],
)
def test_snapshot_granularity(how: str, expected: int) -> None:
    tl = run(profiles([("a", "x@y", None, None)]), snapshots=how)
    times = tl.events.filter(pl.col("Kind") == "RULE_BASED_STATE").get_column("Time")
    assert times.len() == expected
    assert times.is_sorted() and times.n_unique() == times.len()
    assert times.min() == AS_OF and times.max() == AS_OF + timedelta(weeks=1)


def test_profiles_after_the_end_are_left_out_and_counted() -> None:
    frame = profiles([("a", "x@y", None, None), ("b", "x@y", None, utc(2024, 7, 1))])
    tl = run(frame)
    assert tl.counts == {"Total": 2, "PresentAtStart": 1, "ArrivingLater": 0, "AfterEnd": 1}
    assert tl.groups.is_empty() and tl.profiles.get_column("ProfileId").to_list() == ["a"]


def test_nobody_present_before_the_end_gives_an_empty_state() -> None:
    tl = run(profiles([("a", "x@y", None, utc(2024, 7, 1))]), weeks=0)
    state = tl.events.filter(pl.col("Kind") == "RULE_BASED_STATE")
    assert state.select("Time", "Profiles", "MatchGroups").rows() == [(AS_OF, 0, 0)]
    assert tl.groups.is_empty() and tl.profiles.is_empty()


def test_status_events_follow_the_schedule_module() -> None:
    tl = run(profiles([("a", "x@y", None, None)]), new_domain=False)
    status = tl.events.filter(pl.col("Kind").is_in(["STATUS", "CONFIG_UNLOCKED"]))
    expected = schedule.rule_status_timeline(as_of=AS_OF, new_domain=False)
    assert status.get_column("Time").to_list() == [
        *(p.start for p in expected.phases),
        expected.locked_until,
    ]
    assert status.get_column("Status").to_list() == ["PENDING", "IN_PROGRESS", "ACTIVE", "ACTIVE"]
    assert "change accepted" in status.get_column("Detail")[-1]


emails = st.sampled_from(["a@x", "b@x", "c@x", None])
phones = st.sampled_from(["1", "2", None])
hours = st.one_of(st.none(), st.integers(-10, 24 * 7))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(emails, phones, hours), min_size=1, max_size=12))
def test_state_equals_running_the_job_on_the_profiles_present(rows: list[tuple]) -> None:
    from idres.rulebased import run_rule_based

    arrival = [None if h is None else AS_OF + timedelta(hours=h) for _, _, h in rows]
    frame = profiles(
        [
            (f"p{i:02d}", e, p, t)
            for i, ((e, p, _), t) in enumerate(zip(rows, arrival, strict=False))
        ]
    )
    config = rb_config()
    tl = run(frame, config, snapshots="day")
    state = tl.events.filter(pl.col("Kind") == "RULE_BASED_STATE")
    for moment, present, groups, merged in state.select(
        "Time", "Profiles", "MatchGroups", "ProfilesMerged"
    ).rows():
        here = frame.filter(pl.col("LastUpdatedAt").is_null() | (pl.col("LastUpdatedAt") <= moment))
        assert present == here.height
        if moment < tl.status.active_since:
            assert (groups, merged) == (0, 0)
            continue
        result = run_rule_based(here, config.RuleBasedMatching)
        in_merge = result.groups.filter(pl.col("MergeGroupId").is_not_null())
        assert groups == result.groups.get_column("MatchId").n_unique()
        assert merged == in_merge.height - in_merge.get_column("MergeGroupId").n_unique()


def test_same_output_whatever_the_row_order(tmp_path: Path) -> None:
    frame = profiles(
        [
            ("a", "x@y", "1", None),
            ("b", "x@y", None, utc(2024, 6, 2)),
            ("c", "z@y", "1", utc(2024, 6, 3)),
            ("d", None, "1", utc(2024, 6, 4)),
        ]
    )
    first = run(frame)
    second = build_timeline(
        rb_config(),
        canonicalize(frame.sample(fraction=1.0, shuffle=True, seed=3)),
        as_of=AS_OF,
        options=first.options,
    )
    assert_frame_equal(first.events, second.events)
    assert_frame_equal(first.groups, second.groups)
    write_timeline(first, tmp_path / "one")
    write_timeline(second, tmp_path / "two")
    for name in ("timeline.json", "events.parquet", "groups.parquet", "profiles.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_outputs_keep_their_schemas() -> None:
    tl = run(profiles([("a", "x@y", None, None), ("b", "x@y", None, None)]))
    assert tl.events.schema == EVENT_SCHEMA
    assert tl.groups.schema == GROUP_SCHEMA
    assert json.loads(json.dumps(tl.to_json()))["Events"] == events_json(tl.events)


@pytest.mark.parametrize(
    ("options", "where"),
    [
        pytest.param({"weeks": -1}, "--weeks", id="negative-weeks"),
        pytest.param({"snapshots": "hour"}, "--snapshots", id="unknown-granularity"),
    ],
)
def test_bad_options_are_input_errors(options: dict, where: str) -> None:
    with pytest.raises(InputError) as err:
        run(profiles([("a", "x@y", None, None)]), **options)
    assert [p.location for p in err.value.problems] == [where]


# --- ML --------------------------------------------------------------------------------------


def ml_config(**matching: Any) -> Any:
    return parse_domain(
        {"DomainName": "demo", "Matching": {"Enabled": True, "AutoMerging": AUTO} | matching}
    )


class EmailJob:
    """Stand-in ML job: profiles sharing an email (case-insensitive) match with score 0.9 and merge."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.seen: list[list[str]] = []
        self.fail_at = fail_at

    def __call__(self, frame: pl.DataFrame, config: Any) -> Any:
        self.seen.append(frame.get_column("ProfileId").to_list())
        if self.fail_at == len(self.seen):
            raise ModelError("EM did not converge")
        keyed = frame.select("ProfileId", pl.col("EmailAddress").str.to_lowercase().alias("k"))
        keyed = keyed.filter(pl.col("k").is_not_null() & (pl.len().over("k") >= 2))
        ids = group_ids(keyed, "k")
        groups = keyed.join(ids, on="k").select(
            "ProfileId",
            pl.col("__id").alias("MatchId"),
            pl.lit(0.9).alias("ConfidenceScore"),
            pl.col("__id").alias("MergeGroupId"),
        )
        return SimpleNamespace(groups=groups, summary={})


ML_PROFILES = [
    ("a", "x@y", None, None),
    ("b", "X@y", None, utc(2024, 6, 3, 12)),  # before the first job (Mon 09:00 + 24h)
    ("c", "x@y", None, utc(2024, 6, 5)),  # joins the merged profile at the weekly job
    ("d", "q@y", None, utc(2024, 6, 9)),
    ("e", "q@y", None, utc(2024, 6, 12)),
]


def run_ml(job: EmailJob, **options: Any) -> Any:
    as_of = utc(2024, 6, 3, 9)  # a Monday
    opts = TimelineOptions(**({"weeks": 2} | options))
    return build_timeline(ml_config(), profiles(ML_PROFILES), as_of=as_of, options=opts, ml_job=job)


def test_ml_jobs_run_at_the_scheduled_times_on_the_profiles_present() -> None:
    job = EmailJob()
    tl = run_ml(job)
    assert list(tl.job_times) == schedule.next_job_times(
        ml_config(), as_of=utc(2024, 6, 3, 9), weeks=2
    )
    assert list(tl.job_times) == [utc(2024, 6, 4, 9), utc(2024, 6, 8), utc(2024, 6, 15)]
    # merged profiles take part as one profile (the survivor: the earliest updated, "a")
    assert job.seen == [["a", "b"], ["a", "c"], ["a", "d", "e"]]


def test_ml_job_stats_and_irreversible_merges() -> None:
    tl = run_ml(EmailJob())
    jobs = tl.events.filter(pl.col("Kind") == "ML_JOB")
    cols = [
        "JobNumber",
        "Profiles",
        "NumberOfProfilesReviewed",
        "NumberOfMatchesFound",
        "NumberOfMergesDone",
        "ProfilesAfterMerge",
        "ProfilesMerged",
    ]
    assert jobs.select(cols).rows() == [
        (1, 2, 2, 1, 1, 1, 1),
        (2, 3, 2, 1, 1, 1, 2),
        (3, 5, 3, 1, 1, 2, 3),
    ]
    merged = group(tl, {"a", "b", "c"}, kind="merge", job="ml")
    assert (merged["FirstFormedAt"], merged["CompletedAt"]) == (utc(2024, 6, 4, 9), utc(2024, 6, 8))
    assert (merged["FormationSteps"], merged["JobNumber"]) == (2, 2)
    assert group(tl, {"d", "e"}, kind="merge", job="ml")["JobNumber"] == 3
    at = dict(tl.profiles.select("ProfileId", "MlMergedAt").rows())
    assert at == {
        "a": utc(2024, 6, 4, 9),
        "b": utc(2024, 6, 4, 9),
        "c": utc(2024, 6, 8),
        "d": utc(2024, 6, 15),
        "e": utc(2024, 6, 15),
    }


def test_a_failed_ml_job_changes_nothing_and_the_next_one_runs() -> None:
    tl = run_ml(EmailJob(fail_at=1))
    jobs = tl.events.filter(pl.col("Kind") == "ML_JOB")
    assert jobs.get_column("Status").to_list() == ["FAILED", "COMPLETED", "COMPLETED"]
    assert "EM did not converge" in jobs.get_column("Detail")[0]
    assert jobs.get_column("NumberOfProfilesReviewed").to_list() == [2, 3, 3]


def test_without_an_ml_job_the_timeline_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "idres.mljob", None)
    tl = build_timeline(ml_config(), profiles(ML_PROFILES), as_of=AS_OF)
    assert tl.events.is_empty() and tl.job_times
    assert any("idres.mljob" in note for note in tl.notes)


def test_real_ml_job_when_available() -> None:
    pytest.importorskip("idres.mljob")
    from idres.synth import generate

    frame, _ = generate(400, seed=5)
    spread = pl.int_ranges(0, frame.height).explode() * pl.duration(minutes=40)
    frame = frame.with_columns(
        (pl.lit(AS_OF) + spread).cast(pl.Datetime("us", "UTC")).alias("LastUpdatedAt")
    )
    tl = build_timeline(ml_config(), canonicalize(frame), as_of=AS_OF)
    jobs = tl.events.filter(pl.col("Kind") == "ML_JOB")
    assert jobs.height == len(tl.job_times) >= 4
    reviewed = jobs.get_column("Profiles").to_list()
    assert reviewed == sorted(reviewed) and reviewed[-1] <= frame.height


# --- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    domain = tmp_path / "domain.json"
    domain.write_text(json.dumps({"DomainName": "demo", "RuleBasedMatching": RULES}))
    lines = [
        {"ProfileId": "a", "EmailAddress": "x@y"},
        {"ProfileId": "b", "EmailAddress": "x@y", "LastUpdatedAt": "2024-06-03T10:00:00Z"},
    ]
    data = tmp_path / "profiles.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return domain, data


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    import idres.cli.timeline  # noqa: F401  (registers the command)
    from idres.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_the_timeline(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from idres.cli._common import console

    monkeypatch.setattr(console, "width", 160)
    code, out, _ = cli(
        ["timeline", *map(str, files), "--as-of", "2024-06-01", "--weeks", "1"], capsys
    )
    assert code == 0
    assert "Timeline (UTC)" in out and "config locked" in out
    assert "2024-06-03 10:00" in out  # the group forms when b arrives


def test_cli_json_and_out(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "tl"
    argv = ["timeline", *map(str, files), "--as-of", "2024-06-01", "--new-domain", "--json"]
    code, out, _ = cli([*argv, "--out", str(out_dir)], capsys)
    assert code == 0
    events = json.loads(out)
    assert events[0] == {
        "Time": "2024-06-01T00:00:00Z",
        "Kind": "STATUS",
        "Job": "rule-based",
        "Status": "IN_PROGRESS",
        "Detail": events[0]["Detail"],
    }
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "events.parquet",
        "groups.parquet",
        "profiles.parquet",
        "timeline.json",
    ]
    assert json.loads((out_dir / "timeline.json").read_text())["Events"] == events
    code, _, err = cli([*argv, "--out", str(out_dir)], capsys)
    assert code == 2 and "not empty" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--as-of", "soon"], "--as-of", id="bad-as-of"),
        pytest.param([], "--as-of", id="missing-as-of"),
        pytest.param(["--as-of", "2024-06-01", "--weeks", "-1"], "--weeks", id="negative-weeks"),
    ],
)
def test_cli_bad_input_exits_2(
    files: tuple[Path, Path], extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(["timeline", *map(str, files), *extra], capsys)
    assert code == 2 and message in err


def test_cli_missing_profile_file_exits_2(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(
        ["timeline", str(files[0]), str(tmp_path / "none.jsonl"), "--as-of", "2024-06-01"], capsys
    )
    assert code == 2 and "none.jsonl" in err
