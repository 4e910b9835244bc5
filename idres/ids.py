"""Content-derived identifiers: MatchIds and merge-group ids from the sorted member ProfileIds.

[choice] A MatchId is 32 lowercase hex characters: the MD5 of the group's ProfileIds, sorted and
joined by a newline. The same members always give the same id, whatever the run, the row order or
the Polars version; a group whose membership changes gets a new id (which is what a diff wants).
"""

from __future__ import annotations

import hashlib
import math
from typing import Final

import numba as nb
import numpy as np
import polars as pl

from idres import schema
from idres.views import load_u32

# MD5 (RFC 1321): per-step shift, additive constant and message word.
_SHIFT: Final = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_CONSTANT: Final = [np.uint32(int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF) for i in range(64)]
_WORD: Final = [
    i if i < 16 else (5 * i + 1) % 16 if i < 32 else (3 * i + 5) % 16 if i < 48 else (7 * i) % 16
    for i in range(64)
]
_INITIAL: Final = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
#: Hex digits, by value.
_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_SHIFTS: Final = np.array(_SHIFT, dtype=np.int64)
_CONSTANTS: Final = np.array(_CONSTANT, dtype=np.int64)
_WORDS: Final = np.array(_WORD, dtype=np.int64)
_MASK: Final = 0xFFFFFFFF


def match_id(profile_ids: list[str]) -> str:
    """The MatchId of a group with these members (any order).

    >>> match_id(["b", "a"]) == match_id(["a", "b"])
    True
    >>> len(match_id(["a", "b"]))
    32
    """
    joined = "\n".join(sorted(profile_ids))
    return hashlib.md5(joined.encode("utf-8"), usedforsecurity=False).hexdigest()


@nb.njit(cache=True, nogil=True, inline="always")
def _step(a, b, f, j, words):  # type: ignore[no-untyped-def]
    """Step j of a block: the new ``b`` from the old ``a``, ``b`` and the round function f."""
    f = (f + a + _CONSTANTS[j] + words[_WORDS[j]]) & _MASK
    shift = _SHIFTS[j]
    return (b + (((f << shift) | (f >> (32 - shift))) & _MASK)) & _MASK


@nb.njit(cache=True, nogil=True)
def _md5_all(data, starts, lengths, out):  # type: ignore[no-untyped-def]
    """The MD5 hex digest of every message ``data[starts[i] : starts[i] + lengths[i]]`` into row
    i of `out` (32 bytes a row): RFC 1321's padding and 64 steps a block, in 32-bit arithmetic
    held in int64 and masked."""
    words = np.empty(16, dtype=np.int64)
    base = data.ctypes.data
    for i in range(starts.size):
        start, length = starts[i], lengths[i]
        a0, b0, c0, d0 = _INITIAL
        blocks = (length + 8) // 64 + 1
        for block in range(blocks):
            for w in range(16):  # the block's words: message, 0x80, zeros, bit length
                at = block * 64 + w * 4
                if at + 4 <= length:
                    words[w] = np.int64(load_u32(base + start + at))
                    continue
                word = 0
                for k in range(4):
                    if at + k < length:
                        word |= np.int64(data[start + at + k]) << (8 * k)
                    elif at + k == length:
                        word |= 0x80 << (8 * k)
                words[w] = word
            if block == blocks - 1:
                words[14] = (length * 8) & _MASK
                words[15] = ((length * 8) >> 32) & _MASK
            a, b, c, d = a0, b0, c0, d0
            for j in range(16):
                a, d, c, b = d, c, b, _step(a, b, (b & c) | (~b & d), j, words)
            for j in range(16, 32):
                a, d, c, b = d, c, b, _step(a, b, (d & b) | (~d & c), j, words)
            for j in range(32, 48):
                a, d, c, b = d, c, b, _step(a, b, b ^ c ^ d, j, words)
            for j in range(48, 64):
                a, d, c, b = d, c, b, _step(a, b, c ^ (b | (~d & _MASK)), j, words)
            a0 = (a0 + a) & _MASK
            b0 = (b0 + b) & _MASK
            c0 = (c0 + c) & _MASK
            d0 = (d0 + d) & _MASK
        for q, v in enumerate((a0, b0, c0, d0)):
            for k in range(4):  # little-endian bytes, each as two hex digits
                byte = (v >> (8 * k)) & 0xFF
                out[i, 8 * q + 2 * k] = _HEX[byte >> 4]
                out[i, 8 * q + 2 * k + 1] = _HEX[byte & 15]


