"""The checks of SPEC §1 as pydantic validators and annotated types, used by :mod:`idres.config`.

Each check lives in a validator here, so a config built in Python is held to the same rules as one
read from a file. A failed check raises :func:`idres.config_problems.error` (our message, ending with
``(got <value!r>)``); list lengths are checked by wrap validators (:func:`count`) that report beside
any problem of the entries.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from typing import Annotated, Any, cast

from pydantic import AfterValidator, BeforeValidator, StrictStr, WrapValidator

from idres import schema
from idres.config_problems import close_hint, detail, error, gather

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
TIME_RE = re.compile(r"^([0-9]|0[0-9]|1[0-9]|2[0-3]):[0-5][0-9]$")
BUCKET_RE = re.compile(r"^[a-z0-9.-]+$")
#: AWS's TagKey pattern, as the service model writes it (``+-=`` is a range: + , - . / 0-9 : ; < =).
TAG_KEY_RE = re.compile(r"^(?!aws:)[a-zA-Z+-=._:/]+$")

#: Sub-type lists of AttributeTypesSelector -> (value -> field or address type) and its size limit.
SELECTOR_LISTS: dict[str, tuple[Mapping[str, str], int]] = {
    "Address": (schema.ADDRESS_SELECTOR, 4),
    "PhoneNumber": (schema.PHONE_SELECTOR, 4),
    "EmailAddress": (schema.EMAIL_SELECTOR, 3),
}

#: Names a Consolidation criterion may hold (besides ``Attributes.<key>``) [choice]: any standard
#: field, an address type (the whole address), ``<AddressType>.<Part>`` and ``<AddressType>.Address``.
CRITERION_ATTRIBUTES: tuple[str, ...] = (
    *schema.STRING_FIELDS,
    *schema.ADDRESS_TYPES,
    *(
        f"{t}.{p}"
        for t in schema.ADDRESS_TYPES
        for p in (schema.ADDRESS_LINE, *schema.ADDRESS_PARTS)
    ),
)
_CRITERION_SET = frozenset(CRITERION_ATTRIBUTES)
_RULE_SET = frozenset(schema.RULE_ATTRIBUTES)
_ATTRIBUTES_PREFIX = schema.ATTRIBUTES + "."


def text(
    lo: int, hi: int, pattern: re.Pattern[str] | None = None, meaning: str = ""
) -> AfterValidator:
    """A string of `lo`..`hi` characters, matching `pattern` (described by `meaning`)."""

    def check(value: str) -> str:
        if not lo <= len(value) <= hi:
            raise error(f"must be {lo}..{hi} characters long", value)
        if pattern is not None and not pattern.match(value):
            raise error(f"must match {pattern.pattern}{meaning}", value)
        return value

    return AfterValidator(check)


def integer(lo: int, hi: int) -> AfterValidator:
    """An integer in `lo`..`hi`."""

    def check(value: int) -> int:
        if not lo <= value <= hi:
            raise error(f"must be an integer from {lo} to {hi}", value)
        return value

    return AfterValidator(check)


def fraction(value: float) -> float:
    """A finite number in 0.0..1.0."""
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise error("must be a number from 0.0 to 1.0", value)
    return value


def one_of(choices: Sequence[str]) -> BeforeValidator:
    """One of `choices` (runs before the ``Literal`` check, to give our message and a hint)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and value not in choices:
            raise error(f"must be one of {', '.join(choices)}{close_hint(value, choices)}", value)
        if not isinstance(value, str):
            raise error(f"must be a string, one of {', '.join(choices)}", value)
        return value

    return BeforeValidator(check)


def count(lo: int, hi: int, noun: str, *, mapping: bool = False) -> WrapValidator:
    """A list (a map with `mapping`) of `lo`..`hi` entries, reported beside problems of the entries."""
    kinds: tuple[type, ...] = (Mapping,) if mapping else (list, tuple)

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        extra = []
        if isinstance(value, kinds) and not lo <= len(cast(Sized, value)) <= hi:
            extra.append(detail((), f"must hold {lo}..{hi} {noun}", len(cast(Sized, value))))
        return gather(value, handler, extra)

    return WrapValidator(check)


def rule_attribute(name: str) -> str:
    """An attribute name a MatchingRule may hold: RULE_ATTRIBUTES or ``Attributes.<key>``."""
    _length(name)
    if name in _RULE_SET or _custom_attribute(name):
        return name
    if name == _ATTRIBUTES_PREFIX:
        raise error("a custom attribute needs a key: Attributes.<key>", name)
    subtype = _subtype(name)
    if subtype is not None:
        base, selector_list = subtype
        raise error(
            f"sub-types are chosen in AttributeTypesSelector.{selector_list}: write {base!r} in the "
            f"rule and list {name.split('.')[0]!r} in AttributeTypesSelector.{selector_list}",
            name,
        )
    hint = close_hint(name, _with_custom(name, schema.RULE_ATTRIBUTES))
    allowed = "" if hint else f"; allowed: {', '.join(schema.RULE_ATTRIBUTES)}, Attributes.<key>"
    raise error(f"not an attribute a matching rule can use{hint}{allowed}", name)


