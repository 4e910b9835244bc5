"""Profile readers and writers: every input form, the overrides, every bad input, round trips."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from idres.errors import ProfileError
from idres.profile_writers import json_text_expr, nested_struct_expr
from idres.profiles import canonicalize, read_profiles, scan_profiles, to_nested, write_profiles
from idres.schema import PROFILE_COLUMNS, PROFILE_ID, SOURCE, TIMESTAMP_DTYPE, UPDATED

UTC = dt.UTC

PROFILES = [
    {
        "ProfileId": "p2",
        "FirstName": "Bo",
        "EmailAddress": "bo@example.com",
        "Address": {"City": "Oslo", "PostalCode": "0150"},
        "ShippingAddress": {"Address1": "1 Main St", "Country": "NO"},
        "Attributes": {"LoyaltyId": "L2"},
        "SourceObjectType": "crm",
        "LastUpdatedAt": "2024-05-01T12:00:00Z",
        "Note": "vip",
    },
    {
        "ProfileId": "p1",
        "FirstName": "Ann",
        "Address": {"City": "Bergen"},
        "Attributes": {"Tier": "gold"},
        "LastUpdatedAt": "2024-05-02",
    },
]
FLAT = {
    "ProfileId": ["p2", "p1"],
    "FirstName": ["Bo", "Ann"],
    "EmailAddress": ["bo@example.com", None],
    "Address.City": ["Oslo", "Bergen"],
    "Address.PostalCode": ["0150", None],
    "ShippingAddress.Address1": ["1 Main St", None],
    "ShippingAddress.Country": ["NO", None],
    "Attributes.LoyaltyId": ["L2", None],
    "Attributes.Tier": [None, "gold"],
    "SourceObjectType": ["crm", None],
    "LastUpdatedAt": ["2024-05-01T12:00:00Z", "2024-05-02"],
    "Note": ["vip", None],
}


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def make_file(tmp_path: Path, form: str) -> Path:
    """The PROFILES in one input form."""
    if form == "jsonl":
        lines = [json.dumps(p) for p in PROFILES]
        return write_text(tmp_path / "p.jsonl", lines[0] + "\n\n" + lines[1] + "\n")
    if form == "array":
        return write_text(tmp_path / "p.json", json.dumps(PROFILES, indent=2))
    if form == "items":
        return write_text(tmp_path / "p.json", json.dumps({"Items": PROFILES, "NextToken": "t"}))
    frame = pl.DataFrame(FLAT)
    if form == "csv":
        frame.write_csv(tmp_path / "p.csv")
        return tmp_path / "p.csv"
    frame.write_parquet(tmp_path / "p.parquet")
    return tmp_path / "p.parquet"


FORMS = [
    pytest.param("jsonl", id="jsonl"),
    pytest.param("array", id="json-array"),
    pytest.param("items", id="search-profiles"),
    pytest.param("csv", id="csv"),
    pytest.param("parquet", id="parquet"),
]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_reads_to_the_same_canonical_table(tmp_path: Path, form: str) -> None:
    frame = read_profiles(make_file(tmp_path, form))
    assert frame[PROFILE_ID].to_list() == ["p1", "p2"]
    assert frame.columns[: len(PROFILE_COLUMNS)] == list(PROFILE_COLUMNS)
    assert all(frame.schema[c] == pl.String for c in PROFILE_COLUMNS)
    assert frame.schema[SOURCE] == pl.String
    assert frame.schema[UPDATED] == TIMESTAMP_DTYPE
    rest = frame.columns[len(PROFILE_COLUMNS) :]
    assert rest == [SOURCE, UPDATED, "Attributes.LoyaltyId", "Attributes.Tier", "Note"]
    assert frame.row(1, named=True) | {} == frame.row(1, named=True)
    p2 = frame.row(1, named=True)
    assert (p2["Address.City"], p2["Address.PostalCode"], p2["ShippingAddress.Country"]) == (
        "Oslo",
        "0150",
        "NO",
    )
    assert (p2["Attributes.LoyaltyId"], p2["Note"], p2[SOURCE]) == ("L2", "vip", "crm")
    assert p2[UPDATED] == dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert frame.row(0, named=True)[UPDATED] == dt.datetime(2024, 5, 2, tzinfo=UTC)
    assert frame.row(0, named=True)["Address.PostalCode"] is None


def test_forms_agree(tmp_path: Path) -> None:
    frames = []
    for form in ("jsonl", "array", "items", "csv", "parquet"):
        folder = tmp_path / form
        folder.mkdir()
        frames.append(read_profiles(make_file(folder, form)))
    for other in frames[1:]:
        assert_frame_equal(frames[0], other)


def test_scan_profiles_is_lazy_for_parquet(tmp_path: Path) -> None:
    path = make_file(tmp_path, "parquet")
    plan = scan_profiles(path)
    assert isinstance(plan, pl.LazyFrame)
    assert_frame_equal(plan.collect(), read_profiles(path))


def test_scan_profiles_checks_before_returning(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pl.DataFrame({"ProfileId": ["a", "a"]}).write_parquet(path)
    with pytest.raises(ProfileError, match="duplicate ProfileId"):
        scan_profiles(path)


def test_text_that_looks_like_json_is_still_text(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "p.jsonl",
        '{"ProfileId": "a", "FirstName": "true", "LastName": "[1]", "Attributes": {"k": "{x}"}}\n'
        '{"ProfileId": "b", "FirstName": "Bo"}\n',
    )
    frame = read_profiles(path)
    assert frame.select("FirstName", "LastName", "Attributes.k").row(0) == ("true", "[1]", "{x}")


def test_single_object_json_is_one_profile(tmp_path: Path) -> None:
    path = write_text(tmp_path / "p.json", '{"ProfileId": "a", "Address": {"City": "Oslo"}}')
    assert read_profiles(path).select(PROFILE_ID, "Address.City").rows() == [("a", "Oslo")]


def test_next_token_is_mentioned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    read_profiles(make_file(tmp_path, "items"))
    assert "NextToken" in caplog.text


def test_numbers_become_text_in_json(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "p.jsonl",
        '{"ProfileId": 7, "Address": {"PostalCode": 2134}, "Attributes": {"n": 1.5}}\n'
        '{"ProfileId": "x", "Address": {"PostalCode": "02134"}}\n',
    )
    frame = read_profiles(path)
    assert frame.select(PROFILE_ID, "Address.PostalCode", "Attributes.n").rows() == [
        ("7", "2134", "1.5"),
        ("x", "02134", None),
    ]


def test_unknown_members_pass_through_unchanged(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "p.jsonl",
        '{"ProfileId": "a", "Score": 3, "Flags": [1, 2], "Address": {"Latitude": 59.9}}\n',
    )
    frame = read_profiles(path)
    assert frame.schema["Score"] == pl.Int64
    assert frame["Flags"].to_list() == [[1, 2]]
    assert frame["Address.Latitude"].to_list() == [59.9]
    assert to_nested(frame)[0] == {
        "ProfileId": "a",
        "Address": {"Latitude": 59.9},
        "Flags": [1, 2],
        "Score": 3,
    }


def test_nested_parquet_is_flattened(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    frame = pl.DataFrame(
        {"ProfileId": ["a"], "Address": [{"City": "Oslo"}], "Attributes": [{"k": "v"}]}
    )
    frame.write_parquet(path)
    assert read_profiles(path).select("Address.City", "Attributes.k").row(0) == ("Oslo", "v")


@pytest.mark.parametrize(
    ("name", "format"),
    [
        pytest.param("p.txt", "jsonl", id="txt-as-jsonl"),
        pytest.param("p.json", None, id="jsonl-content-in-.json"),
        pytest.param("p.data", "ndjson", id="ndjson-alias"),
    ],
)
def test_format_override_and_sniffing(tmp_path: Path, name: str, format: str | None) -> None:
    path = write_text(tmp_path / name, '{"ProfileId": "a"}\n{"ProfileId": "b"}\n')
    assert read_profiles(path, format=format)[PROFILE_ID].to_list() == ["a", "b"]


@pytest.mark.parametrize("form", FORMS)
def test_bookkeeping_column_overrides(tmp_path: Path, form: str) -> None:
    path = make_file(tmp_path, form)
    if path.suffix == ".parquet":
        pl.read_parquet(path).rename({SOURCE: "origin", UPDATED: "updated"}).write_parquet(path)
    else:
        text = path.read_text().replace(SOURCE, "origin").replace(UPDATED, "updated")
        path.write_text(text)
    frame = read_profiles(path, source_column="origin", updated_column="updated")
    assert "updated" not in frame.columns and "origin" not in frame.columns
    assert frame[UPDATED].to_list()[0] == dt.datetime(2024, 5, 2, tzinfo=UTC)
    assert frame[SOURCE].to_list() == [None, "crm"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2024-05-01T12:00:00Z", dt.datetime(2024, 5, 1, 12), id="zulu"),
        pytest.param("2024-05-01T14:00:00+02:00", dt.datetime(2024, 5, 1, 12), id="offset"),
        pytest.param("2024-05-01T14:00:00+0200", dt.datetime(2024, 5, 1, 12), id="offset-compact"),
        pytest.param("2024-05-01T12:00:00", dt.datetime(2024, 5, 1, 12), id="no-zone-is-utc"),
        pytest.param("2024-05-01 12:00", dt.datetime(2024, 5, 1, 12), id="space-no-seconds"),
        pytest.param(
            "2024-05-01T12:00:00.123456789Z",
            dt.datetime(2024, 5, 1, 12, 0, 0, 123456),
            id="nanoseconds-cut",
        ),
        pytest.param("2024-05-01", dt.datetime(2024, 5, 1), id="date-only"),
        pytest.param("1714564800", dt.datetime(2024, 5, 1, 12), id="epoch-text"),
        pytest.param(
            "1714564800.25", dt.datetime(2024, 5, 1, 12, 0, 0, 250000), id="epoch-fraction"
        ),
        pytest.param(1714564800, dt.datetime(2024, 5, 1, 12), id="epoch-number"),
        pytest.param(" ", None, id="blank-is-missing"),
    ],
)
def test_timestamps(value: object, expected: dt.datetime | None) -> None:
    frame = canonicalize(pl.DataFrame({"ProfileId": ["a"], "LastUpdatedAt": [value]}))
    want = expected.replace(tzinfo=UTC) if expected else None
    assert frame[UPDATED].to_list() == [want]


def test_temporal_columns() -> None:
    naive = pl.DataFrame({"ProfileId": ["a"], "LastUpdatedAt": [dt.datetime(2024, 5, 1, 12)]})
    zoned = naive.with_columns(pl.col(UPDATED).dt.replace_time_zone("Europe/Oslo"))
    day = pl.DataFrame({"ProfileId": ["a"], "LastUpdatedAt": [dt.date(2024, 5, 1)]})
    assert canonicalize(naive)[UPDATED].item() == dt.datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert canonicalize(zoned)[UPDATED].item() == dt.datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert canonicalize(day)[UPDATED].item() == dt.datetime(2024, 5, 1, tzinfo=UTC)


def test_canonicalize_is_independent_of_row_order() -> None:
    frame = pl.DataFrame(FLAT)
    assert_frame_equal(canonicalize(frame), canonicalize(frame.reverse()))


# ---------------------------------------------------------------------------------------------
# Bad input: one Problem per problem, with its exact location.


def problems(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ProfileError) as info:
        read_profiles(path, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def locations(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ProfileError) as info:
        read_profiles(path, **kwargs)  # type: ignore[arg-type]
    return [p.location for p in info.value.problems]


BAD_JSONL = [
    pytest.param(
        '{"ProfileId": "a"}\n{"ProfileId": \n', ["line 2"], "malformed JSON", id="malformed"
    ),
    pytest.param(
        '{"ProfileId": "a"}\n\n[1]\n"x"\n',
        ["line 3", "line 4"],
        "expected a JSON object",
        id="not-object",
    ),
    pytest.param(
        '{"ProfileId": "a"}\n\n  \n{"FirstName": "b"}\n',
        ["line 4, ProfileId"],
        "missing",
        id="missing-id-after-blank-lines",
    ),
    pytest.param(
        '{"ProfileId": "a"}\n{"ProfileId": " "}\n', ["line 2, ProfileId"], "empty", id="empty-id"
    ),
    pytest.param(
        '{"ProfileId": "a", "FirstName": true}\n',
        ["line 1, FirstName"],
        "expected a string (got True)",
        id="bool-column",
    ),
    pytest.param(
        '{"ProfileId": "a", "FirstName": "x"}\n\n{"ProfileId": "b", "FirstName": false}\n',
        ["line 3, FirstName"],
        "expected a string (got False)",
        id="bool-mixed-with-strings",
    ),
    pytest.param(
        '{"ProfileId": "a", "LastName": "{x"}\n{"ProfileId": "b", "LastName": {"x": 1}}\n',
        ["line 2, LastName"],
        "expected a string (got {'x': 1})",
        id="object-mixed-with-strings",
    ),
    pytest.param(
        '{"ProfileId": "a", "Address": {"City": ["x"]}}\n',
        ["line 1, Address.City"],
        "expected a string",
        id="list-in-address",
    ),
    pytest.param(
        '{"ProfileId": "a", "Address": "Main St 1"}\n{"ProfileId": "b", "Address": {"City": "x"}}\n',
        ["line 1, Address"],
        "expected an object with Address1",
        id="address-not-object",
    ),
    pytest.param(
        '{"ProfileId": "a", "Attributes": ["x"]}\n',
        ["line 1, Attributes"],
        "mapping attribute names",
        id="attributes-list",
    ),
    pytest.param(
        '{"ProfileId": "a", "Attributes": "x"}\n',
        ["line 1, Attributes"],
        "mapping attribute names",
        id="attributes-string",
    ),
    pytest.param(
        '{"ProfileId": "a", "Attributes": {"k": true}}\n',
        ["line 1, Attributes.k"],
        "expected a string",
        id="attribute-bool",
    ),
    pytest.param(
        '{"ProfileId": "a", "LastUpdatedAt": "2024-05-01"}\n{"ProfileId": "b", "LastUpdatedAt": "yesterday"}\n',
        ["line 2, LastUpdatedAt"],
        "unreadable timestamp",
        id="timestamp",
    ),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD_JSONL)
def test_bad_jsonl(tmp_path: Path, text: str, where: list[str], message: str) -> None:
    path = write_text(tmp_path / "p.jsonl", text)
    found = problems(path)
    assert locations(path) == where
    assert all(p.startswith(f"{path}: ") for p in found)
    assert message in found[0]


def test_unreadable_timestamp_names_value_and_column(tmp_path: Path) -> None:
    path = write_text(tmp_path / "p.csv", "ProfileId,updated\na,2024-05-01\nb,05/01/2024\n")
    assert problems(path, updated_column="updated") == [
        f"{path}: row 3, column updated: unreadable timestamp; expected an ISO-8601 timestamp such "
        "as 2024-05-01T12:00:00Z, a date such as 2024-05-01, or epoch seconds (got '05/01/2024')"
    ]


def test_duplicates_are_named_with_their_rows(tmp_path: Path) -> None:
    path = write_text(tmp_path / "p.csv", "ProfileId\na\nb\na\nc\na\nb\n")
    assert problems(path) == [
        f"{path}: row 2: duplicate ProfileId: 3 profiles have it, also at rows 4, 6 (got 'a')",
        f"{path}: row 3: duplicate ProfileId: 2 profiles have it, also at rows 7 (got 'b')",
    ]


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(["a", "b", "b", "c"], id="sorted"),
        pytest.param(["a", None, "a"], id="sorted-around-a-null"),
        pytest.param(["b", "a", "b"], id="unsorted"),
    ],
)
def test_duplicates_found_in_any_order(ids: list[str | None]) -> None:
    with pytest.raises(ProfileError, match="duplicate ProfileId"):
        canonicalize(pl.DataFrame({"ProfileId": ids}))


def test_many_duplicates_are_counted(tmp_path: Path) -> None:
    ids = [f"id{i:02d}" for i in range(15)] * 2
    path = tmp_path / "p.parquet"
    pl.DataFrame({"ProfileId": ids}).write_parquet(path)
    found = problems(path)
    assert len(found) == 11
    assert found[0] == (
        f"{path}: row 0: duplicate ProfileId: 2 profiles have it, also at rows 15 (got 'id00')"
    )
    assert (
        found[-1]
        == f"{path}: and 5 more duplicated ProfileIds (30 profiles hold a duplicated ProfileId in all)"
    )


def test_problems_are_capped(tmp_path: Path) -> None:
    lines = '{"ProfileId": "a"}\n' + "".join('{"FirstName": "x"}\n' for _ in range(30))
    found = problems(write_text(tmp_path / "p.jsonl", lines))
    assert len(found) == 21
    assert found[0].endswith(
        "line 2, ProfileId: missing; every profile needs a non-empty ProfileId"
    )
    assert found[-1].endswith(": and 10 more problems")


def test_json_array_locations(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "p.json", '[{"ProfileId": "a"}, 5, {"ProfileId": "c", "FirstName": true}]'
    )
    assert locations(path) == ["[1]", "[2].FirstName"]


def test_search_profiles_locations(tmp_path: Path) -> None:
    path = write_text(tmp_path / "p.json", '{"Items": [{"ProfileId": "a"}, {"FirstName": "b"}]}')
    assert problems(path) == [
        f"{path}: Items[1].ProfileId: missing; every profile needs a non-empty ProfileId"
    ]


def test_malformed_json_document(tmp_path: Path) -> None:
    path = write_text(tmp_path / "p.json", '[\n  {"ProfileId": "a"},\n  {"ProfileId": }\n]')
    found = problems(path)
    assert len(found) == 1 and found[0].startswith(f"{path}: line 3, column 17: malformed JSON")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("p.jsonl", b"", "empty file", id="empty-jsonl"),
        pytest.param("p.csv", b"  \n\n", "empty file", id="blank-csv"),
        pytest.param("p.json", b"[]", "no profiles", id="empty-array"),
        pytest.param("p.json", b'{"Items": []}', "no profiles", id="empty-items"),
        pytest.param("p.csv", b"ProfileId,FirstName\n", "no profiles", id="header-only"),
        pytest.param("p.jsonl", "\ufeff".encode() + b"\n", "empty file", id="bom-only"),
        pytest.param("p.jsonl", '{"ProfileId": "a"}'.encode("utf-16"), "UTF-16", id="utf16"),
        pytest.param(
            "p.parquet", b"PAR1 not really", "not a readable Parquet file", id="bad-parquet"
        ),
        pytest.param("p.json", b"hello", "expected a JSON array", id="not-json"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    found = problems(path)
    assert len(found) == 1 and message in found[0], found


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        pytest.param(
            "p.jsonl",
            b'{"ProfileId": "a"}\n{"ProfileId": "Ren\xe9"}\n',
            "line 2, byte 37",
            id="jsonl",
        ),
        pytest.param("p.csv", b"ProfileId,FirstName\na,Ren\xe9\n", "line 2, byte 25", id="csv"),
    ],
)
def test_wrong_encoding(tmp_path: Path, name: str, content: bytes, where: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert problems(path) == [
        f"{path}: {where}: not UTF-8 text; save the file as UTF-8 (got byte 0xe9)"
    ]


def test_csv_layout_problems(tmp_path: Path) -> None:
    ragged = write_text(tmp_path / "r.csv", "ProfileId,FirstName\na,x,extra\nb,y\n")
    assert locations(ragged) == ["row 2"]
    twice = write_text(tmp_path / "t.csv", "ProfileId,FirstName,FirstName\na,x,y\n")
    assert problems(twice) == [
        f"{twice}: row 1: column 'FirstName' appears more than once (columns 2, 3)"
    ]


def test_wrong_column_types_in_parquet(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pl.DataFrame({"ProfileId": ["a"], "FirstName": [True], "LastUpdatedAt": [[1]]}).write_parquet(
        path
    )
    found = problems(path)
    assert found == [
        f"{path}: column FirstName: expected text (got a Boolean column)",
        f"{path}: column LastUpdatedAt: expected an ISO-8601 timestamp such as "
        "2024-05-01T12:00:00Z, a date such as 2024-05-01, or epoch seconds (got a List(Int64) column)",
    ]


def test_flat_object_column_is_rejected() -> None:
    with pytest.raises(ProfileError, match=r"column Address: expected an object"):
        canonicalize(pl.DataFrame({"ProfileId": ["a"], "Address": ["1 Main St"]}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"updated_column": "updatd"},
            "no update-time column named 'updatd' (did you mean 'updated'?)",
            id="missing",
        ),
        pytest.param(
            {"updated_column": "FirstName"}, "cannot be a standard profile column", id="standard"
        ),
        pytest.param({"source_column": "x", "updated_column": "x"}, "must differ", id="same"),
    ],
)
def test_bad_overrides(kwargs: dict[str, str], message: str) -> None:
    frame = pl.DataFrame({"ProfileId": ["a"], "updated": ["2024-05-01"]})
    with pytest.raises(ProfileError, match=re.escape(message)):
        canonicalize(frame, **kwargs)


def test_override_clash() -> None:
    frame = pl.DataFrame({"ProfileId": ["a"], "updated": ["2024"], "LastUpdatedAt": ["2024"]})
    with pytest.raises(ProfileError, match="column LastUpdatedAt: clashes"):
        canonicalize(frame, updated_column="updated")


def test_missing_profile_id_column() -> None:
    with pytest.raises(
        ProfileError,
        match="no ProfileId column; every profile needs one \\(did you mean 'ProfileID'\\?\\)",
    ):
        canonicalize(pl.DataFrame({"ProfileID": ["a"]}))


@pytest.mark.parametrize(
    ("path", "format", "message"),
    [
        pytest.param("p.txt", None, "cannot tell the format", id="extension"),
        pytest.param(
            "p.csv", "jsnl", "unknown profile format (did you mean 'jsonl'?)", id="format"
        ),
        pytest.param("missing.csv", None, "no such file", id="missing"),
    ],
)
def test_bad_paths(tmp_path: Path, path: str, format: str | None, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        read_profiles(tmp_path / path, format=format)
    assert message in str(info.value)


# ---------------------------------------------------------------------------------------------
# Writers and round trips.


def test_written_jsonl_has_the_aws_shape(tmp_path: Path) -> None:
    frame = read_profiles(make_file(tmp_path, "jsonl"))
    write_profiles(frame, tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines[1] == {
        "ProfileId": "p2",
        "FirstName": "Bo",
        "EmailAddress": "bo@example.com",
        "Address": {"City": "Oslo", "PostalCode": "0150"},
        "ShippingAddress": {"Address1": "1 Main St", "Country": "NO"},
        "Attributes": {"LoyaltyId": "L2"},
        "SourceObjectType": "crm",
        "LastUpdatedAt": "2024-05-01T12:00:00.000000Z",
        "Note": "vip",
    }
    assert list(lines[1]) == list(PROFILES[0])  # AWS member order


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    bad = pl.DataFrame({"ProfileId": ["a"], "Blob": pl.Series([object()], dtype=pl.Object)})
    with pytest.raises(Exception):  # noqa: B017 - any failure must leave the old file alone
        write_profiles(bad, target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
KEYS = st.sampled_from(
    ["FirstName", "EmailAddress", "Address.City", "BillingAddress.PostalCode", "BirthDate"]
)
TIMES = st.none() | st.datetimes(
    min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)
).map(lambda d: d.replace(tzinfo=UTC))


@st.composite
def profile_frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 6))
    ids = draw(
        st.lists(TEXT.filter(lambda s: s.strip() != ""), min_size=n, max_size=n, unique=True)
    )
    data: dict[str, list[object]] = {PROFILE_ID: ids}
    for key in draw(st.sets(KEYS, max_size=3)):
        data[key] = draw(st.lists(st.none() | TEXT, min_size=n, max_size=n))
    for key in draw(st.sets(st.sampled_from(["LoyaltyId", "Tier", "a.b", "ünï"]), max_size=2)):
        data[f"Attributes.{key}"] = draw(st.lists(st.none() | TEXT, min_size=n, max_size=n))
    data[SOURCE] = draw(
        st.lists(st.none() | st.sampled_from(["crm", "web"]), min_size=n, max_size=n)
    )
    data[UPDATED] = draw(st.lists(TIMES, min_size=n, max_size=n))
    data["Note"] = draw(st.lists(st.none() | TEXT, min_size=n, max_size=n))
    data["Address.Latitude"] = draw(st.lists(st.none() | TEXT, min_size=n, max_size=n))
    schema = {k: (TIMESTAMP_DTYPE if k == UPDATED else pl.String) for k in data}
    return canonicalize(pl.DataFrame(data, schema=schema))


def _drop_empty_extras(frame: pl.DataFrame) -> pl.DataFrame:
    """JSON leaves out nulls, so a non-standard column that is all null does not come back."""
    standard = {*PROFILE_COLUMNS, SOURCE, UPDATED}
    empty = [
        c for c in frame.columns if c not in standard and frame[c].null_count() == frame.height
    ]
    return frame.drop(empty)


def _csv_expected(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV cannot tell an empty string from a missing value: empty cells read back as null."""
    return frame.with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
        for c, d in frame.schema.items()
        if d == pl.String
    )


