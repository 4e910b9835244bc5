"""Merging flat profile tables (idres.merge_long): survivors, record columns, bad groups, chained
merges, and the invariants of an outcome. Conflict resolution itself is tested in test_merge.py,
whose table helpers these tests share."""

from __future__ import annotations

import random
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from idres import schema
from idres.errors import InputError, ProfileError
from idres.field_rows import from_fields
from idres.merge_long import merge_profiles
from tests.test_merge import day, group_table, groups, merged_row, profile_tables, profiles, source


@pytest.mark.parametrize(
    ("days", "ids", "survivor"),
    [
        pytest.param([3, 1, 2], ["a", "b", "c"], "b", id="earliest-updated"),
        pytest.param([2, 2, 5], ["z", "y", "x"], "y", id="tie-smallest-id"),
        pytest.param([1, None, None], ["a", "c", "b"], "b", id="untimed-is-oldest"),
    ],
)
def test_survivor(days: list[int | None], ids: list[str], survivor: str) -> None:
    p = profiles(
        *({"ProfileId": i, "t": d, "FirstName": i} for i, d in zip(ids, days, strict=True))
    )
    row = merged_row(p)
    assert row["ProfileId"] == survivor
    assert row["MergedProfileIds"] == sorted(ids)


def test_record_columns_of_the_merged_profile() -> None:
    p = profiles(
        {"t": 1, "src": "crm", "FirstName": "A"}, {"t": 7, "src": "web", "FirstName": "B"}
    ).with_columns(pl.Series("Note", [10, 20]))
    row = merged_row(p)
    assert (row[schema.SOURCE], row[schema.UPDATED], row["Note"]) == ("crm", day(7), 10)


def test_singletons_and_null_groups_merge_nothing() -> None:
    p = profiles({"FirstName": "A"}, {"FirstName": "B"}, {"FirstName": "C"})
    g = pl.DataFrame({"ProfileId": ["p0", "p1", "p2"], "MergeGroupId": [1, None, 2]})
    out = merge_profiles(p, g)
    assert (out.merged.height, out.untouched, out.plan) == (0, 3, [])


@pytest.mark.parametrize(
    ("g", "message"),
    [
        pytest.param(groups(["p0", "nope"]), "unknown ProfileId", id="unknown-id"),
        pytest.param(groups(["p0", "p1"], ["p1", "p2"]), "more than one row", id="two-groups"),
        pytest.param(pl.DataFrame({"ProfileId": ["p0"]}), "MergeGroupId", id="missing-column"),
    ],
)
def test_bad_groups(g: pl.DataFrame, message: str) -> None:
    p = profiles({"FirstName": "A"}, {"FirstName": "B"}, {"FirstName": "C"})
    with pytest.raises(InputError, match=message):
        merge_profiles(p, g)


def test_duplicate_profile_ids() -> None:
    p = profiles({"ProfileId": "a"}, {"ProfileId": "a"})
    with pytest.raises(ProfileError, match="duplicate ProfileId"):
        merge_profiles(p, groups(["a"]))


def test_second_merge_compares_field_timestamps_not_record_timestamps() -> None:
    p = profiles(
        {"ProfileId": "a", "t": 1, "FirstName": "Old"},
        {"ProfileId": "b", "t": 5, "LastName": "Lee"},
        {"ProfileId": "c", "t": 3, "FirstName": "New"},
    )
    first = merge_profiles(p, groups(["a", "b"]))
    assert first.merged.item(0, schema.UPDATED) == day(5)  # record newer than c ...
    second = merge_profiles(
        first.consolidated, groups(["a", "c"]), fields=first.consolidated_fields
    )
    row = second.merged.row(0, named=True)
    assert (row["FirstName"], row["LastName"]) == ("New", "Lee")  # ... its FirstName is not
    assert row["MergedProfileIds"] == ["a", "b", "c"]
    assert second.untouched == 0
    kept = second.fields.filter(pl.col("Field") == "FirstName").row(0, named=True)
    assert (kept["UpdatedAt"], kept["SourceProfileId"]) == (day(3), "c")
    # The survivor compares record timestamps: c (day 3) is older than the merged a+b (day 5).
    assert (row["ProfileId"], second.plan[0]["ProfileIdsToBeMerged"]) == ("c", ["a", "b"])


def test_chained_outcome_is_cumulative() -> None:
    p = profiles(*({"FirstName": str(i)} for i in range(5)))
    first = merge_profiles(p, groups(["p0", "p1"]))
    second = merge_profiles(
        first.consolidated, groups(["p2", "p3"]), fields=first.consolidated_fields
    )
    assert second.merged.get_column("MergedProfileIds").to_list() == [["p0", "p1"], ["p2", "p3"]]
    assert second.untouched == 1
    assert second.fields.get_column("ProfileId").unique().sort().to_list() == ["p0", "p2"]


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_every_profile_in_exactly_one_output(data: st.DataObject) -> None:
    p = data.draw(profile_tables())
    g = group_table(data.draw, p)
    out = merge_profiles(p, g)
    ids = out.consolidated.get_column("MergedProfileIds").explode().to_list()
    assert sorted(ids) == sorted(p.get_column("ProfileId").to_list())
    in_merged = out.merged.get_column("MergedProfileIds").explode().len()
    assert in_merged + out.untouched == p.height
    sizes = g.group_by("MergeGroupId").len().filter(pl.col("MergeGroupId").is_not_null())
    assert out.merged.height == sizes.filter(pl.col("len") >= 2).height


@given(st.data(), st.sampled_from([None, "crm"]), st.randoms(use_true_random=False))
@settings(max_examples=60, deadline=None)
def test_row_order_changes_nothing(
    data: st.DataObject, prefer: str | None, rnd: random.Random
) -> None:
    p = data.draw(profile_tables())
    g = group_table(data.draw, p)
    kw: dict[str, Any] = {"resolution": None if prefer is None else source(prefer)}
    a = merge_profiles(p, g, **kw)
    order = list(range(p.height))
    rnd.shuffle(order)
    b = merge_profiles(p[order], g[order[::-1]], **kw)
    for name in ("merged", "fields", "field_sources", "consolidated"):
        assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.plan == b.plan
    assert_frame_equal(a.consolidated_fields.collect(), b.consolidated_fields.collect())


def test_outcome_parts_agree() -> None:
    p = profiles({"t": 1, "FirstName": "A"}, {"t": 2, "FirstName": "B"}, {"t": 3, "LastName": "C"})
    out = merge_profiles(p, groups(["p0", "p1"]))
    assert out.others.get_column("ProfileId").to_list() == ["p2"]
    assert out.consolidated.get_column("ProfileId").to_list() == ["p0", "p2"]
    long = out.consolidated_fields.collect()
    assert long.select("ProfileId", "Field", "Value").rows() == [
        ("p0", "FirstName", "B"),
        ("p2", "LastName", "C"),
    ]
    assert_frame_equal(from_fields(long, template=out.consolidated), out.consolidated)
