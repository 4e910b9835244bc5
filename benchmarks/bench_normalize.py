"""Benchmark of idres.normalize: all matchable columns of 1,000,000 profiles, both modes.

    .venv/bin/pytest benchmarks/bench_normalize.py --benchmark-only -p no:cacheprovider
    .venv/bin/python -m benchmarks.bench_normalize [--n 1000000] [--repeat 5]   # medians, ratio

Data: ``benchmarks/data.py make_profiles(n, seed=0)``. The baseline does the least any
normalization must do, over the same raw columns: ``str.to_lowercase().str.strip_chars()``. The
script runs baseline, standard and entity-resolution in turn each round (so they share the
machine's load) and prints medians, the ratio to the baseline and the CPU time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.data import make_profiles
from idres import schema
from idres.normalize import matchable_columns, normalize

MODES = ("standard", "entity-resolution")


def baseline(frame: pl.DataFrame) -> pl.DataFrame:
    """Lower-case and trim every raw column that normalization reads (the floor to compare with)."""
    sources = [c for c in frame.columns if c in _sources(frame.columns)]
    return frame.with_columns(
        pl.col(c).str.to_lowercase().str.strip_chars().alias(schema.norm(c)) for c in sources
    )


def _sources(columns: list[str]) -> set[str]:
    targets = set(matchable_columns(columns))
    derived = {"GenderString", "PartyTypeString"}
    lines = {f"{t}.Address{i}" for t in schema.ADDRESS_TYPES for i in range(1, 5)}
    return (targets | derived | lines) & set(columns)


@pytest.mark.parametrize("n", [1_000_000], ids=["n=1e6"])
@pytest.mark.parametrize("mode", MODES)
def test_normalize(benchmark, profiles_of, mode: str, n: int) -> None:  # type: ignore[no-untyped-def]
    frame = profiles_of(n)
    out = benchmark.pedantic(normalize, args=(frame,), kwargs={"mode": mode}, rounds=3)
    assert out.height == n
    assert len(out.columns) == len(frame.columns) + len(matchable_columns(frame.columns))


@pytest.mark.parametrize("n", [1_000_000], ids=["n=1e6"])
def test_baseline(benchmark, profiles_of, n: int) -> None:  # type: ignore[no-untyped-def]
    out = benchmark.pedantic(baseline, args=(profiles_of(n),), rounds=3)
    assert out.height == n


def _time(f: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=float, default=1e6, help="profiles (default 1e6)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n = int(args.n)
    t0 = time.perf_counter()
    frame = make_profiles(n, seed=args.seed)
    print(f"make_profiles({n:,}, seed={args.seed}): {time.perf_counter() - t0:.2f} s")
    cases: dict[str, Callable[[], object]] = {"baseline": lambda: baseline(frame)}
    cases |= {mode: (lambda m=mode: normalize(frame, mode=m)) for mode in MODES}  # type: ignore[misc]
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    loads = []
    for _ in range(args.repeat):
        for name, f in cases.items():
            runs[name].append(_time(f))
        loads.append(os.getloadavg()[0])
    base = statistics.median(w for w, _ in runs["baseline"])
    print(
        f"{n:,} profiles, {args.repeat} rounds, {os.cpu_count()} CPUs, "
        f"1-min load average {min(loads):.1f}..{max(loads):.1f}"
    )
    print(f"{'case':<20}{'median s':>10}{'min s':>8}{'cpu s':>8}{'x baseline':>12}")
    for name, times in runs.items():
        wall = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        best = min(w for w, _ in times)
        print(f"{name:<20}{wall:>10.2f}{best:>8.2f}{cpu:>8.2f}{wall / base:>12.2f}")


if __name__ == "__main__":
    main()
