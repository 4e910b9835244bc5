"""Evaluation of groupings against ground truth, from contingency counts (never by listing pairs).

A *grouping* assigns profiles to clusters (match groups or merge groups); the *truth* assigns every
profile to an entity. All metrics come from counts over the cluster × entity contingency table
(scikit-learn's ``pair_confusion_matrix`` idea) on integer codes, so they run at tens of millions of
profiles:

- pairwise: a pair of profiles is predicted when both share a cluster and true when both share an
  entity; TP = Σ C(n_ce, 2) over cells, predicted = Σ C(a_c, 2) over clusters, true = Σ C(b_e, 2) over
  entities;
- B-cubed: per profile, precision = |cluster ∩ entity| / |cluster| and recall = |cluster ∩ entity| /
  |entity|, averaged over profiles (Σ n_ce² / a_c and Σ n_ce² / b_e over cells);
- exact entities: an entity whose profiles form one cluster holding nothing else (a lone profile of a
  one-profile entity counts);
- over-merged clusters (holding more than one entity) and split entities (spread over more than one
  cluster, profiles left alone included), with a few deterministic examples.

[choice] A ratio with nothing to count is 1.0: precision is 1.0 when no pair is predicted (no wrong
merge was made), recall is 1.0 when the truth has no pair, B-cubed and the exact share are 1.0 for an
empty profile set; F1 is 0.0 when precision + recall is 0. No metric is ever NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from idres import schema
from idres.errors import InputError
from idres.schema import ENTITY_ID, MATCH_ID
from idres.truth import (
    duplicate_problems,
    empty_problems,
    ids_problems,
    require_columns,
    same_dtype,
)

#: Pieces listed per example (the largest first).
MAX_PIECES: Final = 10


@dataclass(frozen=True, slots=True)
class OverMerged:
    """A cluster holding several entities: its id, size, entity count and largest pieces."""

    cluster: str
    size: int
    entities: int
    pieces: tuple[tuple[str, int], ...]  # (EntityId, profiles), largest first


@dataclass(frozen=True, slots=True)
class Split:
    """An entity spread over several clusters: its id, size, cluster count and largest pieces."""

    entity: str
    size: int
    clusters: int
    pieces: tuple[tuple[str, int], ...]  # (cluster id, profiles), largest first
    singletons: int  # profiles of the entity left alone


@dataclass(frozen=True, slots=True)
class Metrics:
    """Metrics of one grouping against the truth (see the module docstring for definitions)."""

    profiles: int
    entities: int
    clusters: int  # predicted clusters, lone profiles included
    groups: int  # predicted clusters of two or more profiles
    profiles_in_groups: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    exact_entities: int
    exact_entity_share: float
    over_merged_clusters: int
    split_entities: int
    over_merged_examples: tuple[OverMerged, ...] = ()
    split_examples: tuple[Split, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; an example's pieces are ``[id, profiles]`` pairs, largest first.

        >>> m = evaluate(pl.DataFrame({"ProfileId": ["a"], "MatchId": ["m"]}),
        ...              pl.DataFrame({"ProfileId": ["a"], "EntityId": ["x"]}))
        >>> m.to_dict()["f1"], m.to_dict()["split_examples"]
        (1.0, [])
        """
        out = asdict(self)
        for key in ("over_merged_examples", "split_examples"):
            out[key] = [{**x, "pieces": [list(p) for p in x["pieces"]]} for x in out[key]]
        return out


