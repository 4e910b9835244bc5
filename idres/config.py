"""The domain configuration: frozen, typed models mirroring the AWS ``CreateDomain`` shapes.

Member names are exactly AWS's (PascalCase), enumerations are ``Literal`` types, lists are tuples, and
every constraint of SPEC §1 is checked when a model is built (see :mod:`idres.config_validate`), so
nothing downstream sees an unchecked value. Derived, defaulted views are lower-case properties
(:attr:`RuleBasedMatching.rules`, :attr:`RuleBasedMatching.selector`, :attr:`Matching.schedule` ...).

Accepted input: the ``CreateDomain`` / ``UpdateDomain`` request body (what
``aws customer-profiles create-domain --cli-input-json`` takes) and the ``GetDomain`` /
``CreateDomain`` / ``UpdateDomain`` response, as JSON or YAML (:func:`load_domain`) or as a mapping
(:func:`parse_domain`). These members are accepted and ignored (output-only, or without effect on
identity resolution): at the top ``CreatedAt``, ``LastUpdatedAt``, ``Stats``, ``DataStore``,
``Status`` and ``ResponseMetadata`` (boto3's); ``RuleBasedMatching.Status``. Any other unknown member
is an error with a did-you-mean hint.

Defaults [choice]: ``DomainName`` "preview", ``DefaultExpirationDays`` 365 (AWS's documented default
retention); selector ONE_TO_ONE over Address / PhoneNumber / EmailAddress; schedule SATURDAY 00:00
UTC; MaxAllowedRuleLevelForMatching = number of rules; no MaxAllowedRuleLevelForMerging = match only;
conflict resolution RECENCY. An enabled RuleBasedMatching needs MatchingRules and an enabled
AutoMerging needs Consolidation [choice: AWS leaves both optional; idres will not guess them].

>>> config = parse_domain({"DomainName": "demo", "RuleBasedMatching": {
...     "Enabled": True, "MatchingRules": [{"Rule": ["EmailAddress"]}]}})
>>> config.RuleBasedMatching.rules, config.RuleBasedMatching.max_merging_level
((('EmailAddress',),), None)
>>> config.to_aws_json()["RuleBasedMatching"]
{'Enabled': True, 'MatchingRules': [{'Rule': ['EmailAddress']}]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, TypeAlias, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails

from idres import config_validate as v
from idres import schema
from idres.config_problems import detail, gather, show, translate
from idres.config_read import read_document
from idres.errors import ConfigError, Problem

if TYPE_CHECKING:
    from idres.config_digest import DigestTable

__all__ = [
    "IGNORED_MEMBERS",
    "AttributeTypesSelector",
    "AutoMerging",
    "ConflictResolution",
    "Consolidation",
    "DomainConfig",
    "ExportingConfig",
    "JobSchedule",
    "Matching",
    "MatchingRule",
    "RuleBasedMatching",
    "S3ExportingConfig",
    "digest",
    "load_domain",
    "parse_domain",
]

Weekday = Literal["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"]
ResolvingModel = Literal["RECENCY", "SOURCE"]
PairingModel = Literal["ONE_TO_ONE", "MANY_TO_MANY"]

_DAYS: tuple[str, ...] = get_args(Weekday)

#: Members accepted and ignored, per structure (output-only, or no effect on identity resolution).
IGNORED_MEMBERS: Mapping[str, frozenset[str]] = {
    "DomainConfig": frozenset(
        {"CreatedAt", "LastUpdatedAt", "Stats", "DataStore", "Status", "ResponseMetadata"}
    ),
    "RuleBasedMatching": frozenset({"Status"}),
}


class _Shape(BaseModel):
    """Base of the config models: frozen, unknown members forbidden, variants by :meth:`replace`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _structure(cls, value: Any, handler: Callable[[Any], Any]) -> Any:
        """Drop ignored members, then report the structure's own checks beside its members'."""
        extra: list[InitErrorDetails] = []
        if isinstance(value, Mapping):
            ignored = IGNORED_MEMBERS.get(cls.__name__, frozenset())
            value = {k: x for k, x in value.items() if k not in ignored}
            extra = cls._check(value)
        return gather(value, handler, extra, first=False)

    @classmethod
    def _check(cls, value: Mapping[str, Any]) -> list[InitErrorDetails]:
        """Checks over several members of a mapping input (a structure overrides this)."""
        return []

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, checked like a loaded config (raises ConfigError).

        >>> JobSchedule(DayOfTheWeek="MONDAY", Time="6:30").replace(Time="7:00").Time
        '7:00'
        """
        data = {name: getattr(self, name) for name in self.model_fields_set} | changes
        try:
            return type(self).model_validate(data)
        except ValidationError as exc:
            raise ConfigError(translate(exc, type(self), "<replace>")) from None

    def to_aws_json(self) -> dict[str, Any]:
        """The members given (AWS JSON shape; None and defaults left out)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)


