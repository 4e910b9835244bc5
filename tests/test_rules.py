"""Rule-based matching, SPEC §4: one hand-made case per rule, plus invariants."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from idres.config import parse_domain
from idres.profiles import canonicalize
from idres.rulebased import RuleBasedOptions, run_rule_based
from idres.rules import plan_levels, raw_columns


def profiles(*rows: dict[str, Any]) -> pl.DataFrame:
    """A canonical profile table from flat rows (ProfileIds p0, p1, ... unless given)."""
    filled = [{"ProfileId": f"p{i}", **r} for i, r in enumerate(rows)]
    columns = sorted({k for r in filled for k in r})
    data = {c: [r.get(c) for r in filled] for c in columns}
    return canonicalize(pl.DataFrame(data, schema={c: pl.String for c in columns}))


def rules(
    *levels: list[str],
    model: str = "ONE_TO_ONE",
    merging: int | None = None,
    matching: int | None = None,
    **selector: list[str],
):
    body: dict[str, Any] = {
        "Enabled": True,
        "MatchingRules": [{"Rule": lv} for lv in levels],
        "AttributeTypesSelector": {"AttributeMatchingModel": model, **selector},
    }
    if merging is not None:
        body["MaxAllowedRuleLevelForMerging"] = merging
    if matching is not None:
        body["MaxAllowedRuleLevelForMatching"] = matching
    return parse_domain({"RuleBasedMatching": body}).RuleBasedMatching


def groups_of(frame: pl.DataFrame, rb, **opts) -> set[tuple[frozenset[str], int]]:
    result = run_rule_based(frame, rb, options=RuleBasedOptions(**opts) if opts else None)
    g = result.groups.group_by("MatchId").agg(pl.col("ProfileId"), pl.col("RuleLevel").first())
    return {(frozenset(r[1]), r[2]) for r in g.iter_rows()}


def test_waterfall_gives_lowest_level():
    frame = profiles(
        {"EmailAddress": "a@x.com", "LastName": "Smith"},
        {"EmailAddress": "A@X.com", "LastName": "smith "},
    )
    rb = rules(["EmailAddress"], ["EmailAddress", "LastName"])
    assert groups_of(frame, rb) == {(frozenset({"p0", "p1"}), 1)}
    rb = rules(["EmailAddress", "LastName"], ["EmailAddress"])
    assert groups_of(frame, rb) == {(frozenset({"p0", "p1"}), 1)}


def test_and_within_a_level():
    frame = profiles(
        {"EmailAddress": "a@x.com", "LastName": "Smith"},
        {"EmailAddress": "a@x.com", "LastName": "Jones"},
    )
    assert groups_of(frame, rules(["EmailAddress", "LastName"])) == set()
    assert groups_of(frame, rules(["EmailAddress", "LastName"], ["EmailAddress"])) == {
        (frozenset({"p0", "p1"}), 2)
    }


def test_missing_never_matches_even_missing():
    frame = profiles(
        {"EmailAddress": None, "LastName": "Smith"},
        {"EmailAddress": "  ", "LastName": "Smith"},
        {"LastName": "Smith"},
    )
    assert groups_of(frame, rules(["EmailAddress", "LastName"])) == set()


def test_levels_above_max_matching_are_not_evaluated():
    frame = profiles({"LastName": "Smith"}, {"LastName": "Smith"})
    assert groups_of(frame, rules(["EmailAddress"], ["LastName"], matching=1)) == set()
    assert groups_of(frame, rules(["EmailAddress"], ["LastName"], matching=2)) == {
        (frozenset({"p0", "p1"}), 2)
    }


@pytest.mark.parametrize(
    ("attribute", "left", "right", "selector_key", "selector"),
    [
        pytest.param(
            "EmailAddress",
            "EmailAddress",
            "BusinessEmailAddress",
            "EmailAddress",
            ["EmailAddress", "BusinessEmailAddress"],
            id="email",
        ),
        pytest.param(
            "PhoneNumber",
            "MobilePhoneNumber",
            "HomePhoneNumber",
            "PhoneNumber",
            ["MobilePhoneNumber", "HomePhoneNumber"],
            id="phone",
        ),
        pytest.param(
            "Address.City",
            "ShippingAddress.City",
            "BillingAddress.City",
            "Address",
            ["ShippingAddress", "BusinessAddress"],
            id="address",
        ),
    ],
)
def test_selector_models(attribute, left, right, selector_key, selector):
    value = "+1 (555) 010-0000" if attribute == "PhoneNumber" else "Seattle@x.com"
    cross = profiles({left: value, "LastName": "Li"}, {right: value, "LastName": "Li"})
    same = profiles({left: value, "LastName": "Li"}, {left: value, "LastName": "Li"})
    level = [attribute, "LastName"]
    one = rules(level, model="ONE_TO_ONE", **{selector_key: selector})
    many = rules(level, model="MANY_TO_MANY", **{selector_key: selector})
    pair = {(frozenset({"p0", "p1"}), 1)}
    assert groups_of(cross, one) == set()
    assert groups_of(cross, many) == pair
    assert groups_of(same, one) == pair
    assert groups_of(same, many) == pair


def test_unselected_subtypes_take_no_part():
    frame = profiles(
        {"BusinessEmailAddress": "a@x.com"},
        {"BusinessEmailAddress": "a@x.com"},
    )
    assert groups_of(frame, rules(["EmailAddress"], model="MANY_TO_MANY")) == set()
    assert groups_of(frame, rules(["EmailAddress"], EmailAddress=["BusinessEmailAddress"])) == {
        (frozenset({"p0", "p1"}), 1)
    }


def test_address_components_come_from_one_address():
    frame = profiles(
        {
            "Address.City": "Seattle",
            "Address.PostalCode": "98101",
            "ShippingAddress.City": "Tacoma",
            "ShippingAddress.PostalCode": "98402",
        },
        {"MailingAddress.City": "Tacoma", "MailingAddress.PostalCode": "98101"},
        {"MailingAddress.City": "Tacoma", "MailingAddress.PostalCode": "98402"},
    )
    rb = rules(
        ["Address.City", "Address.PostalCode"],
        model="MANY_TO_MANY",
        Address=["Address", "ShippingAddress", "MailingAddress"],
    )
    assert groups_of(frame, rb) == {(frozenset({"p0", "p2"}), 1)}


def test_address_line_joins_address1_to_4():
    frame = profiles(
        {"Address.Address1": "1 Main St", "Address.Address2": "Apt 4"},
        {"Address.Address1": "1 main st apt 4"},
        {"Address.Address1": "1 Main St"},
    )
    assert groups_of(frame, rules(["Address.Address"])) == {(frozenset({"p0", "p1"}), 1)}


def _shared(n: int, **extra: str) -> pl.DataFrame:
    return profiles(*({"EmailAddress": "test@test.com", **extra} for _ in range(n)))


@pytest.mark.parametrize(
    ("n", "grouped"),
    [pytest.param(500, True, id="500-held-matches"), pytest.param(501, False, id="501-guarded")],
)
def test_low_cardinality_guard_boundary(n, grouped):
    frame = _shared(n)
    result = run_rule_based(frame, rules(["EmailAddress"]))
    assert (result.groups.height == n) is grouped
    assert result.dead_letters.height == (0 if grouped else n)
    if not grouped:
        assert set(result.dead_letters.get_column("Message")) == {
            "All attributes at rule level 1 are associated with more than 500 records."
        }
        assert result.dead_letters.get_column("RuleLevel").unique().to_list() == [1]


def test_guard_needs_every_attribute_low():
    frame = profiles(
        *({"EmailAddress": "test@test.com", "LastName": f"n{i}"} for i in range(501)),
        {"EmailAddress": "test@test.com", "LastName": "n7"},
    )
    result = run_rule_based(frame, rules(["EmailAddress", "LastName"]))
    assert result.dead_letters.is_empty()
    assert sorted(result.groups.get_column("ProfileId")) == ["p501", "p7"]


def test_guard_limit_is_an_option():
    frame = _shared(30)
    result = run_rule_based(
        frame, rules(["EmailAddress"]), options=RuleBasedOptions(low_cardinality_limit=29)
    )
    assert result.groups.is_empty() and result.dead_letters.height == 30


def test_transitive_group_level_is_the_connecting_level():
    frame = profiles(
        {"EmailAddress": "a@x.com", "PhoneNumber": "5550100000"},
        {"EmailAddress": "a@x.com", "PhoneNumber": "5550100001"},
        {"PhoneNumber": "555-010-0001"},
        {"EmailAddress": "z@x.com"},
        {"EmailAddress": "z@x.com"},
    )
    rb = rules(["EmailAddress"], ["PhoneNumber"], merging=1)
    assert groups_of(frame, rb) == {
        (frozenset({"p0", "p1", "p2"}), 2),
        (frozenset({"p3", "p4"}), 1),
    }
    result = run_rule_based(frame, rb)
    merge = dict(result.groups.select("ProfileId", "MergeGroupId").iter_rows())
    assert merge["p0"] == merge["p1"] and merge["p0"] is not None
    assert merge["p2"] is None  # level 2 is match only
    assert merge["p3"] == merge["p4"] != merge["p0"]


def test_without_max_merging_nothing_merges():
    frame = profiles({"EmailAddress": "a@x.com"}, {"EmailAddress": "a@x.com"})
    result = run_rule_based(frame, rules(["EmailAddress"]))
    assert result.groups.height == 2
    assert result.groups.get_column("MergeGroupId").null_count() == 2
    assert result.merge is None and result.merge_plan == []


def test_match_ids_are_content_derived():
    from idres.ids import match_id

    frame = profiles({"EmailAddress": "a@x.com"}, {"EmailAddress": "a@x.com"})
    result = run_rule_based(frame, rules(["EmailAddress"]))
    assert set(result.groups.get_column("MatchId")) == {match_id(["p0", "p1"])}


def test_raw_columns_cover_derived_columns():
    rb = rules(["Address.Address", "Gender"], Address=["ShippingAddress"])
    cols = raw_columns(plan_levels(rb))
    assert {
        "ShippingAddress.Address1",
        "ShippingAddress.Address4",
        "Gender",
        "GenderString",
    } <= set(cols)


def test_absent_custom_attribute_never_matches():
    frame = profiles({"LastName": "a"}, {"LastName": "a"})
    result = run_rule_based(frame, rules(["Attributes.LoyaltyId"], ["LastName"]))
    assert result.summary["Risks"]["AttributesAbsent"] == ["Attributes.LoyaltyId"]
    assert set(result.groups.get_column("RuleLevel")) == {2}
