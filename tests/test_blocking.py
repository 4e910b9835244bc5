"""Tests of idres.blocking: rules, candidate pairs, the block-size cap, random pairs."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.blocking import (
    BlockingRule,
    BlockSizeWarning,
    candidate_pairs,
    default_rules,
    either_order,
    random_pairs,
)
from idres.errors import InputError
from idres.schema import norm

EMAILS = [norm("EmailAddress"), norm("PersonalEmailAddress"), norm("BusinessEmailAddress")]


def pair_set(pairs: pl.DataFrame) -> set[tuple[int, int]]:
    return set(pairs.select("a", "b").iter_rows())


def test_of_zips_sub_type_lists_and_repeats_single_keys() -> None:
    rule = BlockingRule.of("r", "x", ["p1", "p2"], ["c1", "c2"])
    assert rule.alternatives == (("x", "p1", "c1"), ("x", "p2", "c2"))
    assert rule.columns() == {"x", "p1", "p2", "c1", "c2"}


def test_of_refuses_lists_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        BlockingRule.of("r", ["a", "b"], ["c"])


def test_any_email_pairs_across_sub_types() -> None:
    frame = pl.DataFrame(
        {
            EMAILS[0]: ["x@a.io", None, None],
            EMAILS[1]: [None, None, "y@a.io"],
            EMAILS[2]: [None, "x@a.io", None],
        }
    )
    pairs, stats = candidate_pairs(frame, [BlockingRule.of("email", EMAILS)])
    assert pair_set(pairs) == {(0, 1)}
    assert stats.row(0, named=True) == {
        "rule": "email",
        "pairs": 1,
        "blocks": 1,
        "skipped_blocks": 0,
        "largest_block": 2,
    }


def test_pairs_are_deduplicated_across_rules_with_every_rule_bit() -> None:
    frame = pl.DataFrame({"e": ["x", "x", "y"], "l": ["li", "li", "li"]})
    rules = [BlockingRule.of("email", "e"), BlockingRule.of("last", "l")]
    pairs, stats = candidate_pairs(frame, rules)
    assert pairs.rows() == [(0, 1, 0b11), (0, 2, 0b10), (1, 2, 0b10)]
    assert stats["pairs"].to_list() == [1, 3]
    assert pairs.schema == pl.Schema({"a": pl.UInt32, "b": pl.UInt32, "rules": pl.UInt64})


def test_a_pair_sharing_two_keys_of_one_rule_counts_once() -> None:
    frame = pl.DataFrame({EMAILS[0]: ["x", "x"], EMAILS[1]: ["y", "y"]})
    pairs, stats = candidate_pairs(frame, [BlockingRule.of("email", EMAILS[:2])])
    assert pairs.height == 1
    assert stats["pairs"].to_list() == [1]


def test_missing_values_never_block() -> None:
    frame = pl.DataFrame({"l": [None, None, "li"], "d": ["1", "1", None]})
    pairs, _ = candidate_pairs(frame, [BlockingRule.of("ld", "l", "d")])
    assert pairs.height == 0


def test_rule_without_its_columns_is_skipped() -> None:
    frame = pl.DataFrame({"l": ["li", "li"]})
    pairs, stats = candidate_pairs(
        frame, [BlockingRule.of("gone", "nope"), BlockingRule.of("l", "l")]
    )
    assert pair_set(pairs) == {(0, 1)}
    assert stats["pairs"].to_list() == [0, 1]


def test_expression_keys() -> None:
    frame = pl.DataFrame({"f": ["ann", "li", "ann"], "l": ["li", "ann", "wu"]})
    pairs, _ = candidate_pairs(frame, [BlockingRule.of("names", either_order("f", "l"))])
    assert pair_set(pairs) == {(0, 1)}


def test_block_over_the_cap_is_skipped_with_a_warning_naming_rule_and_value() -> None:
    frame = pl.DataFrame({EMAILS[0]: ["test@test.com"] * 6 + ["a@b.c", "a@b.c"]})
    with pytest.warns(
        BlockSizeWarning, match=r"'email'.*max_block_size=5.*'test@test.com' \(6 profiles\)"
    ):
        pairs, stats = candidate_pairs(frame, [BlockingRule.of("email", EMAILS)], max_block_size=5)
    assert pair_set(pairs) == {(6, 7)}
    assert stats.select("pairs", "blocks", "skipped_blocks", "largest_block").row(0) == (1, 1, 1, 6)


def test_block_at_the_cap_is_kept() -> None:
    frame = pl.DataFrame({"e": ["x"] * 5})
    pairs, _ = candidate_pairs(frame, [BlockingRule.of("e", "e")], max_block_size=5)
    assert pairs.height == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"max_block_size": 1}, "max_block_size", id="cap-too-small"),
        pytest.param({"max_block_size": 2.5}, "max_block_size", id="cap-not-int"),
    ],
)
def test_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        candidate_pairs(pl.DataFrame({"e": ["x"]}), [BlockingRule.of("e", "e")], **kwargs)  # type: ignore[arg-type]


def test_duplicate_rule_names_are_refused() -> None:
    rules = [BlockingRule.of("e", "e"), BlockingRule.of("e", "f")]
    with pytest.raises(InputError, match="unique"):
        candidate_pairs(pl.DataFrame({"e": ["x"], "f": ["y"]}), rules)


def test_default_rules_run_on_a_frame_with_few_columns() -> None:
    frame = pl.DataFrame({norm("LastName"): ["li", "li"], norm("BirthDate"): ["2000-01-01"] * 2})
    pairs, stats = candidate_pairs(frame, default_rules())
    assert pair_set(pairs) == {(0, 1)}
    assert stats.height == len(default_rules())


def test_empty_frame() -> None:
    pairs, stats = candidate_pairs(
        pl.DataFrame({"e": pl.Series([], dtype=pl.String)}), [BlockingRule.of("e", "e")]
    )
    assert pairs.height == 0
    assert stats["pairs"].to_list() == [0]


values = st.lists(st.sampled_from(["x", "y", "z", None]), min_size=0, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_pairs_equal_brute_force(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 12))
    cols = {
        c: data.draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n, max_size=n))
        for c in "pqr"
    }
    frame = pl.DataFrame(cols, schema=dict.fromkeys(cols, pl.String))
    rules = [BlockingRule.of("any", ["p", "q"]), BlockingRule.of("pr", "p", "r")]
    pairs, _ = candidate_pairs(frame, rules, max_block_size=1000)
    expected = set()
    for i, j in itertools.combinations(range(n), 2):
        pv = {cols["p"][i], cols["q"][i]} - {None}
        qv = {cols["p"][j], cols["q"][j]} - {None}
        both = cols["p"][i] is not None and cols["r"][i] is not None
        same_pr = both and (cols["p"][i], cols["r"][i]) == (cols["p"][j], cols["r"][j])
        if pv & qv or same_pr:
            expected.add((i, j))
    assert pair_set(pairs) == expected
    assert pairs.select("a", "b").rows() == sorted(expected)


def test_random_pairs_are_seeded_distinct_and_ordered() -> None:
    first = random_pairs(50, 1000, seed=3)
    assert first.equals(random_pairs(50, 1000, seed=3))
    assert not first.equals(random_pairs(50, 1000, seed=4))
    a, b = first["a"].to_numpy(), first["b"].to_numpy()
    assert (a < b).all() and b.max() <= 49
    # every ordered pair is reachable (roughly uniform)
    assert len(set(zip(a.tolist(), b.tolist(), strict=True))) > 600


def test_random_pairs_of_fewer_than_two_rows_is_empty() -> None:
    assert random_pairs(1, 10, seed=0).height == 0


def test_block_pair_generation_handles_mixed_block_sizes() -> None:
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 40, 500).astype(str)
    frame = pl.DataFrame({"k": keys})
    pairs, _ = candidate_pairs(frame, [BlockingRule.of("k", "k")], max_block_size=10_000)
    sizes = np.unique(keys, return_counts=True)[1]
    assert pairs.height == int((sizes * (sizes - 1) // 2).sum())
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    assert (keys[a] == keys[b]).all() and (a < b).all()