def criterion_attribute(name: str) -> str:
    """An attribute name a Consolidation criterion may hold (see CRITERION_ATTRIBUTES)."""
    _length(name)
    if name in _CRITERION_SET or _custom_attribute(name):
        return name
    if name == _ATTRIBUTES_PREFIX:
        raise error("a custom attribute needs a key: Attributes.<key>", name)
    hint = close_hint(name, _with_custom(name, CRITERION_ATTRIBUTES))
    raise error(
        "not a profile attribute (a standard field, an address type, <AddressType>.<Part> or "
        f"Attributes.<key>){hint}",
        name,
    )


def selector_value(selector_list: str) -> AfterValidator:
    """A value of AttributeTypesSelector.`selector_list` (``Address``, ``PhoneNumber``, ``EmailAddress``)."""
    mapping = SELECTOR_LISTS[selector_list][0]

    def check(name: str) -> str:
        _length(name)
        if name in mapping:
            return name
        hint = close_hint(name, mapping)
        for other, (other_map, _) in SELECTOR_LISTS.items():
            if not hint and name in other_map:
                hint = f" ({name!r} belongs in AttributeTypesSelector.{other})"
        raise error(f"must be one of {', '.join(mapping)}{hint}", name)

    return AfterValidator(check)


def tag_key(key: str) -> str:
    """A tag key: 1..128 characters, not starting with ``aws:``, AWS's TagKey pattern."""
    if not 1 <= len(key) <= 128:
        raise error("tag key must be 1..128 characters long", key)
    if key.startswith("aws:"):
        raise error("tag key must not start with 'aws:' (reserved by AWS)", key)
    if not TAG_KEY_RE.match(key):
        raise error(f"tag key must match {TAG_KEY_RE.pattern}", key)
    return key


def _length(name: str) -> None:
    if not 1 <= len(name) <= 255:
        raise error("must be 1..255 characters long", name)


def _custom_attribute(name: str) -> bool:
    return name.startswith(_ATTRIBUTES_PREFIX) and len(name) > len(_ATTRIBUTES_PREFIX)


def _with_custom(name: str, choices: Iterable[str]) -> list[str]:
    """`choices` plus ``Attributes.<rest>`` when `name` looks like a misspelt custom attribute."""
    head, dot, rest = name.partition(".")
    extra = [_ATTRIBUTES_PREFIX + rest] if dot and rest and head != schema.ATTRIBUTES else []
    return [*choices, *extra]


def _subtype(name: str) -> tuple[str, str] | None:
    """(rule attribute to write instead, selector list) when `name` names a sub-type."""
    head, dot, part = name.partition(".")
    if dot and head in schema.ADDRESS_SELECTOR and head != "Address":
        base = f"Address.{part}"
        return (base, "Address") if base in _RULE_SET else None
    for selector_list in ("PhoneNumber", "EmailAddress"):
        if not dot and name in SELECTOR_LISTS[selector_list][0] and name != selector_list:
            return selector_list, selector_list
    return None


# --- annotated types --------------------------------------------------------------------------

Str255 = Annotated[StrictStr, text(1, 255)]
RuleAttributes = Annotated[
    tuple[Annotated[StrictStr, AfterValidator(rule_attribute)], ...],
    count(1, 15, "attribute names"),
]
CriteriaList = Annotated[
    tuple[
        Annotated[
            tuple[Annotated[StrictStr, AfterValidator(criterion_attribute)], ...],
            count(1, 20, "attribute names"),
        ],
        ...,
    ],
    count(1, 10, "criteria"),
]
AddressList = Annotated[
    tuple[Annotated[StrictStr, selector_value("Address")], ...], count(1, 4, "address types")
]
PhoneNumberList = Annotated[
    tuple[Annotated[StrictStr, selector_value("PhoneNumber")], ...], count(1, 4, "phone types")
]
EmailList = Annotated[
    tuple[Annotated[StrictStr, selector_value("EmailAddress")], ...], count(1, 3, "email types")
]
TagMap = Annotated[
    dict[Annotated[StrictStr, AfterValidator(tag_key)], Annotated[StrictStr, text(0, 256)]],
    count(1, 50, "tags", mapping=True),
]
