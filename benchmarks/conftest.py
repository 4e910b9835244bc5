"""Shared benchmark fixtures: seeded synthetic profile tables (see :mod:`benchmarks.data`)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from benchmarks.data import make_profiles  # the repository root is on pytest's pythonpath


@pytest.fixture(scope="session")
def profiles_of() -> Callable[..., pl.DataFrame]:
    """``profiles_of(n, seed=0)``: :func:`make_profiles`, built once per (n, seed) per session."""
    built: dict[tuple[int, int], pl.DataFrame] = {}

    def get(n: int, seed: int = 0) -> pl.DataFrame:
        if (n, seed) not in built:
            built[n, seed] = make_profiles(n, seed=seed)
        return built[n, seed]

    return get


@pytest.fixture(scope="session")
def profiles_1e6(profiles_of: Callable[..., pl.DataFrame]) -> pl.DataFrame:
    """1,000,000 messy flat profiles, seed 0."""
    return profiles_of(1_000_000)
