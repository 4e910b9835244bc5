"""AWS shapes of the ML job: the job record, GetMatches, GetAutoMergingPreview, ``DIR/ml`` files.

Files written by :func:`write_ml` (docs/DESIGN.md "Results folder"), each atomically and with the
same bytes for the same input:

- ``pairs.parquet``: ProfileIdA < ProfileIdB, ConfidenceScore, match_weight (every scored pair);
- ``groups.parquet``: ProfileId, MatchId, ConfidenceScore, MergeGroupId;
- ``candidates.parquet``: the raw profile rows of the profiles in match groups (what
  GetAutoMergingPreview needs to rerun AutoMerging without rescoring);
- ``matches.json`` (GetMatches), ``job.json`` (the Identity Resolution Job record), ``model.json``
  (:func:`idres.scoring.save_model`), ``summary.json``, ``automerge-preview.json``
  (GetAutoMergingPreview for the config's own Consolidation, when it has one);
- ``merged-profiles.parquet`` / ``.jsonl`` and ``merge-plan.json`` as in the rule-based job.

Choices [choice]: the job's status history is PENDING at ``as_of``, then PREPROCESSING at the start,
FIND_MATCHING, MERGING and COMPLETED after 20 %, 80 % and 100 % of
:func:`idres.schedule.processing_duration` (MERGING is listed when nothing merges too); the JobId is
the MD5 of the domain, start time, profile set, Matching config and job options; MatchGenerationDate
is JobEndTime; times are ISO-8601 UTC with a ``Z``. GetAutoMergingPreview reviews every match group
(AWS reviews a sample) and counts as "will be merged" every profile that takes part in a merge,
the survivor included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl
from pydantic import ValidationError

from idres import schema
from idres.atomic import atomic_file
from idres.errors import ConfigError, Problem, ResultsError

if TYPE_CHECKING:
    from idres.config import AutoMerging, ConflictResolution, Consolidation, DomainConfig
    from idres.consolidate import ConsolidationResult
    from idres.mljob import MLOptions, MLResult

__all__ = [
    "STATUSES",
    "automerge_counts",
    "automerge_preview",
    "job_record",
    "matches_response",
    "ml_summary",
    "write_ml",
]

_PID: Final = schema.PROFILE_ID
MATCH_ID: Final = schema.MATCH_ID
MERGE_GROUP_ID: Final = schema.MERGE_GROUP_ID
CONFIDENCE: Final = schema.CONFIDENCE
STATUSES: Final = ("PENDING", "PREPROCESSING", "FIND_MATCHING", "MERGING", "COMPLETED")
#: Share of the processing time elapsed when each status after PREPROCESSING starts.
_PHASE_SHARES: Final = (0.2, 0.8, 1.0)
LARGEST_LISTED: Final = 10


def iso(moment: datetime) -> str:
    """`moment` as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC).

    >>> from datetime import UTC
    >>> iso(datetime(2024, 6, 8, 3, 30, tzinfo=UTC))
    '2024-06-08T03:30:00Z'
    """
    from idres.schedule import as_utc

    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _job_start(config: DomainConfig, as_of: datetime) -> datetime:
    from idres.config import DEFAULT_SCHEDULE
    from idres.schedule import WEEK, next_job_times, next_slot

    times = next_job_times(config, as_of=as_of, weeks=1, first_job_delay=WEEK)
    if times:
        return times[0]
    schedule = config.Matching.schedule if config.Matching is not None else DEFAULT_SCHEDULE
    return next_slot(schedule.DayOfTheWeek, schedule.Time, after=as_of)


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _option_digest(options: MLOptions) -> dict[str, Any]:
    model = None
    if options.model is not None and Path(options.model).is_file():
        model = hashlib.sha256(Path(options.model).read_bytes()).hexdigest()
    truth = None
    if options.truth is not None:
        truth = _digest(options.truth.sort(options.truth.columns).rows())
    return {
        "link_threshold": options.link_threshold,
        "max_block_size": options.max_block_size,
        "seed": options.seed,
        "normalization": options.normalization,
        "u_pairs": options.u_pairs,
        "model": model,
        "truth": truth,
    }


def job_record(
    config: DomainConfig,
    *,
    as_of: datetime,
    profiles: pl.Series,
    groups: pl.DataFrame,
    options: MLOptions,
) -> dict[str, Any]:
    """The GetIdentityResolutionJob response of this run, plus its ``StatusHistory``.

    `profiles` are the ProfileIds reviewed; `groups` has ProfileId, MatchId and MergeGroupId.
    """
    from idres.results import profile_ids_digest
    from idres.schedule import processing_duration

    start = _job_start(config, as_of)
    duration = processing_duration(profiles.len()).total_seconds()
    times = [start + timedelta(seconds=int(duration * s)) for s in _PHASE_SHARES]
    history = [
        {"Status": status, "Time": iso(moment)}
        for status, moment in zip(STATUSES, [as_of, start, *times], strict=True)
    ]
    matching = config.Matching
    job_id = _digest(
        {
            "DomainName": config.DomainName,
            "JobStartTime": iso(start),
            "Profiles": profile_ids_digest(profiles),
            "Matching": matching.to_aws_json() if matching is not None else None,
            "Options": _option_digest(options),
        }
    )
    merged = groups.filter(pl.col(MERGE_GROUP_ID).is_not_null())
    record: dict[str, Any] = {
        "DomainName": config.DomainName,
        "JobId": job_id,
        "Status": "COMPLETED",
        "JobStartTime": iso(start),
        "JobEndTime": iso(times[-1]),
        "LastUpdatedAt": iso(times[-1]),
    }
    if matching is not None and matching.AutoMerging is not None:
        record["AutoMerging"] = matching.AutoMerging.to_aws_json()
    exporting = matching.ExportingConfig if matching is not None else None
    if exporting is not None and exporting.S3Exporting is not None:
        s3 = exporting.S3Exporting
        key = "/".join(p for p in (s3.S3KeyName, config.DomainName, job_id) if p)
        record["ExportingLocation"] = {
            "S3Exporting": {"S3BucketName": s3.S3BucketName, "S3KeyName": key}
        }
    record["JobStats"] = {
        "NumberOfProfilesReviewed": profiles.len(),
        "NumberOfMatchesFound": groups.get_column(MATCH_ID).n_unique(),
        "NumberOfMergesDone": merged.height - merged.get_column(MERGE_GROUP_ID).n_unique(),
    }
    record["StatusHistory"] = history
    return record


def matches_response(groups: pl.DataFrame, generated: str) -> dict[str, Any]:
    """The GetMatches response: one entry per match group, sorted by MatchId.

    >>> g = pl.DataFrame({"ProfileId": ["b", "a"], "MatchId": ["m", "m"], "ConfidenceScore": [0.9, 0.9]})
    >>> matches_response(g, "2024-06-08T03:30:00Z")["Matches"]
    [{'MatchId': 'm', 'ProfileIds': ['a', 'b'], 'ConfidenceScore': 0.9}]
    """
    matches = (
        groups.group_by(MATCH_ID)
        .agg(pl.col(_PID).sort().alias("ProfileIds"), pl.col(CONFIDENCE).first())
        .sort(MATCH_ID)
    )
    return {
        "MatchGenerationDate": generated,
        "PotentialMatches": matches.height,
        "Matches": matches.to_dicts(),
    }


def automerge_counts(
    domain_name: str, groups: pl.DataFrame, result: ConsolidationResult
) -> dict[str, Any]:
    """The GetAutoMergingPreview response for one consolidation outcome over `groups`."""
    return {
        "DomainName": domain_name,
        "NumberOfMatchesInSample": groups.get_column(MATCH_ID).n_unique(),
        "NumberOfProfilesInSample": groups.height,
        "NumberOfProfilesWillBeMerged": result.profiles_merged,
    }


def _criteria(
    consolidation: Consolidation | Sequence[Sequence[str]],
) -> tuple[tuple[str, ...], ...]:
    from idres.config import Consolidation
    from idres.config_problems import translate

    if isinstance(consolidation, Consolidation):
        return consolidation.MatchingAttributesList
    try:
        checked = Consolidation.model_validate(
            {"MatchingAttributesList": [list(c) for c in consolidation]}
        )
    except ValidationError as exc:
        raise ConfigError(translate(exc, Consolidation, "<consolidation>")) from None
    return checked.MatchingAttributesList


def _read(path: Path, name: str) -> pl.DataFrame:
    file = path / "ml" / name
    if not file.is_file():
        raise ResultsError(
            Problem(str(file), "", "missing: run `idres preview` with Matching.Enabled first")
        )
    return pl.read_parquet(file)


def automerge_preview(
    results: MLResult | str | Path,
    consolidation: Consolidation | Sequence[Sequence[str]],
    conflict_resolution: ConflictResolution | None = None,
    threshold: float | None = None,
    *,
    domain_name: str | None = None,
) -> dict[str, Any]:
    """GetAutoMergingPreview from existing results (no rescoring): AutoMerging with these settings
    over every match group, counted. `results` is an :class:`~idres.mljob.MLResult` or a results
    folder; `threshold` is MinAllowedConfidenceScoreForMerging (None: no threshold)."""
    from idres.consolidate import consolidate
    from idres.ml import check_threshold
    from idres.mljob import MLResult

    criteria = _criteria(consolidation)
    if threshold is not None:
        threshold = check_threshold(threshold, "MinAllowedConfidenceScoreForMerging")
    mode: Any
    domain: str | None
    if isinstance(results, MLResult):
        groups, candidates = results.groups, results.candidates
        mode, domain = results.options.normalization, results.domain_name
    else:
        from idres.results import ResultsFolder

        folder = ResultsFolder(results)
        groups, candidates = (
            _read(folder.path, "groups.parquet"),
            _read(folder.path, "candidates.parquet"),
        )
        summary = json.loads((folder.path / "ml" / "summary.json").read_text(encoding="utf-8"))
        mode, domain = summary.get("Normalization", "standard"), folder.manifest.get("DomainName")
    out = consolidate(
        candidates,
        groups.select(_PID, MATCH_ID, CONFIDENCE),
        criteria,
        resolution=conflict_resolution,
        min_confidence=threshold,
        mode=mode,
        domain_name=domain_name or domain or "preview",
    )
    return automerge_counts(domain_name or domain or "preview", groups, out)


def ml_summary(
    *,
    profiles_reviewed: int,
    pairs: pl.DataFrame,
    groups: pl.DataFrame,
    scores: Any,
    consolidation: ConsolidationResult | None,
    auto: AutoMerging | None,
    options: MLOptions,
    job: dict[str, Any],
) -> dict[str, Any]:
    """The ML job's summary: scalar counts first (printed as a table), then nested details."""
    sizes = groups.group_by(MATCH_ID).agg(pl.len().alias("Profiles"), pl.col(CONFIDENCE).first())
    largest = sizes.sort(["Profiles", MATCH_ID], descending=[True, False]).head(LARGEST_LISTED)
    merged = groups.filter(pl.col(MERGE_GROUP_ID).is_not_null())
    merge_groups = merged.get_column(MERGE_GROUP_ID).n_unique()
    absorbed = merged.height - merge_groups
    model = scores.model
    threshold = auto.MinAllowedConfidenceScoreForMerging if auto is not None else None
    out: dict[str, Any] = {
        "ProfilesReviewed": profiles_reviewed,
        "CandidatePairs": pairs.height,
        "LinkThreshold": options.link_threshold,
        "LinkedPairs": pairs.filter(pl.col(CONFIDENCE) >= options.link_threshold).height,
        "MatchGroups": sizes.height,
        "ProfilesInMatchGroups": groups.height,
        "LargestMatchGroup": int(sizes.get_column("Profiles").max() or 0),  # type: ignore[arg-type]
        "AutoMerging": "enabled" if auto is not None and auto.Enabled else "disabled",
        "MinAllowedConfidenceScoreForMerging": "none" if threshold is None else threshold,
        "MatchGroupsEligibleForMerging": consolidation.candidate_groups if consolidation else 0,
        "MergeGroups": merge_groups,
        "ProfilesInMergeGroups": merged.height,
        "ProfilesAbsorbed": absorbed,
        "ProfilesAfterMerge": profiles_reviewed - absorbed,
        "Model": _model_source(model, options),
        "EMIterations": int(model.n_iter_),
        "EMConverged": "yes" if model.converged_ else "no",
        "Prior": float(f"{model.lambda_:.6g}"),
        "Normalization": options.normalization,
        "JobId": job["JobId"],
        "JobStartTime": job["JobStartTime"],
        "BlockingRules": scores.blocking.to_dicts(),
        "Criteria": consolidation.criteria.to_dicts() if consolidation is not None else [],
        "LargestGroups": largest.to_dicts(),
    }
    return out


