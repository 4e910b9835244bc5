"""Threshold sweeps from one scoring pass: groups, merges and (with truth) pairwise metrics.

:func:`sweep_link_threshold` answers "what if the link threshold were t?" for every t at once. Links
are bucketed by the highest threshold they pass, then added bucket by bucket from the highest
threshold down; each bucket is merged into the current partition by contracting it onto the current
group labels (connected components of a small graph of touched groups), relabelling only the
smaller groups (small-to-large), and updating pair counts from a sorted cluster × entity count
table. The loop runs once per threshold, never per link or per profile, so 101 thresholds over
millions of links cost about as much as a few component passes.

:func:`sweep_merge_threshold` answers "what if MinAllowedConfidenceScoreForMerging were t?": the
merge units (a match group, or a sub-group of it) are fixed, a threshold only switches whole units
on, so every row comes from cumulative sums over units sorted by score.

Pair metrics follow :mod:`idres.evaluate` (a ratio with nothing to count is 1.0); the metrics per
rule level ("what if only rule levels ≤ L matched?") are :func:`idres.levels.evaluate_levels`.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from idres.evaluate import f1_score, pair_count, ratio
from idres.graph import components
from idres.schema import CONFIDENCE, MATCH_ID
from idres.truth import require_columns

THRESHOLD: Final = "threshold"
LINKS: Final = "links"
GROUPS: Final = "groups"
PROFILES_IN_GROUPS: Final = "profiles_in_groups"
MERGES: Final = "merges"
ELIGIBLE_GROUPS: Final = "eligible_groups"
MERGE_GROUPS: Final = "merge_groups"
MERGED_PROFILES: Final = "merged_profiles"
TP, FP, FN = "true_positives", "false_positives", "false_negatives"
PRECISION, RECALL, F1 = "precision", "recall", "f1"

I64 = npt.NDArray[np.int64]


def default_thresholds() -> npt.NDArray[np.float64]:
    """0.00, 0.01, ..., 1.00 (101 thresholds, each the float literal it prints as).

    >>> t = default_thresholds(); (t.size, t[7] == 0.07)
    (101, np.True_)
    """
    return np.round(np.arange(101) / 100, 2)


def _thresholds(thresholds: npt.ArrayLike | None) -> npt.NDArray[np.float64]:
    t = default_thresholds() if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all():
        raise ValueError(f"thresholds must be a non-empty list of finite numbers (got {t!r})")
    return np.unique(t)


def _entity_codes(truth_entity: Any, n: int) -> I64 | None:
    """Dense integer codes 0..k-1 of the truth entities, or None without truth."""
    if truth_entity is None:
        return None
    s = pl.Series(truth_entity)
    if s.len() != n:
        raise ValueError(f"truth_entity has {s.len()} values for {n} profiles")
    if s.null_count():
        raise ValueError(f"truth_entity has {s.null_count()} missing values")
    return (s.rank("dense").cast(pl.Int64) - 1).to_numpy()


def _pair_columns(frame: pl.DataFrame, true_pairs: int) -> pl.DataFrame:
    """Add fp, fn, precision, recall, f1 from the tp and predicted-pair columns."""
    tp = frame.get_column(TP).to_numpy()
    pred = frame.get_column("__pred").to_numpy()
    p = [ratio(x, y) for x, y in zip(tp, pred, strict=True)]
    r = [ratio(x, true_pairs) for x in tp]
    return frame.with_columns(
        pl.Series(FP, pred - tp),
        pl.Series(FN, true_pairs - tp),
        pl.Series(PRECISION, p, pl.Float64),
        pl.Series(RECALL, r, pl.Float64),
        pl.Series(F1, [f1_score(x, y) for x, y in zip(p, r, strict=True)], pl.Float64),
    ).drop("__pred")


class _Partition:
    """Groups of nodes ``0..m-1`` grown by batches of links, with pair counts kept current."""

    def __init__(self, m: int, entity: I64 | None, n_entities: int) -> None:
        self.label = np.arange(m, dtype=np.int64)  # a group's label is one of its nodes
        self.size = np.ones(m, dtype=np.int64)  # valid at labels
        self.mark = np.zeros(m, dtype=bool)
        self.slot = np.zeros(m, dtype=np.int64)  # scratch: label -> value, valid at touched labels
        self.entity = entity
        self.k = max(n_entities, 1)
        self.groups = self.in_groups = self.pred = self.tp = 0
        if entity is not None:  # cluster × entity cells, sorted by key = label * k + entity
            self.keys = np.arange(m, dtype=np.int64) * self.k + entity
            self.count = np.ones(m, dtype=np.int64)

    def add(self, a: I64, b: I64) -> None:
        la, lb = self.label[a], self.label[b]
        keep = la != lb
        if not keep.any():
            return
        touched = np.unique(np.concatenate([la[keep], lb[keep]]))
        self.slot[touched] = np.arange(touched.size)
        comp = components(touched.size, self.slot[la[keep]], self.slot[lb[keep]])
        tsize = self.size[touched]
        # Each new group keeps the label of its largest part (ties: the smallest label).
        order = np.lexsort((touched, -tsize, comp))
        first = np.ones(order.size, dtype=bool)
        first[1:] = comp[order][1:] != comp[order][:-1]
        main = np.empty(touched.size, dtype=np.int64)
        main[comp[order][first]] = touched[order][first]
        new = main[comp]
        roots = np.unique(comp)
        new_size = np.bincount(comp, weights=tsize, minlength=touched.size)[roots].astype(np.int64)
        self.pred += pair_count(new_size) - pair_count(tsize)
        self.groups += roots.size - int((tsize >= 2).sum())
        self.in_groups += int(new_size.sum()) - int(tsize[tsize >= 2].sum())
        self.size[main[roots]] = new_size
        minor = touched[new != touched]
        self.mark[minor] = True
        nodes = np.flatnonzero(self.mark[self.label])
        self.mark[minor] = False
        old = self.label[nodes]
        self.slot[touched] = new
        self.label[nodes] = self.slot[old]
        if self.entity is not None:
            self._move_cells(old, self.label[nodes], self.entity[nodes])

    def _move_cells(self, old: I64, new: I64, entity: I64) -> None:
        """Move the moved nodes' cells from their old labels to their new ones."""
        gone, gone_n = np.unique(old * self.k + entity, return_counts=True)
        into, into_n = np.unique(new * self.k + entity, return_counts=True)
        pos = np.asarray(np.searchsorted(self.keys, into), dtype=np.int64)
        found = np.zeros(pos.size, dtype=bool)
        inside = pos < self.keys.size
        found[inside] = self.keys[pos[inside]] == into[inside]
        have = np.where(found, self.count[np.minimum(pos, self.keys.size - 1)], 0)
        total = have + into_n
        self.tp += pair_count(total) - pair_count(have) - pair_count(gone_n)
        self.count[pos[found]] = total[found]
        drop = np.searchsorted(self.keys, gone)
        self.keys = np.delete(self.keys, drop)
        self.count = np.delete(self.count, drop)
        fresh = into[~found]
        at = np.searchsorted(self.keys, fresh)
        self.keys = np.insert(self.keys, at, fresh)
        self.count = np.insert(self.count, at, total[~found])


