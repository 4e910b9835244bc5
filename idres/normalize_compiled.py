"""Normalization of pure-ASCII values in one compiled pass, for the rule codes of large columns.

:func:`idres.normalize.normalize` is a chain of Polars string expressions, each building a new
string per value: on the 10M-profile scale run the e-mail, phone and address-line columns (about
30 million values) took 11 CPU seconds of it. For a value whose bytes are all ASCII the rules
reduce to byte rules, which a numba loop applies while copying each value once, straight from the
Arrow string views of the raw columns (:mod:`idres.views`):

- e-mail: ``A-Z`` lower-cased, whitespace (``\\t \\n \\v \\f \\r`` and space) dropped;
- phone: digits kept, an 11-digit number starting with ``1`` drops the ``1``;
- string: lower-cased, every whitespace run one space, trimmed;
- address part (``standard`` mode): ``, . # / -`` are whitespace too; the address line is the
  parts' words joined by one space (the parts normalized, then joined, as ``normalize`` does).

A value that is empty afterwards is missing. A row with any non-ASCII byte in its sources is
normalized by :func:`idres.normalize.normalize` (NFKC and Unicode case and whitespace are its
business), so every result equals Polars' exactly; the tests compare the two on generated text.
"""

from __future__ import annotations

from typing import Final

import numba as nb
import numpy as np
import polars as pl
import pyarrow as pa

from idres import schema
from idres.views import layout, load_u8, load_u64, store_u8, store_u64, string_views, value_at

__all__ = ["compiled_rule", "normalized_rows"]

_EMAIL: Final = 0
_PHONE: Final = 1
_STRING: Final = 2
_ADDRESS: Final = 3


def compiled_rule(target: str, mode: str = "standard") -> int | None:
    """The compiled rule of normalization target `target` (no ``_n.`` prefix), or None where
    only :func:`idres.normalize.normalize` applies it (dates, derived fields, the
    ``entity-resolution`` address extras).

    >>> compiled_rule("BusinessEmailAddress"), compiled_rule("BirthDate")
    (0, None)
    >>> compiled_rule("Address.Address"), compiled_rule("Address.City", "entity-resolution")
    (3, None)
    """
    kind, _, part = target.partition(".")
    if target in schema.EMAIL_FIELDS:
        return _EMAIL
    if target in schema.PHONE_FIELDS:
        return _PHONE
    if target in ("BirthDate", "Gender", "PartyType"):
        return None
    if target in schema.STRING_FIELDS or (kind == schema.ATTRIBUTES and part):
        return _STRING
    if kind in schema.ADDRESS_TYPES and mode == "standard":
        return _ADDRESS
    return None


_ONES: Final = np.uint64(0x0101010101010101)
_HIGH: Final = np.uint64(0x8080808080808080)


@nb.njit(cache=True, nogil=True, inline="always")
def _within(w, lo, hi):  # type: ignore[no-untyped-def]
    """The high bit of each byte of `w` (all below 128) that lies in ``lo..hi``."""
    return (w + _ONES * np.uint64(128 - lo)) & ~(w + _ONES * np.uint64(127 - hi)) & _HIGH


@nb.njit(cache=True, nogil=True, inline="always")
def _special(rule, w):  # type: ignore[no-untyped-def]
    """The high bit of each byte of `w` (all below 128) that the rule does not just copy
    (lower-cased): whitespace, address punctuation, a phone's non-digits."""
    if rule == _PHONE:
        return ~_within(w, 48, 57) & _HIGH
    blank = _within(w, 9, 13) | _within(w, 32, 32)
    if rule == _ADDRESS:
        blank |= _within(w, 44, 47) | _within(w, 35, 35)  # , - . /  and  #
    return blank


@nb.njit(cache=True, nogil=True, inline="always")
def _byte(rule, base, pos, start, space, c):  # type: ignore[no-untyped-def]
    """Byte `c` (ASCII) under `rule`, written at `pos` when kept; the next position and whether
    a word separator is pending (string and address rules: one space before the next byte)."""
    if rule == _PHONE:
        if 48 <= c <= 57:
            store_u8(base + pos, c)
            pos += 1
        return pos, space
    if 65 <= c <= 90:
        c += 32
    blank = c == 32 or 9 <= c <= 13
    if rule == _EMAIL:
        if not blank:
            store_u8(base + pos, c)
            pos += 1
        return pos, space
    if blank or (rule == _ADDRESS and (c == 35 or 44 <= c <= 47)):
        return pos, pos > start
    if space:
        store_u8(base + pos, 32)
        pos += 1
    store_u8(base + pos, c)
    return pos + 1, False


