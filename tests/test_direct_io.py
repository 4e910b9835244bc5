"""Result files written past the page cache (idres/direct_io.py): the bytes are exactly the bytes
written, whatever the write sizes, and the fallbacks give the same file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from idres import direct_io
from idres.direct_io import DirectFile, open_direct

BUFFER = direct_io._BUFFER


def _direct_fd(path: Path) -> int:
    """A file descriptor opened with O_DIRECT, or skip where the file system refuses it."""
    if not hasattr(os, "O_DIRECT"):
        pytest.skip("no O_DIRECT on this platform")
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o666)
    except OSError:
        pytest.skip("this file system refuses O_DIRECT")


def _pieces(sizes: list[int]) -> list[bytes]:
    return [bytes((i + k) % 251 for k in range(n)) for i, n in enumerate(sizes)]


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param([], id="empty"),
        pytest.param([1], id="one-byte"),
        pytest.param([4095, 1, 4096], id="block-edges"),
        pytest.param([BUFFER], id="one-buffer"),
        pytest.param([BUFFER - 1, 2, 5000], id="across-buffers"),
        pytest.param([3 * BUFFER + 17], id="one-large-write"),
    ],
)
def test_direct_file_writes_exactly_the_bytes(tmp_path: Path, sizes: list[int]) -> None:
    path = tmp_path / "out.bin"
    pieces = _pieces(sizes)
    with DirectFile(_direct_fd(path)) as out:
        assert [out.write(p) for p in pieces] == sizes
    assert path.read_bytes() == b"".join(pieces)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 20_000), max_size=30))
def test_any_write_sizes_give_the_same_file(sizes: list[int]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.bin"
        pieces = _pieces(sizes)
        with open_direct(path) as out:
            for p in pieces:
                out.write(p)
        assert path.read_bytes() == b"".join(pieces)


def test_polars_writes_parquet_and_json_lines_through_it(tmp_path: Path) -> None:
    frame = pl.DataFrame({"ProfileId": [f"p{i:06d}" for i in range(50_000)], "n": range(50_000)})
    with open_direct(tmp_path / "f.parquet") as out:
        frame.write_parquet(out)
    with open_direct(tmp_path / "f.jsonl") as out:
        frame.write_ndjson(out)
    assert_frame_equal(pl.read_parquet(tmp_path / "f.parquet"), frame)
    assert_frame_equal(pl.read_ndjson(tmp_path / "f.jsonl"), frame)


def test_writers_cannot_bypass_the_aligned_buffer(tmp_path: Path) -> None:
    import io

    with DirectFile(_direct_fd(tmp_path / "x.bin")) as out, pytest.raises(io.UnsupportedOperation):
        out.fileno()


def test_a_file_system_refusing_o_direct_gets_an_ordinary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refuse_direct(path: str, flags: int, mode: int = 0o777) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode)

    monkeypatch.setattr(direct_io.os, "open", refuse_direct)
    with open_direct(tmp_path / "x.txt") as out:
        assert not isinstance(out, DirectFile)
        out.write(b"abc\n" * 3000)
    assert (tmp_path / "x.txt").read_bytes() == b"abc\n" * 3000


def test_direct_writes_refused_after_opening_fall_back_to_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.bin"
    fd = _direct_fd(path)
    real_write = os.write
    refused = []

    def refuse_once(fd: int, data: bytes) -> int:
        if not refused:
            refused.append(True)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(direct_io.os, "write", refuse_once)
    pieces = _pieces([BUFFER + 10, 7])
    with DirectFile(fd) as out:
        for p in pieces:
            out.write(p)
    assert refused and path.read_bytes() == b"".join(pieces)


def test_other_write_errors_are_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fd = _direct_fd(tmp_path / "x.bin")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(direct_io.os, "write", full)
    out = DirectFile(fd)
    with pytest.raises(OSError, match="No space"):
        out.write(b"x" * BUFFER)
    monkeypatch.undo()
    out.close()
