"""Arrow string views read by compiled passes: holds_text against Polars' own whitespace test."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.merge import holds_text as holds_text_expr
from idres.views import holds_text

WHITE = [
    "\t",
    "\n",
    "\x0b",
    "\x0c",
    "\r",
    " ",
    "\x85",
    "\xa0",
    "\u1680",
    "\u2000",
    "\u200a",
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
]
OTHER = [
    "a",
    "\x00",
    "\x1f",
    "\x7f",
    "\x84",
    "\x86",
    "\xa1",
    "\u167f",
    "\u200b",
    "\u2027",
    "\u202a",
    "\u2030",
    "\u205e",
    "\u2060",
    "\u3001",
    "\u180e",
    "\ufeff",
    "𝄞",
    "é",
]


def _expected(values: pl.Series) -> list[bool]:
    return pl.select(holds_text_expr(pl.lit(values))).to_series().to_list()


def test_every_code_point_alone_and_among_whitespace() -> None:
    # One value per code point (surrogates excepted), bare and padded with whitespace that spans
    # the 12-byte inline views and the data buffers.
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for values in (points, [" \u3000" + p + "\t\xa0" * 4 for p in points]):
        series = pl.Series(values)
        assert holds_text(series).tolist() == _expected(series)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.none() | st.text(alphabet=st.sampled_from(WHITE + OTHER), max_size=20), max_size=20)
)
def test_holds_text_equals_the_polars_expression(values: list[str | None]) -> None:
    series = pl.Series(values, dtype=pl.String)
    assert holds_text(series).tolist() == _expected(series)


def test_slices_chunks_and_other_types() -> None:
    values = pl.Series([None, " ", "x", "\u3000", "long enough to sit in a data buffer", ""] * 5)
    sliced = values.slice(3, 20)
    chunked = pl.concat([values.slice(0, 7), values.slice(7, 9)], rechunk=False)
    for series in (sliced, chunked):
        assert holds_text(series).tolist() == _expected(series)
    numbers = pl.Series([1, None, 3])
    assert holds_text(numbers).tolist() == [True, False, True]
    assert holds_text(pl.Series([], dtype=pl.String)).dtype == np.bool_


def test_prefetch_never_faults() -> None:
    """Prefetching is a hint: null, unmapped and past-the-end addresses are all fine."""
    import numba as nb

    from idres.views import prefetch

    @nb.njit
    def ask(addresses):  # type: ignore[no-untyped-def]
        for a in addresses:
            prefetch(a)
        return addresses.size

    data = np.zeros(8, dtype=np.uint8)
    addresses = np.array([0, 1, data.ctypes.data, data.ctypes.data + (1 << 40), -4096], np.int64)
    assert ask(addresses) == 5


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 20), st.none() | st.sampled_from(["x", " ", "\xa0y", "é"])),
        max_size=12,
    ),
    st.integers(0, 9),
)
def test_runs_of_nulls_at_any_offset(runs: list[tuple[int, str | None]], start: int) -> None:
    """Whole bytes of nulls are skipped eight rows at a time: runs of every length, read from
    every offset of a slice, agree with Polars."""
    values = [v for count, v in runs for _ in range(count)]
    series = pl.Series(values, dtype=pl.String).slice(start)
    assert holds_text(series).tolist() == _expected(series)
