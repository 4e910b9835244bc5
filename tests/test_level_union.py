"""Union by level: the same groups and levels as scipy components and a minimum spanning forest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres import graph
from idres.level_union import level_components


@st.composite
def leveled_links(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 30))
    m = draw(st.integers(0, 45))
    row = st.integers(0, n - 1)
    a = np.array(draw(st.lists(row, min_size=m, max_size=m)), dtype=np.int64)
    b = np.array(draw(st.lists(row, min_size=m, max_size=m)), dtype=np.int64)
    level = np.array(draw(st.lists(st.integers(1, 5), min_size=m, max_size=m)), dtype=np.int32)
    return n, a, b, level


@settings(max_examples=150, deadline=None)
@given(leveled_links(), st.integers(1, 6), st.randoms(use_true_random=False))
def test_matches_components_and_forest_levels(links, upto: int, random) -> None:  # type: ignore[no-untyped-def]
    n, a, b, level = links
    labels, levels = level_components(n, a, b, level)
    assert labels.tolist() == graph.components(n, a, b).tolist()
    # The group level: the largest level on a minimum spanning forest of the group.
    fa, _, fw = graph.spanning_forest(n, a, b, level)
    expected = np.nan_to_num(graph.group_max(labels, fa, fw), nan=0.0).astype(np.int64)
    assert levels.tolist() == expected.tolist()
    keep = level <= upto
    assert (
        level_components(n, a, b, level, upto=upto)[0].tolist()
        == graph.components(n, a[keep], b[keep]).tolist()
    )
    # Any order of the links, levels unsorted included, gives the same answer.
    order = np.arange(a.size)
    random.shuffle(order)
    again = level_components(n, b[order], a[order], level[order])
    assert again[0].tolist() == labels.tolist() and again[1].tolist() == levels.tolist()


def test_group_level_is_the_level_that_connects_it() -> None:
    # 0-1 at level 1, 1-2 at level 3, 0-2 at level 2: connected at level 2, not 3.
    labels, levels = level_components(4, [0, 1, 0], [1, 2, 2], [1, 3, 2])
    assert labels.tolist() == [0, 0, 0, 3]
    assert levels.tolist() == [2, 2, 2, 0]


def test_links_outside_the_rows_are_refused() -> None:
    with pytest.raises(ValueError, match=r"rows 0\.\.2"):
        level_components(3, [0], [3], [1])


def test_no_rows() -> None:
    labels, levels = level_components(0, [], [], [])
    assert labels.size == levels.size == 0
