"""Connected components over integer-indexed edges, group levels and scores.

Profiles are nodes ``0..n-1`` (row indices of the ProfileId-sorted table); links are parallel
integer arrays. Components come from :func:`scipy.sparse.csgraph.connected_components`, which handles
tens of millions of nodes in seconds; networkx is used only to explain one small group.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as _cc
from scipy.sparse.csgraph import minimum_spanning_tree

IntArray = npt.NDArray[np.integer]


def components(n: int, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Component label of every node ``0..n-1`` given undirected links ``a[i] -- b[i]``.

    Labels are canonical: a component's label is the smallest node index in it, so the result does
    not depend on the order of the links.

    >>> components(5, [0, 3], [1, 4]).tolist()
    [0, 0, 2, 3, 3]
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    _, raw = _cc(graph, directed=True, connection="weak")
    # Canonical label = smallest member index. scipy numbers components in order of their
    # smallest node, so each label's first occurrence is that node; checked, else computed.
    # scipy's own 32-bit labels are used as they are: every 80 MB array of 10M int64 labels
    # is fresh memory, which costs on a VM.
    starts = np.flatnonzero(first_seen(raw))
    if raw[0] == 0 and np.array_equal(raw[starts], np.arange(starts.size)):
        return starts[raw]
    first = np.full(int(raw.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, raw, np.arange(n, dtype=np.int64))
    return first[raw]


def first_seen(labels: np.ndarray) -> npt.NDArray[np.bool_]:
    """Where each label first occurs, for labels numbered in order of first occurrence
    (``0, 1, 2, ...`` as they are met): a first occurrence exceeds every earlier label.

    >>> first_seen(np.array([0, 1, 0, 2, 1])).tolist()
    [True, True, False, True, False]
    """
    new = np.ones(labels.size, dtype=bool)
    if labels.size:
        new[1:] = labels[1:] > np.maximum.accumulate(labels)[:-1]
    return new


def component_sizes(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Size of each node's component (same shape as `labels`).

    >>> component_sizes(np.array([0, 0, 2, 3, 3])).tolist()
    [2, 2, 1, 2, 2]
    """
    counts = np.bincount(labels, minlength=labels.size)
    return counts[labels]


#: Weights that are whole numbers 0..15 (rule levels) ride in the low bits of a packed pair key.
_SMALL_WEIGHTS: Final = 15


def _small_weights(w: npt.NDArray[np.float64]) -> bool:
    """Whether every weight is a whole number in ``0..15`` (rule levels are)."""
    return bool(w.size) and bool(np.all((w >= 0) & (w <= _SMALL_WEIGHTS) & (w == np.floor(w))))


