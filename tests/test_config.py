"""Tests of idres.config: the AWS shapes, every SPEC §1 constraint at its boundaries, the file forms,
the round trip to the CreateDomain request, and ``idres validate``."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import gzip
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from idres import schema
from idres.cli import main
from idres.config import (
    AttributeTypesSelector,
    AutoMerging,
    ConflictResolution,
    Consolidation,
    DomainConfig,
    ExportingConfig,
    JobSchedule,
    Matching,
    MatchingRule,
    RuleBasedMatching,
    S3ExportingConfig,
    digest,
    load_domain,
    parse_domain,
)
from idres.config_problems import path as json_path
from idres.errors import ConfigError, Problem

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
DELETE = object()


def base() -> dict[str, Any]:
    """A valid request using every structure (each test changes one member)."""
    return {
        "DomainName": "test",
        "DefaultExpirationDays": 30,
        "DefaultEncryptionKey": "arn:aws:kms:us-east-1:123456789012:key/abc",
        "DeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
        "Matching": {
            "Enabled": True,
            "JobSchedule": {"DayOfTheWeek": "MONDAY", "Time": "12:30"},
            "AutoMerging": {
                "Enabled": True,
                "Consolidation": {"MatchingAttributesList": [["FirstName", "EmailAddress"]]},
                "ConflictResolution": {"ConflictResolvingModel": "RECENCY"},
                "MinAllowedConfidenceScoreForMerging": 0.5,
            },
            "ExportingConfig": {"S3Exporting": {"S3BucketName": "bucket", "S3KeyName": "k"}},
        },
        "RuleBasedMatching": {
            "Enabled": True,
            "MatchingRules": [{"Rule": ["EmailAddress"]}, {"Rule": ["PhoneNumber", "LastName"]}],
            "MaxAllowedRuleLevelForMatching": 2,
            "MaxAllowedRuleLevelForMerging": 1,
            "AttributeTypesSelector": {
                "AttributeMatchingModel": "ONE_TO_ONE",
                "Address": ["Address"],
                "PhoneNumber": ["PhoneNumber"],
                "EmailAddress": ["EmailAddress"],
            },
            "ConflictResolution": {"ConflictResolvingModel": "SOURCE", "SourceName": "CRM"},
            "ExportingConfig": {"S3Exporting": {"S3BucketName": "bucket"}},
        },
        "Tags": {"team": "data"},
    }


def _parts(where: str) -> list[str | int]:
    return [int(i) if i else n for n, i in re.findall(r"([A-Za-z0-9]+)|\[(\d+)\]", where)]


def with_(where: str, value: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `data` (default: base()) with the member at JSON path `where` set (or deleted)."""
    data = copy.deepcopy(base() if data is None else data)
    *head, last = _parts(where)
    node: Any = data
    for part in head:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


def problems(data: Any) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        parse_domain(data, source="t.json")
    return list(info.value.problems)


def rules(n: int) -> list[dict[str, Any]]:
    return [{"Rule": ["EmailAddress"]} for _ in range(n)]


def criteria(n: int) -> list[list[str]]:
    return [["FirstName"] for _ in range(n)]


def tags(n: int) -> dict[str, str]:
    return {f"k{i}": "v" for i in range(n)}


