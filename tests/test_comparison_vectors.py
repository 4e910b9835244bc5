"""Tests of idres.comparison_vectors: levels of each family, sub-types, term frequencies."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from idres.comparison_vectors import compare, comparison_vectors, encode
from idres.comparisons import Comparison
from idres.errors import InputError
from idres.schema import norm
from tests.test_comparisons import ADDRESS, LINE, POSTCODE

FIRST = Comparison("FirstName", "name", (norm("FirstName"),))
EMAIL = Comparison(
    "EmailAddress",
    "email",
    (norm("EmailAddress"), norm("PersonalEmailAddress"), norm("BusinessEmailAddress")),
)
PHONE = Comparison("PhoneNumber", "phone", (norm("PhoneNumber"), norm("MobilePhoneNumber")))
BIRTH = Comparison("BirthDate", "date", (norm("BirthDate"),))


def level(comp: Comparison, left: dict[str, str | None], right: dict[str, str | None]) -> str:
    """Level label of one pair given each side's values (columns not given are missing)."""
    frame = pl.DataFrame(
        {c: [left.get(c), right.get(c)] for c in comp.columns},
        schema=dict.fromkeys(comp.columns, pl.String),
    )
    vec = comparison_vectors(frame, [comp], pl.DataFrame({"a": [0], "b": [1]}))
    gamma = int(vec["gamma." + comp.name][0])
    return "missing" if gamma < 0 else comp.levels[gamma]


def one(comp: Comparison, a: str | None, b: str | None) -> tuple[dict[str, str | None], ...]:
    return {comp.columns[0]: a}, {comp.columns[0]: b}


CASES = [
    # names: exact / JW >= 0.92 / JW >= 0.80 / else / missing
    pytest.param(FIRST, *one(FIRST, "martha", "martha"), "exact", id="name-exact"),
    pytest.param(FIRST, *one(FIRST, "martha", "marhta"), "jw>=0.92", id="name-transposition"),
    pytest.param(FIRST, *one(FIRST, "dwayne", "duane"), "jw>=0.8", id="name-close"),
    pytest.param(FIRST, *one(FIRST, "ann", "bob"), "else", id="name-different"),
    pytest.param(FIRST, *one(FIRST, "ann", None), "missing", id="name-missing"),
    pytest.param(FIRST, *one(FIRST, None, None), "missing", id="name-both-missing"),
    # email: exact on any sub-type pair / same local part or JW >= 0.9 / else
    pytest.param(
        EMAIL,
        {norm("EmailAddress"): "jo@x.io"},
        {norm("BusinessEmailAddress"): "jo@x.io"},
        "exact",
        id="email-exact-across-sub-types",
    ),
    pytest.param(
        EMAIL,
        *one(EMAIL, "jo.li@x.io", "jo.li@y.com"),
        "same local part or jw>=0.9",
        id="email-local-part",
    ),
    pytest.param(
        EMAIL,
        *one(EMAIL, "john.smith@example.com", "jon.smith@example.com"),
        "same local part or jw>=0.9",
        id="email-typo",
    ),
    pytest.param(EMAIL, *one(EMAIL, "ann@x.io", "bob@y.io"), "else", id="email-different"),
    pytest.param(
        EMAIL,
        {norm("EmailAddress"): "a@x.io"},
        {norm("PersonalEmailAddress"): None},
        "missing",
        id="email-missing",
    ),
    # phone: exact on any pair / same last 7 digits / else
    pytest.param(
        PHONE,
        {norm("PhoneNumber"): "5550100000"},
        {norm("MobilePhoneNumber"): "5550100000"},
        "exact",
        id="phone-exact-across-sub-types",
    ),
    pytest.param(
        PHONE, *one(PHONE, "5550100000", "4440100000"), "same last 7 digits", id="phone-area-code"
    ),
    pytest.param(PHONE, *one(PHONE, "5550100000", "5550100001"), "else", id="phone-different"),
    pytest.param(PHONE, *one(PHONE, "0100000", "0100000"), "exact", id="phone-short-exact"),
    pytest.param(PHONE, *one(PHONE, "123456", "9123456"), "else", id="phone-too-short"),
    # birth date: exact / one of Y, M, D differs or day-month swapped / else
    pytest.param(BIRTH, *one(BIRTH, "1980-03-04", "1980-03-04"), "exact", id="date-exact"),
    pytest.param(
        BIRTH,
        *one(BIRTH, "1980-03-04", "1981-03-04"),
        "one of year/month/day differs or day/month swapped",
        id="date-year-differs",
    ),
    pytest.param(
        BIRTH,
        *one(BIRTH, "1980-03-04", "1980-03-14"),
        "one of year/month/day differs or day/month swapped",
        id="date-day-differs",
    ),
    pytest.param(
        BIRTH,
        *one(BIRTH, "1980-03-04", "1980-04-03"),
        "one of year/month/day differs or day/month swapped",
        id="date-day-month-swapped",
    ),
    pytest.param(
        BIRTH, *one(BIRTH, "1980-03-04", "1981-04-04"), "else", id="date-two-parts-differ"
    ),
    pytest.param(BIRTH, *one(BIRTH, "unknown", "unknown"), "exact", id="date-unparsed-exact"),
    pytest.param(BIRTH, *one(BIRTH, "unknown", "1980-03-04"), "else", id="date-unparsed-else"),
    # address line: exact / JW >= 0.9 / else, best over address types
    pytest.param(LINE, *one(LINE, "12 main st", "12 main st"), "exact", id="address-exact"),
    pytest.param(LINE, *one(LINE, "12 main street", "12 main stret"), "jw>=0.9", id="address-typo"),
    pytest.param(LINE, *one(LINE, "12 main st", "7 oak avenue"), "else", id="address-different"),
    pytest.param(
        LINE,
        {norm("Address.Address"): "12 main st", norm("ShippingAddress.Address"): "9 elm rd"},
        {norm("Address.Address"): "1 pine rd", norm("ShippingAddress.Address"): "12 main st"},
        "exact",
        id="address-best-over-sub-types",
    ),
    # exact-only attributes
    pytest.param(POSTCODE, *one(POSTCODE, "98101", "98101"), "exact", id="postcode-exact"),
    pytest.param(POSTCODE, *one(POSTCODE, "98101", "98102"), "else", id="postcode-else"),
]