class ConflictResolution(_Shape):
    """How merged fields are chosen: RECENCY, or SOURCE (records of ObjectType SourceName win)."""

    ConflictResolvingModel: Annotated[ResolvingModel, v.one_of(("RECENCY", "SOURCE"))]
    SourceName: v.Str255 | None = None

    @classmethod
    def _check(cls, value: Mapping[str, Any]) -> list[InitErrorDetails]:
        if value.get("ConflictResolvingModel") == "SOURCE" and value.get("SourceName") is None:
            return [detail(("SourceName",), "required when ConflictResolvingModel is SOURCE")]
        return []


class JobSchedule(_Shape):
    """When the weekly Identity Resolution Job starts (UTC)."""

    DayOfTheWeek: Annotated[Weekday, v.one_of(_DAYS)]
    Time: Annotated[StrictStr, v.text(3, 5, v.TIME_RE, " (H:MM or HH:MM, 24-hour clock)")]


class S3ExportingConfig(_Shape):
    """The S3 location results are exported to."""

    S3BucketName: Annotated[
        StrictStr, v.text(3, 63, v.BUCKET_RE, " (lower-case letters, digits, '.' and '-')")
    ]
    S3KeyName: Annotated[StrictStr, v.text(1, 800)] | None = None


class ExportingConfig(_Shape):
    """Where match results are exported."""

    S3Exporting: S3ExportingConfig | None = None


class Consolidation(_Shape):
    """AutoMerging criteria: profiles agreeing on every attribute of one criterion are merged."""

    MatchingAttributesList: v.CriteriaList


# Aliases for annotations whose member has the name of its structure (a field named Consolidation
# would otherwise shadow the class while its own annotation is evaluated).
_Consolidation = Consolidation | None
_ConflictResolution = ConflictResolution | None
_JobSchedule = JobSchedule | None
_ExportingConfig = ExportingConfig | None
_Resolution: TypeAlias = ConflictResolution
_Schedule: TypeAlias = JobSchedule
RECENCY = ConflictResolution(ConflictResolvingModel="RECENCY")
DEFAULT_SCHEDULE = JobSchedule(DayOfTheWeek="SATURDAY", Time="00:00")


class AutoMerging(_Shape):
    """Auto-merging of the ML job's match groups."""

    Enabled: StrictBool
    Consolidation: _Consolidation = None
    ConflictResolution: _ConflictResolution = None
    MinAllowedConfidenceScoreForMerging: (
        Annotated[StrictFloat, AfterValidator(v.fraction)] | None
    ) = None

    @classmethod
    def _check(cls, value: Mapping[str, Any]) -> list[InitErrorDetails]:
        if value.get("Enabled") is True and value.get("Consolidation") is None:
            message = "required when AutoMerging is enabled (idres does not guess merge criteria)"
            return [detail(("Consolidation",), message)]
        return []

    @property
    def criteria(self) -> tuple[tuple[str, ...], ...]:
        """The consolidation criteria in order (empty when none)."""
        return self.Consolidation.MatchingAttributesList if self.Consolidation else ()

    @property
    def conflict_resolution(self) -> _Resolution:
        """ConflictResolution, RECENCY when absent."""
        return self.ConflictResolution or RECENCY


_AutoMerging = AutoMerging | None


