"""Comparison levels of candidate pairs, per attribute family, vectorised.

A :class:`Comparison` turns a pair of profiles into one level ``gamma``: the index of the first of its
ordered levels the pair satisfies (0 = exact, the last level = "else"), or ``-1`` when either side is
missing (no evidence, Splink's null level). A family with several sub-type columns (3 emails, 4
phones, 4 address types) compares every sub-type pair and keeps the best level (as AWS's MANY_TO_MANY
would); address components are compared independently of one another.

Values are encoded once per family into integer codes over a shared dictionary (:func:`encode`), so
exact agreement is an integer comparison and each exact match carries the term frequency of the
agreed value (share of the profiles holding it); similarities come from
:func:`rapidfuzz.process.cpdist` over aligned arrays, only for pairs not already exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, get_args

import numpy as np
import numpy.typing as npt
import polars as pl
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from idres import schema
from idres.blocking import A, B
from idres.errors import InputError, Problem

Kind = Literal["name", "email", "phone", "date", "text", "exact", "composite"]
KINDS: Final[tuple[str, ...]] = get_args(Kind)
GAMMA: Final = "gamma."
TF: Final = "tf."
#: Jaro-Winkler thresholds of the fuzzy levels, strongest first.
DEFAULT_THRESHOLDS: Final[dict[str, tuple[float, ...]]] = {
    "name": (0.92, 0.80),
    "email": (0.9,),
    "text": (0.9,),
}
_DEDUP_MIN: Final = 10_000
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
    #: Term-frequency adjustment of the exact level (see idres.em).
    tf: bool = True
    #: The parts of a ``composite`` comparison (see :meth:`composite`).
    parts: tuple[Comparison, ...] = ()
    #: Household rule (see idres.em): this comparison's positive weight is dropped for a pair whose
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


@dataclass(frozen=True, slots=True)
class _Family:
    comparison: Comparison
    #: Per profile, its distinct codes packed to the left (slot i holds a value iff count > i).
    slots: tuple[npt.NDArray[np.int32], ...]
    count: npt.NDArray[np.int8]  # number of distinct values of each profile
    values: npt.NDArray[np.object_]  # value of each code
    tf: npt.NDArray[np.float64]  # share of profiles holding each value
    aux: npt.NDArray[np.int32] | None  # per code: local part / last-7 code, or (y, m, d)
    parts: tuple[_Family, ...] = ()


def _slots(
    codes: tuple[npt.NDArray[np.int32], ...], n: int
) -> tuple[tuple[npt.NDArray[np.int32], ...], npt.NDArray[np.int8]]:
    """Each profile's distinct codes (``-1`` = missing) packed into the first slots.

    >>> slots, count = _slots((np.array([3, -1, 2]), np.array([4, 5, 2])), 3)
    >>> [s.tolist() for s in slots], count.tolist()
    ([[3, 5, 2], [4, -1, -1]], [2, 1, 1])
    """
    if not codes:
        return (np.full(n, -1, dtype=np.int32),), np.zeros(n, dtype=np.int8)
    big = np.iinfo(np.int32).max
    m = np.stack(codes, axis=1).astype(np.int32)
    m[m < 0] = big
    m.sort(axis=1)
    m[:, 1:][m[:, 1:] == m[:, :-1]] = big  # a value held under two sub-types counts once
    m.sort(axis=1)
    count = (m != big).sum(axis=1).astype(np.int8)
    width = max(int(count.max()) if n else 0, 1)
    m[m == big] = -1
    return tuple(np.ascontiguousarray(m[:, i]) for i in range(width)), count


@dataclass(frozen=True, slots=True)
class Encoded:
    """A frame's comparison columns as integer codes (see :func:`encode`)."""

    n: int
    families: tuple[_Family, ...]

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(f.comparison for f in self.families)


def _codes(values: pl.Series, uniq: pl.Series) -> npt.NDArray[np.int32]:
    idx = pl.int_range(uniq.len(), dtype=pl.Int32, eager=True)
    coded = values.replace_strict(uniq, idx, default=-1, return_dtype=pl.Int32)
    return coded.fill_null(-1).to_numpy()


