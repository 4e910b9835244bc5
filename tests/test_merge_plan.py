"""FieldSourceProfileIds, the MergeProfiles plan and the nested merged profiles (SPEC §6, §7).

Requests are checked with botocore's own model and validator (no hand copy of the API shape), and
replayed through a small simulation of MergeProfiles as the API documentation describes it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import botocore.session
import polars as pl
import pytest
from botocore.validate import ParamValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from idres import schema
from idres.errors import ConfigError
from idres.merge import STANDARD_FIELDS
from idres.merge_long import MergeOutcome, merge_profiles
from idres.merge_plan import (
    FIELD_SOURCE_KEYS,
    field_sources_frame,
    merge_plan,
    merge_plan_lines,
    merged_json_lines,
    merged_nested,
)

UTC = dt.UTC


@pytest.fixture(scope="module")
def operation() -> Any:
    model = botocore.session.get_session().get_service_model("customer-profiles")
    return model.operation_model("MergeProfiles")


def hexid(i: int) -> str:
    return f"{i:032x}"


def table(rows: list[dict[str, Any]]) -> pl.DataFrame:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    types = {c: schema.TIMESTAMP_DTYPE if c == schema.UPDATED else pl.String for c in columns}
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in columns}, schema=types)


def day(d: int) -> dt.datetime:
    return dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(days=d)


def merge_all(p: pl.DataFrame, **kw: Any) -> MergeOutcome:
    g = p.select("ProfileId", pl.lit("g").alias("MergeGroupId"))
    return merge_profiles(p, g, **kw)


def check_request(operation: Any, request: dict[str, Any]) -> None:
    """botocore's validation plus the constraints it does not check (pattern, max length)."""
    shape = operation.input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    members = shape.members
    assert len(request["ProfileIdsToBeMerged"]) <= members["ProfileIdsToBeMerged"].metadata["max"]
    assert re.fullmatch(members["MainProfileId"].metadata["pattern"], request["MainProfileId"])
    item = members["ProfileIdsToBeMerged"].member.metadata["pattern"]
    assert all(re.fullmatch(item, i) for i in request["ProfileIdsToBeMerged"])
    assert re.fullmatch(members["DomainName"].metadata["pattern"], request["DomainName"])
    sources = request.get("FieldSourceProfileIds", {})
    field_shapes = members["FieldSourceProfileIds"].members
    for key, value in sources.items():
        if key == "Attributes":
            assert all(
                re.fullmatch(field_shapes[key].value.metadata.get("pattern", ".*"), v)
                for v in value.values()
            )
        else:
            assert re.fullmatch(field_shapes[key].metadata["pattern"], value)


def test_field_source_keys_are_the_api_members(operation: Any) -> None:
    field_shapes = operation.input_shape.members["FieldSourceProfileIds"].members
    assert set(FIELD_SOURCE_KEYS) <= set(field_shapes)
    assert field_shapes["Attributes"].type_name == "map"
    folded = {"PartyTypeString": "PartyType", "GenderString": "Gender"}
    assert {folded.get(f, f) for f in STANDARD_FIELDS} == set(FIELD_SOURCE_KEYS) - {"Attributes"}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [{"Gender": "FEMALE", "t": 3}, {"GenderString": "female", "t": 1}],
            {"Gender": 1},
            id="GenderString-wins-the-key",
        ),
        pytest.param(
            [{"Gender": "MALE", "t": 1}, {"Gender": "FEMALE", "t": 2}],
            {"Gender": 1},
            id="Gender-only",
        ),
        pytest.param(
            [{"PartyTypeString": "Org", "t": 1}, {"PartyType": "INDIVIDUAL", "t": 2}],
            {"PartyType": 0},
            id="PartyTypeString-wins-the-key",
        ),
    ],
)
def test_string_variants_fold(rows: list[dict[str, Any]], expected: dict[str, int]) -> None:
    p = table(
        [{"ProfileId": hexid(i), schema.UPDATED: day(r.pop("t")), **r} for i, r in enumerate(rows)]
    )
    out = merge_all(p)
    got = json.loads(out.field_sources.item(0, "FieldSourceProfileIds"))
    assert got == {k: hexid(v) for k, v in expected.items()}


