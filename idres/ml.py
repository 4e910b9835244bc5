"""The ML matching stage: blocking, comparisons, Fellegi-Sunter scores and ML match groups.

:func:`score_profiles` turns the normalized profile table into scored candidate pairs (row indices
``a < b`` with a ``ConfidenceScore`` in [0, 1]) and the fitted model; :func:`ml_groups` turns scored
pairs into match groups: connected components of the pairs scoring at least the link threshold,
each group's ConfidenceScore being the weakest link of its maximum spanning tree.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import polars as pl

from idres import schema
from idres.blocking import MAX_BLOCK_SIZE, RULES, A, B, BlockingRule, candidate_pairs, default_rules
from idres.comparison_vectors import compare, encode
from idres.comparisons import Comparison, default_comparisons
from idres.errors import InputError, Problem
from idres.fellegi_sunter import MATCH_PROBABILITY, MATCH_WEIGHT, FellegiSunter
from idres.graph import bottleneck_scores, components
from idres.scoring import check_comparisons, check_model

log = logging.getLogger(__name__)

CONFIDENCE: Final = "ConfidenceScore"
ROW: Final = "row"
GROUP: Final = "group"
#: Truth frame column naming the real-world entity (same name as idres.evaluate / idres.synth).
ENTITY_ID: Final = "EntityId"
#: Default link threshold on the pair ConfidenceScore (see docs: chosen on FEBRL3 and synthetic data).
DEFAULT_LINK_THRESHOLD: Final = 0.9


@dataclass(frozen=True, slots=True)
class MLScores:
    """What :func:`score_profiles` produced.

    ``pairs``: ``a``, ``b`` (row indices, ``a < b``, sorted), ``rules`` (bitmask of the blocking rules
    that produced the pair), ``match_weight`` (bits) and ``ConfidenceScore``; ``model``: the fitted
    :class:`~idres.fellegi_sunter.FellegiSunter`; ``blocking``: per-rule statistics; ``timings``: seconds per step.
    """

    pairs: pl.DataFrame
    model: FellegiSunter
    blocking: pl.DataFrame
    rules: tuple[BlockingRule, ...]
    timings: dict[str, float] = field(default_factory=dict)


def check_threshold(value: float, name: str = "link_threshold") -> float:
    """`value` as a float in [0, 1], else :class:`InputError`.

    >>> check_threshold(0.5)
    0.5
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    if not ok or math.isnan(value):
        raise InputError(Problem(None, name, f"must be a number between 0 and 1 (got {value!r})"))
    return float(value)


def _labels(normalized: pl.DataFrame, truth: pl.DataFrame, pairs: pl.DataFrame) -> np.ndarray:
    """Entity agreement of each pair (None for a pair with an unlabelled side)."""
    problems = [
        Problem(None, f"truth.{c}", f"missing column (got {truth.columns!r})")
        for c in (schema.PROFILE_ID, ENTITY_ID)
        if c not in truth.columns
    ]
    if schema.PROFILE_ID not in normalized.columns:
        problems.append(
            Problem(None, "profiles", f"no {schema.PROFILE_ID} column to match the truth")
        )
    if problems:
        raise InputError(problems)
    ids = normalized.select(schema.PROFILE_ID)
    entity = ids.join(
        truth.select(schema.PROFILE_ID, pl.col(ENTITY_ID).cast(pl.String)),
        on=schema.PROFILE_ID,
        how="left",
        maintain_order="left",
    )[ENTITY_ID]
    codes = entity.rank("dense").fill_null(0).to_numpy().astype(np.int64)
    ea, eb = codes[pairs[A].to_numpy()], codes[pairs[B].to_numpy()]
    return np.where((ea > 0) & (eb > 0), (ea == eb).astype(np.int8), -1)