# (JSON path, value, location of the one expected problem or None when accepted)
MS = "Matching.JobSchedule"
AM = "Matching.AutoMerging"
CONS = "Matching.AutoMerging.Consolidation.MatchingAttributesList"
S3 = "Matching.ExportingConfig.S3Exporting"
RBM = "RuleBasedMatching"
SEL = "RuleBasedMatching.AttributeTypesSelector"
RULE0 = "RuleBasedMatching.MatchingRules[0].Rule"
CASES = [
    # DomainName
    pytest.param("DomainName", "a" * 64, None, id="DomainName-64-ok"),
    pytest.param("DomainName", "a" * 65, "DomainName", id="DomainName-65"),
    pytest.param("DomainName", "", "DomainName", id="DomainName-empty"),
    pytest.param("DomainName", "a b", "DomainName", id="DomainName-space"),
    pytest.param("DomainName", "a.b", "DomainName", id="DomainName-dot"),
    pytest.param("DomainName", "Az09_-", None, id="DomainName-charset-ok"),
    pytest.param("DomainName", 5, "DomainName", id="DomainName-int"),
    # DefaultExpirationDays
    pytest.param("DefaultExpirationDays", 1, None, id="Expiration-1-ok"),
    pytest.param("DefaultExpirationDays", 1098, None, id="Expiration-1098-ok"),
    pytest.param("DefaultExpirationDays", 0, "DefaultExpirationDays", id="Expiration-0"),
    pytest.param("DefaultExpirationDays", 1099, "DefaultExpirationDays", id="Expiration-1099"),
    pytest.param("DefaultExpirationDays", "30", "DefaultExpirationDays", id="Expiration-string"),
    pytest.param("DefaultExpirationDays", True, "DefaultExpirationDays", id="Expiration-bool"),
    pytest.param("DefaultExpirationDays", 30.5, "DefaultExpirationDays", id="Expiration-float"),
    # DefaultEncryptionKey, DeadLetterQueueUrl: 0..255
    pytest.param("DefaultEncryptionKey", "", None, id="Key-empty-ok"),
    pytest.param("DefaultEncryptionKey", "k" * 255, None, id="Key-255-ok"),
    pytest.param("DefaultEncryptionKey", "k" * 256, "DefaultEncryptionKey", id="Key-256"),
    pytest.param("DeadLetterQueueUrl", "", None, id="DLQ-empty-ok"),
    pytest.param("DeadLetterQueueUrl", "q" * 255, None, id="DLQ-255-ok"),
    pytest.param("DeadLetterQueueUrl", "q" * 256, "DeadLetterQueueUrl", id="DLQ-256"),
    # required booleans
    pytest.param("Matching.Enabled", DELETE, "Matching.Enabled", id="Matching-Enabled-missing"),
    pytest.param("Matching.Enabled", "true", "Matching.Enabled", id="Matching-Enabled-string"),
    pytest.param("Matching.Enabled", False, None, id="Matching-disabled-ok"),
    pytest.param(f"{AM}.Enabled", DELETE, f"{AM}.Enabled", id="AutoMerging-Enabled-missing"),
    pytest.param(f"{AM}.Enabled", 1, f"{AM}.Enabled", id="AutoMerging-Enabled-int"),
    pytest.param(f"{RBM}.Enabled", DELETE, f"{RBM}.Enabled", id="RBM-Enabled-missing"),
    pytest.param(f"{RBM}.Enabled", None, f"{RBM}.Enabled", id="RBM-Enabled-null"),
    # JobSchedule
    pytest.param(f"{MS}.DayOfTheWeek", "SUNDAY", None, id="Day-SUNDAY-ok"),
    pytest.param(f"{MS}.DayOfTheWeek", "SATURDAY", None, id="Day-SATURDAY-ok"),
    pytest.param(f"{MS}.DayOfTheWeek", "Saturday", f"{MS}.DayOfTheWeek", id="Day-case"),
    pytest.param(f"{MS}.DayOfTheWeek", "SAT", f"{MS}.DayOfTheWeek", id="Day-short"),
    pytest.param(f"{MS}.DayOfTheWeek", DELETE, f"{MS}.DayOfTheWeek", id="Day-missing"),
    pytest.param(f"{MS}.Time", "0:00", None, id="Time-0:00-ok"),
    pytest.param(f"{MS}.Time", "9:59", None, id="Time-9:59-ok"),
    pytest.param(f"{MS}.Time", "09:05", None, id="Time-09:05-ok"),
    pytest.param(f"{MS}.Time", "23:59", None, id="Time-23:59-ok"),
    pytest.param(f"{MS}.Time", "24:00", f"{MS}.Time", id="Time-24:00"),
    pytest.param(f"{MS}.Time", "12:60", f"{MS}.Time", id="Time-12:60"),
    pytest.param(f"{MS}.Time", "12:5", f"{MS}.Time", id="Time-one-minute-digit"),
    pytest.param(f"{MS}.Time", "1230", f"{MS}.Time", id="Time-no-colon"),
    pytest.param(f"{MS}.Time", "012:30", f"{MS}.Time", id="Time-6-chars"),
    pytest.param(f"{MS}.Time", "12:30 ", f"{MS}.Time", id="Time-trailing-space"),
    pytest.param(f"{MS}.Time", DELETE, f"{MS}.Time", id="Time-missing"),
    # Consolidation
    pytest.param(CONS, criteria(10), None, id="Criteria-10-ok"),
    pytest.param(CONS, criteria(11), CONS, id="Criteria-11"),
    pytest.param(CONS, [], CONS, id="Criteria-0"),
    pytest.param(CONS, [["FirstName"] * 20], None, id="Criterion-20-ok"),
    pytest.param(CONS, [["FirstName"] * 21], f"{CONS}[0]", id="Criterion-21"),
    pytest.param(CONS, [[]], f"{CONS}[0]", id="Criterion-0"),
    pytest.param(CONS, [["Attributes." + "a" * 244]], None, id="Criterion-name-255-ok"),
    pytest.param(CONS, [["Attributes." + "a" * 245]], f"{CONS}[0][0]", id="Criterion-name-256"),
    pytest.param(CONS, [[""]], f"{CONS}[0][0]", id="Criterion-name-empty"),
    pytest.param(CONS, [["ShippingAddress"]], None, id="Criterion-address-type-ok"),
    pytest.param(CONS, [["MailingAddress.City"]], None, id="Criterion-address-part-ok"),
    pytest.param(CONS, [["Address.Address"]], None, id="Criterion-address-line-ok"),
    pytest.param(CONS, [["PartyTypeString"]], None, id="Criterion-standard-field-ok"),
    pytest.param(CONS, [["Attributes.LoyaltyId"]], None, id="Criterion-custom-ok"),
    pytest.param(CONS, [["MaillingAddress"]], f"{CONS}[0][0]", id="Criterion-selector-spelling"),
    pytest.param(CONS, [["ProfileId"]], f"{CONS}[0][0]", id="Criterion-ProfileId"),
    pytest.param(CONS, [["Attributes."]], f"{CONS}[0][0]", id="Criterion-custom-no-key"),
    # ConflictResolution (both places)
    pytest.param(
        f"{AM}.ConflictResolution",
        {"ConflictResolvingModel": "SOURCE", "SourceName": "CRM"},
        None,
        id="AM-SOURCE-ok",
    ),
    pytest.param(
        f"{AM}.ConflictResolution",
        {"ConflictResolvingModel": "SOURCE"},
        f"{AM}.ConflictResolution.SourceName",
        id="AM-SOURCE-no-name",
    ),
    pytest.param(
        f"{RBM}.ConflictResolution.SourceName",
        DELETE,
        f"{RBM}.ConflictResolution.SourceName",
        id="RBM-SOURCE-no-name",
    ),
    pytest.param(
        f"{RBM}.ConflictResolution.SourceName",
        "",
        f"{RBM}.ConflictResolution.SourceName",
        id="SourceName-0",
    ),
    pytest.param(f"{RBM}.ConflictResolution.SourceName", "s" * 255, None, id="SourceName-255-ok"),
    pytest.param(
        f"{RBM}.ConflictResolution.SourceName",
        "s" * 256,
        f"{RBM}.ConflictResolution.SourceName",
        id="SourceName-256",
    ),
    pytest.param(
        f"{RBM}.ConflictResolution.ConflictResolvingModel",
        "LATEST",
        f"{RBM}.ConflictResolution.ConflictResolvingModel",
        id="Model-unknown",
    ),
    pytest.param(
        f"{AM}.ConflictResolution",
        {"ConflictResolvingModel": "RECENCY", "SourceName": "CRM"},
        None,
        id="RECENCY-with-name-ok",
    ),
    # MinAllowedConfidenceScoreForMerging
    pytest.param(f"{AM}.MinAllowedConfidenceScoreForMerging", 0.0, None, id="Score-0.0-ok"),
    pytest.param(f"{AM}.MinAllowedConfidenceScoreForMerging", 1.0, None, id="Score-1.0-ok"),
    pytest.param(f"{AM}.MinAllowedConfidenceScoreForMerging", 1, None, id="Score-int-1-ok"),
    pytest.param(
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        -0.01,
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        id="Score--0.01",
    ),
    pytest.param(
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        1.01,
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        id="Score-1.01",
    ),
    pytest.param(
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        float("nan"),
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        id="Score-nan",
    ),
    pytest.param(
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        "0.9",
        f"{AM}.MinAllowedConfidenceScoreForMerging",
        id="Score-string",
    ),
    # S3 export
    pytest.param(f"{S3}.S3BucketName", "abc", None, id="Bucket-3-ok"),
    pytest.param(f"{S3}.S3BucketName", "b" * 63, None, id="Bucket-63-ok"),
    pytest.param(f"{S3}.S3BucketName", "ab", f"{S3}.S3BucketName", id="Bucket-2"),
    pytest.param(f"{S3}.S3BucketName", "b" * 64, f"{S3}.S3BucketName", id="Bucket-64"),
    pytest.param(f"{S3}.S3BucketName", "my.bucket-1", None, id="Bucket-charset-ok"),
    pytest.param(f"{S3}.S3BucketName", "MyBucket", f"{S3}.S3BucketName", id="Bucket-upper"),
    pytest.param(f"{S3}.S3BucketName", "my_bucket", f"{S3}.S3BucketName", id="Bucket-underscore"),
    pytest.param(f"{S3}.S3BucketName", DELETE, f"{S3}.S3BucketName", id="Bucket-missing"),
    pytest.param(f"{S3}.S3KeyName", "k", None, id="S3Key-1-ok"),
    pytest.param(f"{S3}.S3KeyName", "k" * 800, None, id="S3Key-800-ok"),
    pytest.param(f"{S3}.S3KeyName", "k" * 801, f"{S3}.S3KeyName", id="S3Key-801"),
    pytest.param(f"{S3}.S3KeyName", "", f"{S3}.S3KeyName", id="S3Key-empty"),
    # MatchingRules and Rule
    pytest.param(f"{RBM}.MatchingRules", rules(15), None, id="Rules-15-ok"),
    pytest.param(f"{RBM}.MatchingRules", rules(16), f"{RBM}.MatchingRules", id="Rules-16"),
    pytest.param(f"{RBM}.MatchingRules", [], f"{RBM}.MatchingRules", id="Rules-0"),
    pytest.param(
        f"{RBM}.MatchingRules", DELETE, f"{RBM}.MatchingRules", id="Rules-missing-enabled"
    ),
    pytest.param(RULE0, [*schema.RULE_ATTRIBUTES[:14], "Attributes.X"], None, id="Rule-15-ok"),
    pytest.param(RULE0, [*schema.RULE_ATTRIBUTES[:15], "Attributes.X"], RULE0, id="Rule-16"),
    pytest.param(RULE0, [], RULE0, id="Rule-0"),
    pytest.param(RULE0, ["Attributes." + "a" * 244], None, id="Rule-name-255-ok"),
    pytest.param(RULE0, ["Attributes." + "a" * 245], f"{RULE0}[0]", id="Rule-name-256"),
    pytest.param(RULE0, ["Attributes.LoyaltyId"], None, id="Rule-custom-ok"),
    pytest.param(RULE0, ["Attributes."], f"{RULE0}[0]", id="Rule-custom-no-key"),
    pytest.param(RULE0, ["Address.Address1"], f"{RULE0}[0]", id="Rule-Address1"),
    pytest.param(RULE0, ["FullName"], f"{RULE0}[0]", id="Rule-unknown"),
    pytest.param(RULE0, "EmailAddress", RULE0, id="Rule-not-list"),
    # Max levels (2 rules in base)
    pytest.param(f"{RBM}.MaxAllowedRuleLevelForMatching", 1, None, id="Matching-level-1-ok"),
    pytest.param(
        f"{RBM}.MaxAllowedRuleLevelForMatching",
        0,
        f"{RBM}.MaxAllowedRuleLevelForMatching",
        id="Matching-level-0",
    ),
    pytest.param(
        f"{RBM}.MaxAllowedRuleLevelForMatching",
        3,
        f"{RBM}.MaxAllowedRuleLevelForMatching",
        id="Matching-level-above-rules",
    ),
    pytest.param(
        f"{RBM}.MaxAllowedRuleLevelForMatching",
        16,
        f"{RBM}.MaxAllowedRuleLevelForMatching",
        id="Matching-level-16",
    ),
    pytest.param(f"{RBM}.MaxAllowedRuleLevelForMerging", 2, None, id="Merging-equal-Matching-ok"),
    pytest.param(f"{RBM}.MaxAllowedRuleLevelForMerging", DELETE, None, id="Merging-absent-ok"),
    pytest.param(
        f"{RBM}.MaxAllowedRuleLevelForMerging",
        0,
        f"{RBM}.MaxAllowedRuleLevelForMerging",
        id="Merging-level-0",
    ),
    pytest.param(f"{RBM}.MaxAllowedRuleLevelForMatching", DELETE, None, id="Matching-absent-ok"),
    pytest.param(
        f"{RBM}.MaxAllowedRuleLevelForMerging",
        "1",
        f"{RBM}.MaxAllowedRuleLevelForMerging",
        id="Merging-string",
    ),
    # AttributeTypesSelector
    pytest.param(f"{SEL}.AttributeMatchingModel", "MANY_TO_MANY", None, id="Selector-M2M-ok"),
    pytest.param(
        f"{SEL}.AttributeMatchingModel",
        "one_to_one",
        f"{SEL}.AttributeMatchingModel",
        id="Selector-model-case",
    ),
    pytest.param(
        f"{SEL}.AttributeMatchingModel",
        DELETE,
        f"{SEL}.AttributeMatchingModel",
        id="Selector-model-missing",
    ),
    pytest.param(
        f"{SEL}.Address",
        ["Address", "ShippingAddress", "MaillingAddress", "BillingAddress"],
        None,
        id="Address-4-ok",
    ),
    pytest.param(
        f"{SEL}.Address",
        ["Address", "ShippingAddress", "MaillingAddress", "BillingAddress", "BusinessAddress"],
        f"{SEL}.Address",
        id="Address-5",
    ),
    pytest.param(f"{SEL}.Address", [], f"{SEL}.Address", id="Address-0"),
    pytest.param(f"{SEL}.Address", ["HomeAddress"], f"{SEL}.Address[0]", id="Address-unknown"),
    pytest.param(
        f"{SEL}.Address", ["MailingAddress", "BusinessAddress"], None, id="Address-aliases-ok"
    ),
    pytest.param(f"{SEL}.PhoneNumber", list(schema.PHONE_FIELDS), None, id="Phone-4-ok"),
    pytest.param(
        f"{SEL}.PhoneNumber", [*schema.PHONE_FIELDS, "Phone"], f"{SEL}.PhoneNumber", id="Phone-5"
    ),
    pytest.param(f"{SEL}.PhoneNumber", [], f"{SEL}.PhoneNumber", id="Phone-0"),
    pytest.param(f"{SEL}.PhoneNumber", ["MobilePhone", "HomePhone"], None, id="Phone-aliases-ok"),
    pytest.param(
        f"{SEL}.PhoneNumber", ["EmailAddress"], f"{SEL}.PhoneNumber[0]", id="Phone-wrong-list"
    ),
    pytest.param(f"{SEL}.EmailAddress", list(schema.EMAIL_FIELDS), None, id="Email-3-ok"),
    pytest.param(
        f"{SEL}.EmailAddress", [*schema.EMAIL_FIELDS, "Email"], f"{SEL}.EmailAddress", id="Email-4"
    ),
    pytest.param(f"{SEL}.EmailAddress", [], f"{SEL}.EmailAddress", id="Email-0"),
    pytest.param(f"{SEL}.EmailAddress", ["BusinessEmail", "Email"], None, id="Email-aliases-ok"),
    # Tags
    pytest.param("Tags", tags(50), None, id="Tags-50-ok"),
    pytest.param("Tags", tags(51), "Tags", id="Tags-51"),
    pytest.param("Tags", {}, "Tags", id="Tags-0"),
    pytest.param("Tags", {"k" * 128: "v"}, None, id="TagKey-128-ok"),
    pytest.param("Tags", {"k" * 129: "v"}, "Tags." + "k" * 129, id="TagKey-129"),
    pytest.param("Tags", {"": "v"}, "Tags['']", id="TagKey-empty"),
    pytest.param("Tags", {"aws:team": "v"}, "Tags['aws:team']", id="TagKey-aws-prefix"),
    pytest.param("Tags", {"my:aws:team": "v"}, None, id="TagKey-aws-inside-ok"),
    pytest.param("Tags", {"cost center": "v"}, "Tags['cost center']", id="TagKey-pattern"),
    pytest.param("Tags", {"k": "v" * 256}, None, id="TagValue-256-ok"),
    pytest.param("Tags", {"k": "v" * 257}, "Tags.k", id="TagValue-257"),
    pytest.param("Tags", {"k": ""}, None, id="TagValue-empty-ok"),
    pytest.param("Tags", {"k": 1}, "Tags.k", id="TagValue-int"),
]


