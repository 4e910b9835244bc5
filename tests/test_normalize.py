"""Tests of idres.normalize: every SPEC §3 rule by hand-made cases, then properties."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, cast

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from idres import schema
from idres.errors import InputError
from idres.normalize import (
    DEDUPLICATED,
    Mode,
    matchable_columns,
    norm_address_part,
    norm_birthdate,
    norm_email,
    norm_phone,
    norm_string,
    normalize,
    normalize_value,
    normalizer_for,
)
from idres.normalize_tables import COUNTRIES, STATES, STREET_WORDS

ER: Mode = "entity-resolution"
P = pytest.param


def frame_values(column: str, values: Sequence[str | None], mode: str = "standard") -> list[Any]:
    """`values` of raw `column` through normalize() (the frame path: packing, deduplication)."""
    df = pl.DataFrame({column: list(values)}, schema={column: pl.String})
    out = normalize(df, mode=cast(Mode, mode), columns=[column])
    return out[schema.norm(column)].to_list()


# --- the string rule -------------------------------------------------------------------------

STRING_CASES = [
    P("  John  ", "john", id="trim"),
    P("Mary   Ann", "mary ann", id="collapse-spaces"),
    P("Mary\tAnn\r\nLee", "mary ann lee", id="tabs-newlines"),
    P("Ann\u00a0Lee", "ann lee", id="non-breaking-space"),
    P("Ann\u3000Lee\u2009X", "ann lee x", id="ideographic-thin-space"),
    P("Ｊｏｈｎ　ＳＭＩＴＨ", "john smith", id="full-width"),
    P("ﬁnn ǅ", "finn dž", id="ligatures"),
    P("Jose\u0301", "josé", id="combining-accent-composed"),
    P("ÉCOLE", "école", id="accented-upper"),
    P("x²", "x2", id="superscript"),
    P("\u212a", "k", id="kelvin-sign"),
    P("O'Brien-Smith", "o'brien-smith", id="punctuation-kept"),
    P("", None, id="empty-null"),
    P("   ", None, id="blank-null"),
    P("\t\u00a0\n", None, id="whitespace-only-null"),
    P(None, None, id="null"),
]


@pytest.mark.parametrize(("raw", "expected"), STRING_CASES)
@pytest.mark.parametrize("column", ["LastName", "FirstName", "BusinessName", "Attributes.Tier"])
def test_string_rule(column: str, raw: str | None, expected: str | None) -> None:
    assert normalize_value(column, raw) == expected
    assert frame_values(column, [raw, raw, None]) == [expected, expected, None]


# --- email -----------------------------------------------------------------------------------

EMAIL_CASES = [
    P(" John.Smith@Example.COM ", "john.smith@example.com", id="case-and-trim"),
    P("john smith @ example.com", "johnsmith@example.com", id="inner-spaces-removed"),
    P("a\t@b.c\n", "a@b.c", id="tab-newline"),
    P("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "john@example.com", id="full-width"),
    P(" \t ", None, id="blank-null"),
]


@pytest.mark.parametrize(("raw", "expected"), EMAIL_CASES)
@pytest.mark.parametrize("column", schema.EMAIL_FIELDS)
def test_email_rule(column: str, raw: str, expected: str | None) -> None:
    assert normalize_value(column, raw) == expected
    assert frame_values(column, [raw]) == [expected]


# --- phone -----------------------------------------------------------------------------------

PHONE_CASES = [
    P("+1-555-010-0000", "5550100000", id="plus-one-dashes"),
    P("(555) 010-0000", "5550100000", id="parentheses"),
    P("555.010.0000", "5550100000", id="dots"),
    P("1 555 010 0000", "5550100000", id="leading-one-spaces"),
    P("15550100000", "5550100000", id="11-digits-leading-1-dropped"),
    P("25550100000", "25550100000", id="11-digits-other-kept"),
    P("5550100000", "5550100000", id="10-digits"),
    P("115550100000", "115550100000", id="12-digits-kept"),
    P("+44 20 7946 0958", "442079460958", id="international-digits"),
    P("+49 (0)30 1234567", "490301234567", id="international-trunk-zero"),
    P("555-0100 ext. 12", "555010012", id="extension-digits-kept"),
    P("０３０ １２３", "030123", id="full-width-digits"),
    P("n/a", None, id="no-digits-null"),
    P("", None, id="empty-null"),
]


@pytest.mark.parametrize(("raw", "expected"), PHONE_CASES)
@pytest.mark.parametrize("column", schema.PHONE_FIELDS)
def test_phone_rule(column: str, raw: str, expected: str | None) -> None:
    assert normalize_value(column, raw) == expected
    assert frame_values(column, [None, raw]) == [None, expected]


def test_us_formats_are_one_number() -> None:
    formats = ["+1-555-010-0000", "(555) 010-0000", "1 (555) 010 0000", "555/010/0000"]
    assert {normalize_value("PhoneNumber", f) for f in formats} == {"5550100000"}


# --- addresses -------------------------------------------------------------------------------

ADDRESS_CASES = [
    # (part, raw, standard, entity-resolution)
    P("Address1", "12 Main St., Apt #4", "12 main st apt 4", "12 main st apt 4", id="punctuation"),
    P("Address1", "1/2 Oak-Lane", "1 2 oak lane", "1 2 oak ln", id="slash-dash"),
    P("Address1", "123 North Main Street", "123 north main street", "123 n main st", id="suffix"),
    P(
        "Address1",
        "789 Sunset Boulevard, Suite 200",
        "789 sunset boulevard suite 200",
        "789 sunset blvd ste 200",
        id="boulevard-suite",
    ),
    P("Address1", "1 NORTHEAST COURT", "1 northeast court", "1 ne ct", id="upper-direction"),
    P("Address1", "North East Street", "north east street", "n e st", id="adjacent-words"),
    P("Address1", "Streetsboro Road", "streetsboro road", "streetsboro rd", id="whole-words-only"),
    P("Address2", "Apartment 4", "apartment 4", "apt 4", id="apartment"),
    P("Address1", "12 main st", "12 main st", "12 main st", id="already-abbreviated"),
    P("Address1", " # / ", None, None, id="punctuation-only-null"),
    P("City", "St. Louis", "st louis", "st louis", id="city-no-abbreviation"),
    P("PostalCode", "12345-6789", "12345 6789", "12345", id="zip-plus-four"),
    P("PostalCode", "K1A 0B1", "k1a 0b1", "k1a 0b1", id="canadian-postal"),
    P("PostalCode", "-6789", "6789", None, id="postal-dash-first"),
    P("State", "California", "california", "ca", id="state-name"),
    P("State", "NEW  YORK", "new york", "ny", id="state-upper"),
    P("State", "N.Y.", "n y", "ny", id="state-dotted-code"),
    P("State", "CA", "ca", "ca", id="state-code"),
    P("State", "Bavaria", "bavaria", "bavaria", id="state-unknown"),
    P("Province", "Québec", "québec", "qc", id="province"),
    P("Country", "United States of America", "united states of america", "us", id="usa-long"),
    P("Country", "U.S.A.", "u s a", "us", id="usa-dotted"),
    P("Country", "USA", "usa", "us", id="usa"),
    P("Country", "UK", "uk", "gb", id="uk"),
    P("Country", "Great Britain", "great britain", "gb", id="great-britain"),
    P("Country", "Deutschland", "deutschland", "de", id="local-name"),
    P("Country", "México", "méxico", "mx", id="accented-name"),
    P("Country", "Atlantis", "atlantis", "atlantis", id="country-unknown"),
]


@pytest.mark.parametrize(("part", "raw", "standard", "entity"), ADDRESS_CASES)
def test_address_rule(part: str, raw: str, standard: str | None, entity: str | None) -> None:
    for t in ("Address", "BillingAddress"):
        assert normalize_value(f"{t}.{part}", raw) == standard
        assert normalize_value(f"{t}.{part}", raw, mode=ER) == entity
        assert frame_values(f"{t}.{part}", [raw], mode=ER) == [entity]
    df = pl.DataFrame({"v": [raw]})
    assert df.select(norm_address_part(pl.col("v"), part, mode=ER)).item() == entity


def test_address_line_joins_normalized_parts() -> None:
    df = pl.DataFrame(
        {
            "Address.Address1": ["1 Main Street", None, None, "  "],
            "Address.Address2": ["Apt. #2", "Suite 5", None, None],
            "Address.Address4": ["Rear", None, None, ""],
        }
    )
    out = normalize(df, columns=["Address.Address"])
    assert out.columns == [*df.columns, "_n.Address.Address"]
    assert out["_n.Address.Address"].to_list() == [
        "1 main street apt 2 rear",
        "suite 5",
        None,
        None,
    ]
    er = normalize(df, mode=ER, columns=["Address.Address"])["_n.Address.Address"]
    assert er.to_list() == ["1 main st apt 2 rear", "ste 5", None, None]
    assert normalize_value("Address.Address", "1 Main Street Apt. #2 Rear", mode=ER) == er[0]


# --- derived targets, frames, options --------------------------------------------------------


def test_gender_and_party_type_prefer_the_string_member() -> None:
    df = pl.DataFrame(
        {
            "Gender": ["MALE", "FEMALE", None, "UNSPECIFIED"],
            "GenderString": ["Man", "  ", "Nonbinary", None],
            "PartyType": ["INDIVIDUAL", None, None, "BUSINESS"],
        }
    )
    out = normalize(df)
    assert out["_n.Gender"].to_list() == ["man", "female", "nonbinary", "unspecified"]
    assert out["_n.PartyType"].to_list() == ["individual", None, None, "business"]
    assert "_n.GenderString" not in out.columns


def messy_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ProfileId": ["b", "a", "c"],
            "FirstName": [" ANN", "ann", None],
            "LastName": ["Lee ", None, "ＬＥＥ"],
            "BirthDate": ["Jan 5 1980", None, "1980-01-05"],
            "PhoneNumber": ["+1 (555) 010-0000", "5550100000", None],
            "EmailAddress": [" A@B.C", None, "a@b.c"],
            "Address.Address1": ["1 North Main St.", None, "1 N Main Street"],
            "Address.State": ["New York", "NY", None],
            "ShippingAddress.PostalCode": ["10001-1234", None, "10001"],
            "Attributes.Loyalty Id": ["X1", "x1 ", None],
            "AccountNumber": [1, 2, None],
            "Unrelated": [1.5, None, 2.5],
        }
    )


@pytest.mark.parametrize("mode", ["standard", ER])
def test_lazy_and_eager_agree(mode: str) -> None:
    df = messy_frame()
    eager = normalize(df, mode=cast(Mode, mode))
    lazy = normalize(df.lazy(), mode=cast(Mode, mode))
    assert isinstance(eager, pl.DataFrame)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(eager, lazy.collect())
    assert_frame_equal(eager.select(df.columns), df)  # raw columns untouched, row order kept
    assert eager["_n.AccountNumber"].to_list() == ["1", "2", None]  # non-string input is cast
    assert eager["_n.Attributes.Loyalty Id"].to_list() == ["x1", "x1", None]


def test_entity_resolution_frame() -> None:
    out = normalize(messy_frame(), mode=ER)
    assert out["_n.Address.Address1"].to_list() == ["1 n main st", None, "1 n main st"]
    assert out["_n.Address.State"].to_list() == ["ny", "ny", None]
    assert out["_n.ShippingAddress.PostalCode"].to_list() == ["10001", None, "10001"]
    assert out["_n.BirthDate"].to_list() == ["1980-01-05", None, "1980-01-05"]


def test_all_targets_of_the_canonical_table() -> None:
    columns = [*schema.PROFILE_COLUMNS, "Attributes.Tier", schema.SOURCE]
    targets = matchable_columns(columns)
    assert {"Gender", "PartyType", "Address.Address", "BillingAddress.Address"} <= set(targets)
    assert not {"ProfileId", "AdditionalInformation", "GenderString", schema.SOURCE} & set(targets)
    assert targets[-1] == "Attributes.Tier"
    df = pl.DataFrame(schema={c: pl.String for c in columns})
    out = normalize(df)
    assert out.columns == [*columns, *(schema.norm(t) for t in targets)]
    assert out.height == 0


def test_columns_subset() -> None:
    df = messy_frame()
    out = normalize(df, columns=["_n.EmailAddress", "Address.Address", "Attributes.Missing"])
    added = out.columns[len(df.columns) :]
    assert added == ["_n.EmailAddress", "_n.Address.Address", "_n.Attributes.Missing"]
    assert out["_n.Address.Address"].to_list() == ["1 north main st", None, "1 n main street"]
    assert out["_n.Attributes.Missing"].dtype == pl.String
    assert out["_n.Attributes.Missing"].null_count() == 3
    assert normalize(df, columns=[]).equals(df)


def test_unknown_columns_are_reported_together() -> None:
    with pytest.raises(InputError) as info:
        normalize(messy_frame(), columns=["FirstName", "EmailAdress", "Attributes.", "Foo"])
    problems = info.value.problems
    assert len(problems) == 3
    assert "did you mean 'EmailAddress'?" in problems[0].message
    assert problems[0].message.endswith("(got 'EmailAdress')")
    assert all(p.location == "columns" for p in problems)


@pytest.mark.parametrize(
    "call",
    [
        P(lambda: normalize(messy_frame(), mode=cast(Mode, "entity_resolution")), id="normalize"),
        P(lambda: normalizer_for("FirstName", mode=cast(Mode, "fuzzy")), id="normalizer_for"),
        P(lambda: normalize_value("FirstName", "x", mode=cast(Mode, "ER")), id="normalize_value"),
    ],
)
def test_bad_mode(call: Any) -> None:
    with pytest.raises(InputError, match=r"mode must be one of standard, entity-resolution"):
        call()


def test_bad_names() -> None:
    with pytest.raises(InputError, match=r"did you mean 'PostalCode'\?\) \(got 'Postcode'\)"):
        norm_address_part(pl.col("v"), "Postcode")
    with pytest.raises(InputError, match=r"\(got 'ShippingAddress.Street'\)"):
        normalizer_for("ShippingAddress.Street")


def test_builders_keep_the_input_name() -> None:
    df = pl.DataFrame({"v": [" A "]})
    builders = [norm_string, norm_email, norm_phone, norm_birthdate, normalizer_for("Address.City")]
    for build in builders:
        assert df.select(build(pl.col("v"))).columns == ["v"]
    assert normalizer_for("_n.MobilePhoneNumber") is not None


def test_tables_are_normalized_and_stable() -> None:
    for table, part in ((STREET_WORDS, "Address1"), (STATES, "State"), (COUNTRIES, "Country")):
        keys = list(table)
        assert frame_values(f"Address.{part}", keys) == keys  # keys are in normalized form
        assert all(table.get(v, v) == v for v in table.values())  # codes map to themselves
    assert {"street": "st", "avenue": "ave", "north": "n", "suite": "ste"}.items() <= (
        STREET_WORDS.items()
    )


# --- properties ------------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
ASCII = st.text(st.sampled_from("aBcD eF \t\n\r\x0b\x0c.,-#/'1290"), max_size=16)
RULES = [
    ("LastName", "standard"),
    ("FirstName", "standard"),
    ("EmailAddress", "standard"),
    ("PhoneNumber", "standard"),
    ("BirthDate", "standard"),
    ("Address.Address1", "standard"),
    ("Address.Address1", ER),
    ("Address.PostalCode", ER),
    ("Address.State", ER),
    ("Address.Country", ER),
]
DATEISH = st.lists(
    st.one_of(st.sampled_from(["1980", "01", "5", "13", "jan", "March", "5th"]), TEXT),
    max_size=4,
).flatmap(lambda parts: st.sampled_from(["-", "/", ".", " ", ", "]).map(lambda s: s.join(parts)))


@pytest.mark.parametrize(("column", "mode"), RULES)
@given(values=st.lists(st.one_of(TEXT, DATEISH, st.none()), max_size=20))
@settings(deadline=None, max_examples=60)
def test_idempotent(column: str, mode: str, values: list[str | None]) -> None:
    once = frame_values(column, values, mode)
    assert frame_values(column, once, mode) == once


@pytest.mark.parametrize(("column", "mode"), RULES)
@given(values=st.lists(st.one_of(TEXT, DATEISH, st.none()), min_size=1, max_size=6))
@settings(deadline=None, max_examples=30)
def test_single_value_agrees_with_frame(column: str, mode: str, values: list[str | None]) -> None:
    expected = [normalize_value(column, v, mode=cast(Mode, mode)) for v in values]
    assert frame_values(column, values, mode) == expected
    assert ("FirstName" in DEDUPLICATED) and ("LastName" not in DEDUPLICATED)  # both paths run


@given(values=st.lists(ASCII, max_size=20))
def test_string_rule_matches_reference(values: list[str]) -> None:
    reference = [" ".join(v.lower().split()) or None for v in values]
    assert frame_values("LastName", values) == reference
    assert frame_values("FirstName", values) == reference


@given(values=st.lists(ASCII, max_size=20))
def test_case_and_whitespace_do_not_matter(values: list[str]) -> None:
    changed = [f" \t{v.upper().replace(' ', '  ')}\u00a0\n" for v in values]
    for column in ("LastName", "EmailAddress", "Address.City", "BirthDate"):
        assert frame_values(column, changed) == frame_values(column, values)


@given(values=st.lists(ASCII, max_size=20))
def test_phone_matches_reference(values: list[str]) -> None:
    def reference(v: str) -> str | None:
        d = "".join(c for c in v if c.isdigit())
        return (d[1:] if len(d) == 11 and d[0] == "1" else d) or None

    assert frame_values("PhoneNumber", values) == [reference(v) for v in values]


@given(
    values=st.lists(
        st.one_of(TEXT, st.text(st.sampled_from("+1-(555) 010.0000\u00a0\uff10\uff15\u0663x"))),
        max_size=20,
    )
)
def test_phone_matches_reference_on_any_text(values: list[str]) -> None:
    # Pure-ASCII values take the byte route, the others NFKC and the regex: one answer.
    def reference(v: str) -> str | None:
        d = "".join(c for c in unicodedata.normalize("NFKC", v) if "0" <= c <= "9")
        return (d[1:] if len(d) == 11 and d[0] == "1" else d) or None

    assert frame_values("PhoneNumber", values) == [reference(v) for v in values]