def score_profiles(
    normalized: pl.DataFrame,
    *,
    rules: Sequence[BlockingRule] | None = None,
    comparisons: Sequence[Comparison] | None = None,
    model: FellegiSunter | None = None,
    truth: pl.DataFrame | None = None,
    max_block_size: int = MAX_BLOCK_SIZE,
    u_pairs: int = 1_000_000,
    max_iter: int = 1000,
    seed: int = 0,
) -> MLScores:
    """Score the candidate pairs of the normalized profiles.

    Without `model` one is fitted: by EM (u from `u_pairs` random pairs drawn with `seed`, m per
    blocking rule, prior over all pairs) or, given `truth` (``ProfileId``, ``EntityId``), from the
    labels. Rows are indices into `normalized`; when it has a ``ProfileId`` column the work is done
    in ProfileId order, so the pairs (mapped to ids) do not depend on the input row order.

    >>> f = pl.DataFrame({"ProfileId": ["p1", "p2", "p3"], "_n.FirstName": ["ann", "ann", "bo"],
    ...                   "_n.LastName": ["li", "li", "li"], "_n.BirthDate": ["1990-01-02"] * 3})
    >>> s = score_profiles(f, u_pairs=100)
    >>> s.pairs.select("a", "b").rows()
    [(0, 1), (0, 2), (1, 2)]
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = now - clock
        clock = now

    if model is not None:
        check_model(model, normalized)
        if comparisons is not None:
            check_comparisons(model, comparisons)
        comps = model.comparisons
    else:
        comps = tuple(default_comparisons(normalized) if comparisons is None else comparisons)
        if not comps:
            raise InputError(
                Problem(None, "comparisons", "no comparable column in the profiles (got none)")
            )
    rules = tuple(default_rules() if rules is None else rules)

    order = None
    frame = normalized
    if schema.PROFILE_ID in normalized.columns:
        ids = normalized.get_column(schema.PROFILE_ID)
        if not ids.is_sorted():
            order = ids.arg_sort().to_numpy()
            frame = normalized[order]
    pairs, stats = candidate_pairs(frame, rules, max_block_size=max_block_size)
    lap("blocking")
    enc = encode(frame, comps)
    lap("encode")
    vectors = compare(enc, pairs)
    lap("compare")
    if model is None:
        model = FellegiSunter(comps, max_iter=max_iter, u_pairs=u_pairs, seed=seed)
        if truth is not None:
            labels = _labels(frame, truth, pairs)
            known = labels >= 0
            model.fit_supervised(vectors.filter(pl.Series(known)), labels[known] == 1, profiles=enc)
        else:
            model.fit(vectors, profiles=enc, blocking=rules)
    lap("fit")
    scored = model.predict(vectors)
    out = pairs.with_columns(scored[MATCH_WEIGHT], scored[MATCH_PROBABILITY].alias(CONFIDENCE))
    if order is not None:
        out = _unsort(out, order)
    lap("predict")
    log.info("ML scoring: %d candidate pairs in %.1f s", out.height, sum(timings.values()))
    return MLScores(out, model, stats, rules, timings)


def _unsort(pairs: pl.DataFrame, order: np.ndarray) -> pl.DataFrame:
    """Map rows of the sorted frame back to the caller's rows (a < b, sorted again)."""
    to = pl.Series(order.astype(np.uint32))
    a, b = to.gather(pairs[A]), to.gather(pairs[B])
    return (
        pairs.with_columns(pl.min_horizontal(a, b).alias(A), pl.max_horizontal(a, b).alias(B))
        .sort(A, B)
        .select(A, B, RULES, MATCH_WEIGHT, CONFIDENCE)
    )


def ml_groups(
    n: int, pairs: pl.DataFrame, *, link_threshold: float = DEFAULT_LINK_THRESHOLD
) -> pl.DataFrame:
    """ML match groups of `n` profiles from scored pairs (``a``, ``b``, ``ConfidenceScore``).

    Returns one row per profile: ``row``, ``group`` (smallest row index of the group) and
    ``ConfidenceScore`` (the weakest link on the group's maximum spanning tree; null when alone).

    >>> p = pl.DataFrame({"a": [0, 1, 3], "b": [1, 2, 4], "ConfidenceScore": [0.99, 0.95, 0.5]})
    >>> ml_groups(5, p, link_threshold=0.9).rows()
    [(0, 0, 0.95), (1, 0, 0.95), (2, 0, 0.95), (3, 3, None), (4, 4, None)]
    """
    link_threshold = check_threshold(link_threshold)
    links = pairs.filter(pl.col(CONFIDENCE) >= link_threshold)
    a, b = links[A].to_numpy(), links[B].to_numpy()
    score = links[CONFIDENCE].to_numpy()
    labels = components(n, a, b)
    conf = bottleneck_scores(n, a, b, score, labels)
    return pl.DataFrame(
        {
            ROW: np.arange(n, dtype=np.uint32),
            GROUP: labels.astype(np.uint32),
            CONFIDENCE: pl.Series(conf).fill_nan(None),
        }
    )
