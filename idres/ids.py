"""Content-derived identifiers: MatchIds and merge-group ids from the sorted member ProfileIds.

[choice] A MatchId is 32 lowercase hex characters: the MD5 of the group's ProfileIds, sorted and
joined by a newline. The same members always give the same id, whatever the run, the row order or
the Polars version; a group whose membership changes gets a new id (which is what a diff wants).
"""

from __future__ import annotations

import hashlib
import math
from typing import Final

import numpy as np
import polars as pl

from idres import schema

# MD5 (RFC 1321): per-step shift, additive constant and message word.
_SHIFT: Final = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_CONSTANT: Final = [np.uint32(int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF) for i in range(64)]
_WORD: Final = [
    i if i < 16 else (5 * i + 1) % 16 if i < 32 else (3 * i + 5) % 16 if i < 48 else (7 * i) % 16
    for i in range(64)
]
_INITIAL: Final = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
#: Each byte's two hex digits, as one little-endian 16-bit word.
_HEX_PAIRS: Final = np.array(
    [int.from_bytes(f"{b:02x}".encode(), "little") for b in range(256)], dtype="<u2"
)
#: Messages of more blocks than this (over 1 KB: groups of about 90 members or more) are hashed by
#: hashlib one by one; they are few, and the vectorised rounds pay per block, not per byte.
_MAX_VECTOR_BLOCKS: Final = 16
#: Padded message bytes laid out at once (4 MB, and a mask of as many bytes).
_CHUNK_BYTES: Final = 1 << 22


def match_id(profile_ids: list[str]) -> str:
    """The MatchId of a group with these members (any order).

    >>> match_id(["b", "a"]) == match_id(["a", "b"])
    True
    >>> len(match_id(["a", "b"]))
    32
    """
    joined = "\n".join(sorted(profile_ids))
    return hashlib.md5(joined.encode("utf-8"), usedforsecurity=False).hexdigest()


def _padded_words(
    data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, blocks: int
) -> np.ndarray:
    """The messages ``data[starts[i] : starts[i] + lengths[i]]`` padded as MD5 pads them, each
    to `blocks` blocks of 64 bytes, as little-endian 32-bit words (rows × blocks·16). `data`
    must run on for at least ``blocks * 64`` bytes past every message (zeros will do)."""
    width = blocks * 64
    windows = np.lib.stride_tricks.as_strided(
        data, shape=(data.size - width + 1, width), strides=(1, 1), writeable=False
    )
    padded = windows[starts]  # each message's window copied: one row of bytes a message
    # bytes past the message are zeros (16-bit compares: widths are at most 1024)
    padded *= np.arange(width, dtype=np.uint16) < lengths.astype(np.uint16)[:, None]
    padded[np.arange(starts.size), lengths] = 0x80
    bits = (lengths.astype(np.uint64) * np.uint64(8)).astype("<u8")
    padded[:, width - 8 :] = bits.view(np.uint8).reshape(-1, 8)
    return padded.view("<u4")


def _md5_rounds(words: np.ndarray) -> np.ndarray:
    """MD5 digests (rows × 16 bytes) of padded messages: the 64 steps of each block run on whole
    columns of 32-bit words, one numpy call per operation for every message at once."""
    rows = words.shape[0]
    state = [np.full(rows, v, dtype=np.uint32) for v in _INITIAL]
    spare = np.empty(rows, dtype=np.uint32)
    for block in range(words.shape[1] // 16):
        w = [np.ascontiguousarray(words[:, block * 16 + k]) for k in range(16)]
        a, b, c, d = (v.copy() for v in state)
        f = np.empty(rows, dtype=np.uint32)
        for i in range(64):
            if i < 16:  # (b & c) | (~b & d)
                np.bitwise_xor(c, d, out=f)
                f &= b
                f ^= d
            elif i < 32:  # (d & b) | (~d & c)
                np.bitwise_xor(b, c, out=f)
                f &= d
                f ^= c
            elif i < 48:
                np.bitwise_xor(b, c, out=f)
                f ^= d
            else:  # c ^ (b | ~d)
                np.invert(d, out=f)
                f |= b
                f ^= c
            f += a
            f += _CONSTANT[i]
            f += w[_WORD[i]]
            shift = _SHIFT[i]
            np.left_shift(f, shift, out=spare)
            f >>= 32 - shift
            f |= spare
            f += b
            a, d, c, b, f = d, c, b, f, a  # the old a's buffer is the next f
        for v, new in zip(state, (a, b, c, d), strict=True):
            v += new
    return np.stack(state, axis=1).astype("<u4").view(np.uint8)


def md5_hex(data: bytes, starts: np.ndarray, ends: np.ndarray) -> pl.Series:
    """The MD5 hex digest of each slice ``data[starts[i]:ends[i]]``, as a String Series.

    Short messages (almost every group: a few ProfileIds) are hashed together in numpy, a group
    of equal block counts at a time; long ones by hashlib.

    >>> md5_hex(b"abc", np.array([0, 1]), np.array([3, 1])).to_list() == [
    ...     hashlib.md5(b"abc").hexdigest(), hashlib.md5(b"").hexdigest()]
    True
    """
    buffer = np.zeros(len(data) + _MAX_VECTOR_BLOCKS * 64, dtype=np.uint8)  # zeros past the end
    buffer[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(ends, dtype=np.int64) - starts
    out = np.empty((starts.size, 32), dtype=np.uint8)
    blocks = (lengths + 8) // 64 + 1
    for count in np.unique(blocks).tolist():
        chosen = np.flatnonzero(blocks == count)
        if count > _MAX_VECTOR_BLOCKS:
            whole = memoryview(data)
            for i in chosen.tolist():
                digest = hashlib.md5(
                    whole[starts[i] : starts[i] + lengths[i]], usedforsecurity=False
                )
                out[i] = np.frombuffer(digest.hexdigest().encode("ascii"), dtype=np.uint8)
            continue
        step = max(1, _CHUNK_BYTES // (count * 64))
        for lo in range(0, chosen.size, step):
            part = chosen[lo : lo + step]
            digest = _md5_rounds(_padded_words(buffer, starts[part], lengths[part], count))
            out[part] = _HEX_PAIRS[digest].view(np.uint8)
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
