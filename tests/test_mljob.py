"""The ML job: groups, AutoMerging, job record, GetMatches, GetAutoMergingPreview, DIR/ml, options."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from idres.config import ConflictResolution, parse_domain
from idres.errors import ConfigError, InputError, ModelError, ResultsError
from idres.ids import match_id
from idres.mljob import EPOCH, MLOptions, MLResult, run_ml_job
from idres.mlresults import STATUSES, automerge_preview
from idres.pipeline import preview
from idres.results import ML, ResultsFolder, write_results
from idres.schedule import next_slot
from idres.scoring import save_model
from idres.synth import generate

AS_OF = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)  # a Wednesday
CRITERIA = [["FirstName", "LastName", "EmailAddress"], ["FirstName", "LastName", "PhoneNumber"]]


def domain(
    *, enabled: bool = True, threshold: float | None = 0.9, exporting: bool = True, **auto: Any
) -> Any:
    merging: dict[str, Any] = {
        "Enabled": enabled,
        "Consolidation": {"MatchingAttributesList": CRITERIA},
        "ConflictResolution": {"ConflictResolvingModel": "RECENCY"},
        **auto,
    }
    if threshold is not None:
        merging["MinAllowedConfidenceScoreForMerging"] = threshold
    matching: dict[str, Any] = {
        "Enabled": True,
        "JobSchedule": {"DayOfTheWeek": "SUNDAY", "Time": "2:00"},
        "AutoMerging": merging,
    }
    if exporting:
        matching["ExportingConfig"] = {"S3Exporting": {"S3BucketName": "bucket", "S3KeyName": "k"}}
    return parse_domain({"DomainName": "demo", "Matching": matching})


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    return generate(800, seed=3)


@pytest.fixture(scope="module")
def result(data: tuple[pl.DataFrame, pl.DataFrame]) -> MLResult:
    return run_ml_job(data[0], domain(), options=MLOptions(as_of=AS_OF, u_pairs=50_000))


def digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


# --- groups and pairs ------------------------------------------------------------------------


def test_pairs_are_ordered_and_scored(result: MLResult) -> None:
    pairs = result.pairs
    assert pairs.columns == ["ProfileIdA", "ProfileIdB", "ConfidenceScore", "match_weight"]
    assert (pairs["ProfileIdA"] < pairs["ProfileIdB"]).all()
    assert pairs["ConfidenceScore"].is_between(0, 1).all()
    assert pairs.select("ProfileIdA", "ProfileIdB").is_unique().all()


def test_groups_hold_their_bottleneck_score_and_merge_inside_a_match_group(
    result: MLResult,
) -> None:
    g = result.groups
    assert g.columns == ["ProfileId", "MatchId", "ConfidenceScore", "MergeGroupId"]
    sizes = g.group_by("MatchId").agg(
        pl.len(), pl.col("ConfidenceScore").n_unique().alias("scores"), pl.col("ProfileId")
    )
    assert sizes["len"].min() >= 2 and sizes["scores"].max() == 1
    assert (g["ConfidenceScore"] >= result.options.link_threshold).all()
    for row in sizes.head(20).iter_rows(named=True):
        assert row["MatchId"] == match_id(row["ProfileId"])
    merged = g.filter(pl.col("MergeGroupId").is_not_null())
    assert merged.height > 0
    per = merged.group_by("MergeGroupId").agg(pl.col("MatchId").n_unique(), pl.len())
    assert per["MatchId"].max() == 1 and per["len"].min() >= 2


def test_profiles_below_the_merge_threshold_are_not_merged(
    data: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    out = run_ml_job(data[0], domain(threshold=1.0), options=MLOptions(u_pairs=50_000))
    assert out.groups["MergeGroupId"].null_count() == out.groups.height
    assert out.merge is None and out.merge_plan == []


# --- the job record and GetMatches ----------------------------------------------------------


def test_job_record_statuses_times_and_stats(result: MLResult) -> None:
    job = result.job
    assert job["Status"] == "COMPLETED"
    assert [s["Status"] for s in job["StatusHistory"]] == list(STATUSES)
    times = [s["Time"] for s in job["StatusHistory"]]
    assert times == sorted(times) and times[0] == "2024-06-05T12:00:00Z"
    start = next_slot("SUNDAY", "2:00", after=AS_OF)
    assert job["JobStartTime"] == start.strftime("%Y-%m-%dT%H:%M:%SZ") == times[1]
    assert job["JobEndTime"] == times[-1] > job["JobStartTime"]
    g = result.groups
    merged = g.filter(pl.col("MergeGroupId").is_not_null())
    assert job["JobStats"] == {
        "NumberOfProfilesReviewed": 800,
        "NumberOfMatchesFound": g["MatchId"].n_unique(),
        "NumberOfMergesDone": merged.height - merged["MergeGroupId"].n_unique(),
    }
    assert len(job["JobId"]) == 32 and int(job["JobId"], 16) >= 0
    assert job["ExportingLocation"]["S3Exporting"] == {
        "S3BucketName": "bucket",
        "S3KeyName": f"k/demo/{job['JobId']}",
    }
    assert job["AutoMerging"]["MinAllowedConfidenceScoreForMerging"] == 0.9


def test_no_exporting_location_without_exporting_config(
    data: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    out = run_ml_job(data[0], domain(exporting=False), options=MLOptions(u_pairs=50_000))
    assert "ExportingLocation" not in out.job


def test_as_of_defaults_to_the_latest_update_else_the_epoch(
    data: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    profiles = data[0]
    out = run_ml_job(profiles, domain(), options=MLOptions(u_pairs=50_000))
    latest = profiles["LastUpdatedAt"].max()
    assert out.job["StatusHistory"][0]["Time"] == latest.strftime("%Y-%m-%dT%H:%M:%SZ")
    bare = profiles.drop("LastUpdatedAt")
    out = run_ml_job(bare, domain(), options=MLOptions(u_pairs=50_000))
    assert out.job["StatusHistory"][0]["Time"] == EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_get_matches_shape(result: MLResult) -> None:
    matches = result.matches
    assert list(matches) == ["MatchGenerationDate", "PotentialMatches", "Matches"]
    assert matches["MatchGenerationDate"] == result.job["JobEndTime"]
    assert (
        matches["PotentialMatches"]
        == len(matches["Matches"])
        == result.groups["MatchId"].n_unique()
    )
    first = matches["Matches"][0]
    assert list(first) == ["MatchId", "ProfileIds", "ConfidenceScore"]
    assert first["ProfileIds"] == sorted(first["ProfileIds"])
    assert first["MatchId"] == match_id(first["ProfileIds"])
    ids = [m["MatchId"] for m in matches["Matches"]]
    assert ids == sorted(ids)


def test_summary_has_scalar_counts_that_agree(result: MLResult) -> None:
    s = result.summary
    assert s["ProfilesReviewed"] == 800 and s["CandidatePairs"] == result.pairs.height
    assert s["MatchGroups"] == result.job["JobStats"]["NumberOfMatchesFound"]
    assert s["ProfilesAbsorbed"] == result.job["JobStats"]["NumberOfMergesDone"]
    assert s["ProfilesAfterMerge"] == 800 - s["ProfilesAbsorbed"]
    assert s["EMConverged"] in ("yes", "no") and s["Model"] == "fitted by EM"
    assert [c["Criterion"] for c in s["Criteria"]] == [1, 2]
    assert {r["rule"] for r in s["BlockingRules"]} >= {"email", "phone"}


def test_auto_merging_disabled_merges_nothing_but_previews(
    data: tuple[pl.DataFrame, pl.DataFrame], result: MLResult
) -> None:
    out = run_ml_job(data[0], domain(enabled=False), options=MLOptions(as_of=AS_OF, u_pairs=50_000))
    assert out.groups["MergeGroupId"].null_count() == out.groups.height
    assert out.job["JobStats"]["NumberOfMergesDone"] == 0
    assert out.automerge_preview == result.automerge_preview


# --- GetAutoMergingPreview ----------------------------------------------------------------------


def test_automerge_preview_counts_match_the_job(result: MLResult) -> None:
    merged = result.groups.filter(pl.col("MergeGroupId").is_not_null()).height
    assert result.automerge_preview == {
        "DomainName": "demo",
        "NumberOfMatchesInSample": result.groups["MatchId"].n_unique(),
        "NumberOfProfilesInSample": result.groups.height,
        "NumberOfProfilesWillBeMerged": merged,
    }
    auto = domain().Matching.AutoMerging
    again = automerge_preview(result, auto.Consolidation, auto.conflict_resolution, 0.9)
    assert again == result.automerge_preview


def test_automerge_preview_from_a_results_folder(result: MLResult, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    (folder / ML).mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"DomainName": "demo"}))
    result.write(folder / ML)
    recency = ConflictResolution(ConflictResolvingModel="RECENCY")
    strict = automerge_preview(folder, CRITERIA, recency, 1.0)
    loose = automerge_preview(folder, CRITERIA, recency, None)
    one = automerge_preview(folder, [["FirstName", "LastName"]], recency, 0.9)
    assert strict["NumberOfProfilesWillBeMerged"] == 0
    assert loose == result.automerge_preview  # every group's score is >= 0.9 already
    assert one["NumberOfProfilesWillBeMerged"] >= loose["NumberOfProfilesWillBeMerged"]
    assert strict["NumberOfProfilesInSample"] == result.groups.height


@pytest.mark.parametrize(
    ("criteria", "threshold", "error"),
    [
        pytest.param(CRITERIA, 1.5, InputError, id="threshold-above-one"),
        pytest.param(CRITERIA, -0.1, InputError, id="threshold-negative"),
        pytest.param([["FirstNam"]], 0.9, ConfigError, id="unknown-attribute"),
        pytest.param([], 0.9, ConfigError, id="no-criterion"),
    ],
)
def test_automerge_preview_bad_input(
    result: MLResult, criteria: list[list[str]], threshold: float, error: type[Exception]
) -> None:
    with pytest.raises(error):
        automerge_preview(result, criteria, None, threshold)


def test_automerge_preview_needs_ml_results(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ResultsError, match=r"groups\.parquet"):
        automerge_preview(tmp_path, CRITERIA, None, None)


# --- results folder, GetSimilarProfiles, determinism ---------------------------------------


@pytest.fixture(scope="module")
def written(
    data: tuple[pl.DataFrame, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("results") / "run"
    options = MLOptions(as_of=AS_OF, u_pairs=50_000)
    write_results(preview(domain(), data[0], ml_options=options), out)
    return out


def test_results_folder_files(written: Path) -> None:
    names = {p.name for p in (written / ML).iterdir()}
    assert names == {
        "pairs.parquet",
        "groups.parquet",
        "candidates.parquet",
        "matches.json",
        "model.json",
        "job.json",
        "merged-profiles.parquet",
        "merged-profiles.jsonl",
        "merge-plan.json",
        "summary.json",
        "automerge-preview.json",
    }
    plan = json.loads((written / ML / "merge-plan.json").read_text())["Requests"]
    assert plan and all(1 <= len(r["ProfileIdsToBeMerged"]) <= 20 for r in plan)
    groups = pl.read_parquet(written / ML / "groups.parquet")
    merged = pl.read_parquet(written / ML / "merged-profiles.parquet")
    assert merged.height == groups["MergeGroupId"].drop_nulls().n_unique()


def test_similar_profiles_for_ml(written: Path) -> None:
    folder = ResultsFolder(written)
    groups = folder.groups(ML)
    pid = groups.item(0, "ProfileId")
    answer = folder.similar(ML, profile_id=pid)
    assert answer["MatchType"] == "ML_BASED_MATCHING"
    assert pid in answer["ProfileIds"] and answer["MatchId"] == match_id(answer["ProfileIds"])
    assert answer["ConfidenceScore"] == groups.item(0, "ConfidenceScore")
    assert folder.similar(ML, match_id=answer["MatchId"]) == answer


def test_two_runs_and_shuffled_rows_write_identical_bytes(
    data: tuple[pl.DataFrame, pl.DataFrame], written: Path, tmp_path: Path
) -> None:
    options = MLOptions(as_of=AS_OF, u_pairs=50_000)
    again = run_ml_job(data[0], domain(), options=options)
    again.write(tmp_path / "again")
    shuffled = data[0].sample(fraction=1.0, shuffle=True, seed=7)
    assert not shuffled["ProfileId"].is_sorted()
    run_ml_job(shuffled, domain(), options=options).write(tmp_path / "shuffled")
    expected = digest(written / ML)
    assert digest(tmp_path / "again") == expected
    assert digest(tmp_path / "shuffled") == expected


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"link_threshold": 1.5}, id="threshold-above-one"),
        pytest.param({"link_threshold": float("nan")}, id="threshold-nan"),
        pytest.param({"normalization": "fancy"}, id="normalization"),
        pytest.param({"max_block_size": 1}, id="block-size"),
        pytest.param({"model": "m.json", "truth": pl.DataFrame()}, id="model-and-truth"),
    ],
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        MLOptions(**options)


def test_link_threshold_changes_groups(
    data: tuple[pl.DataFrame, pl.DataFrame], result: MLResult
) -> None:
    low = run_ml_job(data[0], domain(), options=MLOptions(link_threshold=0.5, u_pairs=50_000))
    assert low.summary["LinkedPairs"] >= result.summary["LinkedPairs"]
    assert low.groups["ConfidenceScore"].min() >= 0.5


def test_a_saved_model_scores_the_same(
    data: tuple[pl.DataFrame, pl.DataFrame], result: MLResult, tmp_path: Path
) -> None:
    path = tmp_path / "model.json"
    save_model(result.model, path)
    out = run_ml_job(data[0], domain(), options=MLOptions(model=path, as_of=AS_OF))
    assert out.summary["Model"] == "loaded from file"
    np.testing.assert_allclose(
        out.pairs["ConfidenceScore"].to_numpy(), result.pairs["ConfidenceScore"].to_numpy()
    )


def test_a_model_for_another_attribute_set_is_refused(
    data: tuple[pl.DataFrame, pl.DataFrame], result: MLResult, tmp_path: Path
) -> None:
    path = tmp_path / "model.json"
    save_model(result.model, path)
    narrow = data[0].drop("BusinessName")
    with pytest.raises(ModelError, match="BusinessName"):
        run_ml_job(narrow, domain(), options=MLOptions(model=path))


def test_truth_fits_a_supervised_model(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    out = run_ml_job(data[0], domain(), options=MLOptions(truth=data[1], u_pairs=50_000))
    assert out.summary["Model"] == "fitted on truth"
    assert out.summary["MatchGroups"] > 0
