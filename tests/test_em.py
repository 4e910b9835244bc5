"""Tests of idres.em: EM recovers known parameters, convergence, TF adjustment, labels."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from idres.comparisons import Comparison
from idres.em import (
    ConvergenceWarning,
    FellegiSunter,
    expectation_maximisation,
)

COMPS = [
    Comparison("FirstName", "name", ("_n.FirstName",)),
    Comparison("LastName", "name", ("_n.LastName",)),
    Comparison("BirthDate", "date", ("_n.BirthDate",)),
    Comparison("PhoneNumber", "phone", ("_n.PhoneNumber",)),
    Comparison("Address.PostalCode", "exact", ("_n.Address.PostalCode",)),
]
TRUE_M = {
    "FirstName": [0.80, 0.10, 0.04, 0.06],
    "LastName": [0.85, 0.07, 0.03, 0.05],
    "BirthDate": [0.90, 0.06, 0.04],
    "PhoneNumber": [0.70, 0.10, 0.20],
    "Address.PostalCode": [0.75, 0.25],
}
TRUE_U = {
    "FirstName": [0.05, 0.05, 0.15, 0.75],
    "LastName": [0.02, 0.03, 0.10, 0.85],
    "BirthDate": [0.01, 0.04, 0.95],
    "PhoneNumber": [0.01, 0.02, 0.97],
    "Address.PostalCode": [0.10, 0.90],
}
TRUE_LAMBDA = 0.2


def simulate(n: int, seed: int, missing: float = 0.1) -> tuple[pl.DataFrame, np.ndarray]:
    """Seeded comparison vectors drawn from TRUE_M / TRUE_U (conditionally independent)."""
    rng = np.random.default_rng(seed)
    match = rng.random(n) < TRUE_LAMBDA
    cols = {}
    for c in COMPS:
        gm = rng.choice(len(c.levels), n, p=TRUE_M[c.name])
        gu = rng.choice(len(c.levels), n, p=TRUE_U[c.name])
        g = np.where(match, gm, gu)
        g[rng.random(n) < missing] = -1
        cols["gamma." + c.name] = g.astype(np.int8)
        cols["tf." + c.name] = np.full(n, np.nan, dtype=np.float32)
    return pl.DataFrame(cols), match


def test_em_recovers_known_m_u_and_prior() -> None:
    vectors, _ = simulate(200_000, seed=42)
    model = FellegiSunter(COMPS).fit(vectors)
    assert model.converged_
    assert model.lambda_ == pytest.approx(TRUE_LAMBDA, abs=0.02)
    for c in COMPS:
        np.testing.assert_allclose(model.m_[c.name], TRUE_M[c.name], atol=0.02, err_msg=c.name)
        np.testing.assert_allclose(model.u_[c.name], TRUE_U[c.name], atol=0.02, err_msg=c.name)


def test_em_with_fixed_u_recovers_m() -> None:
    vectors, _ = simulate(100_000, seed=7)
    cols = ["gamma." + c.name for c in COMPS]
    grouped = vectors.group_by(cols).len()
    pats = grouped.select(cols).to_numpy().astype(np.int8)
    res = expectation_maximisation(
        pats,
        grouped["len"].to_numpy(),
        [np.full(len(c.levels), 1 / len(c.levels)) for c in COMPS],
        [np.asarray(TRUE_U[c.name]) for c in COMPS],
        0.5,
        fix_u=True,
    )
    assert res.converged
    assert res.lam == pytest.approx(TRUE_LAMBDA, abs=0.02)
    for c, m in zip(COMPS, res.m, strict=True):
        np.testing.assert_allclose(m, TRUE_M[c.name], atol=0.02, err_msg=c.name)
    assert [u.tolist() for u in res.u] == [TRUE_U[c.name] for c in COMPS]


def test_history_keeps_every_iteration() -> None:
    vectors, _ = simulate(20_000, seed=1)
    model = FellegiSunter(COMPS).fit(vectors)
    assert len(model.history_) == model.n_iter_
    assert [h["iteration"] for h in model.history_] == list(range(1, model.n_iter_ + 1))
    lls = [h["log_likelihood"] for h in model.history_]
    assert all(b >= a - 1e-6 * abs(a) for a, b in itertools.pairwise(lls))  # EM never decreases it


def test_non_convergence_warns_with_the_iteration_count_and_stays_usable() -> None:
    vectors, _ = simulate(20_000, seed=1)
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        model = FellegiSunter(COMPS, max_iter=2).fit(vectors)
    assert not model.converged_
    p = model.predict(vectors)["match_probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()


def test_refitting_gives_the_same_answer() -> None:
    vectors, _ = simulate(30_000, seed=3)
    one = FellegiSunter(COMPS).fit(vectors)
    two = FellegiSunter(COMPS).fit(vectors.reverse())
    assert one.lambda_ == two.lambda_
    for c in COMPS:
        assert one.m_[c.name].tolist() == two.m_[c.name].tolist()


def test_supervised_fit_uses_the_labels() -> None:
    vectors, match = simulate(100_000, seed=5)
    model = FellegiSunter(COMPS).fit_supervised(vectors, match)
    assert model.lambda_ == pytest.approx(match.mean())
    for c in COMPS:
        np.testing.assert_allclose(model.m_[c.name], TRUE_M[c.name], atol=0.02)


def test_predictions_separate_matches() -> None:
    vectors, match = simulate(50_000, seed=9)
    model = FellegiSunter(COMPS).fit(vectors)
    pred = model.predict(vectors)
    p = pred["match_probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    assert ((p >= 0.5) == match).mean() > 0.9
    w = pred["match_weight"].to_numpy()
    assert (np.argsort(w, kind="stable") == np.argsort(p, kind="stable")).mean() > 0.99


def tf_model() -> FellegiSunter:
    comp = Comparison("EmailAddress", "email", ("_n.EmailAddress",))
    return FellegiSunter.from_parameters(
        [comp], {"EmailAddress": [0.9, 0.05, 0.05]}, {"EmailAddress": [0.001, 0.01, 0.989]}, 0.01
    )


def test_a_common_value_weighs_less_than_a_rare_one() -> None:
    model = tf_model()
    vec = pl.DataFrame(
        {
            "gamma.EmailAddress": pl.Series([0, 0, 0, 1], dtype=pl.Int8),
            # placeholder held by 20% of profiles / rare value / no TF / not exact
            "tf.EmailAddress": pl.Series([0.2, 1e-6, None, 0.2], dtype=pl.Float32),
        }
    )
    w = model.comparison_weights(vec)["EmailAddress"]
    assert w[0] == pytest.approx(np.log2(0.9 / 0.2), rel=1e-6)
    assert w[1] == pytest.approx(np.log2(0.9 / 0.001))  # never boosted past the level's weight
    assert w[2] == w[1]
    assert w[3] == pytest.approx(np.log2(0.05 / 0.01))  # TF only adjusts the exact level
    assert w[0] < w[1]


def test_missing_level_has_no_weight() -> None:
    model = tf_model()
    vec = pl.DataFrame({"gamma.EmailAddress": pl.Series([-1], dtype=pl.Int8)})
    assert model.comparison_weights(vec)["EmailAddress"].tolist() == [0.0]
    assert model.match_weights(vec)[0] == pytest.approx(np.log2(0.01 / 0.99))


def test_weight_table_lists_every_level() -> None:
    table = tf_model().weight_table()
    assert table["level"].to_list() == ["exact", "same local part or jw>=0.9", "else"]
    assert table["match_weight"][0] == pytest.approx(np.log2(900))


def test_labels_of_the_wrong_length_are_refused() -> None:
    vectors, _ = simulate(10, seed=0)
    with pytest.raises(Exception, match="one label per vector"):
        FellegiSunter(COMPS).fit_supervised(vectors, [True, False])


def test_household_rule_drops_a_shared_phone_between_different_first_names() -> None:
    first = Comparison("FirstName", "name", ("_n.FirstName",))
    birth = Comparison("BirthDate", "date", ("_n.BirthDate",))
    phone = Comparison(
        "PhoneNumber", "phone", ("_n.PhoneNumber",), gate="FirstName", gate_unless="BirthDate"
    )
    model = FellegiSunter.from_parameters(
        [first, birth, phone],
        {
            "FirstName": TRUE_M["FirstName"],
            "BirthDate": TRUE_M["BirthDate"],
            "PhoneNumber": TRUE_M["PhoneNumber"],
        },
        {
            "FirstName": TRUE_U["FirstName"],
            "BirthDate": TRUE_U["BirthDate"],
            "PhoneNumber": TRUE_U["PhoneNumber"],
        },
        0.01,
    )
    # first names: else / exact / else / missing / else; birth dates: - / - / exact / - / else
    vec = pl.DataFrame(
        {
            "gamma.FirstName": pl.Series([3, 0, 3, -1, 3], dtype=pl.Int8),
            "gamma.BirthDate": pl.Series([-1, -1, 0, -1, 2], dtype=pl.Int8),
            "gamma.PhoneNumber": pl.Series([0, 0, 0, 0, 2], dtype=pl.Int8),
        }
    )
    w = model.comparison_weights(vec)["PhoneNumber"]
    shared = np.log2(0.70 / 0.01)
    assert w[:4].tolist() == pytest.approx([0.0, shared, shared, shared])
    assert w[4] == pytest.approx(np.log2(0.20 / 0.97))  # a disagreement keeps its weight
    ungated = FellegiSunter.from_parameters(
        [first, birth, Comparison("PhoneNumber", "phone", ("_n.PhoneNumber",))],
        model.m_,
        model.u_,
        0.01,
    )
    assert ungated.comparison_weights(vec)["PhoneNumber"][0] == pytest.approx(shared)