def sweep_link_threshold(
    n: int,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    score: npt.ArrayLike,
    *,
    truth_entity: npt.ArrayLike | pl.Series | None = None,
    thresholds: npt.ArrayLike | None = None,
) -> pl.DataFrame:
    """Groups at every link threshold: a link ``a[i] -- b[i]`` is kept when ``score[i] >= t``.

    Profiles are rows ``0..n-1``. Returns one row per threshold (ascending): ``threshold``,
    ``links`` (links kept), ``groups`` (groups of two or more), ``profiles_in_groups``, ``merges``
    (profiles absorbed: members - 1 summed over groups), and with `truth_entity` (each row's entity)
    ``true_positives``, ``false_positives``, ``false_negatives``, ``precision``, ``recall``, ``f1``
    (pairwise). `thresholds` defaults to 0.00, 0.01, ..., 1.00.

    >>> s = sweep_link_threshold(4, [0, 1, 2], [1, 2, 3], [0.9, 0.5, 0.2],
    ...                          truth_entity=["x", "x", "y", "y"], thresholds=[0.1, 0.5, 0.95])
    >>> s.select("threshold", "groups", "merges", "precision", "recall").rows()
    [(0.1, 1, 3, 0.3333333333333333, 1.0), (0.5, 1, 2, 0.3333333333333333, 0.5), (0.95, 0, 0, 1.0, 0.0)]
    """
    src: I64 = np.asarray(a, dtype=np.int64).ravel()
    dst: I64 = np.asarray(b, dtype=np.int64).ravel()
    w = np.asarray(score, dtype=np.float64).ravel()
    if not (src.size == dst.size == w.size):
        raise ValueError(f"a, b and score differ in length ({src.size}, {dst.size}, {w.size})")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise ValueError(f"link ends must be row indices in 0..{n - 1}")
    if np.isnan(w).any():
        raise ValueError(f"{int(np.isnan(w).sum())} link scores are NaN")
    ts = _thresholds(thresholds)
    codes = _entity_codes(truth_entity, n)

    bucket = np.searchsorted(ts, w, side="right") - 1  # the highest threshold each link passes
    kept_links = np.cumsum(np.bincount(bucket[bucket >= 0], minlength=ts.size)[::-1])[::-1]
    live = (bucket >= 0) & (src != dst)
    order = np.argsort(bucket[live], kind="stable")
    src, dst, bucket = src[live][order], dst[live][order], bucket[live][order]
    starts = np.searchsorted(bucket, np.arange(ts.size + 1))

    used = np.zeros(n, dtype=bool)
    used[src] = used[dst] = True
    nodes = np.flatnonzero(used)  # profiles never linked stay alone at every threshold
    remap = np.zeros(n, dtype=np.int64)
    remap[nodes] = np.arange(nodes.size)
    src, dst = remap[src], remap[dst]
    n_entities = int(codes.max()) + 1 if codes is not None and codes.size else 0
    part = _Partition(nodes.size, None if codes is None else codes[nodes], n_entities)

    rows = np.zeros((ts.size, 5), dtype=np.int64)
    for i in range(ts.size - 1, -1, -1):
        part.add(src[starts[i] : starts[i + 1]], dst[starts[i] : starts[i + 1]])
        rows[i] = (kept_links[i], part.groups, part.in_groups, part.tp, part.pred)
    out = pl.DataFrame(
        {
            THRESHOLD: ts,
            LINKS: rows[:, 0],
            GROUPS: rows[:, 1],
            PROFILES_IN_GROUPS: rows[:, 2],
            MERGES: rows[:, 2] - rows[:, 1],
            TP: rows[:, 3],
            "__pred": rows[:, 4],
        }
    )
    if codes is None:
        return out.drop(TP, "__pred")
    return _pair_columns(out, pair_count(np.bincount(codes)))