class Matching(_Shape):
    """The weekly ML Identity Resolution Job (MatchingRequest)."""

    Enabled: StrictBool
    JobSchedule: _JobSchedule = None
    AutoMerging: _AutoMerging = None
    ExportingConfig: _ExportingConfig = None

    @property
    def schedule(self) -> _Schedule:
        """JobSchedule, SATURDAY 00:00 UTC when absent."""
        return self.JobSchedule or DEFAULT_SCHEDULE


class MatchingRule(_Shape):
    """One rule level: the attributes that must all match."""

    Rule: v.RuleAttributes


def _resolve(
    values: tuple[str, ...] | None, mapping: Mapping[str, str], base: str
) -> tuple[str, ...]:
    resolved = [mapping[x] for x in values] if values is not None else [base]
    return tuple(dict.fromkeys(resolved))


class AttributeTypesSelector(_Shape):
    """Which sub-types stand for Address / PhoneNumber / EmailAddress in rules, and how they pair."""

    AttributeMatchingModel: Annotated[PairingModel, v.one_of(("ONE_TO_ONE", "MANY_TO_MANY"))]
    Address: v.AddressList | None = None
    PhoneNumber: v.PhoneNumberList | None = None
    EmailAddress: v.EmailList | None = None

    @property
    def address_types(self) -> tuple[str, ...]:
        """Selected address types as profile structure names (aliases resolved, first-seen order);
        [Address] when the list is absent.

        >>> AttributeTypesSelector(AttributeMatchingModel="MANY_TO_MANY",
        ...     Address=("MaillingAddress", "MailingAddress", "BusinessAddress")).address_types
        ('MailingAddress', 'BillingAddress')
        """
        return _resolve(self.Address, schema.ADDRESS_SELECTOR, "Address")

    @property
    def phone_fields(self) -> tuple[str, ...]:
        """Selected phone fields (aliases resolved, first-seen order); [PhoneNumber] when absent."""
        return _resolve(self.PhoneNumber, schema.PHONE_SELECTOR, "PhoneNumber")

    @property
    def email_fields(self) -> tuple[str, ...]:
        """Selected email fields (aliases resolved, first-seen order); [EmailAddress] when absent."""
        return _resolve(self.EmailAddress, schema.EMAIL_SELECTOR, "EmailAddress")


_AttributeTypesSelector = AttributeTypesSelector | None
_Selector: TypeAlias = AttributeTypesSelector
DEFAULT_SELECTOR = AttributeTypesSelector(
    AttributeMatchingModel="ONE_TO_ONE",
    Address=("Address",),
    PhoneNumber=("PhoneNumber",),
    EmailAddress=("EmailAddress",),
)


def _level(value: Any) -> int | None:
    """A valid rule level (an int 1..15, not a bool), else None (its own check reports it)."""
    return value if type(value) is int and 1 <= value <= 15 else None


class RuleBasedMatching(_Shape):
    """Rule-based matching (RuleBasedMatchingRequest): rule levels, limits, selector, merging."""

    Enabled: StrictBool
    MatchingRules: Annotated[tuple[MatchingRule, ...], v.count(1, 15, "rules")] | None = None
    MaxAllowedRuleLevelForMerging: Annotated[StrictInt, v.integer(1, 15)] | None = None
    MaxAllowedRuleLevelForMatching: Annotated[StrictInt, v.integer(1, 15)] | None = None
    AttributeTypesSelector: _AttributeTypesSelector = None
    ConflictResolution: _ConflictResolution = None
    ExportingConfig: _ExportingConfig = None

    @classmethod
    def _check(cls, value: Mapping[str, Any]) -> list[InitErrorDetails]:
        rules = value.get("MatchingRules")
        matching = _level(value.get("MaxAllowedRuleLevelForMatching"))
        merging = _level(value.get("MaxAllowedRuleLevelForMerging"))
        out: list[InitErrorDetails] = []
        if value.get("Enabled") is True and rules is None:
            message = "required when RuleBasedMatching is enabled (idres does not guess rules)"
            out.append(detail(("MatchingRules",), message))
        n = len(rules) if isinstance(rules, list | tuple) and 1 <= len(rules) <= 15 else None
        for member, level in (
            ("MaxAllowedRuleLevelForMatching", matching),
            ("MaxAllowedRuleLevelForMerging", merging),
        ):
            if n is not None and level is not None and level > n:
                out.append(detail((member,), f"must not exceed the number of rules, {n}", level))
        if matching is not None and merging is not None and merging > matching:
            message = f"must not exceed MaxAllowedRuleLevelForMatching, {matching}"
            out.append(detail(("MaxAllowedRuleLevelForMerging",), message, merging))
        return out

    @property
    def rules(self) -> tuple[tuple[str, ...], ...]:
        """The attribute names of each rule level, level 1 first."""
        return tuple(r.Rule for r in self.MatchingRules or ())

    @property
    def max_matching_level(self) -> int:
        """Highest level evaluated: MaxAllowedRuleLevelForMatching, else the number of rules."""
        return self.MaxAllowedRuleLevelForMatching or len(self.rules)

    @property
    def max_merging_level(self) -> int | None:
        """Highest level whose matches merge; None = match only, nothing merges."""
        return self.MaxAllowedRuleLevelForMerging

    @property
    def selector(self) -> _Selector:
        """AttributeTypesSelector, SPEC's default (ONE_TO_ONE over the base types) when absent."""
        return self.AttributeTypesSelector or DEFAULT_SELECTOR

    @property
    def conflict_resolution(self) -> _Resolution:
        """ConflictResolution, RECENCY when absent."""
        return self.ConflictResolution or RECENCY


