"""Tests of idres.comparisons: level labels, default set, round trips through a dict, the gate."""

from __future__ import annotations

import polars as pl
import pytest

from idres.comparisons import Comparison, default_comparisons
from idres.schema import norm

LINE = Comparison(
    "Address.Address", "text", (norm("Address.Address"), norm("ShippingAddress.Address"))
)
POSTCODE = Comparison("Address.PostalCode", "exact", (norm("Address.PostalCode"),))
ADDRESS = Comparison.composite(
    "Address",
    [
        Comparison("Address.Address", "text", (norm("Address.Address"),)),
        Comparison("Address.PostalCode", "exact", (norm("Address.PostalCode"),)),
        Comparison("Address.City", "exact", (norm("Address.City"),)),
    ],
)


def test_comparison_round_trips_through_a_dict() -> None:
    comp = Comparison("FirstName", "name", (norm("FirstName"),), thresholds=(0.95, 0.85), tf=False)
    assert Comparison.from_dict(comp.to_dict()) == comp
    assert comp.to_dict()["levels"] == ["exact", "jw>=0.95", "jw>=0.85", "else"]


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        Comparison("X", "soundex", ("x",))  # type: ignore[arg-type]


def test_default_comparisons_keep_filled_columns_only() -> None:
    frame = pl.DataFrame(
        {
            norm("EmailAddress"): ["a@b.c", None],
            norm("PersonalEmailAddress"): [None, None],
            norm("LastName"): [None, None],
        },
        schema=dict.fromkeys(
            [norm("EmailAddress"), norm("PersonalEmailAddress"), norm("LastName")], pl.String
        ),
    )
    comps = default_comparisons(frame)
    assert [(c.name, c.columns) for c in comps] == [("EmailAddress", (norm("EmailAddress"),))]


def test_composite_round_trips_and_marks_exact_levels() -> None:
    assert Comparison.from_dict(ADDRESS.to_dict()) == ADDRESS
    assert ADDRESS.exact_levels == (0, 2, 3)
    assert ADDRESS.columns == (
        norm("Address.Address"),
        norm("Address.PostalCode"),
        norm("Address.City"),
    )


def test_the_household_gate_survives_a_round_trip_and_restriction() -> None:
    comps = {c.name: c for c in default_comparisons()}
    phone = comps["PhoneNumber"]
    assert (phone.gate, phone.gate_unless) == ("FirstName", "BirthDate")
    assert Comparison.from_dict(phone.to_dict()) == phone
    assert "gate" not in comps["FirstName"].to_dict()
    kept = {c.name: c for c in default_comparisons(pl.DataFrame({norm("PhoneNumber"): ["1"]}))}
    assert kept["PhoneNumber"].gate == "FirstName"
    gated = Comparison.composite("Address", [LINE, POSTCODE], gate="FirstName")
    assert Comparison.from_dict(gated.to_dict()) == gated