def sweep_merge_threshold(
    groups: pl.DataFrame,
    *,
    group_col: str = MATCH_ID,
    score_col: str = CONFIDENCE,
    subgroup_col: str | None = None,
    truth_entity: npt.ArrayLike | pl.Series | None = None,
    thresholds: npt.ArrayLike | None = None,
) -> pl.DataFrame:
    """Merges at every MinAllowedConfidenceScoreForMerging: a group merges when its score ≥ t.

    `groups` has one row per profile of the profile set: its match group (null: in none) and the
    group's ConfidenceScore at a fixed link threshold; a group's score is its rows' minimum, and a
    null or NaN score never merges. With `subgroup_col` (the consolidation result inside each group;
    null: the profile merges with nothing) each sub-group of two or more merges on its own, else
    the whole group does. Returns one row per threshold: ``eligible_groups`` (groups at or above
    it), ``merge_groups``, ``merged_profiles`` (profiles in a merge, survivor included),
    ``merges`` (profiles absorbed) and with `truth_entity` (aligned with the rows) the pairwise
    metrics of the merge groups.

    >>> g = pl.DataFrame({"MatchId": ["m", "m", "m", "k", "k", None],
    ...                   "ConfidenceScore": [0.9, 0.9, 0.9, 0.4, 0.4, None]})
    >>> s = sweep_merge_threshold(g, truth_entity=list("xxyzzw"), thresholds=[0.3, 0.5])
    >>> s.select("threshold", "merge_groups", "merged_profiles", "precision", "recall").rows()
    [(0.3, 2, 5, 0.5, 1.0), (0.5, 1, 3, 0.3333333333333333, 0.5)]
    """
    needed = [group_col, score_col] + ([subgroup_col] if subgroup_col else [])
    require_columns(groups, needed, "groups")
    ts = _thresholds(thresholds)
    codes = _entity_codes(truth_entity, groups.height)
    frame = groups.select(
        pl.col(group_col).alias("__g"),
        pl.col(score_col).cast(pl.Float64).fill_nan(None).alias("__s"),
        (pl.col(subgroup_col) if subgroup_col else pl.lit(0)).alias("__u"),
        pl.Series("__e", codes if codes is not None else np.zeros(groups.height, np.int64)),
    ).filter(pl.col("__g").is_not_null())
    frame = frame.with_columns(pl.col("__s").min().over("__g"))
    per_group = np.sort(
        frame.group_by("__g").agg(pl.col("__s").first()).get_column("__s").drop_nulls().to_numpy()
    )
    cells = (
        frame.filter(pl.col("__u").is_not_null() & pl.col("__s").is_not_null())
        .group_by("__g", "__u", "__e")
        .agg(pl.len().cast(pl.Int64).alias("__n"), pl.col("__s").first())
    )
    units = (
        cells.group_by("__g", "__u")
        .agg(
            pl.col("__n").sum().alias("__size"),
            (pl.col("__n") * (pl.col("__n") - 1) // 2).sum().alias("__tp"),
            pl.col("__s").first(),
        )
        .filter(pl.col("__size") >= 2)
        .sort("__s", descending=True)
    )
    score = units.get_column("__s").to_numpy()
    size = units.get_column("__size").to_numpy()

    def upto(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        cum = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
        return cum[np.searchsorted(-score, -ts, side="right")]

    merged = upto(size)
    count = upto(np.ones(size.size, dtype=np.int64))
    out = pl.DataFrame(
        {
            THRESHOLD: ts,
            ELIGIBLE_GROUPS: per_group.size - np.searchsorted(per_group, ts, side="left"),
            MERGE_GROUPS: count,
            MERGED_PROFILES: merged,
            MERGES: merged - count,
            TP: upto(units.get_column("__tp").to_numpy()),
            "__pred": upto(size * (size - 1) // 2),
        }
    )
    if codes is None:
        return out.drop(TP, "__pred")
    return _pair_columns(out, pair_count(np.bincount(codes)))


def suggest_thresholds(sweep: pl.DataFrame, *, min_precision: float = 0.99) -> dict[str, Any]:
    """Two thresholds from a sweep with truth: the best F1, and the lowest keeping the precision.

    ``best_f1_threshold`` maximises F1 (ties: the highest threshold). ``min_precision_threshold``
    is the lowest threshold whose precision is at least `min_precision` (None when none is): the
    most recall a precision target allows. Each comes with its precision, recall and F1.

    >>> s = pl.DataFrame({"threshold": [0.5, 0.6, 0.7], "precision": [0.9, 0.99, 1.0],
    ...                   "recall": [1.0, 0.8, 0.7], "f1": [0.947, 0.885, 0.824]})
    >>> d = suggest_thresholds(s, min_precision=0.99)
    >>> d["best_f1_threshold"], d["min_precision_threshold"]
    (0.5, 0.6)
    """
    needed = [THRESHOLD, PRECISION, RECALL, F1]
    missing = [c for c in needed if c not in sweep.columns]
    if missing:
        raise ValueError(f"the sweep has no {missing} columns (sweep with truth to get them)")
    if sweep.is_empty():
        raise ValueError("the sweep is empty")
    best = sweep.sort([F1, THRESHOLD], descending=[True, True]).row(0, named=True)
    ok = sweep.filter(pl.col(PRECISION) >= min_precision).sort(THRESHOLD)
    low = ok.row(0, named=True) if ok.height else None
    out: dict[str, Any] = {"min_precision": min_precision}
    for name, row in (("best_f1", best), ("min_precision", low)):
        out[f"{name}_threshold"] = None if row is None else row[THRESHOLD]
        for col in (PRECISION, RECALL, F1):
            out[f"{name}_{col}"] = None if row is None else row[col]
    return out