@nb.njit(cache=True, nogil=True)
def _normalize(rule, info, buffers, out, ends, other):  # type: ignore[no-untyped-def]
    """Normalized bytes of every row (its sources: the arrays of `info`) written one after the
    other into `out`, each row's end in `ends`; a row with a non-ASCII byte is marked in `other`
    and left empty. `out` holds at least the total length of the sources plus one byte a row
    and 8 more. Eight bytes at a time where none is special (:func:`_special`), else byte by byte.
    """
    base = out.ctypes.data
    at_buffers = buffers.ctypes.data
    pos = 0
    for r in range(ends.size):
        start = pos
        plain = True
        space = False  # a separator seen since the last byte written (string, address rules)
        for s in range(info.shape[0]):
            held, at, length = value_at(
                info[s, 0], info[s, 1], at_buffers + 8 * info[s, 3], r + info[s, 2]
            )
            if not held:
                continue
            space = pos > start  # parts are joined by one space
            t = 0
            while t < length:
                if t + 8 <= length:
                    w = load_u64(at + t)
                    if w & _HIGH:
                        plain = False
                        break
                    if not _special(rule, w):
                        if space:
                            store_u8(base + pos, 32)
                            pos += 1
                            space = False
                        if rule != _PHONE:
                            w |= _within(w, 65, 90) >> np.uint64(2)  # A-Z: add 32
                        store_u64(base + pos, w)
                        pos += 8
                        t += 8
                        continue
                    stop = t + 8
                else:
                    stop = length
                while t < stop:
                    c = load_u8(at + t)
                    if c >= 128:
                        plain = False
                        break
                    pos, space = _byte(rule, base, pos, start, space, c)
                    t += 1
                if not plain:
                    break
            if not plain:
                break
        if not plain:
            other[r] = True
            pos = start
        elif rule == _PHONE and pos - start == 11 and out[start] == 49:  # national: drop the 1
            for t in range(start, pos - 1):
                out[t] = out[t + 1]
            pos -= 1
        ends[r] = pos
    return pos


def normalized_rows(raw: pl.DataFrame, target: str, rule: int) -> tuple[np.ndarray, pl.Series]:
    """The rows of `raw` (the target's raw source columns, as :func:`idres.normalize.sources`
    names them; absent ones may be left out) whose normalized `target` value is not missing,
    ascending, and those values, for a `rule` of :func:`compiled_rule`.

    >>> raw = pl.DataFrame({"EmailAddress": [" Ann@X.com", None, " ", "Zoë@x.com"]})
    >>> rows, texts = normalized_rows(raw, "EmailAddress", compiled_rule("EmailAddress"))
    >>> rows.tolist(), texts.to_list()
    ([0, 3], ['ann@x.com', 'zoë@x.com'])
    """
    from idres.normalize import normalize

    n = raw.height
    arrays = [string_views(raw.get_column(c)) for c in raw.columns]
    info, buffers = layout(arrays)
    room = sum(a.nbytes for a in arrays) + n + 16  # views and data: more than the values' bytes
    out = np.empty(room, dtype=np.uint8)
    ends = np.empty(n, dtype=np.int64)
    other = np.zeros(n, dtype=bool)
    used = _normalize(rule, info, buffers, out, ends, other)
    del arrays
    starts = np.empty(n, dtype=np.int64)
    starts[0:1] = 0
    starts[1:] = ends[:-1]
    rows = np.flatnonzero(ends > starts)
    offsets = np.append(starts[rows], used)
    texts = pl.Series(
        target,
        pa.LargeStringArray.from_buffers(
            rows.size, pa.py_buffer(offsets), pa.py_buffer(out[:used])
        ),
    )
    if other.any():  # rows with other than ASCII: Polars' rules, then back in row order
        column = schema.norm(target)
        slow = normalize(raw.filter(pl.Series(other)), columns=[target]).get_column(column)
        slow_rows = np.flatnonzero(other)[slow.is_not_null().to_numpy()]
        both = np.concatenate([rows, slow_rows])
        order = np.argsort(both, kind="stable")
        rows = both[order]
        texts = pl.concat([texts, slow.drop_nulls().alias(target)]).gather(order)
    return rows.astype(np.uint32), texts
