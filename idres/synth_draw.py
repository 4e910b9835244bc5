"""Seeded drawing primitives of the synthetic profile generator (:mod:`idres.synth`).

Each takes the one ``numpy.random.Generator`` of a run and draws in a fixed order, so a seed gives
the same frames byte for byte; :func:`patch` recomputes columns on the drawn rows only, so a rare
corruption costs in proportion to the rows it touches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

__all__ = ["digits", "hit", "patch", "pick", "pick_in", "pool"]


def hit(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """`n` independent draws, each True with probability `rate`.

    >>> hit(np.random.default_rng(0), 4, 1.0).tolist()
    [True, True, True, True]
    """
    return rng.random(n) < rate


def pick(rng: np.random.Generator, weights: object, n: int) -> np.ndarray:
    """`n` draws of an index with probability proportional to `weights`."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)


def pool(values: tuple[str, ...] | list[str], idx: np.ndarray) -> pl.Series:
    """The `values` at positions `idx`, as a String Series.

    >>> pool(("a", "b"), np.array([1, 1, 0])).to_list()
    ['b', 'b', 'a']
    """
    return pl.Series(values, dtype=pl.String).gather(idx)


def digits(rng: np.random.Generator, n: int, width: int, low: int = 0) -> pl.Series:
    """`n` random zero-padded numbers of `width` digits, each >= `low`."""
    return pl.Series(rng.integers(low, 10**width, n)).cast(pl.String).str.zfill(width)


def pick_in(rng: np.random.Generator, lists: pl.Series, rows: np.ndarray) -> pl.Series:
    """A random element of ``lists[row]`` for each of `rows` (an empty list gives any value)."""
    counts = lists.list.len().to_numpy().astype(np.int64)
    flat = pl.Series([x for lst in lists.to_list() for x in lst] or [""], dtype=pl.String)
    at = (np.cumsum(counts) - counts)[rows] + (rng.random(len(rows)) * counts[rows]).astype(
        np.int64
    )
    return flat.gather(np.minimum(at, flat.len() - 1))


def patch(
    f: pl.DataFrame, mask: np.ndarray, make: Callable[[np.ndarray], dict[str, pl.Expr]]
) -> pl.DataFrame:
    """Recompute columns on the rows of `mask` only; ``make(rows)`` gives their expressions.

    Rare corruptions then cost in proportion to the rows they touch, not to the whole table.
    """
    idx = np.flatnonzero(mask)
    if not len(idx):
        return f
    exprs = make(idx)
    need = sorted({r for e in exprs.values() for r in e.meta.root_names()})
    sub = f.select(pl.col(need).gather(idx)).select(**exprs)
    return f.with_columns(f[c].scatter(idx, sub[c]) for c in exprs)
