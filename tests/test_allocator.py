"""Polars' allocator keeps freed memory 10 s once idres is imported first (idres/allocator.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from idres.allocator import POLARS_ALLOCATOR_CONF, POLARS_ALLOCATOR_ENV, allocator_environ

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