@pytest.mark.parametrize(("comp", "left", "right", "expected"), CASES)
def test_levels(
    comp: Comparison, left: dict[str, str | None], right: dict[str, str | None], expected: str
) -> None:
    assert level(comp, left, right) == expected


def test_levels_are_symmetric() -> None:
    for case in CASES:
        comp, left, right, expected = case.values
        assert level(comp, right, left) == expected, case.id


def test_term_frequency_of_exact_matches() -> None:
    frame = pl.DataFrame({norm("FirstName"): ["ann", "ann", "ann", "bob", "bob", None]})
    pairs = pl.DataFrame({"a": [0, 3, 0], "b": [1, 4, 3]})
    vec = compare(encode(frame, [FIRST]), pairs)
    tf = vec["tf.FirstName"].to_list()
    assert tf[0] == pytest.approx(3 / 5)  # 'ann': 3 of the 5 profiles with a first name
    assert tf[1] == pytest.approx(2 / 5)
    assert math.isnan(tf[2])  # not an exact match


def test_term_frequency_counts_a_profile_once_across_sub_types() -> None:
    frame = pl.DataFrame(
        {
            norm("EmailAddress"): ["x@a.io", "x@a.io", "y@a.io"],
            norm("PersonalEmailAddress"): ["x@a.io", None, None],
            norm("BusinessEmailAddress"): [None, None, None],
        }
    )
    vec = compare(encode(frame, [EMAIL]), pl.DataFrame({"a": [0], "b": [1]}))
    assert vec["tf.EmailAddress"][0] == pytest.approx(2 / 3)


def test_term_frequency_can_be_switched_off() -> None:
    comp = Comparison("FirstName", "name", (norm("FirstName"),), tf=False)
    frame = pl.DataFrame({norm("FirstName"): ["ann", "ann"]})
    vec = compare(encode(frame, [comp]), pl.DataFrame({"a": [0], "b": [1]}))
    assert math.isnan(vec["tf.FirstName"][0])


