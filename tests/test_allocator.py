"""Polars' allocator keeps freed memory 10 s once idres is imported first (idres/allocator.py)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from idres.allocator import (
    POLARS_ALLOCATOR_CONF,
    POLARS_ALLOCATOR_ENV,
    allocator_environ,
    heap_kept,
)

ROOT = Path(__file__).resolve().parent.parent

# Frees a 400 MB Series, keeps the allocator busy with small work for 2 s, then prints the share
# of it the process still holds (resident memory over what it held before the Series) and the
# allocator's settings.
_PROBE = textwrap.dedent(
    """
    import os, sys, time
    if sys.argv[1] == "idres":
        import idres
    import polars as pl

    def rss():
        return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    base = rss()
    s = pl.Series(range(50_000_000)) * 2
    held = rss() - base
    del s
    for _ in range(20):
        pl.Series(range(1000)).sum()
        time.sleep(0.1)
    print((rss() - base) / held, os.environ.get("_RJEM_MALLOC_CONF", ""))
    """
)


def _probe(first: str, **env: str) -> tuple[float, str]:
    environ = {k: v for k, v in os.environ.items() if k != POLARS_ALLOCATOR_ENV}
    environ.update(env, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, first],
        check=True,
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
    ).stdout.split(maxsplit=1)
    return float(out[0]), out[1].strip() if len(out) > 1 else ""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")
def test_importing_idres_first_keeps_freed_memory() -> None:
    kept, conf = _probe("idres")
    assert conf.endswith(POLARS_ALLOCATOR_CONF)  # after Polars' own defaults, so it wins
    assert kept > 0.5
    plain, conf = _probe("polars")
    assert POLARS_ALLOCATOR_CONF not in conf
    assert plain < 0.5


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")
def test_a_setting_of_the_user_is_left_alone() -> None:
    kept, conf = _probe("idres", **{POLARS_ALLOCATOR_ENV: ""})
    assert POLARS_ALLOCATOR_CONF not in conf
    assert kept < 0.5


def test_child_processes_get_the_same_setting() -> None:
    assert allocator_environ() == {POLARS_ALLOCATOR_ENV: POLARS_ALLOCATOR_CONF}


# Inside heap_kept a freed 400 MB array stays in the heap (not unmapped) and the next one reuses
# it; after the block the heap is trimmed and large arrays are mapped apart again. Prints the
# checks as JSON; run in a process of its own, since the settings are process-wide.
_HEAP_PROBE = textwrap.dedent(
    """
    import ctypes, json
    import numpy as np
    from numpy._core.multiarray import _set_madvise_hugepage as huge
    from idres.allocator import heap_kept

    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
        ).split()]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Info
    def advice():  # numpy's huge-page advice, read by setting it back
        now = huge(True)
        huge(now)
        return now

    big = 50_000_000  # float64: 400 MB
    huge(True)
    with heap_kept() as applied:
        advice_inside = advice()
        a = np.ones(big)
        mapped_inside = libc.mallinfo2().hblkhd
        del a
        free_after_del = libc.mallinfo2().fordblks
        b = np.ones(big)
        free_reused = libc.mallinfo2().fordblks
        del b
    free_after_block = libc.mallinfo2().fordblks
    advice_after = advice()
    c = np.ones(big)
    mapped_after = libc.mallinfo2().hblkhd
    print(json.dumps({
        "applied": applied,
        "not mapped apart inside": mapped_inside < 100e6,
        "kept when freed": free_after_del >= 400e6,
        "reused": free_reused < 100e6,
        "trimmed after": free_after_block < 100e6,
        "mapped apart after": mapped_after >= 400e6,
        "4 KB pages inside": not advice_inside,
        "huge pages again after": advice_after,
    }))
    """
)


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
def test_heap_kept_keeps_large_blocks_then_trims() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _HEAP_PROBE],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    ).stdout
    checks = json.loads(out)
    assert checks == dict.fromkeys(checks, True)


def test_heap_kept_disabled_changes_nothing() -> None:
    with heap_kept(enabled=False) as applied:
        assert applied is False