@pytest.mark.parametrize(("where", "value", "location"), CASES)
def test_constraint_boundaries(where: str, value: Any, location: str | None) -> None:
    data = with_(where, value)
    if location is None:
        parse_domain(data)
        return
    found = problems(data)
    assert [p.location for p in found] == [location], found
    problem = found[0]
    assert problem.file == "t.json"
    assert problem.message and "Input should" not in problem.message  # never pydantic's text
    if not problem.message.startswith("required"):  # a value was received: shown last
        assert re.search(r"\(got .+\)$", problem.message), problem.message


def test_the_base_config_is_valid() -> None:
    config = parse_domain(base())
    assert config.to_aws_json() == base()


@pytest.mark.parametrize(
    ("name", "selector_list", "rule_attribute"),
    [
        pytest.param("MobilePhoneNumber", "PhoneNumber", "PhoneNumber", id="mobile"),
        pytest.param("HomePhone", "PhoneNumber", "PhoneNumber", id="alias"),
        pytest.param("BusinessEmailAddress", "EmailAddress", "EmailAddress", id="business-email"),
        pytest.param("ShippingAddress.City", "Address", "Address.City", id="shipping-city"),
        pytest.param("MaillingAddress.PostalCode", "Address", "Address.PostalCode", id="mailling"),
        pytest.param(
            "BusinessAddress.Address", "Address", "Address.Address", id="business-address"
        ),
    ],
)
def test_sub_type_in_a_rule_points_to_the_selector(
    name: str, selector_list: str, rule_attribute: str
) -> None:
    (problem,) = problems(with_(RULE0, ["LastName", name]))
    assert problem.location == f"{RULE0}[1]"
    assert f"AttributeTypesSelector.{selector_list}" in problem.message
    assert repr(rule_attribute) in problem.message
    assert problem.message.endswith(f"(got {name!r})")


