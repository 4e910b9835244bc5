"""Threshold tuning of the ML job from a results folder: one scoring pass, every threshold.

:func:`tune_results` reads the stored scored pairs (``ml/pairs.parquet``) and ML groups
(``ml/groups.parquet``) and sweeps, with :mod:`idres.sweep`, every threshold 0.00..1.00:

- the *link threshold* (an idres option): groups, merges and, with truth, pairwise precision /
  recall / F1 of the match groups the pairs scoring at least t would form;
- *MinAllowedConfidenceScoreForMerging* (AWS): eligible groups, merge groups and merges of the
  stored match groups (at the run's link threshold) whose ConfidenceScore is at least t.

[choice] Consolidation inside a group does not depend on t, but the results folder holds it only
for the groups that were eligible in the run (score ≥ the run's MinAllowedConfidenceScoreForMerging);
below that threshold the other groups count as merging whole (an upper bound), and the rows say so
(``consolidation_known`` false). Without AutoMerging in the run every group counts as merging whole.

With truth, :func:`idres.sweep.suggest_thresholds` picks the F1-maximising threshold and the lowest
one keeping precision at or above a target; :func:`tuned_config` writes the merge threshold back
into the domain config (``Matching.AutoMerging.MinAllowedConfidenceScoreForMerging``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from idres import schema
from idres.atomic import atomic_file
from idres.config import DomainConfig
from idres.errors import ConfigError, Problem, ResultsError
from idres.results import ML, ResultsFolder
from idres.runs import MERGE, as_folder, read_scored_pairs, run_merge_threshold
from idres.schema import CONFIDENCE, ENTITY_ID, MATCH_ID, MERGE_GROUP_ID, PROFILE_ID_A, PROFILE_ID_B
from idres.sweep import (
    MERGES,
    PRECISION,
    THRESHOLD,
    suggest_thresholds,
    sweep_link_threshold,
    sweep_merge_threshold,
)
from idres.truth import check_truth_profile_set, quote_ids, read_truth

log = logging.getLogger(__name__)

PID: Final = schema.PROFILE_ID
LINK: Final = "link_threshold"
KNOWN: Final = "consolidation_known"
SAME_ENTITY: Final = "SameEntity"
#: Step of the compact table (the suggested and current rows are added to it).
COMPACT_STEP: Final = 0.05


@dataclass(frozen=True)
class TuneResult:
    """Both sweeps of one results folder, and the suggestions when truth was given."""

    results: str
    profiles: int  # profiles in the sweep's universe (the truth's, else every scored one)
    pairs: int
    link: pl.DataFrame  # one row per threshold (see idres.sweep.sweep_link_threshold)
    merge: pl.DataFrame  # one row per threshold (see idres.sweep.sweep_merge_threshold) + KNOWN
    run_merge_threshold: float | None  # the run's MinAllowedConfidenceScoreForMerging
    min_precision: float
    link_suggestion: dict[str, Any] | None = None
    merge_suggestion: dict[str, Any] | None = None

    @property
    def has_truth(self) -> bool:
        """True when the sweeps carry precision / recall / F1."""
        return PRECISION in self.link.columns

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with every row of both sweeps."""
        return {
            "results": self.results,
            "profiles": self.profiles,
            "pairs": self.pairs,
            "min_precision": self.min_precision,
            "run_merge_threshold": self.run_merge_threshold,
            "suggestions": {LINK: self.link_suggestion, MERGE: self.merge_suggestion},
            LINK: self.link.to_dicts(),
            MERGE: self.merge.to_dicts(),
        }

    def notes(self, parameter: str) -> dict[float, str]:
        """Rows to point out in a sweep of `parameter` (LINK or MERGE): suggestions, this run."""
        if parameter == LINK:
            return marks(self.link_suggestion)
        out = marks(self.merge_suggestion)
        t = self.run_merge_threshold
        if t is not None:
            out[t] = f"{out[t]}, this run" if t in out else "this run"
        return out

    def combined(self) -> pl.DataFrame:
        """Both sweeps in one frame with a ``parameter`` column (the --csv layout)."""
        return pl.concat(
            [
                self.link.select(pl.lit(LINK).alias("parameter"), pl.all()),
                self.merge.select(pl.lit(MERGE).alias("parameter"), pl.all()),
            ],
            how="diagonal",
        )


