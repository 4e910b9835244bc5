"""Evaluation per rule level: "what if only rule levels ≤ L matched?".

:func:`evaluate_levels` gives the full metrics (:class:`idres.evaluate.Metrics`) of the connected
components of the rule-based links of level ≤ L, for each L, and what each level adds: the true and
false pairs it joins and the profiles it brings into groups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from idres import schema
from idres.errors import InputError, Problem
from idres.evaluate import Metrics, contingency_metrics, encode
from idres.graph import components
from idres.schema import ENTITY_ID, PROFILE_ID_A, PROFILE_ID_B, RULE_LEVEL
from idres.truth import duplicate_problems, ids_problems, require_columns

__all__ = ["LevelMetrics", "evaluate_levels"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LevelMetrics:
    """Metrics of the match groups of rule levels ≤ `level`, and what level `level` added."""

    level: int
    links: int  # links of exactly this level
    metrics: Metrics
    new_true_pairs: int  # true positives gained over level - 1
    new_false_pairs: int  # false positives gained over level - 1
    new_profiles_in_groups: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the level, its contribution and its metrics."""
        return {
            "level": self.level,
            "links": self.links,
            "new_true_pairs": self.new_true_pairs,
            "new_false_pairs": self.new_false_pairs,
            "new_profiles_in_groups": self.new_profiles_in_groups,
            **self.metrics.to_dict(),
        }


def evaluate_levels(
    links: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    profile_col: str = schema.PROFILE_ID,
    entity_col: str = ENTITY_ID,
    a_col: str = PROFILE_ID_A,
    b_col: str = PROFILE_ID_B,
    level_col: str = RULE_LEVEL,
    examples: int = 5,
    source: str = "links",
) -> list[LevelMetrics]:
    """Metrics of rule-based match groups restricted to levels ≤ L, for L = 1 .. the top level.

    Groups are recomputed as connected components of the links of level ≤ L (the layout of
    ``rule-based/links.parquet``). An example cluster is named by its smallest ProfileId.

    >>> truth = pl.DataFrame({"ProfileId": list("abc"), "EntityId": ["x", "x", "y"]})
    >>> links = pl.DataFrame({"ProfileIdA": ["a", "b"], "ProfileIdB": ["b", "c"], "RuleLevel": [1, 2]})
    >>> [(m.level, m.metrics.precision, m.new_false_pairs) for m in evaluate_levels(links, truth)]
    [(1, 1.0, 0), (2, 0.3333333333333333, 2)]
    """
    require_columns(links, (a_col, b_col, level_col), source)
    require_columns(truth, (profile_col, entity_col), "truth")
    truth = truth.select(pl.col(profile_col).cast(pl.String), pl.col(entity_col)).sort(profile_col)
    ids = truth.get_column(profile_col)
    problems = duplicate_problems(ids, "truth", "ProfileIds")
    index = truth.select(pl.col(profile_col).alias("__id"), pl.int_range(pl.len()).alias("__i"))
    lk = (
        links.select(
            pl.col(a_col).cast(pl.String).alias("__a"),
            pl.col(b_col).cast(pl.String).alias("__b"),
            pl.col(level_col).cast(pl.Int64).alias("__l"),
        )
        .join(index.rename({"__id": "__a", "__i": "__ia"}), on="__a", how="left")
        .join(index.rename({"__id": "__b", "__i": "__ib"}), on="__b", how="left")
    )
    unknown = pl.concat(
        [
            lk.filter(pl.col("__ia").is_null()).get_column("__a"),
            lk.filter(pl.col("__ib").is_null()).get_column("__b"),
        ]
    )
    problems += ids_problems(source, f"{a_col}/{b_col}", unknown, "ProfileIds are not in the truth")
    if lk.get_column("__l").null_count():
        problems.append(Problem(source, level_col, "empty rule levels (got None)"))
    if problems:
        raise InputError(problems)
    n = truth.height
    a = lk.get_column("__ia").to_numpy()
    b = lk.get_column("__ib").to_numpy()
    level = lk.get_column("__l").to_numpy()
    entity, entity_names = encode(truth.get_column(entity_col))

    def cluster_names(idx: npt.NDArray[np.int64]) -> list[str]:
        return ids.gather(idx).to_list()

    out: list[LevelMetrics] = []
    top = int(level.max()) if level.size else 0
    for lvl in range(1, top + 1):
        keep = level <= lvl
        labels = components(n, a[keep], b[keep])
        labels[np.bincount(labels, minlength=n)[labels] < 2] = -1  # lone profiles
        m = contingency_metrics(
            labels,
            entity,
            examples=examples,
            cluster_names=cluster_names,
            entity_names=entity_names,
        )
        prev = out[-1].metrics if out else None
        out.append(
            LevelMetrics(
                level=lvl,
                links=int((level == lvl).sum()),
                metrics=m,
                new_true_pairs=m.true_positives - (prev.true_positives if prev else 0),
                new_false_pairs=m.false_positives - (prev.false_positives if prev else 0),
                new_profiles_in_groups=m.profiles_in_groups
                - (prev.profiles_in_groups if prev else 0),
            )
        )
        log.debug("level %d: precision %.4f recall %.4f", lvl, m.precision, m.recall)
    return out
