"""The ML job: the weekly Identity Resolution Job of SPEC §5, as one stage function.

:func:`run_ml_job` turns a canonical profile table and a domain config (``Matching`` with optional
``AutoMerging``) into an :class:`MLResult`: scored candidate pairs, match groups with their
ConfidenceScore, AutoMerging (:mod:`idres.consolidate`), the merged profiles and their merge plan, the
Identity Resolution Job record, the GetMatches and GetAutoMergingPreview answers and a summary.
:meth:`MLResult.write` lays the results out under ``DIR/ml`` (see :mod:`idres.mlresults`).

Choices [choice]:

- ``as_of`` (the moment the job is simulated from) defaults to the latest ``LastUpdatedAt`` of the
  profiles (the job cannot run before the data exists), else to the Unix epoch; the output never
  depends on the clock, so two runs give the same bytes. The job starts at the first JobSchedule
  slot at or after ``as_of``.
- The attribute set of the job is the default comparisons over the attributes the profiles hold
  (:func:`idres.comparisons.default_comparisons`); a model loaded with ``MLOptions.model`` must be
  made for exactly that set, else :class:`~idres.errors.ModelError` names the differences.
- A match group has two or more profiles; profiles linked to nobody are in no group.
- Rows are worked on in ProfileId order, so results do not depend on the input row order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from idres import schema
from idres.blocking import MAX_BLOCK_SIZE, default_rules
from idres.comparisons import default_comparisons
from idres.errors import InputError, Problem
from idres.fellegi_sunter import MATCH_WEIGHT
from idres.ids import group_ids
from idres.ml import CONFIDENCE, DEFAULT_LINK_THRESHOLD, GROUP, ROW, check_threshold
from idres.normalize import MODES
from idres.timings import timed_call

if TYPE_CHECKING:
    from idres.config import DomainConfig
    from idres.consolidate import ConsolidationResult
    from idres.fellegi_sunter import FellegiSunter
    from idres.merge import MergeOutcome

__all__ = ["EPOCH", "MLOptions", "MLResult", "run_ml_job"]

log = logging.getLogger(__name__)

#: ``as_of`` when the profiles carry no LastUpdatedAt at all.
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MATCH_ID: Final = schema.MATCH_ID
MERGE_GROUP_ID: Final = schema.MERGE_GROUP_ID
PROFILE_ID_A: Final = schema.PROFILE_ID_A
PROFILE_ID_B: Final = schema.PROFILE_ID_B


@dataclass(frozen=True)
class MLOptions:
    """Knobs of the ML job that AWS does not expose (all documented choices).

    link_threshold: pairs scoring at least this link into match groups ([0, 1]);
    model: a model file (``idres.scoring.save_model``) to score with instead of fitting one;
    truth: ``ProfileId``, ``EntityId`` to fit m and u from labels instead of EM;
    max_block_size: blocks larger than this are skipped (with a warning);
    seed: random pairs for u; normalization: ``standard`` or ``entity-resolution``;
    as_of: the moment the job is simulated from (see the module docstring); u_pairs: random pairs
    sampled for u.

    >>> MLOptions(link_threshold=1.5)
    Traceback (most recent call last):
    ...
    idres.errors.InputError: link_threshold: must be a number between 0 and 1 (got 1.5)
    """

    link_threshold: float = DEFAULT_LINK_THRESHOLD
    model: str | Path | None = None
    truth: pl.DataFrame | None = field(default=None, compare=False, repr=False)
    max_block_size: int = MAX_BLOCK_SIZE
    seed: int = 0
    normalization: str = "standard"
    as_of: datetime | None = None
    u_pairs: int = 1_000_000

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        try:
            object.__setattr__(self, "link_threshold", check_threshold(self.link_threshold))
        except InputError as exc:
            problems += exc.problems
        if self.normalization not in MODES:
            problems.append(
                Problem(
                    None,
                    "normalization",
                    f"must be one of {', '.join(MODES)} (got {self.normalization!r})",
                )
            )
        for name, low in (("max_block_size", 2), ("u_pairs", 1), ("seed", 0)):
            value = getattr(self, name)
            if type(value) is not int or value < low:
                problems.append(Problem(None, name, f"must be an integer >= {low} (got {value!r})"))
        if self.as_of is not None and not isinstance(self.as_of, datetime):
            problems.append(Problem(None, "as_of", f"must be a datetime (got {self.as_of!r})"))
        if self.model is not None and self.truth is not None:
            problems.append(
                Problem(None, "truth", "a loaded model is not refitted: give a model or a truth")
            )
        if problems:
            raise InputError(problems)


@dataclass(frozen=True)
class MLResult:
    """Everything the ML job produced, with ProfileIds (not row indices).

    pairs: ProfileIdA < ProfileIdB, ConfidenceScore, match_weight (every scored candidate pair);
    groups: ProfileId, MatchId, ConfidenceScore (the group's bottleneck score), MergeGroupId (id of
    the merged profile it went into, null if not merged), for profiles in match groups of two or
    more; model: the fitted (or loaded) model; blocking: per-rule pair counts; consolidation:
    AutoMerging's outcome (None when AutoMerging is off); candidates: the raw rows of the profiles
    in match groups (what GetAutoMergingPreview needs); job: the Identity Resolution Job record;
    automerge_preview: GetAutoMergingPreview for the config's own settings (None without
    Consolidation); summary: counts for people; timings: seconds per step.
    """

    domain_name: str
    pairs: pl.DataFrame
    groups: pl.DataFrame
    model: FellegiSunter
    blocking: pl.DataFrame
    consolidation: ConsolidationResult | None
    candidates: pl.DataFrame
    job: dict[str, Any]
    automerge_preview: dict[str, Any] | None
    summary: dict[str, Any]
    options: MLOptions
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def merge(self) -> MergeOutcome | None:
        """The merged profiles with per-field provenance (None when nothing merged)."""
        return self.consolidation.merge if self.consolidation is not None else None

    @property
    def merge_plan(self) -> list[dict[str, Any]]:
        """The MergeProfiles requests that replay the merges (built when first read)."""
        return self.merge.plan if self.merge is not None else []

    @cached_property
    def matches(self) -> dict[str, Any]:
        """The GetMatches response."""
        from idres.mlresults import matches_response

        return matches_response(self.groups, self.job["JobEndTime"])

    def write(self, folder: str | Path) -> None:
        """Write the ``DIR/ml`` files into `folder` (created if needed)."""
        from idres.mlresults import write_ml

        write_ml(self, Path(folder))


def _as_of(profiles: pl.DataFrame, given: datetime | None) -> datetime:
    if given is not None:
        return given if given.tzinfo else given.replace(tzinfo=UTC)
    if schema.UPDATED in profiles.columns:
        latest = profiles.get_column(schema.UPDATED).max()
        if isinstance(latest, datetime):
            return latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    return EPOCH


def _targets() -> list[str]:
    """Normalization targets the default blocking rules and comparisons read."""
    cols = {c for r in default_rules() for c in r.columns()}
    cols |= {c for comp in default_comparisons() for c in comp.columns}
    return sorted(c.removeprefix(schema.NORM_PREFIX) for c in cols)


def _score(normalized: pl.DataFrame, opts: MLOptions, timings: dict[str, float]) -> Any:
    from idres.ml import score_profiles
    from idres.scoring import load_model

    model = None
    if opts.model is not None:
        model = load_model(opts.model, expected=default_comparisons(normalized))
    scores = score_profiles(
        normalized,
        model=model,
        truth=opts.truth,
        max_block_size=opts.max_block_size,
        u_pairs=opts.u_pairs,
        seed=opts.seed,
    )
    timings.update(scores.timings)
    return scores


def _groups(ids: pl.Series, pairs: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """ProfileId, MatchId, ConfidenceScore of the profiles in match groups of two or more."""
    from idres.ml import ml_groups

    assigned = ml_groups(ids.len(), pairs, link_threshold=threshold)
    assigned = assigned.filter(pl.len().over(GROUP) >= 2)
    with_ids = assigned.with_columns(ids.gather(assigned.get_column(ROW)).alias(schema.PROFILE_ID))
    match_ids = group_ids(with_ids, GROUP).rename({"__id": MATCH_ID})
    return (
        with_ids.join(match_ids, on=GROUP, how="left")
        .sort(ROW)
        .select(schema.PROFILE_ID, MATCH_ID, CONFIDENCE)
    )


def _pairs(ids: pl.Series, pairs: pl.DataFrame) -> pl.DataFrame:
    """Scored pairs with ProfileIds (rows are ProfileId ranks, so a < b gives A < B)."""
    return pl.DataFrame(
        {
            PROFILE_ID_A: ids.gather(pairs.get_column("a")),
            PROFILE_ID_B: ids.gather(pairs.get_column("b")),
            CONFIDENCE: pairs.get_column(CONFIDENCE),
            MATCH_WEIGHT: pairs.get_column(MATCH_WEIGHT),
        }
    )


def run_ml_job(
    profiles: pl.DataFrame,
    config: DomainConfig,
    *,
    options: MLOptions | None = None,
    on_step: Callable[[str], None] | None = None,
) -> MLResult:
    """Run the ML Identity Resolution Job on a canonical profile table.

    >>> from idres.config import parse_domain
    >>> from idres.synth import generate
    >>> cfg = parse_domain({"Matching": {"Enabled": True, "AutoMerging": {"Enabled": True,
    ...     "Consolidation": {"MatchingAttributesList": [["FirstName", "LastName"]]}}}})
    >>> profiles, _ = generate(300, seed=1)
    >>> result = run_ml_job(profiles, cfg)
    >>> result.job["Status"], result.job["JobStats"]["NumberOfProfilesReviewed"]
    ('COMPLETED', 300)
    """
    from idres.consolidate import consolidate
    from idres.mlresults import automerge_counts, job_record, ml_summary
    from idres.normalize import normalize

    opts = options or MLOptions()
    step = on_step or (lambda _name: None)
    timings: dict[str, float] = {}
    if not profiles.get_column(schema.PROFILE_ID).is_sorted():
        profiles = profiles.sort(schema.PROFILE_ID)  # row index = rank of ProfileId
    ids = profiles.get_column(schema.PROFILE_ID).cast(pl.String)
    matching = config.Matching
    auto = matching.AutoMerging if matching is not None else None

    step("ML: normalizing")
    wanted = _targets()
    normalized = timed_call(
        timings,
        "normalize",
        lambda: normalize(
            profiles.select(c for c in profiles.columns if not c.startswith(schema.NORM_PREFIX)),
            mode=opts.normalization,  # type: ignore[arg-type]
            columns=wanted,
        ).select(schema.PROFILE_ID, *(schema.norm(c) for c in wanted)),
    )
    step("ML: blocking and scoring")
    scores = _score(normalized, opts, timings)
    del normalized
    step("ML: grouping")
    groups = timed_call(timings, "groups", lambda: _groups(ids, scores.pairs, opts.link_threshold))
    pairs = timed_call(timings, "pair ids", lambda: _pairs(ids, scores.pairs))
    candidates = profiles.join(groups.select(schema.PROFILE_ID), on=schema.PROFILE_ID, how="semi")

    consolidation = None
    preview = None
    if auto is not None and auto.Consolidation is not None:
        step("ML: auto-merging")
        threshold = auto.MinAllowedConfidenceScoreForMerging
        result = timed_call(
            timings,
            "consolidate",
            lambda: consolidate(
                candidates,
                groups,
                auto.criteria,
                resolution=auto.conflict_resolution,
                min_confidence=threshold,
                mode=opts.normalization,  # type: ignore[arg-type]
                domain_name=config.DomainName,
            ),
        )
        preview = automerge_counts(config.DomainName, groups, result)
        if auto.Enabled:
            consolidation = result
    merge_ids = (
        consolidation.assignment
        if consolidation is not None
        else pl.DataFrame(schema={schema.PROFILE_ID: pl.String, MERGE_GROUP_ID: pl.String})
    )
    groups = groups.join(merge_ids, on=schema.PROFILE_ID, how="left", maintain_order="left")
    as_of = _as_of(profiles, opts.as_of)
    job = job_record(
        config,
        as_of=as_of,
        profiles=ids,
        groups=groups,
        options=opts,
    )
    summary = ml_summary(
        profiles_reviewed=profiles.height,
        pairs=pairs,
        groups=groups,
        scores=scores,
        consolidation=consolidation,
        auto=auto,
        options=opts,
        job=job,
    )
    log.info(
        "ML job: %d profiles, %d candidate pairs, %d match groups",
        profiles.height,
        pairs.height,
        summary["MatchGroups"],
    )
    return MLResult(
        domain_name=config.DomainName,
        pairs=pairs,
        groups=groups,
        model=scores.model,
        blocking=scores.blocking,
        consolidation=consolidation,
        candidates=candidates,
        job=job,
        automerge_preview=preview,
        summary=summary,
        options=opts,
        timings=timings,
    )