def _encode_family(frame: pl.DataFrame, comp: Comparison) -> _Family:
    if comp.parts:
        parts = tuple(_encode_family(frame, p) for p in comp.parts)
        empty = np.zeros(0, dtype=np.int8)
        return _Family(comp, (), empty, np.zeros(0, dtype=object), np.zeros(0), None, parts)
    n = frame.height
    cols = [frame.get_column(c).cast(pl.String) for c in comp.columns]
    stacked = pl.concat(cols)
    uniq = stacked.drop_nulls().unique().sort()
    all_codes = _codes(stacked, uniq)
    codes = tuple(all_codes[i * n : (i + 1) * n] for i in range(len(cols)))
    slots, held = _slots(codes, n)
    count = np.zeros(uniq.len(), dtype=np.int64)
    for c in slots:
        count += np.bincount(c[c >= 0], minlength=count.size)
    tf = count / max(int((held > 0).sum()), 1)
    aux: npt.NDArray[np.int32] | None = None
    if comp.kind == "email":
        local = uniq.str.split("@").list.first()
        aux = _codes(local, local.unique().sort())
    elif comp.kind == "phone":
        last7 = pl.select(pl.when(uniq.str.len_chars() >= 7).then(uniq.str.slice(-7))).to_series()
        aux = _codes(last7, last7.drop_nulls().unique().sort())
    elif comp.kind == "date":
        ymd = uniq.str.extract_groups(r"^(\d{4})-(\d{2})-(\d{2})$").struct.unnest()
        aux = ymd.select(pl.all().cast(pl.Int32).fill_null(-1)).to_numpy().astype(np.int32)
    return _Family(comp, slots, held, uniq.to_numpy().astype(object), tf, aux)


def encode(frame: pl.DataFrame, comparisons: Sequence[Comparison]) -> Encoded:
    """Encode the columns of `comparisons` once, for any number of :func:`compare` calls.

    >>> enc = encode(pl.DataFrame({"_n.LastName": ["li", "li", "wu", None]}), default_comparisons()[1:2])
    >>> enc.families[0].tf.tolist()  # 'li' held by 2 of the 3 profiles with a last name
    [0.6666666666666666, 0.3333333333333333]
    """
    problems = check_columns(frame, comparisons)
    names = [c.name for c in comparisons]
    dupes = sorted({x for x in names if names.count(x) > 1})
    if dupes:
        problems.append(Problem(None, "comparisons", f"names must be unique (got {dupes!r})"))
    if problems:
        raise InputError(problems)
    return Encoded(frame.height, tuple(_encode_family(frame, c) for c in comparisons))


def _jaro_winkler(
    values: npt.NDArray[np.object_], x: npt.NDArray[np.int32], y: npt.NDArray[np.int32]
) -> npt.NDArray[np.float32]:
    """Jaro-Winkler similarity of ``values[x]`` and ``values[y]``, each distinct pair once."""
    lo, hi = np.minimum(x, y).astype(np.int64), np.maximum(x, y).astype(np.int64)
    inverse = None
    if lo.size > max(_DEDUP_MIN, 4 * values.size):  # few distinct values: each pair once
        keys, inverse = np.unique(lo * values.size + hi, return_inverse=True)
        lo, hi = keys // values.size, keys % values.size
    sim = cpdist(
        values[lo],
        values[hi],
        scorer=JaroWinkler.normalized_similarity,
        workers=-1,
        dtype=np.float32,
    )
    return sim if inverse is None else sim[inverse.ravel()]


Combo = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32]]