def test_small_plan_is_valid(operation: Any) -> None:
    p = table(
        [
            {"ProfileId": hexid(1), "FirstName": "A", schema.UPDATED: day(1)},
            {
                "ProfileId": hexid(2),
                "FirstName": "B",
                "Attributes.Tier": "gold",
                schema.UPDATED: day(2),
            },
        ]
    )
    out = merge_all(p, domain_name="my-domain")
    assert out.plan == [
        {
            "DomainName": "my-domain",
            "MainProfileId": hexid(1),
            "ProfileIdsToBeMerged": [hexid(2)],
            "FieldSourceProfileIds": {"FirstName": hexid(2), "Attributes": {"Tier": hexid(2)}},
        }
    ]
    check_request(operation, out.plan[0])
    assert merge_plan(out, domain_name="my-domain") == out.plan


def test_large_group_is_chunked(operation: Any) -> None:
    # 45 profiles: the oldest (0) survives; the others are merged 20 at a time, in id order.
    rows = [{"ProfileId": hexid(i), schema.UPDATED: day(i)} for i in range(45)]
    rows[0]["FirstName"] = "main"  # only the main profile has a FirstName
    rows[3]["LastName"] = "first chunk"
    rows[30]["Attributes.Tier"] = "second chunk"
    rows[44]["Attributes.Tier"] = "third chunk, latest"
    rows[25]["Attributes.Team"] = "second chunk"
    out = merge_all(table(rows))
    plan = out.plan
    assert [len(r["ProfileIdsToBeMerged"]) for r in plan] == [20, 20, 4]
    assert {r["MainProfileId"] for r in plan} == {hexid(0)}
    assert [i for r in plan for i in r["ProfileIdsToBeMerged"]] == [hexid(i) for i in range(1, 45)]
    assert plan[0]["FieldSourceProfileIds"] == {"FirstName": hexid(0), "LastName": hexid(3)}
    assert plan[1]["FieldSourceProfileIds"] == {"Attributes": {"Team": hexid(25)}}
    assert plan[2]["FieldSourceProfileIds"] == {"Attributes": {"Tier": hexid(44)}}
    for request in plan:
        check_request(operation, request)


def test_request_without_entries_leaves_field_sources_out(operation: Any) -> None:
    rows = [{"ProfileId": hexid(i), schema.UPDATED: day(i)} for i in range(25)]
    rows[0]["FirstName"] = "only the main profile has fields"
    plan = merge_all(table(rows)).plan
    assert "FieldSourceProfileIds" not in plan[1]
    for request in plan:
        check_request(operation, request)


def test_bad_domain_name() -> None:
    out = merge_all(table([{"ProfileId": "a"}, {"ProfileId": "b"}]))
    with pytest.raises(ConfigError, match="DomainName"):
        merge_plan(out, domain_name="no spaces")


# --- replaying the plan as MergeProfiles documents it ---------------------------------------------

SCALARS = ("FirstName", "LastName")
ADDRESS = ("Address.City", "Address.PostalCode")
ATTRIBUTES = ("Attributes.A", "Attributes.B")


def replay(p: pl.DataFrame, plan: list[dict[str, Any]], pick: int) -> dict[str, dict[str, Any]]:
    """Apply MergeProfiles: a listed profile's value is taken even if null; otherwise fields are
    union-ed and the main profile's value wins a conflict (`pick` chooses among the merged ones
    where the main has none: AWS leaves it open, so the plan must not depend on it)."""
    state: dict[str, dict[str, Any]] = {}
    for r in p.iter_rows(named=True):
        attrs = {c.split(".", 1)[1]: r.get(c) for c in ATTRIBUTES if r.get(c) is not None}
        address = {c.split(".", 1)[1]: r[c] for c in ADDRESS if r.get(c) is not None}
        state[r["ProfileId"]] = {
            **{k: r.get(k) for k in SCALARS},
            "Address": address or None,
            "Attributes": attrs,
        }
    for request in plan:
        main = state[request["MainProfileId"]]
        others = [state[i] for i in request["ProfileIdsToBeMerged"]]
        sources = request.get("FieldSourceProfileIds", {})
        for key in (*SCALARS, "Address"):
            if key in sources:
                main[key] = state[sources[key]][key]
            elif main[key] is None and (values := [o[key] for o in others if o[key] is not None]):
                main[key] = values[pick]
        for key in {k for o in others for k in o["Attributes"]} | set(main["Attributes"]):
            chosen = sources.get("Attributes", {})
            if key in chosen:
                main["Attributes"][key] = state[chosen[key]]["Attributes"].get(key)
            elif key not in main["Attributes"]:
                values = [o["Attributes"][key] for o in others if key in o["Attributes"]]
                main["Attributes"][key] = values[pick]
        for i in request["ProfileIdsToBeMerged"]:
            del state[i]
    return state


