"""Canonical column names of the flattened profile table and of the results folder, in one place.

A profile table has one row per profile and flat, dot-joined column names exactly as AWS spells the
members: ``ProfileId``, ``FirstName``, ``ShippingAddress.City``, ``Attributes.LoyaltyId``. Two
bookkeeping columns carry the record's origin (``SourceObjectType``) and its update time
(``LastUpdatedAt``, a UTC ``Datetime``). Normalized copies of matchable columns are named
``_n.<column>`` (see :func:`norm`); scratch columns inside a stage start with ``__``. The columns
of the results folder and of truth files (``MatchId``, ``ProfileIdA``, ``EntityId``, ...) are
named here too.
"""

from __future__ import annotations

from typing import Final

import polars as pl

PROFILE_ID: Final = "ProfileId"
SOURCE: Final = "SourceObjectType"
UPDATED: Final = "LastUpdatedAt"
ATTRIBUTES: Final = "Attributes"

# Columns of the results folder and the truth file (docs/DESIGN.md).
#: The real-world entity of a profile (truth files, synthetic labels).
ENTITY_ID: Final = "EntityId"
MATCH_ID: Final = "MatchId"
MERGE_GROUP_ID: Final = "MergeGroupId"
RULE_LEVEL: Final = "RuleLevel"
#: The two ends of a link or scored pair (stored with ProfileIdA < ProfileIdB).
PROFILE_ID_A: Final = "ProfileIdA"
PROFILE_ID_B: Final = "ProfileIdB"
CONFIDENCE: Final = "ConfidenceScore"

#: Standard scalar (string) members of the AWS profile object, in AWS's order.
STRING_FIELDS: Final[tuple[str, ...]] = (
    "AccountNumber",
    "AdditionalInformation",
    "PartyType",
    "PartyTypeString",
    "BusinessName",
    "FirstName",
    "MiddleName",
    "LastName",
    "BirthDate",
    "Gender",
    "GenderString",
    "PhoneNumber",
    "MobilePhoneNumber",
    "HomePhoneNumber",
    "BusinessPhoneNumber",
    "EmailAddress",
    "PersonalEmailAddress",
    "BusinessEmailAddress",
)

EMAIL_FIELDS: Final[tuple[str, ...]] = (
    "EmailAddress",
    "PersonalEmailAddress",
    "BusinessEmailAddress",
)
PHONE_FIELDS: Final[tuple[str, ...]] = (
    "PhoneNumber",
    "MobilePhoneNumber",
    "HomePhoneNumber",
    "BusinessPhoneNumber",
)
ADDRESS_TYPES: Final[tuple[str, ...]] = (
    "Address",
    "ShippingAddress",
    "MailingAddress",
    "BillingAddress",
)
ADDRESS_PARTS: Final[tuple[str, ...]] = (
    "Address1",
    "Address2",
    "Address3",
    "Address4",
    "City",
    "County",
    "State",
    "Province",
    "Country",
    "PostalCode",
)
#: The street-line parts of an address, joined into the derived address line.
ADDRESS_LINE_PARTS: Final[tuple[str, ...]] = ("Address1", "Address2", "Address3", "Address4")
#: The address line: Address1..Address4 joined (a derived, normalized-only component).
ADDRESS_LINE: Final = "Address"

ADDRESS_FIELDS: Final[tuple[str, ...]] = tuple(
    f"{t}.{p}" for t in ADDRESS_TYPES for p in ADDRESS_PARTS
)

#: Every standard column of the flat profile table, in output order (Attributes.* follow).
PROFILE_COLUMNS: Final[tuple[str, ...]] = (
    PROFILE_ID,
    *STRING_FIELDS,
    *ADDRESS_FIELDS,
)
BOOKKEEPING_COLUMNS: Final[tuple[str, ...]] = (SOURCE, UPDATED)

#: Dtype of the update timestamp column.
TIMESTAMP_DTYPE: Final = pl.Datetime("us", "UTC")

#: Attribute names allowed in a matching rule (AWS), besides ``Attributes.<key>``.
RULE_ATTRIBUTES: Final[tuple[str, ...]] = (
    "AccountNumber",
    "Address.Address",
    "Address.City",
    "Address.Country",
    "Address.County",
    "Address.PostalCode",
    "Address.State",
    "Address.Province",
    "BirthDate",
    "BusinessName",
    "EmailAddress",
    "FirstName",
    "Gender",
    "LastName",
    "MiddleName",
    "PhoneNumber",
)

#: AttributeTypesSelector values -> the profile field (or address type) they select.
EMAIL_SELECTOR: Final[dict[str, str]] = {
    "EmailAddress": "EmailAddress",
    "BusinessEmailAddress": "BusinessEmailAddress",
    "PersonalEmailAddress": "PersonalEmailAddress",
    "Email": "EmailAddress",
    "BusinessEmail": "BusinessEmailAddress",
    "PersonalEmail": "PersonalEmailAddress",
}
PHONE_SELECTOR: Final[dict[str, str]] = {
    "PhoneNumber": "PhoneNumber",
    "HomePhoneNumber": "HomePhoneNumber",
    "MobilePhoneNumber": "MobilePhoneNumber",
    "BusinessPhoneNumber": "BusinessPhoneNumber",
    "Phone": "PhoneNumber",
    "HomePhone": "HomePhoneNumber",
    "MobilePhone": "MobilePhoneNumber",
    "BusinessPhone": "BusinessPhoneNumber",
}
ADDRESS_SELECTOR: Final[dict[str, str]] = {
    "Address": "Address",
    "ShippingAddress": "ShippingAddress",
    "MaillingAddress": "MailingAddress",
    "MailingAddress": "MailingAddress",
    "BillingAddress": "BillingAddress",
    "BusinessAddress": "BillingAddress",
}

NORM_PREFIX: Final = "_n."
SCRATCH_PREFIX: Final = "__"


def norm(column: str) -> str:
    """Name of the normalized copy of `column`.

    >>> norm("ShippingAddress.City")
    '_n.ShippingAddress.City'
    """
    return NORM_PREFIX + column


def attribute_column(key: str) -> str:
    """Flat column name of custom attribute `key`.

    >>> attribute_column("LoyaltyId")
    'Attributes.LoyaltyId'
    """
    return f"{ATTRIBUTES}.{key}"


def attribute_columns(columns: list[str] | tuple[str, ...]) -> list[str]:
    """The ``Attributes.*`` columns among `columns`, in their order."""
    return [c for c in columns if c.startswith(ATTRIBUTES + ".")]


def is_passthrough(column: str) -> bool:
    """True for a column idres does not interpret (kept and written back unchanged)."""
    return (
        column not in PROFILE_COLUMNS
        and column not in BOOKKEEPING_COLUMNS
        and not column.startswith(ATTRIBUTES + ".")
        and not column.startswith(NORM_PREFIX)
        and not column.startswith(SCRATCH_PREFIX)
    )