def _combos(f: _Family, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> list[Combo]:
    """Per pair of slots, the pairs where both hold a value and the two codes."""
    ca, cb = f.count[a], f.count[b]
    out = []
    for i, left in enumerate(f.slots):
        for j, right in enumerate(f.slots):
            sel = np.flatnonzero((ca > i) & (cb > j))
            out.append((sel, left[a[sel]], right[b[sel]]))
    return out


def _compare_family(
    f: _Family, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    comp, size = f.comparison, a.size
    if f.parts:
        return _compare_composite(f, a, b)
    combos = _combos(f, a, b)
    present = (f.count[a] > 0) & (f.count[b] > 0)
    exact = np.zeros(size, dtype=bool)
    tf = np.full(size, np.inf)
    for sel, x, y in combos:
        eq = x == y
        hit = sel[eq]
        exact[hit] = True
        if comp.tf:
            tf[hit] = np.minimum(tf[hit], f.tf[x[eq]])
    gamma = np.where(present, len(comp.levels) - 1, -1).astype(np.int8)
    need = present & ~exact
    if comp.kind in ("email", "phone", "date"):
        middle = np.zeros(size, dtype=bool)
        for sel, x, y in combos:
            keep = need[sel]
            hit = sel[keep]
            middle[hit[_middle(f, x[keep], y[keep])]] = True
        if comp.kind == "email":  # JW on the whole address where the local parts differ
            best = _best_similarity(f, combos, need & ~middle)
            middle |= best >= comp.thresholds[0]
        gamma[middle] = 1
    elif comp.kind in ("name", "text"):
        best = _best_similarity(f, combos, need)
        for level in range(len(comp.thresholds), 0, -1):  # weakest first, stronger overrides
            gamma[best >= comp.thresholds[level - 1]] = level
    gamma[exact] = 0
    tf_out = np.where(exact & np.isfinite(tf), tf, np.nan).astype(np.float32)
    return gamma, tf_out


def _compare_composite(
    f: _Family, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    results = [_compare_family(p, a, b) for p in f.parts]
    gamma = np.full(a.size, -1, dtype=np.int8)
    tf = np.full(a.size, np.nan, dtype=np.float32)
    present = np.zeros(a.size, dtype=bool)
    for g, _ in results:
        present |= g >= 0
    gamma[present] = len(f.comparison.levels) - 1
    offsets = np.cumsum([0] + [len(p.comparison.levels) - 1 for p in f.parts])
    for (g, t), offset, p in reversed(list(zip(results, offsets, f.parts, strict=False))):
        hit = (g >= 0) & (g < len(p.comparison.levels) - 1)  # agrees at some level but "else"
        gamma[hit] = offset + g[hit]
        tf[hit] = t[hit]
    return gamma, tf


def _middle(
    f: _Family, x: npt.NDArray[np.int32], y: npt.NDArray[np.int32]
) -> npt.NDArray[np.bool_]:
    assert f.aux is not None
    if f.aux.ndim == 1:  # local part / last 7 digits
        ax, ay = f.aux[np.maximum(x, 0)], f.aux[np.maximum(y, 0)]
        return (ax >= 0) & (ax == ay)
    px, py = f.aux[np.maximum(x, 0)], f.aux[np.maximum(y, 0)]
    valid = (px[:, 0] >= 0) & (py[:, 0] >= 0)
    same = px == py
    swapped = same[:, 0] & (px[:, 1] == py[:, 2]) & (px[:, 2] == py[:, 1])
    return valid & ((same.sum(axis=1) == 2) | swapped)


def _best_similarity(
    f: _Family, combos: list[Combo], need: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float32]:
    """Best Jaro-Winkler similarity over the sub-type pairs (stops at the top threshold)."""
    best = np.zeros(need.size, dtype=np.float32)
    top = f.comparison.thresholds[0]
    need = need.copy()
    for sel, x, y in combos:
        keep = need[sel]
        idx = sel[keep]
        if idx.size:
            best[idx] = np.maximum(best[idx], _jaro_winkler(f.values, x[keep], y[keep]))
            need[idx[best[idx] >= top]] = False  # already at the strongest fuzzy level
    return best


def compare(encoded: Encoded, pairs: pl.DataFrame) -> pl.DataFrame:
    """Comparison vectors of `pairs` (columns ``a``, ``b``, ...): the pair columns, then one
    ``gamma.<name>`` (``i8``, -1 = missing) and ``tf.<name>`` (``f32``, the term frequency of the
    agreed value on exact matches, else NaN) column per comparison.

    >>> f = pl.DataFrame({"_n.FirstName": ["jon", "john", "jon", None]})
    >>> enc = encode(f, [Comparison("FirstName", "name", ("_n.FirstName",))])
    >>> compare(enc, pl.DataFrame({"a": [0, 0, 0], "b": [1, 2, 3]}))["gamma.FirstName"].to_list()
    [1, 0, -1]
    """
    a = pairs.get_column(A).cast(pl.Int64).to_numpy()
    b = pairs.get_column(B).cast(pl.Int64).to_numpy()
    columns: dict[str, Any] = {}
    for f in encoded.families:
        gamma, tf = _compare_family(f, a, b)
        columns[GAMMA + f.comparison.name] = gamma
        columns[TF + f.comparison.name] = tf
    return pairs.with_columns(pl.DataFrame(columns))


def comparison_vectors(
    frame: pl.DataFrame, comparisons: Sequence[Comparison], pairs: pl.DataFrame
) -> pl.DataFrame:
    """:func:`encode` then :func:`compare`, for one-off use.

    >>> f = pl.DataFrame({"_n.BirthDate": ["1980-03-04", "1980-04-03", "1981-03-04"]})
    >>> comps = [Comparison("BirthDate", "date", ("_n.BirthDate",))]
    >>> comparison_vectors(f, comps, pl.DataFrame({"a": [0, 0], "b": [1, 2]}))["gamma.BirthDate"].to_list()
    [1, 1]
    """
    return compare(encode(frame, comparisons), pairs)
