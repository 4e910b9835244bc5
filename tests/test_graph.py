"""Spanning forests, deduplicated links and components (idres/graph.py), against plain references."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.graph import _dedupe, components, group_max, spanning_forest


@st.composite
def links(draw: st.DrawFn, *, whole: bool) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=30))
    m = draw(st.integers(min_value=0, max_value=60))
    node = st.integers(min_value=0, max_value=n - 1)
    weight = (
        st.integers(min_value=0, max_value=15).map(float)
        if whole
        else st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
    )
    a = np.array(draw(st.lists(node, min_size=m, max_size=m)), dtype=np.int64)
    b = np.array(draw(st.lists(node, min_size=m, max_size=m)), dtype=np.int64)
    w = np.array(draw(st.lists(weight, min_size=m, max_size=m)), dtype=np.float64)
    return n, a, b, w


def _best(a: np.ndarray, b: np.ndarray, w: np.ndarray, *, keep_max: bool) -> dict:
    best: dict[tuple[int, int], float] = {}
    pick = max if keep_max else min
    for x, y, v in zip(a.tolist(), b.tolist(), w.tolist(), strict=True):
        if x != y:
            pair = (min(x, y), max(x, y))
            best[pair] = pick(best.get(pair, v), v)
    return best


@settings(max_examples=150, deadline=None)
@given(st.booleans(), st.booleans(), st.data())
def test_dedupe_keeps_one_link_per_pair_with_its_best_weight(whole, keep_max, data):
    """Both routes (rule levels packed into the sort key; any float weights) agree with a dict."""
    _, a, b, w = data.draw(links(whole=whole))
    lo, hi, kept = _dedupe(a, b, w, keep_max=keep_max, small=whole)
    assert dict(zip(zip(lo.tolist(), hi.tolist(), strict=True), kept.tolist(), strict=True)) == (
        _best(a, b, w, keep_max=keep_max)
    )
    assert sorted(zip(lo.tolist(), hi.tolist(), strict=True)) == list(
        zip(lo.tolist(), hi.tolist(), strict=True)
    )


def _labels(n: int, a: np.ndarray, b: np.ndarray) -> list[frozenset[int]]:
    labels = components(n, a, b)
    groups: dict[int, set[int]] = {}
    for node, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(node)
    return sorted((frozenset(g) for g in groups.values()), key=min)


@settings(max_examples=150, deadline=None)
@given(st.booleans(), st.booleans(), st.data())
def test_forest_connects_what_all_links_connect_at_every_threshold(whole, maximum, data):
    n, a, b, w = data.draw(links(whole=whole))
    fa, fb, fw = spanning_forest(n, a, b, w, maximum=maximum)
    for t in sorted(set(w.tolist())):
        keep, fkeep = (w >= t, fw >= t) if maximum else (w <= t, fw <= t)
        assert _labels(n, fa[fkeep], fb[fkeep]) == _labels(n, a[keep], b[keep])
    # Each forest link carries its pair's best weight, and the forest weighs what networkx's does.
    best = _best(a, b, w, keep_max=maximum)
    assert [best[p] for p in zip(fa.tolist(), fb.tolist(), strict=True)] == fw.tolist()
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from((x, y, v) for (x, y), v in best.items())
    tree = (nx.maximum_spanning_tree if maximum else nx.minimum_spanning_tree)(g)
    assert fw.sum() == pytest.approx(tree.size(weight="weight"))


def test_forest_of_rule_levels_keeps_the_lowest_level_of_a_pair():
    fa, fb, fw = spanning_forest(3, [0, 1, 1, 0], [1, 0, 2, 2], [3.0, 1.0, 2.0, 5.0])
    links = zip(fa.tolist(), fb.tolist(), fw.tolist(), strict=True)
    assert sorted(links) == [(0, 1, 1.0), (1, 2, 2.0)]


def test_group_max_is_per_component():
    labels = components(4, np.array([0, 2]), np.array([1, 3]))
    assert group_max(labels, [0, 2], [1.0, 4.0]).tolist() == [1.0, 1.0, 4.0, 4.0]


@settings(max_examples=150, deadline=None)
@given(links(whole=True))
def test_components_are_networkx_components_labelled_by_their_smallest_node(g) -> None:
    n, a, b, _ = g
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
    expected = np.zeros(n, dtype=np.int64)
    for members in nx.connected_components(graph):
        expected[list(members)] = min(members)
    labels = components(n, a, b)
    assert labels.dtype == np.int64
    assert labels.tolist() == expected.tolist()