@pytest.mark.parametrize(
    ("suffix", "expect"),
    [
        pytest.param(".jsonl", _drop_empty_extras, id="jsonl"),
        pytest.param(".json", _drop_empty_extras, id="json"),
        pytest.param(".csv", _csv_expected, id="csv"),
        pytest.param(".parquet", lambda f: f, id="parquet"),
    ],
)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=profile_frames())
def test_round_trip(tmp_path: Path, suffix: str, expect: object, frame: pl.DataFrame) -> None:
    path = tmp_path / f"round{suffix}"
    write_profiles(frame, path)
    back = read_profiles(path)
    assert_frame_equal(back, expect(frame))  # type: ignore[operator]


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(
        st.text(string.printable + 'é"\\', min_size=1, max_size=5),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    data=st.data(),
)
def test_json_text_drops_exactly_the_nulls(keys: list[str], data: st.DataObject) -> None:
    """The regular expressions that drop nulls never touch values, whatever the keys and values hold."""
    values = data.draw(
        st.lists(
            st.none() | st.text(string.printable + 'é"\\,:{}', max_size=8),
            min_size=len(keys),
            max_size=len(keys),
        )
    )
    names = [k if k.partition(".")[0] not in ("Address", "Attributes") else "x" + k for k in keys]
    if len(set(names)) != len(names) or "*" in names:  # "*" is refused on input
        return
    frame = pl.DataFrame(
        {n: [v] for n, v in zip(names, values, strict=True)}, schema=dict.fromkeys(names, pl.String)
    )
    text = frame.select(json_text_expr(frame.schema)).item()
    assert json.loads(text) == {n: v for n, v in zip(names, values, strict=True) if v is not None}


