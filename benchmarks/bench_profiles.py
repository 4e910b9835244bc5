"""Benchmarks of idres.profiles: read and write 1,000,000 flat profiles in Parquet and JSON Lines.

    .venv/bin/pytest benchmarks/bench_profiles.py --benchmark-only -p no:cacheprovider
    .venv/bin/python benchmarks/bench_profiles.py [--sizes 1e5 1e6] [--repeat 3]   # medians

Data: ``benchmarks/data.py make_profiles(n, seed=0)`` (every standard column, two attributes, the
bookkeeping columns and one pass-through column), canonicalized, written once per size to a
temporary folder. Reads go through the full canonicalization and checks; the JSONL write builds the
nested AWS shape with nulls left out.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.data import make_profiles
from idres.profiles import canonicalize, read_profiles, scan_profiles, write_profiles

_FOLDER = Path(tempfile.mkdtemp(prefix="idres-bench-profiles-"))


@cache
def profiles(n: int) -> pl.DataFrame:
    """`n` canonical profiles (seeded)."""
    return canonicalize(make_profiles(n, seed=0))


@cache
def written(n: int, suffix: str) -> Path:
    """The `n` profiles written once as `suffix` (``.parquet`` or ``.jsonl``)."""
    path = _FOLDER / f"profiles-{n}{suffix}"
    write_profiles(profiles(n), path)
    return path


def run_write(n: int, suffix: str) -> Path:
    path = _FOLDER / f"out-{n}{suffix}"
    write_profiles(profiles(n), path)
    return path


def run_read(n: int, suffix: str) -> pl.DataFrame:
    return read_profiles(written(n, suffix))


def run_scan_count(n: int) -> int:
    return scan_profiles(written(n, ".parquet")).select(pl.len()).collect().item()


SIZES = [pytest.param(10**6, id="n=1e6")]
SUFFIXES = [pytest.param(".parquet", id="parquet"), pytest.param(".jsonl", id="jsonl")]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("n", SIZES)
def test_write(benchmark: Any, n: int, suffix: str) -> None:
    profiles(n)
    path = benchmark.pedantic(run_write, args=(n, suffix), rounds=3, iterations=1)
    assert path.stat().st_size > 0


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("n", SIZES)
def test_read(benchmark: Any, n: int, suffix: str) -> None:
    written(n, suffix)
    frame = benchmark.pedantic(run_read, args=(n, suffix), rounds=3, iterations=1)
    assert frame.height == n


@pytest.mark.parametrize("n", SIZES)
def test_scan_parquet_and_count(benchmark: Any, n: int) -> None:
    written(n, ".parquet")
    assert benchmark.pedantic(run_scan_count, args=(n,), rounds=3, iterations=1) == n


def _median(fn: Callable[..., object], *args: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'n':>10}  {'step':<22} {'median s':>9}")
    for n in (int(s) for s in args.sizes):
        profiles(n)
        for suffix in (".parquet", ".jsonl"):
            size = written(n, suffix).stat().st_size / 1e6
            write_s = _median(run_write, n, suffix, repeat=args.repeat)
            read_s = _median(run_read, n, suffix, repeat=args.repeat)
            print(f"{n:>10}  {'write ' + suffix:<22} {write_s:>9.2f}")
            print(f"{n:>10}  {'read ' + suffix:<22} {read_s:>9.2f}  ({size:.0f} MB)")
        scan_s = _median(run_scan_count, n, repeat=args.repeat)
        print(f"{n:>10}  {'scan .parquet + count':<22} {scan_s:>9.2f}")


if __name__ == "__main__":
    main()