def _ml_groups(folder: ResultsFolder) -> pl.DataFrame:
    """ML groups of two or more: ProfileId, MatchId, group score, merge unit id."""
    groups = folder.groups(ML)
    if MERGE_GROUP_ID not in groups.columns:
        groups = groups.with_columns(pl.lit(None, pl.String).alias(MERGE_GROUP_ID))
    return groups.select(
        pl.col(PID).cast(pl.String),
        pl.col(MATCH_ID).cast(pl.String),
        pl.col(CONFIDENCE).cast(pl.Float64).min().over(MATCH_ID).alias(CONFIDENCE),
        pl.col(MERGE_GROUP_ID).cast(pl.String),
    ).filter(pl.col(MATCH_ID).is_not_null() & (pl.len().over(MATCH_ID) >= 2))


def _universe(
    folder: ResultsFolder, pairs: pl.DataFrame, groups: pl.DataFrame, truth: pl.DataFrame | None
) -> pl.DataFrame:
    """The profiles swept (sorted, row index ``__i``), with their EntityId when truth is given."""
    if truth is not None:
        check_truth_profile_set(
            truth,
            profile_count=folder.manifest.get("profile_count", -1),
            profile_ids_sha256=folder.manifest.get("profile_ids_sha256", ""),
        )
        ids = truth.select(pl.col(PID).cast(pl.String), pl.col(ENTITY_ID).cast(pl.String))
    else:
        ids = (
            pl.concat(
                [
                    pairs.get_column(PROFILE_ID_A),
                    pairs.get_column(PROFILE_ID_B),
                    groups.get_column(PID),
                ]
            )
            .unique()
            .to_frame(PID)
        )
    return ids.sort(PID).with_row_index("__i")


def _indexed(pairs: pl.DataFrame, universe: pl.DataFrame, source: str) -> pl.DataFrame:
    idx = universe.select(PID, "__i")
    out = pairs.join(
        idx.rename({PID: PROFILE_ID_A, "__i": "__a"}),
        on=PROFILE_ID_A,
        how="left",
        maintain_order="left",
    ).join(
        idx.rename({PID: PROFILE_ID_B, "__i": "__b"}),
        on=PROFILE_ID_B,
        how="left",
        maintain_order="left",
    )
    unknown = pl.concat(
        [
            out.filter(pl.col("__a").is_null()).get_column(PROFILE_ID_A),
            out.filter(pl.col("__b").is_null()).get_column(PROFILE_ID_B),
        ]
    ).unique()
    if not unknown.is_empty():
        raise ResultsError(
            Problem(
                source,
                f"{PROFILE_ID_A}/{PROFILE_ID_B}",
                f"{unknown.len()} ProfileIds are not in the profile set (got {quote_ids(unknown)!r})",
            )
        )
    return out


def _suggest(sweep: pl.DataFrame, min_precision: float) -> dict[str, Any]:
    """Suggestions over the thresholds at which something merges ([choice]: where nothing
    merges, precision 1.0 is vacuous, so such a threshold is never suggested)."""
    live = sweep.filter(pl.col(MERGES) > 0)
    if live.is_empty():
        out = suggest_thresholds(sweep, min_precision=min_precision)
        return {k: (v if k == "min_precision" else None) for k, v in out.items()}
    return suggest_thresholds(live, min_precision=min_precision)


