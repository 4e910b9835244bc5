"""Content-derived ids (idres/ids.py): the vectorised MD5 is hashlib's MD5, and group ids are the
MatchIds of their members."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.ids import group_ids, match_id, md5_hex


def _hashlib(messages: list[bytes]) -> list[str]:
    return [hashlib.md5(m, usedforsecurity=False).hexdigest() for m in messages]


def _slices(messages: list[bytes]) -> tuple[bytes, np.ndarray, np.ndarray]:
    lengths = np.array([len(m) for m in messages], dtype=np.int64)
    ends = np.cumsum(lengths)
    return b"".join(messages), ends - lengths, ends


@pytest.mark.parametrize(
    "length",
    # the padding's edges: one block holds up to 55 bytes, two up to 119; and a long message
    [0, 1, 55, 56, 63, 64, 119, 120, 1015, 1016, 1100],
)
def test_md5_of_every_padding_edge(length: int) -> None:
    messages = [bytes(range(256)) * 5][:1]
    messages = [messages[0][:length], b"x" * length]
    assert md5_hex(*_slices(messages)).to_list() == _hashlib(messages)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=40))
def test_md5_is_hashlibs(messages: list[bytes]) -> None:
    assert md5_hex(*_slices(messages)).to_list() == _hashlib(messages)


def test_md5_of_overlapping_slices() -> None:
    data = bytes(range(200))
    starts = np.array([0, 5, 5, 100, 199])
    ends = np.array([200, 70, 5, 180, 200])
    expected = _hashlib([data[s:e] for s, e in zip(starts, ends, strict=True)])
    assert md5_hex(data, starts, ends).to_list() == expected


def test_md5_of_nothing() -> None:
    out = md5_hex(b"", np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert out.dtype == pl.String and out.len() == 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.text(min_size=1, max_size=12)), max_size=40))
def test_group_ids_are_the_match_ids_of_the_members(rows: list[tuple[int, str]]) -> None:
    frame = pl.DataFrame(
        {"g": [g for g, _ in rows], "ProfileId": [p for _, p in rows]},
        schema={"g": pl.UInt32, "ProfileId": pl.String},
    )
    got = dict(group_ids(frame, "g").iter_rows())
    members: dict[int, list[str]] = {}
    for g, p in rows:
        members.setdefault(g, []).append(p)
    assert got == {g: match_id(m) for g, m in members.items()}
