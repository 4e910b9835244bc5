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
from idres.views import (
    HIGH,
    ONES,
    layout,
    load_u8,
    load_u64,
    store_u8,
    store_u64,
    string_views,
    value_at,
)

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


@nb.njit(cache=True, nogil=True, inline="always")
def _within(w, lo, hi):  # type: ignore[no-untyped-def]
    """The high bit of each byte of `w` (all below 128) that lies in ``lo..hi``."""
    return (w + ONES * np.uint64(128 - lo)) & ~(w + ONES * np.uint64(127 - hi)) & HIGH


@nb.njit(cache=True, nogil=True, inline="always")
def _special(rule, w):  # type: ignore[no-untyped-def]
    """The high bit of each byte of `w` (all below 128) that the rule does not just copy
    (lower-cased): whitespace, address punctuation, a phone's non-digits."""
    if rule == _PHONE:
        return ~_within(w, 48, 57) & HIGH
    blank = _within(w, 9, 13) | _within(w, 32, 32)
    if rule == _ADDRESS:
        blank |= _within(w, 44, 47) | _within(w, 35, 35)  # , - . /  and  #
    return blank


def _byte_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per rule and ASCII byte, whether the rule drops it (whitespace; for addresses
    ``, . # / -`` too; for phones every non-digit), and each byte lower-cased."""
    drop = np.zeros((4, 128), dtype=np.int64)
    blank = [9, 10, 11, 12, 13, 32]
    drop[_EMAIL, blank] = drop[_STRING, blank] = drop[_ADDRESS, blank] = 1
    drop[_ADDRESS, [ord(c) for c in ",.#/-"]] = 1
    drop[_PHONE] = 1
    drop[_PHONE, ord("0") : ord("9") + 1] = 0
    lower = np.arange(128, dtype=np.uint8)
    lower[ord("A") : ord("Z") + 1] += 32
    return drop, lower


_DROP, _LOWER = _byte_tables()


@nb.njit(cache=True, nogil=True, inline="always")
def _byte(rule, base, pos, start, space, c):  # type: ignore[no-untyped-def]
    """Byte `c` (ASCII) under `rule`, written at `pos` when kept; the next position and whether
    a word separator is pending (string and address rules: one space before the next byte).
    Branch-free (word ends are too frequent to predict): the space and the byte are always
    stored, and the position moves past those kept, so `out` needs 2 bytes of room past it."""
    drop = _DROP[rule, c]
    store_u8(base + pos, 32)
    pos += space & (1 - drop)
    store_u8(base + pos, _LOWER[c])
    pos += 1 - drop
    joins = np.int64(rule >= _STRING)  # the string and address rules
    return pos, drop & joins & np.int64(pos > start)


@nb.njit(cache=True, nogil=True)
def _normalize(rule, info, buffers, out, pos, ends, other):  # type: ignore[no-untyped-def]
    """Normalized bytes of every row (its sources: the arrays of `info`) written one after the
    other into `out` from `pos` on, each row's end in `ends`; a row with a non-ASCII byte is
    marked in `other` and left empty. Returns the position after the last row. `out` holds at
    least the total length of the sources, one byte a row per source and 16 more. Eight bytes at a time
    where none is special (:func:`_special`), else byte by byte.
    """
    base = out.ctypes.data
    at_buffers = buffers.ctypes.data
    for r in range(ends.size):
        start = pos
        plain = True
        space = 0  # a separator seen since the last byte written (string, address rules)
        for s in range(info.shape[0]):
            held, at, length = value_at(
                info[s, 0], info[s, 1], at_buffers + 8 * info[s, 3], r + info[s, 2]
            )
            if not held:
                continue
            space = np.int64(pos > start)  # parts are joined by one space
            t = 0
            while t < length:
                if t + 8 <= length:
                    w = load_u64(at + t)
                    if w & HIGH:
                        plain = False
                        break
                    if not _special(rule, w):
                        if space:
                            store_u8(base + pos, 32)
                            pos += 1
                            space = 0
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
    columns = raw.get_columns()
    if len({tuple(c.chunk_lengths()) for c in columns}) > 1:  # chunks read a chunk at a time
        columns = raw.rechunk().get_columns()
    chunks = [c.get_chunks() for c in columns]
    # Output: at most the input's bytes, a space between parts and 8 bytes of a last word.
    room = sum(c.str.len_bytes().sum() or 0 for c in columns) + len(columns) * n + 16
    out = np.empty(room, dtype=np.uint8)
    ends = np.empty(n, dtype=np.int64)
    other = np.zeros(n, dtype=bool)
    used = lo = 0
    for parts in zip(*chunks, strict=True):
        arrays = [string_views(part) for part in parts]  # one chunk: shared, not copied
        info, buffers = layout(arrays)
        hi = lo + parts[0].len() if parts else n
        used = _normalize(rule, info, buffers, out, used, ends[lo:hi], other[lo:hi])
        lo = hi
    del chunks
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
        # (the standard mode: the only one a compiled rule stands for where modes differ)
        column = schema.norm(target)
        slow = normalize(raw.filter(pl.Series(other)), columns=[target]).get_column(column)
        slow_rows = np.flatnonzero(other)[slow.is_not_null().to_numpy()]
        both = np.concatenate([rows, slow_rows])
        order = np.argsort(both, kind="stable")
        rows = both[order]
        texts = pl.concat([texts, slow.drop_nulls().alias(target)]).gather(order)
    return rows.astype(np.uint32), texts
