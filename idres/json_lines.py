"""JSON lines from String columns in one compiled pass: each byte is copied once, straight from
Polars' memory.

A 10M-profile preview writes about 5.5 GB of merged-profile and merge-plan text, about 800 million
small pieces (keys, values, commas). Joined by Polars' ``concat_str`` they cost about 25 ns per
piece and row (20+ CPU seconds). Here a line is a small program of entries (objects, escaped string
values, JSON values, fixed members) that a numba-compiled loop runs for every row, copying each
value from the Arrow string views of the Polars columns (shared through pyarrow without a copy)
into one reused output buffer.

A value comes from a column's own row, or (a *slot*) from the row an index matrix names for that
line, so per-member text (ProfileIds, provenance) is copied where a field points, never gathered
into columns first. Objects are written only when an entry inside them is, unless opened with
``always`` (then ``{}`` when empty). String values are escaped exactly as Polars' JSON writer
escapes them (:data:`idres.merge.JSON_ESCAPES`), which the tests check byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numba as nb
import numpy as np
import polars as pl

from idres.merge import JSON_ESCAPES
from idres.views import (
    HIGH,
    ONES,
    copy,
    layout,
    load_u8,
    load_u64,
    prefetch,
    store_u8,
    string_views,
    value_at,
)

__all__ = ["LineProgram", "LineWriter"]

# Op kinds. Kinds from _STRING on read a value.
_OPEN: Final = 0
_OPEN_ALWAYS: Final = 1
_CLOSE: Final = 2
_MEMBER: Final = 3  # a fixed member (its literal is the whole member text)
_STRING: Final = 4  # a String value, escaped and quoted
_JSON: Final = 5  # a value that is JSON text already (left out when empty)
_STRINGS: Final = 6  # a JSON array of the String values of a range of rows
_MAX_DEPTH: Final = 32
#: Rows ahead whose values are prefetched.
_AHEAD: Final = 4


_BELOW_SPACE: Final = np.uint64(0x2020202020202020)
_QUOTES: Final = np.uint64(0x2222222222222222)
_BACKSLASHES: Final = np.uint64(0x5C5C5C5C5C5C5C5C)


@nb.njit(cache=True, nogil=True, inline="always")
def _plain_word(x):  # type: ignore[no-untyped-def]
    """Whether none of the 8 bytes of `x` needs escaping (a control character, ``"``, ``\\``):
    the exact tests "a byte below n" and "a zero byte" on whole words."""
    q = x ^ _QUOTES
    b = x ^ _BACKSLASHES
    bad = ((x - _BELOW_SPACE) & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b)
    return (bad & HIGH) == 0


@nb.njit(cache=True, nogil=True, inline="always")
def _plain(at, n):  # type: ignore[no-untyped-def]
    """Whether none of the `n` bytes at address `at` needs escaping."""
    if n < 8:
        for t in range(n):
            c = load_u8(at + t)
            if c < 32 or c == 34 or c == 92:
                return False
        return True
    for t in range(0, n - 8, 8):
        if not _plain_word(load_u64(at + t)):
            return False
    return _plain_word(load_u64(at + n - 8))


def _escape_table() -> tuple[np.ndarray, np.ndarray]:
    """Per byte below 128, its escape as Polars' JSON writer writes it (:data:`idres.merge.
    JSON_ESCAPES`, padded to 6 bytes) and the escape's length (0: the byte is written as is)."""
    table = np.zeros((128, 6), dtype=np.uint8)
    lengths = np.zeros(128, dtype=np.int64)
    for char, escaped in zip(*JSON_ESCAPES, strict=True):
        code = escaped.encode()
        table[ord(char), : len(code)] = np.frombuffer(code, dtype=np.uint8)
        lengths[ord(char)] = len(code)
    return table, lengths


_ESCAPES, _ESCAPE_LENGTHS = _escape_table()


@nb.njit(cache=True, nogil=True)
def _escape(base, pos, address, length):  # type: ignore[no-untyped-def]
    """`length` bytes at `address`, escaped as Polars' JSON writer does, at `pos` of the buffer
    at `base`; the position after them."""
    for t in range(length):
        c = load_u8(address + t)
        n = _ESCAPE_LENGTHS[c] if c < 128 else 0
        if n:
            for i in range(n):
                store_u8(base + pos + i, _ESCAPES[c, i])
            pos += n
        else:
            store_u8(base + pos, c)
            pos += 1
    return pos


@nb.njit(cache=True, nogil=True, inline="always")
def _quoted(base, pos, address, length):  # type: ignore[no-untyped-def]
    """The string at `address` quoted and escaped at `pos` of the buffer at `base` (addresses
    only: a helper taking arrays costs reference counting); the position after it."""
    store_u8(base + pos, 34)  # "
    pos += 1
    if _plain(address, length):
        copy(base + pos, address, length)
        pos += length
    else:
        pos = _escape(base, pos, address, length)
    store_u8(base + pos, 34)
    return pos + 1


@nb.njit(cache=True, nogil=True)
def _lines(
    kind, source, slot, own, literals, starts, info, buffers, index, keep, out, ends, row, pos
):  # type: ignore[no-untyped-def]
    """Run the program (op k's literal is literal k; the last literal ends each line) for the
    kept rows from `row` on, writing from `pos` in `out` and each row's end in `ends` (a row not
    kept ends where the previous one did). Returns the row it stopped at (where `out` ran out of
    room: that row is started again from the returned position) and the position after it.

    Everything is written out in this one function, with no helper taking an array: numba
    counts references to arrays passed to a call or reassigned, two atomic updates each time,
    which took a fifth of the time, then a tenth, in earlier versions.
    """
    base = out.ctypes.data
    lits = literals.ctypes.data
    buffers_at = buffers.ctypes.data
    count = np.zeros(_MAX_DEPTH, np.int64)  # entries written so far in each open object
    pending = np.full(_MAX_DEPTH, -1, np.int64)  # an object's op while not written yet
    room = 2 * (starts[-1] + kind.size) + 8  # every literal, brace and comma of a line, twice
    for r in range(row, keep.size):
        # The out-of-line values of a line a few rows on, fetched while this one is written:
        # rows point into their columns' data in no useful order (a cache miss each).
        ahead = r + _AHEAD
        if ahead < keep.size:
            for s in own:
                held, address, length = value_at(
                    info[s, 0], info[s, 1], buffers_at + 8 * info[s, 3], ahead + info[s, 2]
                )
                if held and length > 12:
                    prefetch(address)
        if not keep[r]:
            ends[r] = pos
            continue
        start = pos
        if pos + room > out.size:
            return r, start
        depth = -1
        for k in range(kind.size):
            kd = kind[k]
            if kd == _CLOSE:
                if pending[depth] < 0:
                    out[pos] = 125  # }
                    pos += 1
                pending[depth] = -1
                depth -= 1
                continue
            address = 0
            length = 0
            if kd <= _OPEN_ALWAYS:
                depth += 1
                count[depth] = 0
                pending[depth] = k
                if kd == _OPEN and depth > 0:  # written with its first entry, if any
                    continue
            elif kd == _STRINGS:
                if np.int64(index[slot[k], r]) < 0:
                    continue
            elif kd >= _STRING:
                j = r if slot[k] < 0 else np.int64(index[slot[k], r])
                if j < 0:
                    continue
                s = source[k]
                held, address, length = value_at(
                    info[s, 0], info[s, 1], buffers_at + 8 * info[s, 3], j + info[s, 2]
                )
                if not held or (length == 0 and kd == _JSON):
                    continue
                if pos + room + 6 * length > out.size:
                    return r, start
            # Something is written at `depth`: the objects still pending up to it first (the
            # line itself, its prefix and ``{``; an object, after a comma where its parent holds
            # an entry already, its key and ``{``).
            for q in range(depth + 1):
                if pending[q] >= 0:
                    if q > 0:
                        if count[q - 1] > 0:
                            out[pos] = 44  # ,
                            pos += 1
                        count[q - 1] += 1
                    o = pending[q]
                    m = starts[o + 1] - starts[o]
                    copy(base + pos, lits + starts[o], m)
                    pos += m
                    out[pos] = 123  # {
                    pos += 1
                    pending[q] = -1
            if kd <= _OPEN_ALWAYS:  # the object itself was the one written
                continue
            if count[depth] > 0:
                out[pos] = 44
                pos += 1
            count[depth] += 1
            m = starts[k + 1] - starts[k]
            copy(base + pos, lits + starts[k], m)  # the key
            pos += m
            if kd == _JSON:
                copy(base + pos, address, length)
                pos += length
            elif kd == _STRING:
                pos = _quoted(base, pos, address, length)
            elif kd == _STRINGS:  # rows index[slot, r] up to index[slot + 1, r]
                s = source[k]
                out[pos] = 91  # [
                pos += 1
                for j in range(np.int64(index[slot[k], r]), np.int64(index[slot[k] + 1, r])):
                    held, address, length = value_at(
                        info[s, 0], info[s, 1], buffers_at + 8 * info[s, 3], j + info[s, 2]
                    )
                    if pos + room + 6 * length > out.size:
                        return r, start
                    if j > index[slot[k], r]:
                        out[pos] = 44
                        pos += 1
                    if held:
                        pos = _quoted(base, pos, address, length)
                    else:
                        copy(base + pos, lits + starts[-1], 4)  # null
                        pos += 4
                out[pos] = 93  # ]
                pos += 1
        m = starts[kind.size + 1] - starts[kind.size]
        copy(base + pos, lits + starts[kind.size], m)  # the line's end
        pos += m
        ends[r] = pos
    return keep.size, pos


def _key(name: str) -> str:
    """`name` as a JSON object key followed by a colon (escaped as Polars escapes it)."""
    return json.dumps(name, ensure_ascii=False) + ":"


@dataclass
class LineProgram:
    """What one JSON line holds, in order; built with :meth:`begin` / :meth:`end` around entries.

    `source` numbers a column of the :class:`LineWriter` call; `slot` (≥ 0) reads that column at
    the row the index matrix's row `slot` names for the line (-1 there: absent) instead of the
    line's own row.

    >>> p = LineProgram()
    >>> p.begin(); p.string("Name", 0); p.begin("Extra"); p.json("Tags", 1); p.end(); p.end()
    >>> w = LineWriter(p)
    >>> text, _ = w.lines([pl.Series(['Ann "A"', None]), pl.Series(['["x"]', None])])
    >>> print(bytes(text).decode(), end="")
    {"Name":"Ann \\"A\\"","Extra":{"Tags":["x"]}}
    {}
    """

    prefix: str = ""
    line_end: str = "\n"
    _ops: list[tuple[int, str, int, int]] = field(default_factory=list)
    _depth: int = 0

    def begin(self, key: str | None = None, *, always: bool = False) -> None:
        """Open the line (no key; it starts with `prefix`) or an object entry `key`, written
        only when an entry inside it is, unless `always` (then ``{}`` when empty)."""
        if (key is None) != (self._depth == 0):
            raise ValueError("the line opens without a key, every object inside it with one")
        if self._depth == _MAX_DEPTH:
            raise ValueError(f"objects nest at most {_MAX_DEPTH} deep")
        text = self.prefix if key is None else _key(key)
        self._ops.append((_OPEN_ALWAYS if always else _OPEN, text, -1, -1))
        self._depth += 1

    def end(self) -> None:
        """Close the innermost open object."""
        self._ops.append((_CLOSE, "", -1, -1))
        self._depth -= 1

    def string(self, key: str, source: int, slot: int = -1) -> None:
        """Entry `key`: the String value of column `source`, escaped and quoted; absent where null."""
        self._ops.append((_STRING, _key(key), source, slot))

    def json(self, key: str | None, source: int, slot: int = -1) -> None:
        """Entry `key`: column `source` holds JSON text; absent where null or empty. Without a key
        the text is members of the enclosing object (``"a":1,"b":2``), spliced in."""
        self._ops.append((_JSON, "" if key is None else _key(key), source, slot))

    def strings(self, key: str, source: int, slot: int) -> None:
        """Entry `key`: a JSON array of the String values of column `source` from the row the
        index's row `slot` names for the line up to (not including) the one row ``slot + 1``
        names (null values as ``null``); absent where the first is -1."""
        self._ops.append((_STRINGS, _key(key), source, slot))

    def member(self, key: str, value: str) -> None:
        """Entry `key` with `value` (a Python str written as a JSON string) in every line."""
        self._ops.append((_MEMBER, _key(key) + json.dumps(value, ensure_ascii=False), -1, -1))


class LineWriter:
    """Runs a :class:`LineProgram` over columns; keeps one output buffer for every call."""

    def __init__(self, program: LineProgram) -> None:
        if program._depth:
            raise ValueError("the program leaves an object open")
        ops = program._ops
        texts = [text.encode() for _, text, _, _ in ops] + [program.line_end.encode()]
        self._kind = np.array([op[0] for op in ops], dtype=np.int64)
        self._source = np.array([op[2] for op in ops], dtype=np.int64)
        self._slot = np.array([op[3] for op in ops], dtype=np.int64)
        self._starts = np.cumsum([0, *map(len, texts)], dtype=np.int64)
        self._literals = np.frombuffer(b"".join(texts) + b"null", dtype=np.uint8)
        self._out = np.empty(1 << 20, dtype=np.uint8)
        self.sources = 1 + max((op[2] for op in ops), default=-1)
        # Columns read at the line's own row (their values are prefetched a few rows ahead).
        own = {source for kind, _, source, slot in ops if kind >= _STRING and slot < 0}
        self._own = np.array(sorted(own), dtype=np.int64)
        # The reads to check against the call's columns and index (the compiled pass does not
        # check bounds): kind, column, index row (-1: the line's own row).
        self._reads = [(kind, source, slot) for kind, _, source, slot in ops if kind >= _STRING]

    def lines(
        self,
        columns: Sequence[pl.Series],
        *,
        index: np.ndarray | None = None,
        keep: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The lines of rows ``0..n-1`` (n: the index's width, else the first column's length)
        as one byte array (a view of the writer's buffer, valid until the next call), and each
        row's end in it; rows where `keep` is false get no line."""
        if len(columns) < self.sources:
            raise ValueError(f"the program reads {self.sources} columns, {len(columns)} given")
        if index is None:
            n = columns[0].len() if columns else 0
            index = np.zeros((0, n), dtype=np.int64)
        n = index.shape[1]
        keep = np.ones(n, dtype=bool) if keep is None else keep
        self._check(columns, index, keep)
        arrays = [string_views(c) for c in columns]  # alive until the pass is done
        info, buffers = layout(arrays)
        ends = np.empty(n, dtype=np.int64)
        row = used = 0
        while True:
            row, used = _lines(
                self._kind,
                self._source,
                self._slot,
                self._own,
                self._literals,
                self._starts,
                info,
                buffers,
                index,
                keep,
                self._out,
                ends,
                row,
                used,
            )
            if row == n:
                break
            # Room for the rest at the rate so far (doubling, until a first row fits): a few
            # large buffers, not a chain of copies and fresh pages.
            rate = used / max(row, 1)
            bigger = np.empty(max(2 * self._out.size, int(rate * n * 1.1)), dtype=np.uint8)
            bigger[:used] = self._out[:used]
            self._out = bigger
        del arrays
        return self._out[:used], ends

    def _check(self, columns: Sequence[pl.Series], index: np.ndarray, keep: np.ndarray) -> None:
        """Refuse an index or columns the program would read out of bounds."""
        n = index.shape[1]
        if keep.shape != (n,):
            raise ValueError(f"keep has {keep.shape}, {n} lines expected")
        top = index.max(axis=1) if n else np.full(index.shape[0], -1)  # each row's largest
        for kind, source, slot in self._reads:
            length = columns[source].len()
            if slot < 0:
                if length < n:
                    raise ValueError(f"column {source} has {length} rows for {n} lines")
                continue
            last = slot + 1 if kind == _STRINGS else slot
            if index.shape[0] <= last:
                raise ValueError(f"the index has {index.shape[0]} rows, row {last} is read")
            if top[slot : last + 1].max() > length - (kind != _STRINGS):
                raise ValueError(f"the index points past the {length} rows of column {source}")