def ratio(num: float, den: float) -> float:
    """`num / den`, or 1.0 when `den` is 0 (nothing to count: nothing wrong).

    >>> ratio(0, 0), ratio(1, 4)
    (1.0, 0.25)
    """
    return 1.0 if den == 0 else float(num) / float(den)


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of `precision` and `recall`; 0.0 when both are 0.

    >>> f1_score(1.0, 0.5)
    0.6666666666666666
    """
    total = precision + recall
    return 0.0 if total == 0 else 2.0 * precision * recall / total


Names = Callable[[npt.NDArray[np.int64]], list[str]]


def pair_count(sizes: npt.ArrayLike) -> int:
    """Σ C(x, 2) over `sizes`: the pairs inside groups of these sizes.

    >>> pair_count([3, 1, 2])
    4
    """
    x = np.asarray(sizes, dtype=np.int64)
    return int((x * (x - 1) // 2).sum())


def encode(values: pl.Series) -> tuple[npt.NDArray[np.int64], Names]:
    """Dense integer codes of `values` in sorted value order (null: -1), and a code -> name lookup.

    >>> codes, name = encode(pl.Series(["b", None, "a", "b"]))
    >>> codes.tolist(), name(np.array([1]))
    ([1, -1, 0, 1], ['b'])
    """
    codes = (values.rank("dense").cast(pl.Int64) - 1).fill_null(-1).to_numpy()
    rep = np.zeros(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    rep[codes[codes >= 0]] = np.flatnonzero(codes >= 0)
    names = values.cast(pl.String)
    return codes, lambda idx: names.gather(rep[idx]).to_list()


def _str_names(idx: npt.NDArray[np.int64]) -> list[str]:
    return [str(i) for i in idx.tolist()]


def contingency_metrics(
    cluster: npt.ArrayLike,
    entity: npt.ArrayLike,
    *,
    examples: int = 5,
    cluster_names: Names | None = None,
    entity_names: Names | None = None,
) -> Metrics:
    """Metrics from integer labels: each profile's `cluster` (-1: alone) and `entity` (>= 0).

    Labels need not be dense; examples are ordered by label on ties, named by the lookups.

    >>> m = contingency_metrics([1, 1, -1], [0, 1, 1])
    >>> (m.true_positives, m.false_positives, m.false_negatives, m.over_merged_clusters)
    (0, 1, 1, 1)
    """
    c = np.asarray(cluster, dtype=np.int64)
    e = np.asarray(entity, dtype=np.int64)
    n = e.size
    k_ent = int(e.max(initial=-1)) + 1
    alone = c < 0
    b = np.bincount(e, minlength=k_ent)  # entity sizes
    s = np.bincount(e[alone], minlength=k_ent)  # lone profiles per entity
    cells, nn = np.unique(c[~alone] * max(k_ent, 1) + e[~alone], return_counts=True)
    cc, ce = cells // max(k_ent, 1), cells % max(k_ent, 1)
    a_full = np.bincount(c[~alone], minlength=int(c.max(initial=-1)) + 1)
    k_full = np.bincount(cc, minlength=a_full.size)  # entities per cluster
    a = a_full[a_full > 0]
    a_cell, b_cell = a_full[cc], b[ce]
    pieces = np.bincount(ce, minlength=k_ent) + s
    has = b > 0
    tp, pred, true = pair_count(nn), pair_count(a), pair_count(b)
    nf = nn.astype(np.float64)
    b3p = ratio(float(np.sum(nf * nf / a_cell)) + int(alone.sum()), n)
    b3r = ratio(float(np.sum(nf * nf / b_cell)) + float(np.sum(s[has] / b[has])), n)
    exact = int(((nn == a_cell) & (nn == b_cell)).sum() + ((b == 1) & (s == 1)).sum())
    precision, recall = ratio(tp, pred), ratio(tp, true)
    cname = cluster_names or _str_names
    ename = entity_names or _str_names
    over: list[OverMerged] = []
    split: list[Split] = []
    if examples > 0:
        ids = np.flatnonzero(k_full > 1)
        for x in ids[np.lexsort((ids, -a_full[ids], -k_full[ids]))][:examples]:
            lo, hi = np.searchsorted(cc, [x, x + 1])
            top = np.lexsort((ce[lo:hi], -nn[lo:hi]))[:MAX_PIECES] + lo
            pieces_x = tuple(zip(ename(ce[top]), nn[top].tolist(), strict=True))
            over.append(
                OverMerged(cname(np.array([x]))[0], int(a_full[x]), int(k_full[x]), pieces_x)
            )
        ids = np.flatnonzero(pieces > 1)
        for x in ids[np.lexsort((ids, -b[ids], -pieces[ids]))][:examples]:
            mine = np.flatnonzero(ce == x)
            top = mine[np.lexsort((cc[mine], -nn[mine]))][:MAX_PIECES]
            pieces_x = tuple(zip(cname(cc[top]), nn[top].tolist(), strict=True))
            name = ename(np.array([x]))[0]
            split.append(Split(name, int(b[x]), int(pieces[x]), pieces_x, int(s[x])))
    return Metrics(
        profiles=n,
        entities=int(has.sum()),
        clusters=a.size + int(alone.sum()),
        groups=int((a >= 2).sum()),
        profiles_in_groups=int(a[a >= 2].sum()),
        true_positives=tp,
        false_positives=pred - tp,
        false_negatives=true - tp,
        precision=precision,
        recall=recall,
        f1=f1_score(precision, recall),
        bcubed_precision=b3p,
        bcubed_recall=b3r,
        bcubed_f1=f1_score(b3p, b3r),
        exact_entities=exact,
        exact_entity_share=ratio(exact, int(has.sum())),
        over_merged_clusters=int((k_full > 1).sum()),
        split_entities=int((pieces > 1).sum()),
        over_merged_examples=tuple(over),
        split_examples=tuple(split),
    )


def evaluate(
    assignment: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    cluster_col: str = MATCH_ID,
    profile_col: str = schema.PROFILE_ID,
    entity_col: str = ENTITY_ID,
    examples: int = 5,
    source: str = "assignment",
) -> Metrics:
    """Metrics of the clusters in `assignment` against `truth` (one row a profile, its entity).

    The truth's profiles are the universe: a profile absent from `assignment`, or with a null
    `cluster_col`, is alone. Ids of `assignment` missing from the truth, or listed twice, raise
    :class:`InputError`. `examples` caps the over-merged and split examples.

    >>> truth = pl.DataFrame({"ProfileId": list("abcd"), "EntityId": ["x", "x", "y", "y"]})
    >>> groups = pl.DataFrame({"ProfileId": list("abc"), "MatchId": ["m", "m", "m"]})
    >>> m = evaluate(groups, truth)
    >>> m.true_positives, m.false_positives, m.false_negatives, m.precision
    (1, 2, 1, 0.3333333333333333)
    >>> m.over_merged_examples[0]
    OverMerged(cluster='m', size=3, entities=2, pieces=(('x', 2), ('y', 1)))
    """
    require_columns(assignment, (profile_col, cluster_col), source)
    require_columns(truth, (profile_col, entity_col), "truth")
    t_ids, a_ids = same_dtype(truth.get_column(profile_col), assignment.get_column(profile_col))
    problems = [
        *empty_problems(truth, entity_col, "truth", profile_col),
        *duplicate_problems(t_ids, "truth", "ProfileIds"),
    ]
    frame = None
    if not problems:
        frame = pl.DataFrame({"__p": t_ids, "__e": truth.get_column(entity_col)}).join(
            pl.DataFrame({"__p": a_ids, "__c": assignment.get_column(cluster_col)}).with_columns(
                __hit=pl.lit(True)
            ),
            on="__p",
            how="left",
        )
    if frame is None or frame.height != t_ids.len() or frame["__hit"].sum() != a_ids.len():
        # Slow path, only on bad input: name the offending ids.
        problems += duplicate_problems(a_ids.drop_nulls(), source, "ProfileIds")
        extra = a_ids.filter(~a_ids.is_in(t_ids.implode()))
        problems += ids_problems(source, profile_col, extra, "ProfileIds are not in the truth")
    if problems or frame is None:
        raise InputError(problems)
    cluster, cluster_names = encode(frame.get_column("__c"))
    entity, entity_names = encode(frame.get_column("__e"))
    return contingency_metrics(
        cluster, entity, examples=examples, cluster_names=cluster_names, entity_names=entity_names
    )
