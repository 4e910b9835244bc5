"""Polars String columns read in place by numba-compiled passes, as Arrow string views.

Polars keeps text as Arrow string views: per value 16 bytes holding its length and, up to 12 bytes,
the value itself, else a prefix, a data buffer's number and an offset in it. pyarrow shares those
buffers without a copy (:func:`string_views`), :func:`layout` gives a compiled loop their addresses,
and the loop reads values through the load intrinsics here. Nothing is gathered or materialized
per value: :func:`holds_text` tests 4.7M values of a column for text in a few ms where
``strip_chars().len_bytes() > 0`` built a new string per value.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import polars as pl
import pyarrow as pa
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = [
    "HIGH",
    "ONES",
    "copy",
    "holds_text",
    "layout",
    "load_u8",
    "load_u64",
    "prefetch",
    "store_u8",
    "string_views",
    "value_at",
]


#: Eight bytes of 0x01, and of 0x80: the masks of the word-at-a-time byte tests of compiled passes.
ONES = np.uint64(0x0101010101010101)
HIGH = np.uint64(0x8080808080808080)


@intrinsic
def memcpy(typingctx, destination, source, length):  # type: ignore[no-untyped-def]
    """Copy `length` bytes from address `source` to address `destination` (LLVM's memcpy)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        to, at, n = args
        byte = ir.IntType(8).as_pointer()
        cgutils.raw_memcpy(builder, builder.inttoptr(to, byte), builder.inttoptr(at, byte), n, 1)
        return context.get_dummy_value()

    return types.void(types.int64, types.int64, types.int64), codegen


def _load(bits: int):  # type: ignore[no-untyped-def]
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.load(builder.inttoptr(args[0], ir.IntType(bits).as_pointer()), align=1)

    return codegen


def _store(bits: int):  # type: ignore[no-untyped-def]
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        pointer = builder.inttoptr(args[0], ir.IntType(bits).as_pointer())
        builder.store(args[1], pointer, align=1)
        return context.get_dummy_value()

    return codegen


@intrinsic
def load_u8(typingctx, address):  # type: ignore[no-untyped-def]
    """The byte at `address` (an int64)."""
    return types.uint8(types.int64), _load(8)


@intrinsic
def load_u32(typingctx, address):  # type: ignore[no-untyped-def]
    """The 32-bit word at `address` (unaligned)."""
    return types.uint32(types.int64), _load(32)


@intrinsic
def load_u64(typingctx, address):  # type: ignore[no-untyped-def]
    """The 64-bit word at `address` (unaligned)."""
    return types.uint64(types.int64), _load(64)


@intrinsic
def store_u8(typingctx, address, value):  # type: ignore[no-untyped-def]
    return types.void(types.int64, types.uint8), _store(8)


@intrinsic
def store_u32(typingctx, address, value):  # type: ignore[no-untyped-def]
    return types.void(types.int64, types.uint32), _store(32)


@intrinsic
def store_u64(typingctx, address, value):  # type: ignore[no-untyped-def]
    return types.void(types.int64, types.uint64), _store(64)


@intrinsic
def prefetch(typingctx, address):  # type: ignore[no-untyped-def]
    """Ask for the cache line at `address` to be loaded (LLVM's prefetch: for reading, kept in
    every cache level); never faults, whatever the address."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i32 = ir.IntType(32)
        byte = ir.IntType(8).as_pointer()
        kind = ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32])
        function = cgutils.get_or_insert_function(builder.module, kind, "llvm.prefetch.p0")
        read, keep, data = (ir.Constant(i32, v) for v in (0, 3, 1))
        builder.call(function, [builder.inttoptr(args[0], byte), read, keep, data])
        return context.get_dummy_value()

    return types.void(types.int64), codegen


@nb.njit(cache=True, nogil=True, inline="always")
def copy(to, at, n):  # type: ignore[no-untyped-def]
    """Copy `n` bytes from address `at` to address `to`: up to 16 bytes (most keys and values)
    as two overlapping words, never reading past the source; longer ones with memcpy."""
    if n >= 8:
        if n <= 16:
            first = load_u64(at)
            last = load_u64(at + n - 8)
            store_u64(to, first)
            store_u64(to + n - 8, last)
        else:
            memcpy(to, at, n)
    elif n >= 4:
        first32 = load_u32(at)
        last32 = load_u32(at + n - 4)
        store_u32(to, first32)
        store_u32(to + n - 4, last32)
    else:
        for t in range(n):
            store_u8(to + t, load_u8(at + t))


def string_views(column: pl.Series) -> pa.Array:
    """`column` as one Arrow string-view array sharing Polars' memory."""
    array = column.cast(pl.String).to_arrow(compat_level=pl.CompatLevel.newest())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.string_view():
        array = array.cast(pa.string_view())
    return array


def layout(arrays: list[pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """Per array its views' address, validity bitmap's address (0: no nulls), offset and first
    data buffer's place in the second array, which holds every data buffer's address."""
    info = np.zeros((len(arrays), 4), dtype=np.int64)
    buffers: list[int] = []
    for i, array in enumerate(arrays):
        validity, views, *data = array.buffers()
        info[i] = (
            views.address if views is not None else 0,
            validity.address if validity is not None and array.null_count else 0,
            array.offset,
            len(buffers),
        )
        buffers += [b.address if b is not None else 0 for b in data]
    return info, np.array(buffers or [0], dtype=np.int64)


@nb.njit(cache=True, nogil=True, inline="always")
def value_at(views, validity, buffers, row):  # type: ignore[no-untyped-def]
    """Whether value `row` of an array (its offset included) is not null, the address of its
    bytes and their length. `views`, `validity` (0: no nulls) and `buffers` (where the array's
    data-buffer addresses start) are addresses, as :func:`layout` gives them: a helper taking
    arrays costs reference counting at every call."""
    if validity != 0 and not (load_u8(validity + (row >> 3)) >> (row & 7)) & 1:
        return False, 0, 0
    view = views + 16 * row  # length, then the value (up to 12 bytes) or prefix, buffer, offset
    length = np.int64(load_u32(view))
    if length <= 12:
        return True, view + 4, length
    data = np.int64(load_u64(buffers + 8 * np.int64(load_u32(view + 8))))
    return True, data + np.int64(load_u32(view + 12)), length


@nb.njit(cache=True, nogil=True, inline="always")
def _has_text(views, validity, buffers, row):  # type: ignore[no-untyped-def]
    """Whether value `row` (as :func:`value_at`) holds a character that is not Unicode
    White_Space (what Rust's ``str::trim``, so Polars' ``strip_chars()``, removes): U+0009-000D,
    U+0020, U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000."""
    held, at, length = value_at(views, validity, buffers, row)
    if not held:
        return False
    i = 0
    while i < length:
        c = load_u8(at + i)
        if c < 0x80:
            if c == 32 or 9 <= c <= 13:
                i += 1
                continue
            return True
        c1 = load_u8(at + i + 1)  # valid UTF-8: a lead byte has its continuation bytes
        if c == 0xC2 and (c1 == 0x85 or c1 == 0xA0):
            i += 2
            continue
        if 0xE0 <= c < 0xF0:
            c2 = load_u8(at + i + 2)
            if (
                (c == 0xE1 and c1 == 0x9A and c2 == 0x80)  # U+1680
                or (c == 0xE2 and c1 == 0x80 and (c2 <= 0x8A or c2 in (0xA8, 0xA9, 0xAF)))
                or (c == 0xE2 and c1 == 0x81 and c2 == 0x9F)  # U+205F
                or (c == 0xE3 and c1 == 0x80 and c2 == 0x80)  # U+3000
            ):
                i += 3
                continue
        return True
    return False


@nb.njit(cache=True, nogil=True)
def _holds(info, buffers, out):  # type: ignore[no-untyped-def]
    """:func:`_has_text` of every row, without a branch on what varies from row to row (null or
    not, and for most values the first byte: ASCII, not whitespace), which sparse columns made
    a coin toss: the full test runs only for values starting otherwise."""
    views, validity, offset = info[0, 0], info[0, 1], info[0, 2]
    base = buffers.ctypes.data + 8 * info[0, 3]
    r = 0
    while r < out.size:
        row = r + offset
        if (
            validity != 0
            and row & 7 == 0
            and r + 8 <= out.size
            and load_u8(validity + (row >> 3)) == 0
        ):
            out[r : r + 8] = False  # eight nulls: their views are not read (sparse columns)
            r += 8
            continue
        held = np.int64(1)
        if validity != 0:  # the same for every row
            held = np.int64((load_u8(validity + (row >> 3)) >> (row & 7)) & 1)
        view = views + 16 * row  # a null's view is there too (zeros)
        held &= np.int64(load_u32(view) != 0)
        c = load_u8(view + 4)  # the first byte, inline even in a long value's view (its prefix)
        plain = np.int64(c < 0x80) & np.int64(c != 32) & np.int64((c < 9) | (c > 13))
        if held & (1 - plain):  # rare: whitespace or non-ASCII first
            held = np.int64(_has_text(views, validity, base, row))
        out[r] = held
        r += 1
    return out


def holds_text(column: pl.Series) -> np.ndarray:
    """Per value of `column` (cast to String), whether it holds text: not null and not only
    whitespace, exactly :func:`idres.merge.holds_text` (a test keeps them equal).

    >>> holds_text(pl.Series(["a", " ", None, "\\u3000b", "\\u00a0"])).tolist()
    [True, False, False, True, False]
    """
    array = string_views(column)
    info, buffers = layout([array])
    return _holds(info, buffers, np.empty(len(array), dtype=bool))