def tune_results(
    results: ResultsFolder | str | Path,
    truth: pl.DataFrame | str | Path | None = None,
    *,
    min_precision: float = 0.99,
    thresholds: npt.ArrayLike | None = None,
) -> TuneResult:
    """Sweep the link threshold and MinAllowedConfidenceScoreForMerging of a results folder.

    `truth` (a frame or a CSV / Parquet path with ProfileId, EntityId) must cover exactly the
    folder's profile set; with it each row has pairwise precision / recall / F1 and the result
    carries suggestions. A folder without ML scores raises :class:`ResultsError`.

    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "ml").mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"profile_count": 3}))
    >>> pl.DataFrame({"ProfileIdA": ["a", "b"], "ProfileIdB": ["b", "c"],
    ...     "ConfidenceScore": [0.9, 0.4]}).write_parquet(d / "ml" / "pairs.parquet")
    >>> pl.DataFrame({"ProfileId": ["a", "b"], "MatchId": ["m", "m"], "ConfidenceScore": [0.9, 0.9],
    ...     "MergeGroupId": ["m", "m"]}).write_parquet(d / "ml" / "groups.parquet")
    >>> r = tune_results(d)
    >>> r.link.filter(pl.col("threshold").is_in([0.3, 0.5])).select("threshold", "merges").rows()
    [(0.3, 2), (0.5, 1)]
    """
    folder = as_folder(results)
    pairs = read_scored_pairs(folder)
    groups = _ml_groups(folder)
    truth_frame = read_truth(truth) if isinstance(truth, str | Path) else truth
    universe = _universe(folder, pairs, groups, truth_frame)
    entity = universe.get_column(ENTITY_ID) if truth_frame is not None else None
    idx = _indexed(pairs, universe, str(folder.path / ML / "pairs.parquet"))
    link = sweep_link_threshold(
        universe.height,
        idx.get_column("__a").to_numpy(),
        idx.get_column("__b").to_numpy(),
        idx.get_column(CONFIDENCE).to_numpy(),
        truth_entity=entity,
        thresholds=thresholds,
    )
    run_t = run_merge_threshold(folder.manifest)
    eligible = pl.lit(False) if run_t is None else pl.col(CONFIDENCE) >= run_t
    frame = universe.join(groups, on=PID, how="left", maintain_order="left").with_columns(
        pl.when(eligible).then(pl.col(MERGE_GROUP_ID)).otherwise(pl.col(MATCH_ID)).alias("__unit")
    )
    merge = sweep_merge_threshold(
        frame, subgroup_col="__unit", truth_entity=entity, thresholds=thresholds
    ).with_columns((pl.col(THRESHOLD) >= (run_t if run_t is not None else np.inf)).alias(KNOWN))
    link_s = merge_s = None
    if entity is not None:
        link_s = _suggest(link, min_precision)
        merge_s = _suggest(merge, min_precision)
        for name in ("best_f1", "min_precision"):
            t = merge_s[f"{name}_threshold"]
            merge_s[f"{name}_{KNOWN}"] = None if t is None else run_t is not None and t >= run_t
    log.info("tuned %s: %d pairs over %d profiles", folder.path, pairs.height, universe.height)
    return TuneResult(
        results=str(folder.path),
        profiles=universe.height,
        pairs=pairs.height,
        link=link,
        merge=merge,
        run_merge_threshold=run_t,
        min_precision=min_precision,
        link_suggestion=link_s,
        merge_suggestion=merge_s,
    )


def compact(
    sweep: pl.DataFrame, marks: dict[float, str], *, step: float = COMPACT_STEP
) -> pl.DataFrame:
    """Rows at every multiple of `step` plus the thresholds in `marks`, with a ``note`` column.

    >>> s = pl.DataFrame({"threshold": [0.0, 0.01, 0.02, 0.05]})
    >>> compact(s, {0.02: "best F1"}).rows()
    [(0.0, ''), (0.02, 'best F1'), (0.05, '')]
    """
    pct = (pl.col(THRESHOLD) * 100).round().cast(pl.Int64)
    every = max(round(step * 100), 1)
    keys = {round(float(t) * 100): note for t, note in marks.items()}
    notes = pl.DataFrame(
        {"__k": list(keys), "note": list(keys.values())},
        schema={"__k": pl.Int64, "note": pl.String},
    )
    return (
        sweep.with_columns(pct.alias("__k"))
        .join(notes, on="__k", how="left", maintain_order="left")
        .filter((pl.col("__k") % every == 0) | pl.col("note").is_not_null())
        .with_columns(pl.col("note").fill_null(""))
        .drop("__k")
    )