@pytest.mark.parametrize("name", [*schema.RULE_ATTRIBUTES, "Attributes.x"])
def test_every_rule_attribute_is_accepted(name: str) -> None:
    assert parse_domain(with_(RULE0, [name])).RuleBasedMatching.rules[0] == (name,)


@pytest.mark.parametrize(
    ("where", "value", "hint"),
    [
        pytest.param("Matchng", {}, "Matching", id="top-member"),
        pytest.param("Matching.Enable", True, "Enabled", id="nested-member"),
        pytest.param(f"{RBM}.MatchingRule", [], "MatchingRules", id="rbm-member"),
        pytest.param(f"{SEL}.Phone", ["PhoneNumber"], "PhoneNumber", id="selector-member"),
        pytest.param(RULE0, ["EmailAdress"], "EmailAddress", id="rule-attribute"),
        pytest.param(RULE0, ["lastname"], "LastName", id="rule-attribute-case"),
        pytest.param(RULE0, ["Attribute.LoyaltyId"], "Attributes.LoyaltyId", id="custom-attribute"),
        pytest.param(CONS, [["MaillingAddress"]], "MailingAddress", id="criterion"),
        pytest.param(f"{MS}.DayOfTheWeek", "monday", "MONDAY", id="enum"),
        pytest.param(
            f"{SEL}.EmailAddress", ["BusinesEmailAddress"], "BusinessEmailAddress", id="selector"
        ),
    ],
)
def test_did_you_mean(where: str, value: Any, hint: str) -> None:
    (problem,) = problems(with_(where, value))
    assert f"(did you mean {hint!r}?)" in problem.message


