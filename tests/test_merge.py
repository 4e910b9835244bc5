"""Merging and conflict resolution, SPEC §6: hand-made cases per rule, then invariants."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from idres import schema
from idres.errors import InputError
from idres.field_rows import from_fields, to_fields
from idres.merge import (
    FIELD_COLUMNS,
    json_string,
    merge_profiles,
    resolve,
    resolve_fields,
)

UTC = dt.UTC
RECENCY = SimpleNamespace(ConflictResolvingModel="RECENCY", SourceName=None)


def day(d: int | None) -> dt.datetime | None:
    return None if d is None else dt.datetime(2024, 1, d, tzinfo=UTC)


def source(name: str) -> Any:
    return SimpleNamespace(ConflictResolvingModel="SOURCE", SourceName=name)


def profiles(*rows: dict[str, Any]) -> pl.DataFrame:
    """A flat profile table from rows; ``t`` is the LastUpdatedAt day, ``src`` the source."""
    filled = [
        {
            "ProfileId": r.get("ProfileId", f"p{i}"),
            schema.SOURCE: r.get("src"),
            schema.UPDATED: day(r.get("t")),
            **{k: v for k, v in r.items() if k not in ("ProfileId", "t", "src")},
        }
        for i, r in enumerate(rows)
    ]
    columns = list(dict.fromkeys(k for r in filled for k in r))
    types = {c: pl.String for c in columns} | {schema.UPDATED: schema.TIMESTAMP_DTYPE}
    return pl.DataFrame({c: [r.get(c) for r in filled] for c in columns}, schema=types)


def groups(*members: list[str]) -> pl.DataFrame:
    rows = [(p, g) for g, ids in enumerate(members) for p in ids]
    return pl.DataFrame(rows, schema=["ProfileId", "MergeGroupId"], orient="row")


def one_group(p: pl.DataFrame) -> pl.DataFrame:
    return groups(p.get_column("ProfileId").to_list())


def merged_row(p: pl.DataFrame, g: pl.DataFrame | None = None, **kw: Any) -> dict[str, Any]:
    out = merge_profiles(p, one_group(p) if g is None else g, **kw)
    assert out.merged.height == 1
    return out.merged.row(0, named=True)


def field_row(p: pl.DataFrame, name: str, **kw: Any) -> dict[str, Any]:
    out = merge_profiles(p, one_group(p), **kw)
    return out.fields.filter(pl.col("Field") == name).row(0, named=True)


# --- RECENCY -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resolution", [pytest.param(None, id="default"), pytest.param(RECENCY, id="RECENCY")]
)
def test_recency_latest_value_wins(resolution: Any) -> None:
    p = profiles(
        {"t": 1, "FirstName": "Old"}, {"t": 3, "FirstName": "New"}, {"t": 2, "FirstName": "Mid"}
    )
    row = field_row(p, "FirstName", resolution=resolution)
    assert (row["Value"], row["UpdatedAt"], row["SourceProfileId"]) == ("New", day(3), "p1")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [{"t": 1, "LastName": "Keep"}, {"t": 5, "FirstName": "B"}, {"t": 5, "FirstName": "A"}],
            "p1",
            id="tie-smallest-source-profile-id",
        ),
        pytest.param(
            [{"t": 5, "FirstName": "Z"}, {"t": 5, "FirstName": "A"}, {"t": 5, "FirstName": "M"}],
            "p0",
            id="tie-survivor-value",
        ),
        pytest.param(
            [{"t": None, "FirstName": "Z"}, {"t": None, "FirstName": "A"}],
            "p0",
            id="tie-all-untimed",
        ),
    ],
)
def test_recency_ties(rows: list[dict[str, Any]], expected: str) -> None:
    assert field_row(profiles(*rows), "FirstName")["SourceProfileId"] == expected


def test_tie_prefers_the_survivors_value() -> None:
    # Without LastUpdatedAt in groups, b survives (its latest field is older than a's) and keeps
    # its FirstName on a timestamp tie, although a's ProfileId is smaller.
    f = pl.DataFrame(
        {
            "ProfileId": ["a", "a", "b"],
            "Field": ["FirstName", "LastName", "FirstName"],
            "Value": ["A", "Lee", "B"],
            "UpdatedAt": [day(2), day(5), day(2)],
        }
    )
    out = resolve_fields(f, groups(["a", "b"]))
    assert out.select("ProfileId", "Field", "Value").rows() == [
        ("b", "FirstName", "B"),
        ("b", "LastName", "Lee"),
    ]


def test_missing_timestamp_sorts_oldest() -> None:
    p = profiles({"t": None, "FirstName": "Untimed"}, {"t": 1, "FirstName": "Timed"})
    assert field_row(p, "FirstName")["Value"] == "Timed"


def test_missing_value_never_wins() -> None:
    p = profiles({"t": 1, "FirstName": "Ann"}, {"t": 9, "FirstName": None, "LastName": "Lee"})
    assert merged_row(p)["FirstName"] == "Ann"


def test_blank_value_is_missing() -> None:
    p = profiles({"t": 1, "FirstName": "Ann"}, {"t": 9, "FirstName": "  ", "LastName": "Lee"})
    assert merged_row(p)["FirstName"] == "Ann"


def test_equal_values_keep_latest_timestamp() -> None:
    p = profiles(
        {"t": 1, "src": "crm", "FirstName": "Ann"},
        {"t": 4, "src": "web", "FirstName": "Ann"},
        {"t": 3, "src": "app", "FirstName": "Bo"},
    )
    row = field_row(p, "FirstName", resolution=source("crm"))
    assert (row["Value"], row["UpdatedAt"], row["Source"], row["SourceProfileId"]) == (
        "Ann",
        day(4),
        "web",
        "p1",
    )


def test_values_compare_exactly() -> None:
    p = profiles({"t": 1, "src": "crm", "FirstName": "Ann"}, {"t": 4, "FirstName": "ANN"})
    row = field_row(p, "FirstName", resolution=source("crm"))
    assert (row["Value"], row["UpdatedAt"]) == ("Ann", day(1))


def test_timestamps_compare_across_time_zones() -> None:
    p = profiles({"t": 1, "FirstName": "A"}, {"t": 1, "FirstName": "B"})
    oslo = pl.Datetime("us", "Europe/Oslo")
    p = p.with_columns(
        pl.Series(
            schema.UPDATED,
            [dt.datetime(2024, 1, 1, 12), dt.datetime(2024, 1, 1, 12, 30)],
            dtype=pl.Datetime("us"),
        )
        .dt.replace_time_zone("Europe/Oslo")
        .cast(oslo)
    )
    assert field_row(p, "FirstName")["Value"] == "B"


# --- SOURCE --------------------------------------------------------------------------------------


def test_source_older_record_from_source_name_wins() -> None:
    p = profiles(
        {"t": 1, "src": "crm", "FirstName": "Crm"}, {"t": 9, "src": "web", "FirstName": "Web"}
    )
    row = field_row(p, "FirstName", resolution=source("crm"))
    assert (row["Value"], row["Source"], row["SourceProfileId"]) == ("Crm", "crm", "p0")


def test_source_latest_among_source_name_records_wins() -> None:
    p = profiles(
        {"t": 1, "src": "crm", "FirstName": "Crm1"},
        {"t": 3, "src": "crm", "FirstName": "Crm3"},
        {"t": 9, "src": "web", "FirstName": "Web"},
    )
    assert field_row(p, "FirstName", resolution=source("crm"))["Value"] == "Crm3"


@pytest.mark.parametrize(
    "src", [pytest.param("web", id="other-source"), pytest.param(None, id="missing-source")]
)
def test_source_without_source_name_candidates_falls_back_to_recency(src: str | None) -> None:
    p = profiles(
        {"t": 1, "src": src, "FirstName": "Old"},
        {"t": 5, "src": src, "FirstName": "New"},
        {"t": 9, "src": "crm", "LastName": "OnlyCrmField"},
    )
    assert field_row(p, "FirstName", resolution=source("crm"))["Value"] == "New"


def test_unknown_resolving_model_is_an_error() -> None:
    p = profiles({"FirstName": "A"}, {"FirstName": "B"})
    bad = SimpleNamespace(ConflictResolvingModel="NEWEST", SourceName=None)
    with pytest.raises(InputError, match="RECENCY or SOURCE"):
        merge_profiles(p, one_group(p), resolution=bad)


# --- addresses and attributes --------------------------------------------------------------------


def test_address_merges_as_a_whole() -> None:
    p = profiles(
        {"t": 1, "Address.Address1": "1 Main St", "Address.City": "Oslo"},
        {"t": 2, "Address.City": "Bergen"},
        {"t": 3, "ShippingAddress.PostalCode": "0150"},
    )
    row = merged_row(p)
    assert (row["Address.Address1"], row["Address.City"]) == (None, "Bergen")
    assert row["ShippingAddress.PostalCode"] == "0150"
    value = field_row(p, "Address")["Value"]
    assert json.loads(value) == {"City": "Bergen"}


def test_attributes_merge_key_by_key() -> None:
    p = profiles(
        {"t": 1, "Attributes.Tier": "gold", "Attributes.Team": "red"},
        {"t": 2, "Attributes.Team": "blue"},
    )
    row = merged_row(p)
    assert (row["Attributes.Tier"], row["Attributes.Team"]) == ("gold", "blue")


# --- provenance and chained merges ----------------------------------------------------------------


def test_field_sources_point_to_the_kept_value() -> None:
    p = profiles(
        {"t": 1, "FirstName": "Ann", "LastName": "Lee"},
        {"t": 2, "FirstName": "Anne", "Attributes.Tier": "gold"},
    )
    out = merge_profiles(p, one_group(p))
    sources = json.loads(out.field_sources.item(0, "FieldSourceProfileIds"))
    assert sources == {"FirstName": "p1", "LastName": "p0", "Attributes": {"Tier": "p1"}}


def test_resolve_fields_alone() -> None:
    f = to_fields(
        profiles({"t": 2, "FirstName": "A"}, {"t": 1, "FirstName": "B"}, {"t": 1, "LastName": "C"})
    )
    out = resolve_fields(f, groups(["p0", "p1"]), resolution=None, include_untouched=True)
    assert out.columns == list(FIELD_COLUMNS)
    # Without LastUpdatedAt in groups the survivor comes from the latest field timestamp.
    assert out.select("ProfileId", "Field", "Value").rows() == [
        ("p1", "FirstName", "A"),
        ("p2", "LastName", "C"),
    ]
    assert resolve is resolve_fields


# --- invariants -----------------------------------------------------------------------------------

TEXT = st.text(alphabet='ab é"\\\n\t日', max_size=4)
VALUE = st.one_of(st.none(), st.sampled_from(["x", "y"]), TEXT)
COLUMNS = [
    "FirstName",
    "Gender",
    "GenderString",
    "Address.Address1",
    "Address.City",
    "BillingAddress.PostalCode",
    "Attributes.A",
    "Attributes.b c",
]


@st.composite
def profile_tables(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 8))
    columns = draw(st.lists(st.sampled_from(COLUMNS), unique=True, min_size=1))
    rows = [
        {
            "ProfileId": f"id{i:02d}",
            "t": draw(st.sampled_from([None, 1, 2, 3])),
            "src": draw(st.sampled_from([None, "crm", "web"])),
            **{c: draw(VALUE) for c in columns},
        }
        for i in range(n)
    ]
    return profiles(*rows)


def group_table(draw: st.DrawFn, p: pl.DataFrame) -> pl.DataFrame:
    ids = p.get_column("ProfileId").to_list()
    labels = [draw(st.sampled_from([None, 0, 0, 1])) for _ in ids]
    return pl.DataFrame(
        {"ProfileId": ids, "MergeGroupId": labels}, schema_overrides={"MergeGroupId": pl.Int64}
    )


def expected_canonical(p: pl.DataFrame) -> pl.DataFrame:
    """The canonical flat frame of `p`: blank values null, every standard column, fixed order."""
    attrs = sorted(c for c in p.columns if c.startswith("Attributes."))
    blank = [c for c in p.columns if c in schema.PROFILE_COLUMNS[1:] or c in attrs]
    p = p.with_columns(
        pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c)).alias(c) for c in blank
    )
    cols = [*schema.PROFILE_COLUMNS, *attrs, schema.SOURCE, schema.UPDATED]
    return p.select(
        pl.col(c) if c in p.columns else pl.lit(None, pl.String).alias(c) for c in cols
    ).sort("ProfileId")


@given(profile_tables())
@settings(max_examples=60, deadline=None)
def test_round_trip(p: pl.DataFrame) -> None:
    expected = expected_canonical(p)
    assert_frame_equal(from_fields(to_fields(p), template=p), expected)
    # Without a template, record columns come back from the fields of profiles that have any.
    back = from_fields(to_fields(p))
    expected = expected.join(back.select("ProfileId"), on="ProfileId")
    for name in set(expected.columns) - set(back.columns):  # attributes nobody has
        assert expected.get_column(name).null_count() == expected.height
    assert_frame_equal(back, expected.select(back.columns))


def oracle(fields: pl.DataFrame, g: pl.DataFrame, prefer: str | None) -> set[tuple[Any, ...]]:
    """Resolution written the slow, obvious way (Python loops over the small test data)."""
    label = {p: m for p, m in g.rows() if m is not None}
    rows = [r for r in fields.iter_rows(named=True) if r["ProfileId"] in label]
    members: dict[Any, list[str]] = {}
    for p, m in label.items():
        members.setdefault(m, []).append(p)
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)

    def micros(t: dt.datetime | None) -> int:
        return -(2**62) if t is None else (t - epoch) // dt.timedelta(microseconds=1)

    # Without LastUpdatedAt in groups, a record's timestamp is its latest field timestamp.
    ts = {
        p: max((micros(r["UpdatedAt"]) for r in rows if r["ProfileId"] == p), default=-(2**62))
        for p in label
    }

    out = set()
    for m, ids in members.items():
        if len(ids) < 2:
            continue
        survivor = min(ids, key=lambda p: (ts[p], p))
        by_field: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            if label[r["ProfileId"]] == m:
                by_field.setdefault(r["Field"], []).append(r)
        for name, cands in by_field.items():

            def rank(
                r: dict[str, Any], pref: bool = True, survivor: str = survivor
            ) -> tuple[Any, ...]:
                first = -(r["Source"] == prefer and prefer is not None) if pref else 0
                own = -(r["ProfileId"] == survivor)
                return (first, -micros(r["UpdatedAt"]), own, r["SourceProfileId"], r["Value"])

            win = min(cands, key=rank)
            prov = min(
                (r for r in cands if r["Value"] == win["Value"]), key=lambda r: rank(r, False)
            )
            out.add(
                (
                    survivor,
                    name,
                    win["Value"],
                    prov["UpdatedAt"],
                    prov["Source"],
                    prov["SourceProfileId"],
                )
            )
    return out


@given(st.data(), st.sampled_from([None, "crm", "web"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_resolution_matches_oracle(data: st.DataObject, prefer: str | None) -> None:
    p = data.draw(profile_tables())
    g = group_table(data.draw, p)
    f = to_fields(p)
    resolution = None if prefer is None else source(prefer)
    got = resolve_fields(f, g, resolution=resolution)
    assert set(got.rows()) == oracle(f, g, prefer)


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_recency_keeps_the_maximum_timestamp(data: st.DataObject) -> None:
    p = data.draw(profile_tables())
    g = group_table(data.draw, p)
    out = merge_profiles(p, g)
    f = to_fields(p).join(g, on="ProfileId").filter(pl.col("MergeGroupId").is_not_null())
    latest = f.group_by("MergeGroupId", "Field").agg(pl.col("UpdatedAt").max().alias("max"))
    owner = out.merged.select("ProfileId", pl.col("MergedProfileIds").list.first().alias("m"))
    check = (
        out.fields.join(owner, on="ProfileId")
        .join(g.rename({"ProfileId": "m"}), on="m")
        .join(latest, on=["MergeGroupId", "Field"], how="left")
    )
    assert check.height == out.fields.height
    assert check.filter(pl.col("UpdatedAt").ne_missing(pl.col("max"))).height == 0


def test_source_without_source_name_is_recency() -> None:
    p = profiles({"t": 1, "src": "crm", "FirstName": "Old"}, {"t": 2, "FirstName": "New"})
    nameless = SimpleNamespace(ConflictResolvingModel="SOURCE", SourceName=None)
    assert field_row(p, "FirstName", resolution=nameless)["Value"] == "New"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), max_size=20))
def test_json_string_is_a_json_literal(values: list[str | None]) -> None:
    """json_string writes what json.dumps would (UTF-8 kept), and keeps nulls null."""
    out = pl.select(json_string(pl.lit(pl.Series(values, dtype=pl.String)))).to_series()
    expected = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
    assert out.to_list() == expected
