"""EM on agreement patterns: the expectation-maximisation behind the Fellegi-Sunter model.

:func:`expectation_maximisation` iterates on the counts of the distinct comparison vectors (a few
hundred patterns), never on pairs, so refitting gives the same answer and costs milliseconds. It
estimates m, u and the prior (or m and the prior with u fixed), keeps each iteration's parameters,
and reports whether they settled before ``max_iter``; :class:`ConvergenceWarning` is the warning
raised when they did not. The model that runs it is :class:`idres.fellegi_sunter.FellegiSunter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit

FloatArray = npt.NDArray[np.float64]
_PSEUDO = 0.1  # pseudo-count (pairs) per level in the M-step: no level gets probability 0


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the parameters settled; the result is still usable."""


@dataclass(frozen=True, slots=True)
class EMResult:
    """Output of :func:`expectation_maximisation`."""

    m: list[FloatArray]
    u: list[FloatArray]
    lam: float
    n_iter: int
    converged: bool
    history: list[dict[str, Any]]
    #: Per comparison, the expected number of matches with a value on both sides (the weight of
    #: this session's m when sessions are averaged).
    evidence: FloatArray


def _log_lik(patterns: npt.NDArray[np.int8], probs: list[FloatArray]) -> FloatArray:
    out = np.zeros(patterns.shape[0])
    for k, p in enumerate(probs):
        g = patterns[:, k]
        out += np.where(g >= 0, np.log(p)[np.maximum(g, 0)], 0.0)
    return out


def _m_step(
    patterns: npt.NDArray[np.int8], weight: FloatArray, sizes: list[int]
) -> list[FloatArray]:
    out = []
    for k, size in enumerate(sizes):
        g = patterns[:, k]
        ok = g >= 0
        num = np.bincount(g[ok], weights=weight[ok], minlength=size) + _PSEUDO
        out.append(num / num.sum())
    return out


def expectation_maximisation(
    patterns: npt.NDArray[np.int8],
    counts: npt.ArrayLike,
    m: Sequence[FloatArray],
    u: Sequence[FloatArray],
    lam: float,
    *,
    fix_u: bool = False,
    max_iter: int = 1000,
    tol: float = 1e-4,
) -> EMResult:
    """EM over distinct agreement patterns (rows of `patterns`, ``-1`` = missing) and their counts.

    >>> pats = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], dtype=np.int8)
    >>> res = expectation_maximisation(pats, [90, 900, 5, 5], [np.array([.8, .2])] * 2,
    ...                                [np.array([.2, .8])] * 2, 0.5)
    >>> round(res.lam, 2), res.converged
    (0.1, True)
    """
    counts = np.asarray(counts, dtype=np.float64)
    sizes = [len(p) for p in m]
    m = [np.asarray(p, dtype=np.float64) for p in m]
    u = [np.asarray(p, dtype=np.float64) for p in u]
    history: list[dict[str, Any]] = []
    converged = False
    n_iter = 0
    total = counts.sum()
    for n_iter in range(1, max_iter + 1):
        lm, lu = _log_lik(patterns, m), _log_lik(patterns, u)
        logit = np.log(lam) - np.log1p(-lam) + lm - lu
        q = expit(logit)
        loglik = float(counts @ np.logaddexp(np.log(lam) + lm, np.log1p(-lam) + lu))
        new_lam = float(np.clip((counts @ q) / total, 1e-12, 1 - 1e-12))
        new_m = _m_step(patterns, counts * q, sizes)
        new_u = u if fix_u else _m_step(patterns, counts * (1 - q), sizes)
        change = max(
            abs(new_lam - lam),
            *(np.abs(x - y).max() for x, y in zip(new_m, m, strict=True)),
            *(np.abs(x - y).max() for x, y in zip(new_u, u, strict=True)),
        )
        m, u, lam = new_m, new_u, new_lam
        history.append(
            {
                "iteration": n_iter,
                "lambda": lam,
                "max_change": float(change),
                "log_likelihood": loglik,
                "m": [p.tolist() for p in m],
                **({} if fix_u else {"u": [p.tolist() for p in u]}),
            }
        )
        if change < tol:
            converged = True
            break
    q = expit(np.log(lam) - np.log1p(-lam) + _log_lik(patterns, m) - _log_lik(patterns, u))
    evidence = (counts * q) @ (patterns >= 0)
    return EMResult(m, u, lam, n_iter, converged, history, np.asarray(evidence, dtype=np.float64))


def initial_probabilities(size: int, *, match: bool) -> FloatArray:
    """Starting m (agreement likely) or u (disagreement likely) for a comparison of `size` levels."""
    p = 4.0 ** -np.arange(size, dtype=np.float64)
    p = p if match else p[::-1]
    return p / p.sum()