def test_unknown_member_without_close_name_lists_the_members() -> None:
    (problem,) = problems(with_("Matching.Zzz", 1))
    assert problem.location == "Matching.Zzz"
    assert "Enabled, JobSchedule, AutoMerging, ExportingConfig" in problem.message
    assert problem.message.endswith("(got 'Zzz')")


def test_every_problem_is_reported_at_once() -> None:
    data = base()
    data["DomainName"] = "bad name"
    data["Extra"] = 1
    data["Matching"]["JobSchedule"]["Time"] = "25:00"
    data["RuleBasedMatching"]["MatchingRules"] = [*rules(15), {"Rule": ["MobilePhoneNumber"]}]
    data["RuleBasedMatching"]["MaxAllowedRuleLevelForMatching"] = 1
    data["RuleBasedMatching"]["MaxAllowedRuleLevelForMerging"] = 2
    data["RuleBasedMatching"]["ConflictResolution"] = {"ConflictResolvingModel": "SOURCE"}
    data["Tags"] = {"aws:x": "1"}
    found = problems(data)
    assert {p.location for p in found} == {
        "DomainName",
        "Extra",
        "Matching.JobSchedule.Time",
        f"{RBM}.MatchingRules",
        f"{RBM}.MatchingRules[15].Rule[0]",
        f"{RBM}.MaxAllowedRuleLevelForMerging",
        f"{RBM}.ConflictResolution.SourceName",
        "Tags['aws:x']",
    }
    assert len(found) == 8
    assert all(str(p).startswith("t.json: ") for p in found)


def test_levels_above_the_number_of_rules_and_each_other_all_reported() -> None:
    data = with_(f"{RBM}.MaxAllowedRuleLevelForMatching", 3)
    data = with_(f"{RBM}.MaxAllowedRuleLevelForMerging", 5, data)
    messages = {p.message for p in problems(data)}
    assert messages == {
        "must not exceed the number of rules, 2 (got 3)",
        "must not exceed the number of rules, 2 (got 5)",
        "must not exceed MaxAllowedRuleLevelForMatching, 3 (got 5)",
    }


def test_enabled_auto_merging_needs_criteria() -> None:
    (problem,) = problems(with_(f"{AM}.Consolidation", DELETE))
    assert problem.location == f"{AM}.Consolidation"
    parse_domain(with_(f"{AM}.Enabled", False, with_(f"{AM}.Consolidation", DELETE)))


def test_disabled_rule_based_matching_needs_no_rules() -> None:
    data = {"RuleBasedMatching": {"Enabled": False}}
    assert parse_domain(data).RuleBasedMatching.rules == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([1], "expected an object at the top (got [1])", id="list"),
        pytest.param({"Matching": True}, "must be an object (got True)", id="structure"),
        pytest.param({"Tags": ["a"]}, "must be an object (got ['a'])", id="map"),
        pytest.param(
            {f"{RBM}": {"Enabled": True, "MatchingRules": "x"}},
            "must be a list (got 'x')",
            id="list-member",
        ),
    ],
)
def test_wrong_json_types(data: Any, message: str) -> None:
    assert [p.message for p in problems(data)] == [message]


# --- defaults and derived views ---------------------------------------------------------------


def test_defaults() -> None:
    config = parse_domain({})
    assert (config.DomainName, config.DefaultExpirationDays) == ("preview", 365)
    rbm = parse_domain(
        {"RuleBasedMatching": {"Enabled": True, "MatchingRules": rules(3)}}
    ).RuleBasedMatching
    assert rbm.max_matching_level == 3
    assert rbm.max_merging_level is None
    assert rbm.selector.AttributeMatchingModel == "ONE_TO_ONE"
    assert rbm.selector.address_types == ("Address",)
    assert rbm.selector.phone_fields == ("PhoneNumber",)
    assert rbm.selector.email_fields == ("EmailAddress",)
    assert rbm.conflict_resolution.ConflictResolvingModel == "RECENCY"
    matching = parse_domain({"Matching": {"Enabled": True}}).Matching
    assert (matching.schedule.DayOfTheWeek, matching.schedule.Time) == ("SATURDAY", "00:00")
    auto = AutoMerging(Enabled=False)
    assert auto.criteria == () and auto.conflict_resolution.ConflictResolvingModel == "RECENCY"


