"""Tests of idres.fellegi_sunter: fit recovers known m/u, convergence, TF, labels, households."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from idres.comparisons import Comparison
from idres.em import ConvergenceWarning
from idres.fellegi_sunter import FellegiSunter
from tests.test_em import COMPS, TRUE_LAMBDA, TRUE_M, TRUE_U, simulate


def test_em_recovers_known_m_u_and_prior() -> None:
    vectors, _ = simulate(200_000, seed=42)
    model = FellegiSunter(COMPS).fit(vectors)
    assert model.converged_
    assert model.lambda_ == pytest.approx(TRUE_LAMBDA, abs=0.02)
    for c in COMPS:
        np.testing.assert_allclose(model.m_[c.name], TRUE_M[c.name], atol=0.02, err_msg=c.name)
        np.testing.assert_allclose(model.u_[c.name], TRUE_U[c.name], atol=0.02, err_msg=c.name)


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
