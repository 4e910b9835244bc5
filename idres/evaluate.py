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

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from idres import schema
from idres.errors import InputError, Problem, did_you_mean

# Results-folder column names (docs/DESIGN.md); TODO(lead): move into idres.schema.
ENTITY_ID: Final = "EntityId"
MATCH_ID: Final = "MatchId"
MERGE_GROUP_ID: Final = "MergeGroupId"
RULE_LEVEL: Final = "RuleLevel"
PROFILE_ID_A: Final = "ProfileIdA"
PROFILE_ID_B: Final = "ProfileIdB"
CONFIDENCE: Final = "ConfidenceScore"

#: Pieces listed per example (the largest first).
MAX_PIECES: Final = 10
#: Offending ids quoted per problem.
MAX_IDS: Final = 5


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


def _c2(x: npt.NDArray[np.int64]) -> int:
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
    tp, pred, true = _c2(nn), _c2(a), _c2(b)
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


# --- input checks -------------------------------------------------------------------------------


def quote_ids(ids: pl.Series) -> list[str]:
    """The first few ids (sorted), to quote in a problem."""
    return ids.cast(pl.String).sort().head(MAX_IDS).to_list()


def require_columns(frame: pl.DataFrame, columns: Sequence[str], source: str) -> None:
    """Raise :class:`InputError` naming each of `columns` missing from `frame`."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            [
                Problem(
                    source,
                    c,
                    f"missing column{did_you_mean(c, frame.columns)} (got columns {frame.columns!r})",
                )
                for c in missing
            ]
        )


def ids_problems(
    source: str, location: str, ids: pl.Series, what: str, *, got: bool = True
) -> list[Problem]:
    """One problem counting the distinct `ids` and quoting a few (none when `ids` is empty).

    >>> [str(p) for p in ids_problems("f", "ProfileId", pl.Series(["b", "a", "b"]), "unknown ids")]
    ["f: ProfileId: 2 unknown ids (got ['a', 'b'])"]
    """
    ids = ids.drop_nulls().unique()
    if ids.is_empty():
        return []
    quoted = f"got {quote_ids(ids)!r}" if got else f"e.g. {quote_ids(ids)!r}"
    return [Problem(source, location, f"{ids.len()} {what} ({quoted})")]


def duplicate_problems(ids: pl.Series, source: str, what: str) -> list[Problem]:
    """A problem listing the ids that appear more than once (none: empty list)."""
    if ids.n_unique() == ids.len():
        return []
    return ids_problems(
        source, ids.name, ids.filter(ids.is_duplicated()), f"{what} appear more than once"
    )


def _empty_problems(frame: pl.DataFrame, column: str, source: str, key: str) -> list[Problem]:
    """Null or empty values of `column`, quoted by row number (or by the `key` column)."""
    bad = frame.with_row_index("__row", offset=1).filter(
        pl.col(column).is_null() | (pl.col(column).cast(pl.String) == "")
    )
    if bad.is_empty():
        return []
    where = "rows" if key == column else f"{key}s"
    examples = bad["__row"].head(MAX_IDS).to_list() if key == column else quote_ids(bad[key])
    return [Problem(source, column, f"{bad.height} empty values ({where} {examples!r})")]


def _same_dtype(x: pl.Series, y: pl.Series) -> tuple[pl.Series, pl.Series]:
    if x.dtype == y.dtype:
        return x, y
    return x.cast(pl.String), y.cast(pl.String)


def check_truth(
    truth: pl.DataFrame,
    profile_ids: pl.Series | Sequence[str],
    *,
    source: str = "truth file",
    profile_col: str = schema.PROFILE_ID,
    entity_col: str = ENTITY_ID,
) -> None:
    """Raise :class:`InputError` unless `truth` names every profile of `profile_ids` exactly once.

    Reports, all at once, duplicate ids, profiles the truth misses and ids it has that are not in
    the profile set (each with its count and up to five examples), and empty values.

    >>> t = pl.DataFrame({"ProfileId": ["a", "a", "z"], "EntityId": ["1", "1", "2"]})
    >>> check_truth(t, ["a", "b"])
    Traceback (most recent call last):
    ...
    idres.errors.InputError: truth file: ProfileId: 1 ProfileIds appear more than once (got ['a'])
    truth file: ProfileId: 1 profiles of the profile set are missing (e.g. ['b'])
    truth file: ProfileId: 1 ProfileIds are not in the profile set (got ['z'])
    """
    require_columns(truth, (profile_col, entity_col), source)
    ids, universe = _same_dtype(truth.get_column(profile_col), pl.Series(profile_col, profile_ids))
    problems = [
        *_empty_problems(truth, profile_col, source, profile_col),
        *_empty_problems(truth, entity_col, source, profile_col),
        *duplicate_problems(ids, source, "ProfileIds"),
    ]
    missing = universe.filter(~universe.is_in(ids.implode()))
    problems += ids_problems(
        source, profile_col, missing, "profiles of the profile set are missing", got=False
    )
    extra = ids.filter(~ids.is_in(universe.implode()))
    problems += ids_problems(source, profile_col, extra, "ProfileIds are not in the profile set")
    if problems:
        raise InputError(problems)


def check_truth_profile_set(
    truth: pl.DataFrame,
    *,
    profile_count: int,
    profile_ids_sha256: str,
    source: str = "truth file",
    profile_col: str = schema.PROFILE_ID,
) -> None:
    """Raise :class:`InputError` unless `truth` covers exactly the profile set of a results folder.

    The set is known by its size and the SHA-256 of its sorted ProfileIds joined by newlines (the
    results folder's ``manifest.json``); duplicates in the truth are reported too.

    >>> from idres.results import profile_ids_digest
    >>> t = pl.DataFrame({"ProfileId": ["a", "b"], "EntityId": ["1", "1"]})
    >>> check_truth_profile_set(t, profile_count=2, profile_ids_sha256=profile_ids_digest(t["ProfileId"]))
    """
    from idres.results import profile_ids_digest

    ids = truth.get_column(profile_col).cast(pl.String)
    problems = duplicate_problems(ids, source, "ProfileIds")
    if ids.len() != profile_count:
        problems.append(
            Problem(
                source,
                profile_col,
                f"the truth has {ids.len()} profiles but the results were computed on "
                f"{profile_count} (got {ids.len()})",
            )
        )
    elif not problems and profile_ids_digest(ids) != profile_ids_sha256:
        problems.append(
            Problem(
                source,
                profile_col,
                "the truth's ProfileIds are not the profile set of the results (sha256 of the "
                f"sorted ids differs: expected {profile_ids_sha256[:12]}…, "
                f"got {profile_ids_digest(ids)[:12]!r}…)",
            )
        )
    if problems:
        raise InputError(problems)


def read_truth(
    path: str | Path, *, profile_col: str = schema.PROFILE_ID, entity_col: str = ENTITY_ID
) -> pl.DataFrame:
    """Read a truth file (CSV or Parquet): ``ProfileId`` and ``EntityId``, both as strings.

    Other columns are ignored; an EntityId of any type is cast to a string. Missing file or
    columns and empty values raise :class:`InputError`.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "truth.csv"
    >>> _ = p.write_text("ProfileId,EntityId\\n1,7\\n2,7\\n")
    >>> read_truth(p).rows()
    [('1', '7'), ('2', '7')]
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(Problem(source, "", "truth file not found"))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False)
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
        else:
            raise InputError(
                Problem(source, "", f"truth file must be .csv or .parquet (got {suffix!r})")
            )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(Problem(source, "", f"cannot read the truth file: {exc}")) from exc
    require_columns(frame, (profile_col, entity_col), source)
    frame = frame.select(pl.col(profile_col).cast(pl.String), pl.col(entity_col).cast(pl.String))
    problems = [
        *_empty_problems(frame, profile_col, source, profile_col),
        *_empty_problems(frame, entity_col, source, profile_col),
    ]
    if problems:
        raise InputError(problems)
    return frame


# --- evaluation ---------------------------------------------------------------------------------


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
    t_ids, a_ids = _same_dtype(truth.get_column(profile_col), assignment.get_column(profile_col))
    problems = [
        *_empty_problems(truth, entity_col, "truth", profile_col),
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