def test_selector_resolves_aliases_and_aws_spelling_in_first_seen_order() -> None:
    selector = AttributeTypesSelector(
        AttributeMatchingModel="MANY_TO_MANY",
        Address=("BusinessAddress", "MaillingAddress", "BillingAddress", "MailingAddress"),
        PhoneNumber=("MobilePhone", "MobilePhoneNumber", "Phone"),
        EmailAddress=("BusinessEmail", "EmailAddress"),
    )
    assert selector.address_types == ("BillingAddress", "MailingAddress")
    assert selector.phone_fields == ("MobilePhoneNumber", "PhoneNumber")
    assert selector.email_fields == ("BusinessEmailAddress", "EmailAddress")
    only_phone = AttributeTypesSelector(
        AttributeMatchingModel="ONE_TO_ONE", PhoneNumber=("HomePhone",)
    )
    assert only_phone.address_types == ("Address",)
    assert only_phone.email_fields == ("EmailAddress",)
    assert only_phone.phone_fields == ("HomePhoneNumber",)


def test_rules_and_levels() -> None:
    rbm = parse_domain(base()).RuleBasedMatching
    assert rbm.rules == (("EmailAddress",), ("PhoneNumber", "LastName"))
    assert (rbm.max_matching_level, rbm.max_merging_level) == (2, 1)
    assert isinstance(rbm.MatchingRules[0], MatchingRule)


def test_models_are_frozen_and_hashable() -> None:
    config = parse_domain(base())
    with pytest.raises(Exception, match="frozen"):
        config.DomainName = "other"  # type: ignore[misc]
    assert hash(config) == hash(parse_domain(base()))
    assert len({config, parse_domain(base())}) == 1


def test_replace_is_checked() -> None:
    config = parse_domain(base())
    rbm = config.RuleBasedMatching.replace(MaxAllowedRuleLevelForMerging=2)
    assert config.replace(RuleBasedMatching=rbm).RuleBasedMatching.max_merging_level == 2
    with pytest.raises(ConfigError) as info:
        config.RuleBasedMatching.replace(MaxAllowedRuleLevelForMerging=3)
    assert {p.location for p in info.value.problems} == {"MaxAllowedRuleLevelForMerging"}


# --- the AWS shapes ---------------------------------------------------------------------------


@functools.cache
def aws_shapes() -> dict[str, Any]:
    import botocore

    root = Path(botocore.__file__).parent / "data" / "customer-profiles"
    (model,) = sorted(root.glob("*/service-2.json.gz"))[-1:]
    return json.loads(gzip.decompress(model.read_bytes()))["shapes"]


@pytest.mark.parametrize(
    ("model", "shape", "ignored"),
    [
        pytest.param(DomainConfig, "CreateDomainRequest", {"DataStore"}, id="CreateDomainRequest"),
        pytest.param(DomainConfig, "UpdateDomainRequest", {"DataStore"}, id="UpdateDomainRequest"),
        pytest.param(Matching, "MatchingRequest", set(), id="MatchingRequest"),
        pytest.param(JobSchedule, "JobSchedule", set(), id="JobSchedule"),
        pytest.param(AutoMerging, "AutoMerging", set(), id="AutoMerging"),
        pytest.param(Consolidation, "Consolidation", set(), id="Consolidation"),
        pytest.param(ConflictResolution, "ConflictResolution", set(), id="ConflictResolution"),
        pytest.param(ExportingConfig, "ExportingConfig", set(), id="ExportingConfig"),
        pytest.param(S3ExportingConfig, "S3ExportingConfig", set(), id="S3ExportingConfig"),
        pytest.param(
            RuleBasedMatching, "RuleBasedMatchingRequest", set(), id="RuleBasedMatchingRequest"
        ),
        pytest.param(MatchingRule, "MatchingRule", set(), id="MatchingRule"),
        pytest.param(
            AttributeTypesSelector, "AttributeTypesSelector", set(), id="AttributeTypesSelector"
        ),
    ],
)
def test_models_mirror_the_aws_shapes(model: Any, shape: str, ignored: set[str]) -> None:
    members = [m for m in aws_shapes()[shape]["members"] if m not in ignored]
    assert list(model.model_fields) == members
    for name, field in model.model_fields.items():
        enum = aws_shapes()[aws_shapes()[shape]["members"][name]["shape"]].get("enum")
        if enum is not None:
            assert typing.get_origin(field.annotation) is typing.Literal, name
            assert set(typing.get_args(field.annotation)) == set(enum), name


def test_to_aws_json_passes_botocore_validation() -> None:
    for name in ("domain-rules.json", "domain-ml.json", "domain-both.json"):
        report = botocore_report(load_domain(DATASETS / name).to_aws_json())
        assert report == "", report


@functools.cache
def _create_domain_input() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("customer-profiles")
    return model.operation_model("CreateDomain").input_shape


def botocore_report(params: dict[str, Any]) -> str:
    from botocore.validate import ParamValidator

    return ParamValidator().validate(params, _create_domain_input()).generate_report()


# --- input forms ------------------------------------------------------------------------------


def get_domain_response() -> dict[str, Any]:
    response = base()
    response.update(
        CreatedAt=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        LastUpdatedAt="2024-05-02T00:00:00Z",
        Stats={"ProfileCount": 10, "MeteringProfileCount": 10, "ObjectCount": 3, "TotalSize": 99},
        DataStore={"Enabled": False, "Readiness": {"ProgressPercentage": 100, "Message": "ok"}},
        ResponseMetadata={"HTTPStatusCode": 200},
    )
    response["RuleBasedMatching"]["Status"] = "ACTIVE"
    return response


def test_get_domain_response_is_accepted_and_output_members_ignored() -> None:
    assert parse_domain(get_domain_response()) == parse_domain(base())
    assert parse_domain(get_domain_response()).to_aws_json() == base()


def test_output_only_members_are_ignored_only_where_aws_returns_them() -> None:
    (problem,) = problems(with_("Matching.Status", "ACTIVE"))
    assert problem.location == "Matching.Status"


