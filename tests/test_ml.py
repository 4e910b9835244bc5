"""Tests of idres.ml: scoring end to end, determinism, models, ML groups, FEBRL3 quality."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from idres.blocking import BlockingRule
from idres.comparisons import Comparison, default_comparisons
from idres.errors import InputError, ModelError
from idres.ml import DEFAULT_LINK_THRESHOLD, MLScores, check_threshold, ml_groups, score_profiles
from idres.schema import PROFILE_ID, norm
from idres.scoring import load_model, save_model

ROOT = Path(__file__).resolve().parents[1]


def bench_module(name: str) -> ModuleType:
    """A helper module of benchmarks/ (not a package on the test path)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(
        f"benchmarks.{name}", ROOT / "benchmarks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic() -> tuple[pl.DataFrame, pl.DataFrame]:
    bench = bench_module("bench_ml")
    febrl = bench_module("febrl")
    profiles, truth = bench.make_ml_profiles(3000, 11)
    return febrl.normalize_profiles(profiles), truth


@pytest.fixture(scope="module")
def scored(synthetic: tuple[pl.DataFrame, pl.DataFrame]) -> MLScores:
    return score_profiles(synthetic[0], u_pairs=50_000, seed=1)


def with_ids(frame: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    ids = frame[PROFILE_ID]
    a, b = ids.gather(pairs["a"]), ids.gather(pairs["b"])
    return pl.DataFrame(
        {
            "ProfileIdA": pl.select(pl.min_horizontal(a, b)).to_series(),
            "ProfileIdB": pl.select(pl.max_horizontal(a, b)).to_series(),
            "ConfidenceScore": pairs["ConfidenceScore"],
        }
    ).sort("ProfileIdA", "ProfileIdB")


def test_scores_are_probabilities_on_ordered_pairs(scored: MLScores) -> None:
    pairs = scored.pairs
    assert pairs.columns == ["a", "b", "rules", "match_weight", "ConfidenceScore"]
    assert pairs.height > 0
    assert (pairs["a"] < pairs["b"]).all()
    assert pairs["ConfidenceScore"].is_between(0, 1).all()
    assert pairs.select("a", "b").is_duplicated().sum() == 0
    assert set(scored.timings) == {"blocking", "encode", "compare", "fit", "predict"}
    assert scored.blocking["rule"].to_list() == [r.name for r in scored.rules]


def test_scores_separate_true_pairs(
    synthetic: tuple[pl.DataFrame, pl.DataFrame], scored: MLScores
) -> None:
    entity = synthetic[1]["EntityId"].to_numpy()
    same = entity[scored.pairs["a"].to_numpy()] == entity[scored.pairs["b"].to_numpy()]
    linked = scored.pairs["ConfidenceScore"].to_numpy() >= DEFAULT_LINK_THRESHOLD
    precision = (linked & same).sum() / linked.sum()
    recall_in_candidates = (linked & same).sum() / same.sum()
    assert precision > 0.97 and recall_in_candidates > 0.9


def test_two_runs_are_identical(
    synthetic: tuple[pl.DataFrame, pl.DataFrame], scored: MLScores
) -> None:
    again = score_profiles(synthetic[0], u_pairs=50_000, seed=1)
    assert_frame_equal(again.pairs, scored.pairs)
    assert again.model.lambda_ == scored.model.lambda_


def test_row_order_does_not_change_the_pairs(
    synthetic: tuple[pl.DataFrame, pl.DataFrame], scored: MLScores
) -> None:
    frame = synthetic[0]
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=5)
    other = score_profiles(shuffled, u_pairs=50_000, seed=1)
    assert_frame_equal(with_ids(shuffled, other.pairs), with_ids(frame, scored.pairs))


def test_a_saved_model_scores_the_same(
    tmp_path: Path, synthetic: tuple[pl.DataFrame, pl.DataFrame], scored: MLScores
) -> None:
    save_model(scored.model, tmp_path / "model.json")
    again = score_profiles(synthetic[0], model=load_model(tmp_path / "model.json"))
    assert_frame_equal(again.pairs, scored.pairs)


def test_a_model_for_another_attribute_set_is_refused(scored: MLScores) -> None:
    frame = pl.DataFrame({norm("LastName"): ["li", "li"], norm("FirstName"): ["a", "a"]})
    with pytest.raises(ModelError, match="another attribute set"):
        score_profiles(frame, model=scored.model)
    with pytest.raises(ModelError):
        score_profiles(
            pl.DataFrame({c: ["x"] for comp in scored.model.comparisons for c in comp.columns}),
            model=scored.model,
            comparisons=default_comparisons()[:2],
        )


def test_supervised_scoring_from_truth(synthetic: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    frame, truth = synthetic
    result = score_profiles(frame, truth=truth, u_pairs=50_000)
    assert result.model.u_source_ == "labels"
    entity = truth["EntityId"].to_numpy()
    same = entity[result.pairs["a"].to_numpy()] == entity[result.pairs["b"].to_numpy()]
    linked = result.pairs["ConfidenceScore"].to_numpy() >= DEFAULT_LINK_THRESHOLD
    assert (linked & same).sum() / linked.sum() > 0.97


def test_truth_without_its_columns_is_refused(synthetic: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    with pytest.raises(InputError, match="EntityId"):
        score_profiles(synthetic[0].head(50), truth=pl.DataFrame({PROFILE_ID: ["x"]}), u_pairs=100)


def test_no_comparable_column_is_refused() -> None:
    with pytest.raises(InputError, match="no comparable column"):
        score_profiles(pl.DataFrame({"x": ["1", "2"]}))


def test_custom_comparisons_and_rules() -> None:
    frame = pl.DataFrame(
        {
            PROFILE_ID: [f"p{i}" for i in range(6)],
            "_n.Attributes.LoyaltyId": ["L1", "L1", "L2", "L2", "L3", None],
            norm("LastName"): ["li", "li", "wu", "wo", "ng", "ng"],
        }
    )
    comps = [
        Comparison("Attributes.LoyaltyId", "exact", ("_n.Attributes.LoyaltyId",)),
        Comparison("LastName", "name", (norm("LastName"),)),
    ]
    result = score_profiles(
        frame,
        comparisons=comps,
        rules=[BlockingRule.of("loyalty", "_n.Attributes.LoyaltyId")],
        u_pairs=100,
    )
    assert result.pairs.select("a", "b").rows() == [(0, 1), (2, 3)]


# -- groups -------------------------------------------------------------------------------------


def test_groups_are_components_over_links_at_the_threshold() -> None:
    pairs = pl.DataFrame(
        {"a": [0, 1, 2, 4], "b": [1, 2, 3, 5], "ConfidenceScore": [0.99, 0.95, 0.97, 0.6]}
    )
    groups = ml_groups(7, pairs, link_threshold=0.9)
    assert groups["group"].to_list() == [0, 0, 0, 0, 4, 5, 6]
    assert groups["ConfidenceScore"].to_list()[:4] == [0.95] * 4
    assert groups["ConfidenceScore"].to_list()[4:] == [None, None, None]
    loose = ml_groups(7, pairs, link_threshold=0.5)
    assert loose["group"].to_list() == [0, 0, 0, 0, 4, 4, 6]
    assert loose["ConfidenceScore"][4] == 0.6


def test_group_score_is_the_weakest_link_of_the_maximum_spanning_tree() -> None:
    # triangle: the 0.91 link is not on the maximum spanning tree
    pairs = pl.DataFrame({"a": [0, 1, 0], "b": [1, 2, 2], "ConfidenceScore": [0.99, 0.93, 0.91]})
    assert ml_groups(3, pairs, link_threshold=0.9)["ConfidenceScore"].to_list() == [0.93] * 3


def test_groups_partition_the_profiles(
    scored: MLScores, synthetic: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    n = synthetic[0].height
    groups = ml_groups(n, scored.pairs)
    assert groups["row"].to_list() == list(range(n))
    labels = groups["group"].to_numpy()
    assert (labels <= np.arange(n)).all() and (labels[labels] == labels).all()
    in_group = groups.filter(pl.col("ConfidenceScore").is_not_null())
    assert in_group["ConfidenceScore"].min() >= DEFAULT_LINK_THRESHOLD


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(-0.1, id="negative"),
        pytest.param(1.5, id="above-one"),
        pytest.param(math.nan, id="nan"),
        pytest.param(True, id="bool"),
        pytest.param("0.9", id="string"),
    ],
)
def test_threshold_outside_0_1_is_an_input_error(value: object) -> None:
    pairs = pl.DataFrame({"a": [0], "b": [1], "ConfidenceScore": [0.5]})
    with pytest.raises(InputError, match=r"link_threshold: must be a number between 0 and 1 \(got"):
        ml_groups(2, pairs, link_threshold=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [pytest.param(0, id="zero"), pytest.param(1, id="one")])
def test_threshold_bounds_are_allowed(value: float) -> None:
    assert check_threshold(value) == float(value)


# -- quality --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_febrl3_pairwise_f1_at_the_default_threshold() -> None:
    febrl = bench_module("febrl")
    frame, truth = febrl.febrl3_normalized()
    result = score_profiles(
        frame, comparisons=febrl.febrl_comparisons(frame), rules=febrl.febrl_rules()
    )
    assert result.model.u_source_ == "random"  # unsupervised
    p = result.pairs
    metrics = febrl.pair_metrics(
        truth["EntityId"].to_numpy(),
        p["a"].to_numpy(),
        p["b"].to_numpy(),
        p["ConfidenceScore"].to_numpy(),
        DEFAULT_LINK_THRESHOLD,
    )
    assert metrics["group_f1"] >= 0.99, metrics
    assert metrics["direct_f1"] >= 0.98, metrics  # linked pairs alone (no transitivity)