def test_nested_struct_expr_keeps_nulls() -> None:
    frame = pl.DataFrame(
        {"ProfileId": ["a"], "Attributes.k": [None], "FirstName": [None]},
        schema_overrides={"Attributes.k": pl.String, "FirstName": pl.String},
    )
    assert frame.select(nested_struct_expr(frame.schema)).item() == {
        "ProfileId": "a",
        "FirstName": None,
        "Attributes": None,
    }


def test_wildcard_column_name_is_refused() -> None:
    with pytest.raises(ProfileError, match="not supported"):
        canonicalize(pl.DataFrame({"ProfileId": ["a"], "*": ["x"]}))


def test_columns_null_in_every_row_are_not_read_yet_come_out_the_same(tmp_path: Path) -> None:
    """A Parquet column whose statistics say it is null in every row of every row group becomes
    a literal null (not read); one with a value in any row group, or a nested one, is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from idres.profile_formats import _all_null_columns

    n = 10
    table = pa.table(
        {
            "ProfileId": [f"p{i}" for i in range(n)],
            "Address.County": pa.array([None] * n, pa.string()),
            "MiddleName": [None] * (n - 1) + ["Ann"],  # a value in the last row group only
            "Attributes.Score": pa.array([None] * n, pa.int64()),
            "ShippingAddress": pa.array([None] * n, pa.struct([("City", pa.string())])),
        }
    )
    path = tmp_path / "p.parquet"
    pq.write_table(table, path, row_group_size=3)
    assert _all_null_columns(path) == ["Address.County", "Attributes.Score"]
    scanned = scan_profiles(path).collect()
    assert_frame_equal(scanned, read_profiles(path))
    assert scanned.get_column("MiddleName").to_list()[-1] == "Ann"
    no_stats = tmp_path / "no-stats.parquet"
    pq.write_table(table, no_stats, write_statistics=False)
    assert _all_null_columns(no_stats) == []
    assert_frame_equal(scan_profiles(no_stats).collect(), scanned)