def _model_source(model: Any, options: MLOptions) -> str:
    if options.model is not None:
        return "loaded from file"
    return "fitted on truth" if model.u_source_ == "labels" else "fitted by EM"


def _dump(path: Path, data: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _parquet(path: Path, frame: pl.DataFrame) -> None:
    with atomic_file(path) as tmp:
        frame.write_parquet(tmp)


def write_ml(result: MLResult, folder: Path) -> None:
    """Write the ML job's files (see the module docstring) into `folder`."""
    from idres.merge_plan import merged_json_lines
    from idres.scoring import save_model

    folder.mkdir(parents=True, exist_ok=True)
    _parquet(folder / "pairs.parquet", result.pairs)
    _parquet(folder / "groups.parquet", result.groups)
    _parquet(folder / "candidates.parquet", result.candidates)
    _dump(folder / "matches.json", result.matches)
    save_model(result.model, folder / "model.json")
    _dump(folder / "job.json", result.job)
    merge = result.merge
    if merge is not None:
        _parquet(folder / "merged-profiles.parquet", merge.merged)
        lines = merged_json_lines(merge).to_list()
        with atomic_file(folder / "merged-profiles.jsonl") as tmp:
            tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    _dump(folder / "merge-plan.json", {"Requests": result.merge_plan})
    if result.automerge_preview is not None:
        _dump(folder / "automerge-preview.json", result.automerge_preview)
    _dump(folder / "summary.json", result.summary)
