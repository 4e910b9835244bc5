"""Comparison vectors of candidate pairs: each pair's level per comparison, vectorised.

The comparisons and their ordered levels are defined in :mod:`idres.comparisons`. Values are
encoded once per family into integer codes over a shared dictionary (:func:`encode`), so exact
agreement is an integer comparison and each exact match carries the term frequency of the agreed
value (share of the profiles holding it); similarities come from
:func:`rapidfuzz.process.cpdist` over aligned arrays, only for pairs not already exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from idres.blocking import A, B
from idres.comparisons import Comparison, check_columns
from idres.errors import InputError, repeated_names

GAMMA: Final = "gamma."
TF: Final = "tf."
_DEDUP_MIN: Final = 10_000


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

    >>> from idres.comparisons import default_comparisons
    >>> enc = encode(pl.DataFrame({"_n.LastName": ["li", "li", "wu", None]}), default_comparisons()[1:2])
    >>> enc.families[0].tf.tolist()  # 'li' held by 2 of the 3 profiles with a last name
    [0.6666666666666666, 0.3333333333333333]
    """
    problems = check_columns(frame, comparisons)
    problems += repeated_names((c.name for c in comparisons), "comparisons")
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
