"""Atomic output: write under a temporary name, rename when complete.

An interrupted run must leave no half-written file or folder behind, so every writer in idres goes
through :func:`atomic_file` or :func:`atomic_dir`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from idres.errors import InputError, Problem


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_file(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("hi")
    >>> (d / "x.txt").read_text()
    'hi'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_output_dir(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Refuse an output folder that exists and is not empty, unless `force`."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(Problem(str(target), "", "exists and is not a folder"))
    if target.is_dir() and any(target.iterdir()) and not force:
        raise InputError(
            Problem(
                str(target), "", "output folder exists and is not empty (use --force to replace)"
            )
        )
    return target


@contextmanager
def atomic_dir(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; swap it in for `path` when the block succeeds.

    An existing non-empty `path` is refused unless `force`; with `force` it is replaced only once the
    new folder is complete.
    """
    target = check_output_dir(path, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder normal permissions
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
