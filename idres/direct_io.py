"""Result files written straight to disk, past the page cache (``O_DIRECT``), where the OS allows.

A 10M-profile preview writes about 7 GB of results that nobody reads back in the same run. Through
the page cache every byte is copied into fresh kernel pages, which on a virtual machine whose host
backs memory lazily cost a host fault each, and then written back. With ``O_DIRECT`` the disk reads
the bytes from one reused, page-aligned buffer: no copy in the kernel, no page-cache pages. Writing
2 GB took the same wall time either way (the disk's), but 0.2 s of system time instead of 1.0–1.3 s.

:func:`open_direct` falls back to an ordinary file (whose data is synced and dropped from the page
cache when closed, as before) where ``O_DIRECT`` is missing or the file system refuses it (tmpfs,
for one), so callers never need to know which they got.
"""

from __future__ import annotations

import errno
import fcntl
import io
import mmap
import os
from pathlib import Path
from typing import BinaryIO, Final

#: Direct writes must start and end on the device's block boundaries: 4096 covers every common disk.
_ALIGN: Final = 4096
#: Bytes gathered before each direct write (a multiple of the alignment).
_BUFFER: Final = 8 * 2**20


class DirectFile(io.RawIOBase):
    """A write-only file opened with ``O_DIRECT``: bytes are gathered in an aligned buffer and
    written a full buffer at a time; :meth:`close` writes the tail padded to a block, truncates
    the file to its true size and syncs it."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._buffer = mmap.mmap(-1, _BUFFER)  # anonymous: page-aligned
        self._view = memoryview(self._buffer)
        self._used = 0
        self._size = 0

    def writable(self) -> bool:
        return True

    # No ``fileno()`` (io.RawIOBase's raises): a writer given the descriptor could write past
    # the aligned buffer, and unaligned direct writes fail.

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Gather `data`; every full buffer goes to disk."""
        view = memoryview(data).cast("B")
        done = 0
        while done < view.nbytes:
            take = min(view.nbytes - done, _BUFFER - self._used)
            self._view[self._used : self._used + take] = view[done : done + take]
            self._used += take
            done += take
            if self._used == _BUFFER:
                self._flush_blocks(_BUFFER)
        self._size += done
        return done

    def _flush_blocks(self, length: int) -> None:
        written = 0
        while written < length:
            try:
                written += os.write(self._fd, self._view[written:length])
            except OSError as error:  # opened, yet direct writes refused: write through the cache
                if error.errno != errno.EINVAL or not self._direct_off():
                    raise
        self._used = 0

    def _direct_off(self) -> bool:
        """Turn ``O_DIRECT`` off for this file; whether it was on."""
        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        if not flags & os.O_DIRECT:
            return False
        fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
        return True

    def close(self) -> None:
        """Write what is left (padded to a block), cut the padding off, sync, release."""
        if self.closed:
            return
        try:
            if self._used:
                padded = -(-self._used // _ALIGN) * _ALIGN
                self._view[self._used : padded] = bytes(padded - self._used)
                self._flush_blocks(padded)
            os.ftruncate(self._fd, self._size)
            os.fdatasync(self._fd)
        finally:
            self._view.release()
            self._buffer.close()
            os.close(self._fd)
            super().close()


class _CachedFile(io.BufferedWriter):
    """The fallback: an ordinary file whose data is synced and dropped from the page cache when
    closed (the results are not read back, and fresh page-cache pages are dear on a VM)."""

    def close(self) -> None:
        """Put what the file holds on disk and drop it from the page cache (where the OS
        allows), then close."""
        if not self.closed:
            self.flush()
            if hasattr(os, "posix_fadvise") and hasattr(os, "fdatasync"):
                os.fdatasync(self.fileno())
                os.posix_fadvise(self.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        super().close()


def open_direct(path: str | os.PathLike[str]) -> BinaryIO:
    """Open `path` for writing (created or truncated) past the page cache where possible.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with open_direct(p) as out:
    ...     _ = out.write(b"hello\\n")
    >>> p.read_bytes()
    b'hello\\n'
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            fd = os.open(path, flags | direct, 0o666)
        except OSError:  # the file system refuses O_DIRECT (tmpfs, some network mounts)
            pass
        else:
            return DirectFile(fd)  # type: ignore[return-value]
    return _CachedFile(io.FileIO(Path(path), "w"))  # type: ignore[return-value]


__all__ = ["DirectFile", "open_direct"]