_Matching = Matching | None
_RuleBasedMatching = RuleBasedMatching | None


class DomainConfig(_Shape):
    """A domain's identity-resolution configuration (the CreateDomain request)."""

    DomainName: Annotated[
        StrictStr, v.text(1, 64, v.NAME_RE, " (letters, digits, '_' and '-')")
    ] = "preview"
    DefaultExpirationDays: Annotated[StrictInt, v.integer(1, 1098)] = 365
    DefaultEncryptionKey: Annotated[StrictStr, v.text(0, 255)] | None = None
    DeadLetterQueueUrl: Annotated[StrictStr, v.text(0, 255)] | None = None
    Matching: _Matching = None
    RuleBasedMatching: _RuleBasedMatching = None
    Tags: v.TagMap | None = None

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_aws_json(), sort_keys=True))

    def to_aws_json(self) -> dict[str, Any]:
        """The CreateDomain request: the members given plus the required DomainName and
        DefaultExpirationDays; ``parse_domain(c.to_aws_json()) == c``.

        >>> DomainConfig().to_aws_json()
        {'DomainName': 'preview', 'DefaultExpirationDays': 365}
        """
        required = {
            "DomainName": self.DomainName,
            "DefaultExpirationDays": self.DefaultExpirationDays,
        }
        return required | super().to_aws_json()


def parse_domain(data: Mapping[str, Any], *, source: str | None = "<config>") -> DomainConfig:
    """Check `data` (a CreateDomain/UpdateDomain request or a GetDomain response) and build the config.

    Every problem found is reported at once in a :class:`~idres.errors.ConfigError`.

    >>> parse_domain({"DomainName": "a b"})
    Traceback (most recent call last):
    ...
    idres.errors.ConfigError: <config>: DomainName: must match ^[a-zA-Z0-9_-]+$ (letters, digits, '_' and '-') (got 'a b')
    """
    if not isinstance(data, Mapping):
        raise ConfigError(Problem(source, "", f"expected an object at the top (got {show(data)})"))
    try:
        return DomainConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(translate(exc, DomainConfig, source)) from None


def load_domain(path: str | os.PathLike[str]) -> DomainConfig:
    """Read a domain config file (JSON or YAML, by extension, else by content) and check it.

    Problems of the file itself (encoding, syntax, duplicate members) and of the config are all
    reported in one :class:`~idres.errors.ConfigError`.
    """
    source = os.fspath(path)
    data, problems = read_document(path)
    try:
        config = parse_domain(data, source=source)
    except ConfigError as exc:
        problems = [*problems, *exc.problems]
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return config


def digest(config: DomainConfig) -> list[DigestTable]:
    """The config as display tables (see :func:`idres.config_digest.digest`)."""
    from idres.config_digest import digest as tables

    return tables(config)
