"""Tests of idres.em: EM on agreement patterns recovers known parameters.

The seeded simulation (COMPS, TRUE_M, TRUE_U, TRUE_LAMBDA, simulate) is shared with
test_fellegi_sunter.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from idres.comparisons import Comparison
from idres.em import expectation_maximisation

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
