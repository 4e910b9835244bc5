"""Connected components over integer-indexed edges, group levels and scores.

Profiles are nodes ``0..n-1`` (row indices of the ProfileId-sorted table); links are parallel
integer arrays. Components come from :func:`scipy.sparse.csgraph.connected_components`, which handles
tens of millions of nodes in seconds; networkx is used only to explain one small group.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
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
    # Canonical label = smallest member index (nodes are visited in index order below).
    first = np.full(raw.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, raw, np.arange(n, dtype=np.int64))
    return first[raw]


def component_sizes(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Size of each node's component (same shape as `labels`).

    >>> component_sizes(np.array([0, 0, 2, 3, 3])).tolist()
    [2, 2, 1, 2, 2]
    """
    counts = np.bincount(labels, minlength=labels.size)
    return counts[labels]


def bottleneck_scores(
    n: int, a: npt.ArrayLike, b: npt.ArrayLike, score: npt.ArrayLike, labels: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """For each node, the weakest link on its group's maximum spanning tree (NaN for singletons).

    This is the group's ConfidenceScore: the highest threshold at which the group is still connected.

    >>> lab = components(4, [0, 1, 0], [1, 2, 2])
    >>> bottleneck_scores(4, [0, 1, 0], [1, 2, 2], [0.9, 0.6, 0.7], lab).tolist()[:3]
    [0.7, 0.7, 0.7]
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    w = np.asarray(score, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(n, np.nan)
    if a.size == 0:
        return out
    # Maximum spanning tree = minimum spanning tree of (2 - w) (strictly positive weights).
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    # Keep the strongest of duplicate links (a sparse matrix would sum them).
    order = np.lexsort((-w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.ones(lo.size, dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, w = lo[first], hi[first], w[first]
    mst = minimum_spanning_tree(coo_matrix((2.0 - w, (lo, hi)), shape=(n, n)).tocsr()).tocoo()
    tree_w = 2.0 - mst.data
    group = labels[mst.row]
    weakest = np.full(n, np.inf)
    np.minimum.at(weakest, group, tree_w)
    has = np.isfinite(weakest[labels])
    out[has] = weakest[labels][has]
    return out