def _dedupe(
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    w: npt.NDArray[np.float64],
    *,
    keep_max: bool,
    small: bool,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Undirected links as (lo, hi, w), one per node pair, keeping the max (or min) weight,
    sorted by (lo, hi).

    Pairs are packed into one 64-bit integer, so this is one integer group-by, then a sort; with
    `small` whole weights (:func:`_small_weights`: rule levels) and nodes below 2**30 the weight
    is packed too and one sort
    of integers does it all (9M random links: the whole forest 4.5-5.0 -> 3.3-3.6 s).
    """
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    real = lo != hi
    lo, hi, w = lo[real], hi[real], w[real]
    if small and w.size and int(hi.max()) < 1 << 30:
        code = (_SMALL_WEIGHTS - w) if keep_max else w  # the kept weight sorts first
        packed = (
            (lo.astype(np.uint64) << np.uint64(34))
            | (hi.astype(np.uint64) << np.uint64(4))
            | code.astype(np.uint64)
        )
        ordered = pl.Series(packed).sort().to_numpy()
        pair = ordered >> np.uint64(4)
        first = np.ones(ordered.size, dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        ordered, pair = ordered[first], pair[first]
        kept = (ordered & np.uint64(_SMALL_WEIGHTS)).astype(np.float64)
        return (
            (pair >> np.uint64(30)).astype(np.int64),
            (pair & np.uint64((1 << 30) - 1)).astype(np.int64),
            _SMALL_WEIGHTS - kept if keep_max else kept,
        )
    key = (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)
    best = pl.col("w").max() if keep_max else pl.col("w").min()
    pairs = pl.DataFrame({"k": key, "w": w}).group_by("k").agg(best).sort("k")
    k = pairs.get_column("k").to_numpy()
    return (
        (k >> np.uint64(32)).astype(np.int64),
        (k & np.uint64(0xFFFFFFFF)).astype(np.int64),
        pairs.get_column("w").to_numpy().astype(np.float64),
    )


def spanning_forest(
    n: int, a: npt.ArrayLike, b: npt.ArrayLike, weight: npt.ArrayLike, *, maximum: bool = False
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Minimum (or maximum) spanning forest of the links, as parallel arrays ``(a, b, weight)``.

    Only forest links matter for connectivity under any weight threshold: the components of the
    forest links with weight <= t (>= t for a maximum forest) equal those of all links, so level
    and score thresholds are answered from far fewer links.

    >>> fa, fb, fw = spanning_forest(3, [0, 1, 0], [1, 2, 2], [1, 1, 2])
    >>> sorted(zip(fa.tolist(), fb.tolist(), fw.tolist()))
    [(0, 1, 1.0), (1, 2, 1.0)]
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    w = np.asarray(weight, dtype=np.float64)
    if a.size == 0:
        return a, b, w
    small = _small_weights(w)  # whole weights stay whole through the deduplication
    lo, hi, w = _dedupe(a, b, w, keep_max=maximum, small=small)
    if not w.size:  # self-links only
        return lo, hi, w
    # scipy needs strictly positive weights (zeros mean "no edge") and adds nothing of its own,
    # so it gets each weight's rank 1, 2, ... (ascending, or descending for a maximum forest) and
    # the forest's weights are read back by rank: exact, where shifting floats into [1, 2] made
    # weights closer than 2e-16 tie. Rule levels are their own ranks (no sort of the weights).
    if small:
        values = np.arange(_SMALL_WEIGHTS + 1, dtype=np.float64)
        rank = w + 1.0
    else:
        values, inverse = np.unique(w, return_inverse=True)
        rank = inverse.astype(np.float64) + 1.0
    if maximum:
        rank = values.size + 1.0 - rank
    graph = coo_matrix((rank, (lo, hi)), shape=(n, n)).tocsr()
    tree = minimum_spanning_tree(graph).tocoo()
    ta = np.minimum(tree.row, tree.col).astype(np.int64)
    tb = np.maximum(tree.row, tree.col).astype(np.int64)
    picked = np.rint(tree.data).astype(np.int64)
    if maximum:
        picked = values.size + 1 - picked
    return ta, tb, values[picked - 1].astype(np.float64)


def group_max(
    labels: npt.ArrayLike, a: npt.ArrayLike, value: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """For each node, the maximum `value` over the links ``a`` of its component (NaN if none).

    >>> group_max(np.array([0, 0, 2]), [0], [3.0]).tolist()
    [3.0, 3.0, nan]
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.size, -np.inf)
    np.maximum.at(out, labels[np.asarray(a, dtype=np.int64)], np.asarray(value, dtype=np.float64))
    res = out[labels]
    res[~np.isfinite(res)] = np.nan
    return res


def bottleneck_scores(
    n: int, a: npt.ArrayLike, b: npt.ArrayLike, score: npt.ArrayLike, labels: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """For each node, the weakest link on its group's maximum spanning tree (NaN for singletons).

    This is the group's ConfidenceScore: the highest threshold at which the group is still connected.

    >>> lab = components(4, [0, 1, 0], [1, 2, 2])
    >>> bottleneck_scores(4, [0, 1, 0], [1, 2, 2], [0.9, 0.6, 0.7], lab).tolist()[:3]
    [0.7, 0.7, 0.7]
    """
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(n, np.nan)
    fa, _, fw = spanning_forest(n, a, b, score, maximum=True)
    if fa.size == 0:
        return out
    weakest = np.full(n, np.inf)
    np.minimum.at(weakest, labels[fa], fw)
    has = np.isfinite(weakest[labels])
    out[has] = weakest[labels][has]
    return out