def test_compare_keeps_pair_columns_and_types() -> None:
    frame = pl.DataFrame({norm("FirstName"): ["ann", "anne", "bob"]})
    pairs = pl.DataFrame(
        {"a": [0, 0], "b": [1, 2], "rules": [1, 2]}, schema_overrides={"rules": pl.UInt64}
    )
    vec = compare(encode(frame, [FIRST]), pairs)
    assert vec.columns == ["a", "b", "rules", "gamma.FirstName", "tf.FirstName"]
    assert vec.schema["gamma.FirstName"] == pl.Int8
    assert vec.schema["tf.FirstName"] == pl.Float32


def test_compare_many_pairs_matches_pair_by_pair() -> None:
    rng = np.random.default_rng(1)
    names = np.array(["ann", "anne", "anna", "bob", "rob", "robert", None], dtype=object)
    frame = pl.DataFrame(
        {norm("FirstName"): names[rng.integers(0, 7, 60)]}, schema={norm("FirstName"): pl.String}
    )
    a, b = rng.integers(0, 60, 300), rng.integers(0, 60, 300)
    pairs = pl.DataFrame({"a": a, "b": b})
    bulk = compare(encode(frame, [FIRST]), pairs)["gamma.FirstName"].to_list()
    single = [
        compare(encode(frame, [FIRST]), pl.DataFrame({"a": [x], "b": [y]}))["gamma.FirstName"][0]
        for x, y in zip(a[:40], b[:40], strict=True)
    ]
    assert bulk[:40] == single


def test_encode_names_every_missing_column() -> None:
    with pytest.raises(InputError) as info:
        encode(pl.DataFrame({"x": ["1"]}), [FIRST, BIRTH])
    assert len(info.value.problems) == 2
    assert "'_n.BirthDate'" in str(info.value)


def test_encode_refuses_repeated_comparison_names() -> None:
    frame = pl.DataFrame({norm("FirstName"): ["ann"]})
    with pytest.raises(
        InputError, match=r"comparisons: names must be unique \(got \['FirstName'\]\)"
    ):
        encode(frame, [FIRST, FIRST])


def addr(line: str | None, code: str | None, city: str | None) -> dict[str, str | None]:
    return {
        norm("Address.Address"): line,
        norm("Address.PostalCode"): code,
        norm("Address.City"): city,
    }


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(
            addr("1 main st", "98101", "seattle"),
            addr("1 main st", "98101", "seattle"),
            "Address.Address exact",
            id="line-exact",
        ),
        pytest.param(
            addr("12 main street", "98101", None),
            addr("12 main stret", "98109", None),
            "Address.Address jw>=0.9",
            id="line-typo-wins-over-postcode",
        ),
        pytest.param(
            addr("1 main st", "98101", "seattle"),
            addr("9 oak rd", "98101", "seattle"),
            "Address.PostalCode exact",
            id="same-postcode-only-counted-once",
        ),
        pytest.param(
            addr(None, "98101", "seattle"),
            addr("9 oak rd", "98109", "seattle"),
            "Address.City exact",
            id="city",
        ),
        pytest.param(
            addr("1 main st", None, None), addr("9 oak rd", None, "tacoma"), "else", id="else"
        ),
        pytest.param(
            addr("1 main st", None, None), addr(None, "98101", "tacoma"), "missing", id="missing"
        ),
    ],
)
def test_composite_address_levels(
    left: dict[str, str | None], right: dict[str, str | None], expected: str
) -> None:
    assert level(ADDRESS, left, right) == expected


def test_composite_carries_the_term_frequency_of_the_deciding_part() -> None:
    frame = pl.DataFrame(
        {
            norm("Address.Address"): ["1 a st", "2 b st", "3 c st"],
            norm("Address.PostalCode"): ["98101", "98101", "98102"],
            norm("Address.City"): ["x", "x", "x"],
        }
    )
    vec = comparison_vectors(frame, [ADDRESS], pl.DataFrame({"a": [0], "b": [1]}))
    assert vec["gamma.Address"][0] == 2  # postal code decides
    assert vec["tf.Address"][0] == pytest.approx(2 / 3)  # '98101': 2 of 3 profiles