@given(
    st.integers(2, 45),
    st.data(),
)
@settings(max_examples=40, deadline=None)
def test_replaying_the_plan_gives_the_merged_profile(n: int, data: st.DataObject) -> None:
    value = st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))
    rows = [
        {
            "ProfileId": hexid(data.draw(st.integers(0, 2**20)) * 64 + i),
            schema.UPDATED: day(data.draw(st.integers(0, 5))),
            **{c: data.draw(value) for c in (*SCALARS, *ADDRESS, *ATTRIBUTES)},
        }
        for i in range(n)
    ]
    p = table(rows)
    out = merge_all(p)
    merged = out.merged.row(0, named=True)
    for pick in (0, -1):
        final = replay(p, out.plan, pick)
        assert set(final) == {merged["ProfileId"]}
        got = final[merged["ProfileId"]]
        for key in SCALARS:
            assert got[key] == merged[key]
        address = {c.split(".", 1)[1]: merged[c] for c in ADDRESS if merged[c] is not None}
        assert (got["Address"] or None) == (address or None)
        attrs = {c.split(".", 1)[1]: merged[c] for c in ATTRIBUTES if merged[c] is not None}
        assert {k: v for k, v in got["Attributes"].items() if v is not None} == attrs


# --- nested shape ---------------------------------------------------------------------------------


def test_merged_nested_shape() -> None:
    p = table(
        [
            {
                "ProfileId": "a",
                "FirstName": "Ann",
                "ShippingAddress.City": "Oslo",
                schema.SOURCE: "crm",
                schema.UPDATED: day(1),
            },
            {
                "ProfileId": "b",
                "FirstName": "Anne",
                "Attributes.Tier": 'gold "plus"',
                "LastName": None,
                schema.UPDATED: day(2),
            },
            {"ProfileId": "c", "LastName": "Untouched", schema.UPDATED: day(0)},
        ]
    )
    out = merge_profiles(p, pl.DataFrame({"ProfileId": ["a", "b"], "MergeGroupId": [7, 7]}))
    [profile] = merged_nested(out)
    assert profile == {
        "ProfileId": "a",
        "FirstName": "Anne",
        "ShippingAddress": {"City": "Oslo"},
        "Attributes": {"Tier": 'gold "plus"'},
        "SourceObjectType": "crm",
        "LastUpdatedAt": "2024-01-03T00:00:00+00:00",
        "MergedProfileIds": ["a", "b"],
        "FieldSourceProfileIds": {
            "FirstName": "b",
            "ShippingAddress": "a",
            "Attributes": {"Tier": "b"},
        },
        "FieldProvenance": {
            "FirstName": {"UpdatedAt": "2024-01-03T00:00:00+00:00", "Source": None},
            "ShippingAddress": {"UpdatedAt": "2024-01-02T00:00:00+00:00", "Source": "crm"},
            "Attributes.Tier": {"UpdatedAt": "2024-01-03T00:00:00+00:00", "Source": None},
        },
    }
    lines = merged_json_lines(out)
    assert [json.loads(line) for line in lines] == [profile]


def test_merged_nested_of_nothing() -> None:
    out = merge_profiles(
        table([{"ProfileId": "a"}]), pl.DataFrame({"ProfileId": ["a"], "MergeGroupId": [1]})
    )
    assert (merged_nested(out), out.plan) == ([], [])


def test_plan_lines_are_the_plan() -> None:
    rows = [{"ProfileId": hexid(i), "FirstName": str(i), schema.UPDATED: day(i)} for i in range(30)]
    out = merge_all(table(rows))
    lines = merge_plan_lines(out, domain_name="d")
    assert [json.loads(line) for line in lines] == merge_plan(out, domain_name="d")


def test_field_sources_frame_sorts_its_input() -> None:
    f = pl.DataFrame(
        {
            "ProfileId": ["b", "a", "a", "a"],
            "Field": ["FirstName", "Attributes.Tier", "PartyTypeString", "PartyType"],
            "Value": ["x", "y", "z", "w"],
            "SourceProfileId": ["b", "c", "d", "e"],
        }
    )
    got = field_sources_frame(f, ids=pl.Series(["b", "a", "z"]))
    assert got.rows() == [
        ("a", '{"PartyType":"d","Attributes":{"Tier":"c"}}'),
        ("b", '{"FirstName":"b"}'),
        ("z", "{}"),
    ]