def marks(suggestion: dict[str, Any] | None) -> dict[float, str]:
    """The suggested thresholds of :func:`idres.sweep.suggest_thresholds` as {threshold: note}.

    >>> marks({"min_precision": 0.99, "best_f1_threshold": 0.8, "min_precision_threshold": 0.8})
    {0.8: 'best F1, precision ≥ 0.99'}
    """
    out: dict[float, str] = {}
    if not suggestion:
        return out
    for key, label in (
        ("best_f1_threshold", "best F1"),
        ("min_precision_threshold", f"precision ≥ {suggestion['min_precision']}"),
    ):
        at = suggestion.get(key)
        if at is not None:
            out[at] = f"{out[at]}, {label}" if at in out else label
    return out


def tuned_config(config: DomainConfig, threshold: float) -> DomainConfig:
    """`config` with Matching.AutoMerging.MinAllowedConfidenceScoreForMerging set to `threshold`.

    >>> from idres.config import parse_domain
    >>> c = parse_domain({"Matching": {"Enabled": True, "AutoMerging": {"Enabled": True,
    ...     "Consolidation": {"MatchingAttributesList": [["EmailAddress"]]}}}})
    >>> tuned_config(c, 0.93).to_aws_json()["Matching"]["AutoMerging"][MERGE]
    0.93
    """
    matching = config.Matching
    if matching is None or matching.AutoMerging is None:
        raise ConfigError(
            Problem(
                None,
                "Matching.AutoMerging",
                "absent, so there is no merge threshold to set; add AutoMerging (with its "
                "Consolidation) to the domain config first (got None)",
            )
        )
    auto = matching.AutoMerging.replace(**{MERGE: float(threshold)})
    return config.replace(Matching=matching.replace(AutoMerging=auto))


def write_config(config: DomainConfig, path: str | Path) -> Path:
    """Write `config` as the CreateDomain request (AWS JSON), atomically.

    >>> import tempfile, pathlib
    >>> from idres.config import parse_domain
    >>> path = write_config(parse_domain({}), pathlib.Path(tempfile.mkdtemp()) / "d.json")
    >>> json.loads(path.read_text())
    {'DomainName': 'preview', 'DefaultExpirationDays': 365}
    """
    target = Path(path)
    with atomic_file(target) as tmp:
        tmp.write_text(json.dumps(config.to_aws_json(), indent=2) + "\n", encoding="utf-8")
    return target


def label_pairs(pairs: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """`pairs` with ``SameEntity`` (both ends share an EntityId; null when an end is unknown).

    >>> p = pl.DataFrame({"ProfileIdA": ["a"], "ProfileIdB": ["b"], "ConfidenceScore": [0.5]})
    >>> t = pl.DataFrame({"ProfileId": ["a", "b"], "EntityId": ["1", "1"]})
    >>> label_pairs(p, t).get_column("SameEntity").to_list()
    [True]
    """
    ent = truth.select(pl.col(PID).cast(pl.String), pl.col(ENTITY_ID).cast(pl.String))
    return (
        pairs.join(
            ent.rename({PID: PROFILE_ID_A, ENTITY_ID: "__ea"}),
            on=PROFILE_ID_A,
            how="left",
            maintain_order="left",
        )
        .join(
            ent.rename({PID: PROFILE_ID_B, ENTITY_ID: "__eb"}),
            on=PROFILE_ID_B,
            how="left",
            maintain_order="left",
        )
        .with_columns((pl.col("__ea") == pl.col("__eb")).alias(SAME_ENTITY))
        .drop("__ea", "__eb")
    )


__all__ = [
    "KNOWN",
    "LINK",
    "MERGE",
    "SAME_ENTITY",
    "TuneResult",
    "compact",
    "label_pairs",
    "marks",
    "tune_results",
    "tuned_config",
    "write_config",
]