def md5_hex(data: bytes, starts: np.ndarray, ends: np.ndarray) -> pl.Series:
    """The MD5 hex digest of each slice ``data[starts[i]:ends[i]]``, as a String Series.

    One compiled pass, each message's state in registers. The numpy version it replaced ran each
    of the 64 steps over whole columns of words, hundreds of passes over memory: as fast alone
    (2.27M groups about 0.6 s either way), several times slower beside the merge's thread.

    >>> md5_hex(b"abc", np.array([0, 1]), np.array([3, 1])).to_list() == [
    ...     hashlib.md5(b"abc").hexdigest(), hashlib.md5(b"").hexdigest()]
    True
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(ends, dtype=np.int64) - starts
    out = np.empty((starts.size, 32), dtype=np.uint8)
    _md5_all(np.frombuffer(data, dtype=np.uint8), starts, lengths, out)
    return pl.Series(out.view("S32").reshape(-1), dtype=pl.Binary).cast(pl.String)


def group_ids(frame: pl.DataFrame, group_col: str, *, order_col: str | None = None) -> pl.DataFrame:
    """One ``(group_col, __id)`` row per group of `frame`, the id derived from its ProfileIds.

    `order_col`, when given, is an integer column in ProfileId order (a row index of the
    ProfileId-sorted table), so members are put in order without comparing strings. The members
    of every group are joined into one buffer by Polars and every group's slice hashed at once
    (:func:`md5_hex`: no Python call per group).

    >>> f = pl.DataFrame({"ProfileId": ["a", "b", "c"], "g": [0, 0, 2]})
    >>> group_ids(f, "g").get_column("__id").str.len_chars().to_list()
    [32, 32]
    >>> group_ids(f.with_row_index("r"), "g", order_col="r").equals(group_ids(f, "g"))
    True
    """
    if order_col is None:
        ordered = frame.select(group_col, schema.PROFILE_ID).sort(group_col, schema.PROFILE_ID)
    else:
        ordered = frame.select(group_col, order_col, schema.PROFILE_ID)
        group = ordered.get_column(group_col)
        if (
            ordered.get_column(order_col).is_sorted()
            and group.dtype.is_unsigned_integer()
            and ordered.height < 1 << 32
            and (group.max() or 0) < 1 << 32
        ):  # sort (group, position) packed into one integer: no argsort, no string moves
            packed = (group.to_numpy().astype(np.uint64) << np.uint64(32)) | np.arange(
                ordered.height, dtype=np.uint64
            )
            perm = pl.Series(packed).sort().to_numpy() & np.uint64(0xFFFFFFFF)
            ordered = ordered.select(group_col, schema.PROFILE_ID)[perm.astype(np.int64)]
        else:
            ordered = ordered.sort(group_col, order_col).drop(order_col)
    ids = ordered.get_column(schema.PROFILE_ID).cast(pl.String)
    groups = ordered.get_column(group_col).to_numpy()
    if not groups.size:
        return pl.DataFrame(
            {group_col: ordered.get_column(group_col), "__id": pl.Series([], dtype=pl.String)}
        )
    lengths = ids.str.len_bytes().to_numpy().astype(np.int64)
    starts = np.cumsum(lengths + 1) - (lengths + 1)  # each id and its newline
    new = np.ones(groups.size, dtype=bool)
    new[1:] = groups[1:] != groups[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], groups.size) - 1
    buffer = ids.str.join("\n").cast(pl.Binary).item()
    return pl.DataFrame(
        {
            group_col: ordered.get_column(group_col).gather(first),
            "__id": md5_hex(buffer, starts[first], starts[last] + lengths[last]),
        }
    )
