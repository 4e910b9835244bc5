"""Comparisons of candidate pairs, one per attribute family, as ordered levels.

A :class:`Comparison` turns a pair of profiles into one level ``gamma``: the index of the first of its
ordered levels the pair satisfies (0 = exact, the last level = "else"), or ``-1`` when either side is
missing (no evidence, Splink's null level). A family with several sub-type columns (3 emails, 4
phones, 4 address types) compares every sub-type pair and keeps the best level (as AWS's MANY_TO_MANY
would); address components are compared independently of one another.

The levels of candidate pairs are computed, vectorised, in :mod:`idres.comparison_vectors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, get_args

import polars as pl

from idres import schema
from idres.errors import Problem

Kind = Literal["name", "email", "phone", "date", "text", "exact", "composite"]
KINDS: Final[tuple[str, ...]] = get_args(Kind)
#: Jaro-Winkler thresholds of the fuzzy levels, strongest first.
DEFAULT_THRESHOLDS: Final[dict[str, tuple[float, ...]]] = {
    "name": (0.92, 0.80),
    "email": (0.9,),
    "text": (0.9,),
}
_MIDDLE: Final[dict[str, str]] = {
    "email": "same local part or jw>={t}",
    "phone": "same last 7 digits",
    "date": "one of year/month/day differs or day/month swapped",
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """One attribute family compared as ordered levels, first match wins.

    >>> Comparison("FirstName", "name", ("_n.FirstName",)).levels
    ('exact', 'jw>=0.92', 'jw>=0.8', 'else')
    >>> Comparison("PhoneNumber", "phone", ("_n.PhoneNumber", "_n.MobilePhoneNumber")).levels
    ('exact', 'same last 7 digits', 'else')
    """

    name: str
    kind: Kind
    columns: tuple[str, ...]
    thresholds: tuple[float, ...] = field(default=())
    #: Term-frequency adjustment of the exact level (see idres.fellegi_sunter).
    tf: bool = True
    #: The parts of a ``composite`` comparison (see :meth:`composite`).
    parts: tuple[Comparison, ...] = ()
    #: Household rule (see idres.fellegi_sunter): this comparison's positive weight is dropped for a pair whose
    #: `gate` comparison disagrees (its "else" level) unless `gate_unless` is exact.
    gate: str | None = None
    gate_unless: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"comparison {self.name!r}: unknown kind (got {self.kind!r})")
        if (self.kind == "composite") != bool(self.parts):
            raise ValueError(f"comparison {self.name!r}: parts go with kind 'composite' only")
        if self.parts:
            cols = dict.fromkeys(c for p in self.parts for c in p.columns)
            object.__setattr__(self, "columns", tuple(cols))
            object.__setattr__(self, "parts", tuple(self.parts))
        if not self.columns:
            raise ValueError(f"comparison {self.name!r}: no column")
        object.__setattr__(self, "columns", tuple(self.columns))
        if not self.thresholds:
            object.__setattr__(self, "thresholds", DEFAULT_THRESHOLDS.get(self.kind, ()))
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))

    @classmethod
    def composite(
        cls,
        name: str,
        parts: Sequence[Comparison],
        *,
        gate: str | None = None,
        gate_unless: str | None = None,
    ) -> Comparison:
        """One comparison over correlated attributes: the first part that agrees at any level
        but "else" decides, so agreeing parts are not counted as independent evidence.

        >>> line = Comparison("Address.Address", "text", ("_n.Address.Address",))
        >>> code = Comparison("Address.PostalCode", "exact", ("_n.Address.PostalCode",))
        >>> Comparison.composite("Address", [line, code]).levels
        ('Address.Address exact', 'Address.Address jw>=0.9', 'Address.PostalCode exact', 'else')
        """
        return cls(name, "composite", (), parts=tuple(parts), gate=gate, gate_unless=gate_unless)

    @property
    def exact_levels(self) -> tuple[int, ...]:
        """Levels whose weight gets the term-frequency adjustment."""
        if not self.parts:
            return (0,) if self.tf else ()
        out, offset = [], 0
        for p in self.parts:
            if p.tf:
                out.append(offset)
            offset += len(p.levels) - 1
        return tuple(out)

    @property
    def levels(self) -> tuple[str, ...]:
        """Level labels, strongest first; ``gamma`` is an index into this tuple."""
        if self.parts:
            return (*(f"{p.name} {lv}" for p in self.parts for lv in p.levels[:-1]), "else")
        if self.kind in ("name", "text"):
            middle = [f"jw>={t:g}" for t in self.thresholds]
        elif self.kind in _MIDDLE:
            middle = [_MIDDLE[self.kind].format(t=self.thresholds[0] if self.thresholds else "")]
        else:
            middle = []
        return ("exact", *middle, "else")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (see :meth:`from_dict`)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "columns": list(self.columns),
            "thresholds": list(self.thresholds),
            "tf": self.tf,
            "levels": list(self.levels),
            **({"parts": [p.to_dict() for p in self.parts]} if self.parts else {}),
            **({"gate": self.gate} if self.gate else {}),
            **({"gate_unless": self.gate_unless} if self.gate_unless else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        """Inverse of :meth:`to_dict` (the ``levels`` entry is derived and ignored)."""
        gate = {"gate": data.get("gate"), "gate_unless": data.get("gate_unless")}
        if data.get("parts"):
            return cls.composite(data["name"], [cls.from_dict(p) for p in data["parts"]], **gate)
        return cls(
            name=data["name"],
            kind=data["kind"],
            columns=tuple(data["columns"]),
            thresholds=tuple(data.get("thresholds", ())),
            tf=bool(data.get("tf", True)),
            **gate,
        )


def _address(part: str) -> tuple[str, ...]:
    return tuple(schema.norm(f"{t}.{part}") for t in schema.ADDRESS_TYPES)


def default_comparisons(frame: pl.DataFrame | None = None) -> tuple[Comparison, ...]:
    """The default comparison set; with `frame`, only columns it has with at least one value.

    >>> [c.name for c in default_comparisons()]
    ['FirstName', 'LastName', 'EmailAddress', 'PhoneNumber', 'BirthDate', 'Address', 'BusinessName', 'AccountNumber']
    >>> [c.name for c in default_comparisons(pl.DataFrame({"_n.LastName": ["li"]}))]
    ['LastName']
    """
    n = schema.norm
    full = (
        Comparison("FirstName", "name", (n("FirstName"),)),
        Comparison("LastName", "name", (n("LastName"),)),
        Comparison("EmailAddress", "email", tuple(n(c) for c in schema.EMAIL_FIELDS)),
        Comparison(
            "PhoneNumber",
            "phone",
            tuple(n(c) for c in schema.PHONE_FIELDS),
            gate="FirstName",
            gate_unless="BirthDate",
        ),
        Comparison("BirthDate", "date", (n("BirthDate"),)),
        Comparison.composite(
            "Address",
            [
                Comparison("Address.Address", "text", _address(schema.ADDRESS_LINE)),
                Comparison("Address.PostalCode", "exact", _address("PostalCode")),
                Comparison("Address.City", "exact", _address("City")),
            ],
        ),
        Comparison("BusinessName", "text", (n("BusinessName"),)),
        Comparison("AccountNumber", "exact", (n("AccountNumber"),)),
    )
    if frame is None:
        return full
    filled = {c for c in frame.columns if frame.get_column(c).null_count() < frame.height}
    out = [kept for comp in full if (kept := _restrict(comp, filled)) is not None]
    return tuple(out)


def _restrict(comp: Comparison, filled: set[str]) -> Comparison | None:
    """`comp` on the `filled` columns only (None when nothing is left)."""
    if comp.parts:
        parts = [kept for p in comp.parts if (kept := _restrict(p, filled)) is not None]
        gate = {"gate": comp.gate, "gate_unless": comp.gate_unless}
        return Comparison.composite(comp.name, parts, **gate) if parts else None
    cols = tuple(c for c in comp.columns if c in filled)
    return replace(comp, columns=cols) if cols else None


def check_columns(frame: pl.DataFrame, comparisons: Iterable[Comparison]) -> list[Problem]:
    """One problem per comparison column missing from `frame`."""
    have = set(frame.columns)
    return [
        Problem(None, f"comparison {c.name!r}", f"column missing from the profiles (got {col!r})")
        for c in comparisons
        for col in c.columns
        if col not in have
    ]
