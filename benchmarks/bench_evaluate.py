"""Benchmarks of idres.evaluate and idres.sweep (seeded random data; never part of the unit run).

    .venv/bin/pytest benchmarks/bench_evaluate.py --benchmark-only      # pytest-benchmark
    .venv/bin/python benchmarks/bench_evaluate.py [--repeat 3] [--sizes 1e6 1e7]   # medians

Data: n profiles with string ids, entities of 1..4 profiles; the predicted grouping follows the
entities except for seeded noise (about 5 % of profiles left alone, 3 % moved into a random other
cluster). The sweep uses 2 links per profile: half between profiles of one entity (high scores),
half random (low scores).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import polars as pl
import pytest

from idres.evaluate import evaluate
from idres.levels import evaluate_levels
from idres.sweep import sweep_link_threshold


@cache
def partition(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(assignment, truth) for n profiles."""
    rng = np.random.default_rng(seed)
    entity = np.repeat(np.arange(n), rng.integers(1, 5, n))[:n]
    cluster = entity.copy()
    moved = rng.random(n) < 0.03
    cluster[moved] = rng.integers(0, entity[-1] + 1, int(moved.sum()))
    ids = pl.Series("ProfileId", np.arange(n)).cast(pl.String).str.zfill(9)
    truth = pl.DataFrame({"ProfileId": ids, "EntityId": pl.Series(entity).cast(pl.String)})
    assignment = pl.DataFrame(
        {"ProfileId": ids, "MatchId": pl.Series(cluster).cast(pl.String)}
    ).filter(pl.Series(rng.random(n) >= 0.05))
    return assignment, truth


@cache
def scored_links(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, score, entity) with 2n links over n profiles."""
    rng = np.random.default_rng(seed)
    entity = np.repeat(np.arange(n), rng.integers(1, 5, n))[:n]
    i = rng.integers(0, n - 1, n)
    a = np.concatenate([i, rng.integers(0, n, n)])
    b = np.concatenate([i + 1, rng.integers(0, n, n)])
    same = entity[a] == entity[b]
    score = np.where(same, rng.beta(5, 1.5, a.size), rng.beta(1.5, 5, a.size))
    return a, b, score, entity


@cache
def leveled_links(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(links with RuleLevel 1..3, truth) with about n links."""
    a, b, score, _ = scored_links(n, seed)
    _, truth = partition(n, seed)
    ids = truth.get_column("ProfileId")
    keep = score > 0.5
    links = pl.DataFrame(
        {
            "ProfileIdA": ids.gather(a[keep]),
            "ProfileIdB": ids.gather(b[keep]),
            "RuleLevel": 1 + (score[keep] < 0.8) + (score[keep] < 0.65),
        }
    )
    return links, truth


def run_evaluate(n: int) -> Any:
    return evaluate(*partition(n))


def run_sweep(n: int) -> Any:
    a, b, score, entity = scored_links(n)
    return sweep_link_threshold(n, a, b, score, truth_entity=entity)


def run_sweep_no_truth(n: int) -> Any:
    a, b, score, _ = scored_links(n)
    return sweep_link_threshold(n, a, b, score)


def run_levels(n: int) -> Any:
    return evaluate_levels(*leveled_links(n))


@pytest.mark.parametrize("n", [pytest.param(10**6, id="n=1e6"), pytest.param(10**7, id="n=1e7")])
def test_evaluate(benchmark: Any, n: int) -> None:
    partition(n)
    m = benchmark.pedantic(run_evaluate, args=(n,), rounds=3, iterations=1)
    assert m.profiles == n


@pytest.mark.parametrize("n", [pytest.param(10**6, id="n=1e6,links=2e6,t=101")])
def test_sweep_link_threshold(benchmark: Any, n: int) -> None:
    scored_links(n)
    s = benchmark.pedantic(run_sweep, args=(n,), rounds=3, iterations=1)
    assert s.height == 101


@pytest.mark.parametrize("n", [pytest.param(10**6, id="n=1e6,levels=3")])
def test_evaluate_levels(benchmark: Any, n: int) -> None:
    leveled_links(n)
    out = benchmark.pedantic(run_levels, args=(n,), rounds=3, iterations=1)
    assert [x.level for x in out] == [1, 2, 3]


def _median(fn: Callable[[int], Any], n: int, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU (all threads of this process) seconds of `repeat` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(n)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--sweep-size", type=float, default=1e6)
    args = parser.parse_args()
    cases: list[tuple[str, Callable[[int], Any], int]] = [
        (f"evaluate n={n:.0e}", run_evaluate, int(n)) for n in args.sizes
    ]
    s = int(args.sweep_size)
    cases += [
        (f"sweep_link_threshold n={s:.0e} links={2 * s:.0e} t=101 truth", run_sweep, s),
        (f"sweep_link_threshold n={s:.0e} links={2 * s:.0e} t=101 no truth", run_sweep_no_truth, s),
        (f"evaluate_levels n={s:.0e} levels=3", run_levels, s),
    ]
    for name, fn, n in cases:
        fn(n)  # build the (cached) data and warm up
        wall, cpu = _median(fn, n, args.repeat)
        print(f"{name:<55} median {wall:7.2f} s wall {cpu:7.2f} s cpu", flush=True)


if __name__ == "__main__":
    main()
