"""Fellegi-Sunter model: m and u probabilities, the prior, match weights and predictions.

The model follows scikit-learn's conventions: the constructor only stores parameters, :meth:`fit`
returns the fitted model, learned state ends in ``_`` (``m_``, ``u_``, ``lambda_``, ``n_iter_``,
``converged_``, ``history_``). EM (:func:`idres.em.expectation_maximisation`) iterates on the
counts of the distinct comparison vectors (a few hundred patterns), never on pairs, so refitting
gives the same answer and costs milliseconds.

Two ways to fit without labels:

* ``fit(vectors, profiles=encoded, blocking=rules)`` (used by :func:`idres.ml.score_profiles`):
  u from a seeded sample of random profile pairs; m by EM run once per blocking rule on the pairs
  that rule produced, with u fixed and the comparisons the rule blocks on left out (inside a block
  they agree by construction: Splink's training sessions); each m is the average over the sessions
  that estimate it, weighted by the session's expected matches having that attribute on both
  sides. The prior ``lambda_`` is then the probability that two random profiles match, solved
  over all ``n (n - 1) / 2`` pairs with the pairs outside the candidates taken as non-matches.
* ``fit(vectors)``: classic EM on the candidate pairs alone, m, u and the prior all estimated; the
  prior is then the share of matches among candidates.

Term frequencies: on an exact level the value's frequency ``tf`` (share of profiles holding it)
replaces u when it is larger, ``w = log2(m / max(u, tf))``: a placeholder email or a common surname
weighs less than the level's average, a rare value never more (no boost beyond the level's weight).

Household rule [choice]: a comparison with a ``gate`` (the default phone comparison, gated by
FirstName unless BirthDate) loses its positive weight for a pair whose first names disagree (the
gate's "else" level) and whose birth dates are not the same: a phone shared by a household is no
evidence that two differently named people are one (without the rule the independence assumption
adds a shared phone, address and last name up to a certain match). Gating the address too removes
a few more household links on synthetic data but costs recall on FEBRL3, whose duplicates often
have a corrupted first name and birth date, so it is left ungated. The rule changes weights only
(predictions and the prior), not the EM estimates of m and u.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import expit

from idres.blocking import RULES, BlockingRule, random_pairs
from idres.comparison_vectors import GAMMA, TF, Encoded, compare
from idres.comparisons import Comparison
from idres.em import (
    ConvergenceWarning,
    EMResult,
    FloatArray,
    expectation_maximisation,
    initial_probabilities,
)
from idres.errors import InputError, Problem

log = logging.getLogger(__name__)

MATCH_WEIGHT = "match_weight"
MATCH_PROBABILITY = "match_probability"


def _patterns(
    vectors: pl.DataFrame, names: Sequence[str]
) -> tuple[npt.NDArray[np.int8], FloatArray]:
    cols = [GAMMA + n for n in names]
    grouped = vectors.group_by(cols).agg(pl.len().alias("__n")).sort(cols)
    pats = grouped.select(cols).to_numpy().astype(np.int8).reshape(grouped.height, len(cols))
    return pats, grouped["__n"].to_numpy().astype(np.float64)


def _level_frequencies(vectors: pl.DataFrame, comp: Comparison) -> FloatArray:
    g = vectors.get_column(GAMMA + comp.name).to_numpy()
    g = g[g >= 0].astype(np.int64)
    num = np.bincount(g, minlength=len(comp.levels)) + 1.0  # Laplace: rare levels stay finite
    return num / num.sum()


class FellegiSunter:
    """Fellegi-Sunter model over `comparisons`, fitted by EM (or from labels).

    >>> comps = [Comparison(n, "exact", (n,)) for n in ("FirstName", "LastName", "BirthDate")]
    >>> rng = np.random.default_rng(0)
    >>> match = rng.random(5000) < 0.3  # agree with probability 0.9 if a match, else 0.1
    >>> vec = pl.DataFrame({f"gamma.{c.name}": (rng.random(5000) >= np.where(match, 0.9, 0.1))
    ...                     .astype(np.int8) for c in comps})
    >>> model = FellegiSunter(comps).fit(vec)
    >>> model.converged_, round(model.lambda_, 1), model.m_["LastName"].round(1).tolist()
    (True, 0.3, [0.9, 0.1])
    """

    def __init__(
        self,
        comparisons: Sequence[Comparison],
        *,
        max_iter: int = 1000,
        tol: float = 1e-4,
        u_pairs: int = 1_000_000,
        seed: int = 0,
    ) -> None:
        self.comparisons = tuple(comparisons)
        self.max_iter = max_iter
        self.tol = tol
        self.u_pairs = u_pairs
        self.seed = seed

    @classmethod
    def from_parameters(
        cls,
        comparisons: Sequence[Comparison],
        m: Mapping[str, npt.ArrayLike],
        u: Mapping[str, npt.ArrayLike],
        prior: float,
        **params: Any,
    ) -> FellegiSunter:
        """A fitted model from known m, u (per comparison name, one probability per level) and prior.

        >>> comp = Comparison("Gender", "exact", ("_n.Gender",))
        >>> FellegiSunter.from_parameters([comp], {"Gender": [.9, .1]}, {"Gender": [.5, .5]}, .1).lambda_
        0.1
        """
        model = cls(comparisons, **params)
        model._set(
            {k: np.asarray(v, dtype=np.float64) for k, v in m.items()},
            {k: np.asarray(v, dtype=np.float64) for k, v in u.items()},
            prior,
        )
        model.n_iter_, model.converged_, model.history_, model.u_source_ = 0, True, [], "given"
        return model

    # -- fitting ------------------------------------------------------------------------------
    def _random_u(self, profiles: Encoded) -> dict[str, FloatArray]:
        sample = compare(profiles, random_pairs(profiles.n, self.u_pairs, seed=self.seed))
        return {c.name: _level_frequencies(sample, c) for c in self.comparisons}

    def _set(self, m: dict[str, FloatArray], u: dict[str, FloatArray], lam: float) -> None:
        self.m_ = {c.name: m[c.name] for c in self.comparisons}
        self.u_ = {c.name: u[c.name] for c in self.comparisons}
        self.lambda_ = float(lam)

    def fit(
        self,
        vectors: pl.DataFrame,
        *,
        profiles: Encoded | None = None,
        blocking: Sequence[BlockingRule] | None = None,
    ) -> Self:
        """Estimate m, u and the prior without labels (see the module docstring).

        `vectors` are the candidate pairs' comparison vectors
        (:func:`idres.comparison_vectors.compare`); with `profiles` (the encoded profiles they came
        from) u comes from random pairs and the prior is over all pairs; `blocking` (the rules whose
        bits are in the ``rules`` column) gives one EM session per rule.
        """
        names = [c.name for c in self.comparisons]
        self.history_: list[dict[str, Any]] = []
        if profiles is None:
            pats, counts = _patterns(vectors, names)
            res = self._em(pats, counts, names, None, 0.1, session="all")
            self._set(
                dict(zip(names, res.m, strict=True)), dict(zip(names, res.u, strict=True)), res.lam
            )
            self.n_iter_, self.converged_, self.u_source_ = res.n_iter, res.converged, "em"
            return self
        u = self._random_u(profiles)
        sessions = self._sessions(vectors, blocking)
        m_sum = {n: np.zeros(len(u[n])) for n in names}
        weight = dict.fromkeys(names, 0.0)
        self.n_iter_, self.converged_ = 0, True
        for label, selected, active in sessions:
            if selected.height == 0 or not active:
                continue
            pats, counts = _patterns(selected, active)
            res = self._em(pats, counts, active, u, 0.1, session=label)
            self.n_iter_ = max(self.n_iter_, res.n_iter)
            self.converged_ &= res.converged
            for name, m, matches in zip(active, res.m, res.evidence, strict=True):
                m_sum[name] += matches * m
                weight[name] += matches
        m_out = {}
        for c in self.comparisons:
            if weight[c.name] > 0:
                m_out[c.name] = m_sum[c.name] / weight[c.name]
            else:
                log.warning("comparison %r: m not estimated by any session; default used", c.name)
                m_out[c.name] = initial_probabilities(len(c.levels), match=True)
        self._set(m_out, u, 0.5)
        self.lambda_ = self._prior(vectors, profiles.n)
        self.u_source_ = "random"
        return self

    def _em(
        self,
        pats: npt.NDArray[np.int8],
        counts: FloatArray,
        names: Sequence[str],
        u: dict[str, FloatArray] | None,
        lam: float,
        *,
        session: str,
    ) -> EMResult:
        sizes = {c.name: len(c.levels) for c in self.comparisons}
        m0 = [initial_probabilities(sizes[n], match=True) for n in names]
        u0 = (
            [u[n] for n in names]
            if u is not None
            else [initial_probabilities(sizes[n], match=False) for n in names]
        )
        res = expectation_maximisation(
            pats, counts, m0, u0, lam, fix_u=u is not None, max_iter=self.max_iter, tol=self.tol
        )
        for step in res.history:
            self.history_.append({"session": session, "comparisons": list(names), **step})
        if not res.converged:
            warnings.warn(
                f"EM session {session!r} did not converge in {res.n_iter} iterations "
                f"(max_change {res.history[-1]['max_change']:.2g} > tol {self.tol:g}); "
                "the model is usable but may be improved with a larger max_iter",
                ConvergenceWarning,
                stacklevel=3,
            )
        return res

    def _sessions(
        self, vectors: pl.DataFrame, blocking: Sequence[BlockingRule] | None
    ) -> list[tuple[str, pl.DataFrame, list[str]]]:
        names = [c.name for c in self.comparisons]
        if not blocking or RULES not in vectors.columns:
            return [("all", vectors, names)]
        out = []
        for i, rule in enumerate(blocking):
            cols = rule.columns()
            active = [c.name for c in self.comparisons if not cols & set(c.columns)]
            selected = vectors.filter((pl.col(RULES) & (1 << i)) != 0)
            out.append((rule.name, selected, active))
        return out

    def _prior(self, vectors: pl.DataFrame, n: int, max_iter: int = 1000) -> float:
        """Probability two random profiles match: fixed point over all pairs (non-candidates = 0)."""
        n_pairs = n * (n - 1) / 2
        if n_pairs <= 0 or vectors.height == 0:
            return 1e-12
        weights = self._evidence(vectors)
        lam = max(float((weights > 0).sum()) / n_pairs, 1e-12)
        iterations = 0
        while iterations < max_iter:
            iterations += 1
            new = float(expit((np.log(lam) - np.log1p(-lam)) + weights * np.log(2)).sum() / n_pairs)
            new = min(max(new, 1e-15), 0.5)
            done = abs(new - lam) <= 1e-9 * lam
            lam = new
            if done:
                break
        self.history_.append({"session": "prior", "iteration": iterations, "lambda": lam})
        return lam

    def fit_supervised(
        self, vectors: pl.DataFrame, labels: npt.ArrayLike, *, profiles: Encoded | None = None
    ) -> Self:
        """m from the pairs labelled as matches; u from random pairs of `profiles` (prior over all
        pairs) or, without `profiles`, from the non-matching candidates (prior among candidates)."""
        truth = np.asarray(labels, dtype=bool)
        if truth.shape != (vectors.height,):
            raise InputError(
                Problem(None, "labels", f"one label per vector expected (got {truth.shape!r})")
            )
        matches, others = vectors.filter(pl.Series(truth)), vectors.filter(pl.Series(~truth))
        m = {c.name: _level_frequencies(matches, c) for c in self.comparisons}
        if profiles is None:
            u = {c.name: _level_frequencies(others, c) for c in self.comparisons}
            lam = float(truth.mean()) if truth.size else 0.5
        else:
            u = self._random_u(profiles)
            lam = max(float(truth.sum()), 1.0) / max(profiles.n * (profiles.n - 1) / 2, 1.0)
        self._set(m, u, lam)
        self.n_iter_, self.converged_, self.history_, self.u_source_ = 0, True, [], "labels"
        return self

    # -- prediction -----------------------------------------------------------------------------
    def _prior_weight(self) -> float:
        return float(np.log2(self.lambda_) - np.log2(1 - self.lambda_))

    def weight_table(self) -> pl.DataFrame:
        """Each comparison level's m, u and match weight ``log2(m / u)`` (before TF adjustment).

        >>> comp = Comparison("Gender", "exact", ("_n.Gender",))
        >>> model = FellegiSunter.from_parameters([comp], {"Gender": [.9, .1]}, {"Gender": [.5, .5]}, .1)
        >>> model.weight_table()["match_weight"].round(3).to_list()
        [0.848, -2.322]
        """
        rows = [
            (c.name, g, label, float(self.m_[c.name][g]), float(self.u_[c.name][g]))
            for c in self.comparisons
            for g, label in enumerate(c.levels)
        ]
        frame = pl.DataFrame(
            rows, schema=["comparison", "gamma", "level", "m", "u"], orient="row"
        ).with_columns(pl.col("gamma").cast(pl.Int8))
        return frame.with_columns((pl.col("m") / pl.col("u")).log(2).alias(MATCH_WEIGHT))

    def comparison_weights(self, vectors: pl.DataFrame) -> dict[str, FloatArray]:
        """Per comparison, the match weight of every vector (0 for a missing value, TF applied)."""
        out = {}
        for c in self.comparisons:
            m, u = self.m_[c.name], self.u_[c.name]
            table = np.concatenate([[0.0], np.log2(m / u)])
            g = vectors.get_column(GAMMA + c.name).to_numpy().astype(np.int64)
            w = table[g + 1]
            tf_col = TF + c.name
            if c.exact_levels and tf_col in vectors.columns:
                tf = vectors.get_column(tf_col).to_numpy().astype(np.float64)
                for level in c.exact_levels:
                    common = (g == level) & (tf > u[level])  # NaN compares False
                    w = np.where(common, np.log2(m[level] / np.where(common, tf, 1.0)), w)
            out[c.name] = w
        return self._gated(vectors, out)

    def _gated(
        self, vectors: pl.DataFrame, weights: dict[str, FloatArray]
    ) -> dict[str, FloatArray]:
        """The household rule: a gated comparison's positive weight is dropped where its gate
        comparison disagrees and its `gate_unless` comparison is not exact."""
        by_name = {c.name: c for c in self.comparisons}
        for c in self.comparisons:
            gate = by_name.get(c.gate) if c.gate else None
            if gate is None or GAMMA + gate.name not in vectors.columns:
                continue
            differs = vectors.get_column(GAMMA + gate.name).to_numpy() == len(gate.levels) - 1
            unless = by_name.get(c.gate_unless) if c.gate_unless else None
            if unless is not None and GAMMA + unless.name in vectors.columns:
                differs &= vectors.get_column(GAMMA + unless.name).to_numpy() != 0
            w = weights[c.name]
            weights[c.name] = np.where(differs & (w > 0), 0.0, w)
        return weights

    def _evidence(self, vectors: pl.DataFrame) -> FloatArray:
        total = np.zeros(vectors.height)
        for w in self.comparison_weights(vectors).values():
            total += w
        return total

    def match_weights(self, vectors: pl.DataFrame) -> FloatArray:
        """Total match weight (prior included) of every vector, in bits."""
        return self._prior_weight() + self._evidence(vectors)

    def predict(self, vectors: pl.DataFrame) -> pl.DataFrame:
        """``match_weight`` and ``match_probability`` of every vector (``a``/``b`` kept if present)."""
        weight = self.match_weights(vectors)
        keep = [vectors.get_column(c) for c in ("a", "b") if c in vectors.columns]
        return pl.DataFrame(
            [
                *keep,
                pl.Series(MATCH_WEIGHT, weight),
                pl.Series(MATCH_PROBABILITY, expit(weight * np.log(2))),
            ]
        )
