"""The compiled normalization equals :func:`idres.normalize.normalize` value for value."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres import schema
from idres.normalize import normalize, sources
from idres.normalize_compiled import compiled_rule, normalized_rows

# Whitespace of every kind, the address punctuation, separators Rust does not call whitespace
# (0x1c-0x1f), case, digits, and non-ASCII text that NFKC, Unicode case or whitespace change.
_EDGES = "\t\n\x0b\x0c\r \x1c\x1f,.#/-@+()_'\"\\AZaz09Mm1"
_OTHER = "é１\u00a0ﬁ\u3000İẞ\u2028Ω"
_ALPHABET = _EDGES + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
values = st.one_of(
    st.none(),
    st.text(alphabet=_ALPHABET, max_size=40),
    st.text(alphabet=_ALPHABET + _OTHER, max_size=20),
    st.text(alphabet="ABCDEFGHIJabcdefghij0123456789", min_size=8, max_size=33),  # whole words
    st.from_regex(r"\A(\+?1[ .-]?)?\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}\Z"),  # phones
)

TARGETS = [
    "EmailAddress",
    "BusinessPhoneNumber",
    "FirstName",
    "Attributes.Tier",
    "Address.City",
    "ShippingAddress.PostalCode",
    "Address.Address",
]


def _expected(raw: pl.DataFrame, target: str) -> tuple[list[int], list[str]]:
    text = normalize(raw, columns=[target]).get_column(schema.norm(target))
    rows = np.flatnonzero(text.is_not_null().to_numpy()).tolist()
    return rows, text.drop_nulls().to_list()


@pytest.mark.parametrize("target", TARGETS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_equals_polars_rules(target: str, data: st.DataObject) -> None:
    columns = [c for c in sources(target) if c != "Address.Address3"]  # one part absent
    n = data.draw(st.integers(0, 12))
    raw = pl.DataFrame(
        {c: data.draw(st.lists(values, min_size=n, max_size=n)) for c in columns},
        schema={c: pl.String for c in columns},
    )
    rule = compiled_rule(target)
    assert rule is not None
    rows, texts = normalized_rows(raw, target, rule)
    assert rows.dtype == np.uint32
    assert (rows.tolist(), texts.to_list()) == _expected(raw, target)


@pytest.mark.parametrize(
    ("target", "value", "expected"),
    [
        pytest.param("PhoneNumber", "+1 (555) 010-0000", "5550100000", id="national-1-dropped"),
        pytest.param("PhoneNumber", "15550100000", "5550100000", id="11-digits-from-8-byte-words"),
        pytest.param("PhoneNumber", "25550100000", "25550100000", id="11-digits-not-1"),
        pytest.param(
            "EmailAddress", "  Ann.Smith@EXAMPLE.com ", "ann.smith@example.com", id="email"
        ),
        pytest.param("Address.Address1", "12 North-Main St., #4", "12 north main st 4", id="addr"),
        pytest.param("FirstName", " Mary\t\tANNE  Lee ", "mary anne lee", id="string"),
        pytest.param("FirstName", "ＭＡＲＹ", "mary", id="non-ascii-through-polars"),
    ],
)
def test_hand_made_values(target: str, value: str, expected: str) -> None:
    raw = pl.DataFrame({sources(target)[0]: [value]})
    rows, texts = normalized_rows(raw, target, compiled_rule(target))  # type: ignore[arg-type]
    assert (rows.tolist(), texts.to_list()) == ([0], [expected])


def test_rows_stay_in_order_around_non_ascii_rows() -> None:
    raw = pl.DataFrame({"EmailAddress": ["b@X", "Zoë@x", None, " ", "A@x", "\u3000", "Ｃ@x"]})
    rows, texts = normalized_rows(raw, "EmailAddress", compiled_rule("EmailAddress"))  # type: ignore[arg-type]
    assert rows.tolist() == [0, 1, 4, 6]
    assert texts.to_list() == ["b@x", "zoë@x", "a@x", "c@x"]


def test_address_line_joins_the_parts_words() -> None:
    raw = pl.DataFrame(
        {"Address.Address1": ["1 Main St.", None, " - "], "Address.Address2": ["Apt #2", "B", None]}
    )
    rows, texts = normalized_rows(raw, "Address.Address", compiled_rule("Address.Address"))  # type: ignore[arg-type]
    assert (rows.tolist(), texts.to_list()) == ([0, 1], ["1 main st apt 2", "b"])


@pytest.mark.parametrize(
    ("target", "mode"),
    [
        ("BirthDate", "standard"),
        ("Gender", "standard"),
        ("PartyType", "standard"),
        ("Address.Address", "entity-resolution"),
        ("Address.State", "entity-resolution"),
    ],
)
def test_rules_left_to_polars(target: str, mode: str) -> None:
    assert compiled_rule(target, mode) is None


def test_email_and_phone_rules_do_not_depend_on_the_mode() -> None:
    for target in ("EmailAddress", "MobilePhoneNumber", "LastName"):
        assert compiled_rule(target, "entity-resolution") == compiled_rule(target)