def test_json_and_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(json.dumps(get_domain_response(), default=str))
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(base()))
    (tmp_path / "d.yml").write_text(json.dumps(base()))  # JSON is YAML too
    (tmp_path / "d.txt").write_text(yaml.safe_dump(base()))  # no known extension: by content
    expected = parse_domain(base())
    for name in ("d.json", "d.yaml", "d.yml", "d.txt"):
        assert load_domain(tmp_path / name) == expected, name


def test_yaml_is_read_with_the_core_schema(tmp_path: Path) -> None:
    text = "Matching:\n  Enabled: true\n  JobSchedule: {DayOfTheWeek: MONDAY, Time: 12:30}\nTags: {a: no, b: 2024-01-01, c: 0x1}\n"
    (tmp_path / "d.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_domain(tmp_path / "d.yaml")
    (problem,) = info.value.problems  # only the hex integer: 12:30, no and the date stay strings
    assert (problem.location, problem.message) == ("Tags.c", "must be a string (got 1)")
    (tmp_path / "e.yaml").write_text(
        text.replace("c: 0x1", "c: x").replace("Enabled: true", "Enabled: yes")
    )
    with pytest.raises(ConfigError, match=r"Matching.Enabled: must be true or false \(got 'yes'\)"):
        load_domain(tmp_path / "e.yaml")


@pytest.mark.parametrize(
    ("name", "content", "location", "message"),
    [
        pytest.param(
            "a.json",
            b'{"DomainName": "x",\n "Tags": {,}}',
            "line 2, column 11",
            "malformed JSON",
            id="json",
        ),
        pytest.param(
            "a.yaml",
            b"DomainName: x\nTags:\n  a: b\n   c: [\n",
            "line 4, column 5",
            "malformed YAML",
            id="yaml",
        ),
        pytest.param("a.json", b"", "", "empty file", id="empty"),
        pytest.param("a.yaml", b" \n\n", "", "empty file", id="blank"),
        pytest.param(
            "a.json",
            '{"DomainName": "café"}'.encode("latin-1"),
            "line 1, column 20",
            "not UTF-8",
            id="latin-1",
        ),
        pytest.param(
            "a.json", '{"DomainName": "x"}'.encode("utf-16"), "line 1", "UTF-16", id="utf-16"
        ),
        pytest.param(
            "a.json",
            b'{"Matching": {"Enabled": true, "Enabled": false}}',
            "Matching.Enabled",
            "given twice",
            id="duplicate-json",
        ),
        pytest.param(
            "a.yaml",
            b"DomainName: a\nDomainName: b\n",
            "DomainName",
            "given twice",
            id="duplicate-yaml",
        ),
        pytest.param("a.json", b"null", "", "expected an object", id="null"),
    ],
)
def test_unreadable_files(
    tmp_path: Path, name: str, content: bytes, location: str, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_domain(tmp_path / name)
    (problem,) = info.value.problems
    assert problem.file == str(tmp_path / name)
    assert problem.location == location
    assert message in problem.message


def test_file_problems_and_config_problems_together(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_bytes(b'{"DomainName": "a b", "DomainName": "c d"}')
    with pytest.raises(ConfigError) as info:
        load_domain(tmp_path / "d.json")
    assert [p.message for p in info.value.problems] == [
        "member given twice; only one is allowed (got 'DomainName')",
        "must match ^[a-zA-Z0-9_-]+$ (letters, digits, '_' and '-') (got 'c d')",
    ]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(base()).encode())
    assert load_domain(tmp_path / "d.json") == parse_domain(base())


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_missing_file_or_folder(tmp_path: Path, what: str) -> None:
    target = tmp_path / "x.json"
    if what == "folder":
        target.mkdir()
    with pytest.raises(ConfigError) as info:
        load_domain(target)
    assert len(info.value.problems) == 1


# --- datasets and round trip ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["domain-rules.json", "domain-ml.json", "domain-both.json", "domain-both.yaml"]
)
def test_example_datasets_load(name: str) -> None:
    config = load_domain(DATASETS / name)
    assert parse_domain(config.to_aws_json()) == config
    if name.endswith(".json"):
        assert config.to_aws_json() == json.loads((DATASETS / name).read_text())


def test_example_datasets_have_what_they_promise() -> None:
    rules_only = load_domain(DATASETS / "domain-rules.json")
    assert rules_only.Matching is None
    assert rules_only.RuleBasedMatching.selector.AttributeMatchingModel == "MANY_TO_MANY"
    assert rules_only.RuleBasedMatching.max_merging_level == 2
    assert 4 <= len(rules_only.RuleBasedMatching.rules) <= 5
    ml = load_domain(DATASETS / "domain-ml.json")
    assert ml.RuleBasedMatching is None and ml.Matching.JobSchedule is not None
    assert len(ml.Matching.AutoMerging.criteria) == 2
    assert ml.Matching.AutoMerging.MinAllowedConfidenceScoreForMerging == 0.9
    both = load_domain(DATASETS / "domain-both.json")
    assert both.RuleBasedMatching.conflict_resolution.SourceName == "CRM"
    assert both == load_domain(DATASETS / "domain-both.yaml")


TAG_KEY = st.from_regex(r"[a-zA-Z+\-=._:/]{1,20}", fullmatch=True).filter(
    lambda k: not k.startswith("aws:")
)
NAME = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)
CONFLICT = st.one_of(
    st.just({"ConflictResolvingModel": "RECENCY"}),
    st.builds(lambda n: {"ConflictResolvingModel": "SOURCE", "SourceName": n}, NAME),
)
EXPORT = st.fixed_dictionaries(
    {},
    optional={
        "S3Exporting": st.fixed_dictionaries(
            {"S3BucketName": st.from_regex(r"[a-z0-9.-]{3,63}", fullmatch=True)},
            optional={"S3KeyName": NAME},
        )
    },
)
CUSTOM = st.from_regex(r"Attributes\.[A-Za-z0-9_]{1,10}", fullmatch=True)
RULE_NAME = st.one_of(st.sampled_from(schema.RULE_ATTRIBUTES), CUSTOM)
CRITERION_NAME = st.one_of(st.sampled_from(list(schema.PROFILE_COLUMNS[1:])), CUSTOM)


