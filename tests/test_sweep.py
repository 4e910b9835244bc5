"""Tests for idres.sweep: link and merge threshold sweeps, suggestions, rule-level evaluation."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from idres.errors import InputError
from idres.evaluate import evaluate
from idres.graph import components
from idres.levels import evaluate_levels
from idres.sweep import (
    default_thresholds,
    suggest_thresholds,
    sweep_link_threshold,
    sweep_merge_threshold,
)


def brute_pairs(key: list, entity: list) -> tuple[int, int, int]:
    """(tp, predicted, true) pairs by listing every pair; a None key is alone."""
    tp = pred = true = 0
    for i, j in itertools.combinations(range(len(key)), 2):
        same_c = key[i] is not None and key[i] == key[j]
        same_e = entity[i] == entity[j]
        tp += same_c and same_e
        pred += same_c
        true += same_e
    return tp, pred, true


SCORES = st.one_of(st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 0.99, 1.0]), st.floats(0, 1))


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, list[int]]:
    n = draw(st.integers(1, 25))
    m = draw(st.integers(0, 40))
    a = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    b = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = draw(st.lists(SCORES, min_size=m, max_size=m))
    entity = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    return n, np.array(a, dtype=np.int64), np.array(b, dtype=np.int64), np.array(w), entity


@settings(max_examples=150, deadline=None)
@given(graphs(), st.one_of(st.none(), st.lists(SCORES, min_size=1, max_size=6)))
def test_link_sweep_equals_recomputation(g, thresholds) -> None:
    n, a, b, w, entity = g
    sweep = sweep_link_threshold(n, a, b, w, truth_entity=entity, thresholds=thresholds)
    expected_t = np.unique(default_thresholds() if thresholds is None else np.array(thresholds))
    assert sweep["threshold"].to_list() == expected_t.tolist()
    for row in sweep.iter_rows(named=True):
        keep = w >= row["threshold"]
        labels = components(n, a[keep], b[keep])
        sizes = np.bincount(labels, minlength=n)
        key = [int(x) if sizes[x] > 1 else None for x in labels]
        tp, pred, true = brute_pairs(key, entity)
        assert row["links"] == int(keep.sum())
        assert row["groups"] == int((sizes > 1).sum())
        assert row["profiles_in_groups"] == int(sizes[sizes > 1].sum())
        assert row["merges"] == row["profiles_in_groups"] - row["groups"]
        assert (row["true_positives"], row["false_positives"], row["false_negatives"]) == (
            tp,
            pred - tp,
            true - tp,
        )
        assert row["precision"] == (1.0 if pred == 0 else tp / pred)
        assert row["recall"] == (1.0 if true == 0 else tp / true)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_link_sweep_is_monotone(g) -> None:
    n, a, b, w, entity = g
    s = sweep_link_threshold(n, a, b, w, truth_entity=entity)
    # As the threshold decreases links are only added: clusters (lone profiles included) can only
    # merge, so their number never grows; merged profiles and pairs never shrink.
    clusters = n - s["merges"].to_numpy()
    assert (np.diff(clusters) >= 0).all()
    for col in (
        "links",
        "merges",
        "profiles_in_groups",
        "true_positives",
        "false_positives",
        "recall",
    ):
        assert (np.diff(s[col].to_numpy()) <= 0).all(), col
    assert (np.diff(s["false_negatives"].to_numpy()) >= 0).all()


@settings(max_examples=50, deadline=None)
@given(graphs(), st.randoms(use_true_random=False))
def test_link_sweep_ignores_link_order_and_direction(g, rnd) -> None:
    n, a, b, w, entity = g
    order = np.array(rnd.sample(range(a.size), a.size), dtype=np.int64)
    base = sweep_link_threshold(n, a, b, w, truth_entity=entity)
    again = sweep_link_threshold(n, b[order], a[order], w[order], truth_entity=entity)
    assert_frame_equal(base, again)


def test_link_sweep_without_truth_has_no_pair_columns() -> None:
    s = sweep_link_threshold(3, [0], [1], [0.5], thresholds=[0.4, 0.6])
    assert s.columns == ["threshold", "links", "groups", "profiles_in_groups", "merges"]
    assert s.rows() == [(0.4, 1, 1, 2, 1), (0.6, 0, 0, 0, 0)]


def test_link_sweep_threshold_is_inclusive() -> None:
    s = sweep_link_threshold(2, [0], [1], [0.3], thresholds=[0.3])
    assert s["groups"].to_list() == [1]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        pytest.param((2, [0], [1, 0], [0.5]), {}, "differ in length", id="lengths"),
        pytest.param((2, [0], [2], [0.5]), {}, "row indices", id="range"),
        pytest.param((2, [0], [1], [np.nan]), {}, "NaN", id="nan"),
        pytest.param((2, [0], [1], [0.5]), {"thresholds": []}, "thresholds", id="no-thresholds"),
        pytest.param(
            (2, [0], [1], [0.5]), {"truth_entity": [1]}, "1 values for 2", id="truth-length"
        ),
    ],
)
def test_link_sweep_bad_arguments(args, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        sweep_link_threshold(*args, **kwargs)


# --- merge threshold -----------------------------------------------------------------------------


@st.composite
def group_tables(draw: st.DrawFn) -> tuple[pl.DataFrame, list[int]]:
    n = draw(st.integers(1, 25))
    group = draw(st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=n, max_size=n))
    scores = draw(st.lists(st.one_of(st.none(), SCORES), min_size=5, max_size=5))
    sub = draw(st.lists(st.one_of(st.none(), st.integers(0, 2)), min_size=n, max_size=n))
    entity = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    frame = pl.DataFrame(
        {
            "MatchId": group,
            "ConfidenceScore": [None if g is None else scores[g] for g in group],
            "Sub": sub,
        },
        schema={"MatchId": pl.Int64, "ConfidenceScore": pl.Float64, "Sub": pl.Int64},
    )
    return frame, entity


@settings(max_examples=150, deadline=None)
@given(group_tables(), st.booleans())
def test_merge_sweep_equals_recomputation(data, use_sub: bool) -> None:
    frame, entity = data
    s = sweep_merge_threshold(
        frame,
        subgroup_col="Sub" if use_sub else None,
        truth_entity=entity,
        thresholds=[0, 0.3, 0.7, 1],
    )
    rows = frame.rows(named=True)
    for row in s.iter_rows(named=True):
        t = row["threshold"]
        key = [
            (r["MatchId"], r["Sub"] if use_sub else 0)
            if r["MatchId"] is not None
            and r["ConfidenceScore"] is not None
            and r["ConfidenceScore"] >= t
            and (not use_sub or r["Sub"] is not None)
            else None
            for r in rows
        ]
        sizes = {k: key.count(k) for k in set(key) if k is not None}
        tp, pred, true = brute_pairs(key, entity)
        eligible = {
            r["MatchId"]
            for r in rows
            if r["MatchId"] is not None
            and r["ConfidenceScore"] is not None
            and r["ConfidenceScore"] >= t
        }
        assert row["eligible_groups"] == len(eligible)
        assert row["merge_groups"] == sum(1 for v in sizes.values() if v > 1)
        assert row["merged_profiles"] == sum(v for v in sizes.values() if v > 1)
        assert row["merges"] == row["merged_profiles"] - row["merge_groups"]
        assert (row["true_positives"], row["false_positives"], row["false_negatives"]) == (
            tp,
            pred - tp,
            true - tp,
        )


def test_merge_sweep_group_score_is_its_minimum_and_nan_never_merges() -> None:
    frame = pl.DataFrame(
        {"MatchId": ["m", "m", "k", "k"], "ConfidenceScore": [0.9, 0.5, float("nan"), float("nan")]}
    )
    s = sweep_merge_threshold(frame, thresholds=[0.0, 0.6])
    assert s.select("threshold", "eligible_groups", "merged_profiles").rows() == [
        (0.0, 1, 2),
        (0.6, 0, 0),
    ]


def test_merge_sweep_missing_column() -> None:
    with pytest.raises(InputError, match="ConfidenceScore: missing column"):
        sweep_merge_threshold(pl.DataFrame({"MatchId": ["m"]}))


# --- suggestions ---------------------------------------------------------------------------------

CRAFTED = pl.DataFrame(
    {
        "threshold": [0.5, 0.6, 0.7, 0.8, 0.9],
        "precision": [0.90, 0.97, 0.99, 0.995, 1.0],
        "recall": [0.95, 0.90, 0.85, 0.80, 0.5],
        "f1": [0.90, 0.93, 0.93, 0.88, 0.67],
    }
)


def test_suggest_best_f1_ties_take_the_highest_threshold() -> None:
    d = suggest_thresholds(CRAFTED, min_precision=0.99)
    assert d["best_f1_threshold"] == 0.7 and d["best_f1_f1"] == 0.93
    assert d["min_precision_threshold"] == 0.7 and d["min_precision_recall"] == 0.85


def test_suggest_lowest_threshold_meeting_precision() -> None:
    assert suggest_thresholds(CRAFTED, min_precision=0.995)["min_precision_threshold"] == 0.8
    assert suggest_thresholds(CRAFTED, min_precision=0.9)["min_precision_threshold"] == 0.5


def test_suggest_none_when_precision_never_reached() -> None:
    d = suggest_thresholds(CRAFTED.filter(pl.col("threshold") < 0.7), min_precision=0.99)
    assert d["min_precision_threshold"] is None and d["min_precision_recall"] is None


def test_suggest_needs_truth_columns() -> None:
    with pytest.raises(ValueError, match="sweep with truth"):
        suggest_thresholds(sweep_link_threshold(2, [0], [1], [0.5]))


def test_suggest_on_a_real_sweep() -> None:
    # Entities {0,1,2} and {3,4}; the wrong link 2-3 is the weakest one.
    s = sweep_link_threshold(
        5, [0, 1, 3, 2], [1, 2, 4, 3], [0.9, 0.8, 0.7, 0.4], truth_entity=[0, 0, 0, 1, 1]
    )
    d = suggest_thresholds(s, min_precision=1.0)
    assert d["best_f1_threshold"] == 0.7 and d["best_f1_f1"] == 1.0
    assert d["min_precision_threshold"] == 0.41


# --- rule levels ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_levels_equal_evaluation_of_components(g) -> None:
    n, a, b, w, entity = g
    level = (w * 3).astype(np.int64) + 1  # levels 1..4
    ids = [f"p{i:02d}" for i in range(n)]
    truth = pl.DataFrame({"ProfileId": ids, "EntityId": [str(e) for e in entity]})
    links = pl.DataFrame(
        {"ProfileIdA": [ids[i] for i in a], "ProfileIdB": [ids[i] for i in b], "RuleLevel": level},
        schema={"ProfileIdA": pl.String, "ProfileIdB": pl.String, "RuleLevel": pl.Int64},
    )
    got = evaluate_levels(links, truth)
    assert [x.level for x in got] == list(range(1, int(level.max(initial=0)) + 1))
    prev_tp = 0
    for x in got:
        labels = components(n, a[level <= x.level], b[level <= x.level])
        groups = pl.DataFrame({"ProfileId": ids, "MatchId": [ids[i] for i in labels]})
        want = evaluate(groups, truth)
        assert x.metrics.true_positives == want.true_positives
        assert x.metrics.false_positives == want.false_positives
        assert x.metrics.bcubed_recall == pytest.approx(want.bcubed_recall)
        assert x.metrics.over_merged_examples == want.over_merged_examples
        assert x.links == int((level == x.level).sum())
        assert x.new_true_pairs == want.true_positives - prev_tp
        prev_tp = want.true_positives


def test_levels_unknown_ids() -> None:
    truth = pl.DataFrame({"ProfileId": ["a"], "EntityId": ["x"]})
    links = pl.DataFrame({"ProfileIdA": ["a"], "ProfileIdB": ["b"], "RuleLevel": [1]})
    with pytest.raises(InputError, match=r"1 ProfileIds are not in the truth \(got \['b'\]\)"):
        evaluate_levels(links, truth)


def test_levels_without_links() -> None:
    truth = pl.DataFrame({"ProfileId": ["a"], "EntityId": ["x"]})
    links = pl.DataFrame(
        schema={"ProfileIdA": pl.String, "ProfileIdB": pl.String, "RuleLevel": pl.Int64}
    )
    assert evaluate_levels(links, truth) == []
