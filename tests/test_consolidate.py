"""AutoMerging, SPEC §5: criteria in order over consolidated profiles, by hand, then invariants."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idres import schema
from idres.config import ConflictResolution
from idres.consolidate import consolidate, criterion_keys, eligible_profiles
from idres.ids import match_id

RECENCY = ConflictResolution(ConflictResolvingModel="RECENCY")
SOURCE_CRM = ConflictResolution(ConflictResolvingModel="SOURCE", SourceName="CRM")


def day(d: int | None) -> dt.datetime | None:
    return None if d is None else dt.datetime(2024, 1, d, tzinfo=dt.UTC)


def profiles(**rows: dict[str, Any]) -> pl.DataFrame:
    """A flat profile table: keyword = ProfileId; ``t`` is the LastUpdatedAt day, ``src`` the source."""
    filled = [
        {
            schema.PROFILE_ID: pid,
            schema.SOURCE: r.get("src"),
            schema.UPDATED: day(r.get("t")),
            **{k: v for k, v in r.items() if k not in ("t", "src")},
        }
        for pid, r in rows.items()
    ]
    columns = list(dict.fromkeys(k for r in filled for k in r))
    types = {c: pl.String for c in columns} | {schema.UPDATED: schema.TIMESTAMP_DTYPE}
    return pl.DataFrame({c: [r.get(c) for r in filled] for c in columns}, schema=types)


def match_groups(*members: str, scores: tuple[float, ...] | None = None) -> pl.DataFrame:
    """Match groups from strings of one-letter ProfileIds ("abc" = a, b and c in one group)."""
    scores = scores or tuple(0.99 for _ in members)
    rows = [
        (p, f"m{i}", s) for i, (ids, s) in enumerate(zip(members, scores, strict=True)) for p in ids
    ]
    return pl.DataFrame(rows, schema=["ProfileId", "MatchId", "ConfidenceScore"], orient="row")


def merged_sets(result: Any) -> set[frozenset[str]]:
    grouped = result.assignment.group_by("MergeGroupId").agg(pl.col("ProfileId"))
    return {frozenset(ids) for ids in grouped.get_column("ProfileId").to_list()}


def test_and_inside_a_criterion() -> None:
    p = profiles(
        a={"FirstName": "Ann", "LastName": "Li"},
        b={"FirstName": "ann ", "LastName": "LI"},
        c={"FirstName": "Ann", "LastName": "Wu"},
        d={"FirstName": "Ann"},
    )
    out = consolidate(p, match_groups("abcd"), [["FirstName", "LastName"]])
    assert merged_sets(out) == {frozenset("ab")}
    assert out.criteria.select("MergeGroups", "ProfilesMerged").row(0) == (1, 2)


# a and b share an email, a and c a phone; b is newer than a, c newer than both.
ORDER = profiles(
    a={"EmailAddress": "x@mail.io", "PhoneNumber": "111-555-0000", "t": 1},
    b={"EmailAddress": "X@mail.io", "PhoneNumber": "222-555-0000", "t": 2},
    c={"EmailAddress": "z@mail.io", "PhoneNumber": "(111) 555-0000", "t": 3},
)


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        pytest.param([["EmailAddress"], ["PhoneNumber"]], {frozenset("ab")}, id="email-first"),
        pytest.param([["PhoneNumber"], ["EmailAddress"]], {frozenset("ac")}, id="phone-first"),
    ],
)
def test_criteria_order_matters_and_later_ones_see_resolved_values(
    criteria: list[list[str]], expected: set[frozenset[str]]
) -> None:
    # email first: a+b keep b's newer phone, which no longer agrees with c; phone first: a+c keep
    # c's newer email, which no longer agrees with b. Comparing the originals would merge all three.
    out = consolidate(ORDER, match_groups("abc"), criteria, resolution=RECENCY)
    assert merged_sets(out) == expected


def test_a_later_criterion_merges_a_consolidated_profile_on_its_resolved_value() -> None:
    p = profiles(
        a={"EmailAddress": "x@mail.io", "LastName": "Li", "t": 1},
        b={"EmailAddress": "x@mail.io", "LastName": "Lee", "t": 5},
        c={"LastName": "lee", "t": 2},
    )
    out = consolidate(p, match_groups("abc"), [["EmailAddress"], ["LastName"]])
    assert merged_sets(out) == {frozenset("abc")}
    assert out.criteria.get_column("ProfilesMerged").to_list() == [2, 2]
    assert out.criteria.get_column("OriginalProfiles").to_list() == [2, 3]
    assert out.merge is not None
    row = out.merge.merged.row(0, named=True)
    assert row["MergedProfileIds"] == ["a", "b", "c"]


def test_criteria_act_as_or() -> None:
    p = profiles(
        a={"EmailAddress": "x@mail.io"},
        b={"EmailAddress": "x@mail.io"},
        c={"PhoneNumber": "5550100"},
        d={"PhoneNumber": "5550100"},
    )
    out = consolidate(p, match_groups("abcd"), [["EmailAddress"], ["PhoneNumber"]])
    assert merged_sets(out) == {frozenset("ab"), frozenset("cd")}


def test_groups_under_the_threshold_never_merge() -> None:
    p = profiles(**{k: {"FirstName": "Ann"} for k in "abcd"})
    groups = match_groups("ab", "cd", scores=(0.95, 0.85))
    assert merged_sets(consolidate(p, groups, [["FirstName"]], min_confidence=0.9)) == {
        frozenset("ab")
    }
    assert merged_sets(consolidate(p, groups, [["FirstName"]], min_confidence=0.85)) == {
        frozenset("ab"),
        frozenset("cd"),
    }
    # no threshold: every match group is a candidate
    assert len(merged_sets(consolidate(p, groups, [["FirstName"]]))) == 2


def test_profiles_in_different_match_groups_never_merge_even_if_they_agree() -> None:
    p = profiles(**{k: {"FirstName": "Ann", "LastName": "Li"} for k in "abcde"})
    out = consolidate(p, match_groups("ab", "cd"), [["FirstName", "LastName"]])
    assert merged_sets(out) == {frozenset("ab"), frozenset("cd")}  # e is in no group


@pytest.mark.parametrize(
    ("resolution", "first_name", "merges_c"),
    [
        pytest.param(RECENCY, "Anne", False, id="recency"),
        pytest.param(SOURCE_CRM, "Ann", True, id="source"),
    ],
)
def test_source_versus_recency_through_consolidation(
    resolution: ConflictResolution, first_name: str, merges_c: bool
) -> None:
    p = profiles(
        a={"FirstName": "Ann", "EmailAddress": "x@mail.io", "src": "CRM", "t": 1},
        b={"FirstName": "Anne", "EmailAddress": "x@mail.io", "src": "Web", "t": 2},
        c={"FirstName": "ann", "src": "Web", "t": 3},
    )
    out = consolidate(
        p, match_groups("abc"), [["EmailAddress"], ["FirstName"]], resolution=resolution
    )
    assert out.merge is not None
    assert out.merge.merged.item(0, "FirstName") == first_name
    assert (frozenset("abc") in merged_sets(out)) is merges_c


def test_missing_values_never_agree() -> None:
    p = profiles(a={"FirstName": "Ann"}, b={"FirstName": "Ann"}, c={"FirstName": None})
    out = consolidate(p, match_groups("abc"), [["FirstName", "BirthDate"]])
    assert out.assignment.is_empty() and out.merge is None
    assert out.criteria.row(0, named=True)["MergeGroups"] == 0


@pytest.mark.parametrize(
    ("attribute", "left", "right", "agree"),
    [
        pytest.param("EmailAddress", "A@X.io ", "a@x.io", True, id="email-case-and-space"),
        pytest.param("PhoneNumber", "+1 555-010-0000", "(555) 010-0000", True, id="phone-format"),
        pytest.param("Attributes.Tier", " Gold", "gold", True, id="custom-attribute"),
        pytest.param("GenderString", "Female", "FEMALE ", True, id="gender-string"),
        pytest.param("Address.City", "New  York", "new york", True, id="address-part"),
        pytest.param("BirthDate", "1980-01-05", "01/05/1980", True, id="birth-date-format"),
        pytest.param("LastName", "Li", "Lee", False, id="different"),
    ],
)
def test_values_are_normalized_before_comparing(
    attribute: str, left: str, right: str, agree: bool
) -> None:
    frame = pl.DataFrame({attribute: [left, right]})
    keys = criterion_keys(frame, [attribute])
    assert keys.null_count() == 0
    assert (keys[0] == keys[1]) is agree


def test_a_whole_address_agrees_on_every_component() -> None:
    frame = pl.DataFrame(
        {
            "ShippingAddress.Address1": ["1 Main St", "1 main st.", "1 Main St", None],
            "ShippingAddress.City": ["Oslo", "OSLO", "Oslo", None],
            "ShippingAddress.County": [None, None, "Viken", None],
        }
    )
    keys = criterion_keys(frame, ["ShippingAddress"])
    assert keys[0] == keys[1] != keys[2]  # a component on one side only is a difference
    assert keys[3] is None  # no component at all: missing
    assert criterion_keys(frame, ["BillingAddress"]).null_count() == 4  # absent columns: missing


def test_merge_group_ids_are_the_match_ids_of_the_original_members() -> None:
    p = profiles(a={"FirstName": "Ann"}, b={"FirstName": "Ann"}, c={"FirstName": "Bo"})
    out = consolidate(p, match_groups("abc"), [["FirstName"]])
    assert out.assignment.rows() == [("a", match_id(["a", "b"])), ("b", match_id(["a", "b"]))]
    assert (out.profiles_merged, out.merge_groups, out.candidates, out.candidate_groups) == (
        2,
        1,
        3,
        1,
    )


def test_eligible_profiles_skip_groups_of_one_and_profiles_in_none() -> None:
    g = pl.DataFrame(
        {
            "ProfileId": ["a", "b", "c", "d"],
            "MatchId": ["m", "m", "n", None],
            "ConfidenceScore": [0.9, 0.9, 0.9, None],
        }
    )
    assert eligible_profiles(g, None).get_column("ProfileId").to_list() == ["a", "b"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.sampled_from(["ann", "bo", None]), min_size=2, max_size=12),
    mails=st.lists(st.sampled_from(["x@a.io", "y@a.io", None]), min_size=12, max_size=12),
    group_of=st.lists(st.integers(0, 2), min_size=12, max_size=12),
    days=st.lists(st.integers(1, 28), min_size=12, max_size=12),
)
def test_merges_stay_inside_match_groups_and_partition_them(
    names: list[str | None], mails: list[str | None], group_of: list[int], days: list[int]
) -> None:
    n = len(names)
    ids = [f"p{i:02d}" for i in range(n)]
    p = profiles(
        **{
            pid: {"FirstName": names[i], "EmailAddress": mails[i], "t": days[i]}
            for i, pid in enumerate(ids)
        }
    )
    groups = pl.DataFrame(
        {"ProfileId": ids, "MatchId": [f"m{g}" for g in group_of[:n]], "ConfidenceScore": 0.95}
    )
    out = consolidate(p, groups, [["FirstName"], ["EmailAddress"]])
    joined = out.assignment.join(groups, on="ProfileId")
    assert joined.group_by("MergeGroupId").agg(pl.col("MatchId").n_unique())["MatchId"].max() in (
        None,
        1,
    )
    assert out.assignment.get_column("ProfileId").is_unique().all()
    if out.merge is not None:
        members = out.merge.merged.get_column("MergedProfileIds").explode()
        assert sorted(members.to_list()) == out.assignment.get_column("ProfileId").to_list()
        # every merged pair agreed on something: a merged profile has two or more members
        assert out.merge.merged.get_column("MergedProfileIds").list.len().min() >= 2