def _selector_list(choices: Any, most: int) -> Any:
    return st.lists(st.sampled_from(sorted(choices)), min_size=1, max_size=most)


@st.composite
def rule_based(draw: Any) -> dict[str, Any]:
    rules_ = draw(st.lists(st.lists(RULE_NAME, min_size=1, max_size=15), min_size=1, max_size=15))
    out: dict[str, Any] = {
        "Enabled": draw(st.booleans()),
        "MatchingRules": [{"Rule": r} for r in rules_],
    }
    top = len(rules_)
    if draw(st.booleans()):
        top = out["MaxAllowedRuleLevelForMatching"] = draw(st.integers(1, len(rules_)))
    if draw(st.booleans()):
        out["MaxAllowedRuleLevelForMerging"] = draw(st.integers(1, top))
    optional = {
        "AttributeTypesSelector": st.fixed_dictionaries(
            {"AttributeMatchingModel": st.sampled_from(["ONE_TO_ONE", "MANY_TO_MANY"])},
            optional={
                "Address": _selector_list(schema.ADDRESS_SELECTOR, 4),
                "PhoneNumber": _selector_list(schema.PHONE_SELECTOR, 4),
                "EmailAddress": _selector_list(schema.EMAIL_SELECTOR, 3),
            },
        ),
        "ConflictResolution": CONFLICT,
        "ExportingConfig": EXPORT,
    }
    return out | draw(st.fixed_dictionaries({}, optional=optional))


MATCHING = st.fixed_dictionaries(
    {"Enabled": st.booleans()},
    optional={
        "JobSchedule": st.fixed_dictionaries(
            {
                "DayOfTheWeek": st.sampled_from(["SUNDAY", "WEDNESDAY", "SATURDAY"]),
                "Time": st.from_regex(r"([0-9]|[01][0-9]|2[0-3]):[0-5][0-9]", fullmatch=True),
            }
        ),
        "AutoMerging": st.fixed_dictionaries(
            {
                "Enabled": st.booleans(),
                "Consolidation": st.fixed_dictionaries(
                    {
                        "MatchingAttributesList": st.lists(
                            st.lists(CRITERION_NAME, min_size=1, max_size=20),
                            min_size=1,
                            max_size=10,
                        )
                    }
                ),
            },
            optional={
                "ConflictResolution": CONFLICT,
                "MinAllowedConfidenceScoreForMerging": st.floats(0.0, 1.0),
            },
        ),
        "ExportingConfig": EXPORT,
    },
)
REQUESTS = st.fixed_dictionaries(
    {},
    optional={
        "DomainName": st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True),
        "DefaultExpirationDays": st.integers(1, 1098),
        "DefaultEncryptionKey": st.text(max_size=40),
        "DeadLetterQueueUrl": st.text(max_size=40),
        "Matching": MATCHING,
        "RuleBasedMatching": rule_based(),
        "Tags": st.dictionaries(TAG_KEY, st.text(max_size=20), min_size=1, max_size=5),
    },
)


@settings(max_examples=100, deadline=None)
@given(REQUESTS)
def test_round_trip_of_generated_configs(request: dict[str, Any]) -> None:
    config = parse_domain(request)
    out = config.to_aws_json()
    assert out == {"DomainName": "preview", "DefaultExpirationDays": 365} | request
    assert parse_domain(json.loads(json.dumps(out))) == config
    assert parse_domain(out).to_aws_json() == out
    assert botocore_report(out) == ""


def test_json_path() -> None:
    assert (
        json_path(("RuleBasedMatching", "MatchingRules", 2, "Rule", 0))
        == f"{RBM}.MatchingRules[2].Rule[0]"
    )


# --- digest and CLI ---------------------------------------------------------------------------


def test_digest_marks_merge_and_match_only_levels() -> None:
    data = with_(f"{RBM}.MatchingRules", rules(3))
    data = with_(f"{RBM}.MaxAllowedRuleLevelForMatching", 2, data)
    tables = {t.title: t for t in digest(parse_domain(data))}
    assert [row[2] for row in tables["Rule levels"].rows] == [
        "match + merge",
        "match only",
        "not evaluated (above MaxAllowedRuleLevelForMatching)",
    ]
    settings_ = dict(tables["ML matching (Identity Resolution Job)"].rows)
    assert settings_["Schedule"] == "every MONDAY at 12:30 UTC"
    assert settings_["Merge threshold"] == "ConfidenceScore >= 0.5"


def test_cli_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATASETS / "domain-both.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ")
    for text in (
        "Rule levels",
        "match + merge",
        "match only",
        "MANY_TO_MANY",
        "MailingAddress",
        "Auto-merge criteria",
        "ConfidenceScore >= 0.85",
        "SATURDAY at 3:30 UTC",
        "SOURCE",
        "s3://idres-demo-results/rule-based",
        "DeadLetterQueueUrl",
    ):
        assert text in out, text


def test_cli_validate_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--request", str(DATASETS / "domain-both.yaml")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((DATASETS / "domain-both.json").read_text())


def test_cli_validate_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = with_("DomainName", "a b", with_(RULE0, ["MobilePhoneNumber"]))
    (tmp_path / "bad.json").write_text(json.dumps(data))
    assert main(["validate", str(tmp_path / "bad.json")]) == 2
    captured = capsys.readouterr()
    lines = [x for x in captured.err.splitlines() if x.strip()]
    assert len(lines) == 2, captured.err
    assert "bad.json: DomainName:" in captured.err
    assert f"{RULE0}[0]:" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""


def test_cli_validate_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text('{"DomainName": ')
    assert main(["validate", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "line 1, column 16" in err and "Traceback" not in err


def test_cli_validate_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "DOMAIN_FILE" in out and "GetDomain" in out and "--request" in out
