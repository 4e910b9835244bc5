"""Tests for idres.tune and the `idres tune` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from idres.cli import main
from idres.config import load_domain, parse_domain
from idres.errors import ConfigError, InputError, ResultsError
from idres.ids import match_id
from idres.ml import ml_groups
from idres.results import profile_ids_digest
from idres.tune import KNOWN, MERGE, compact, tune_results, tuned_config

IDS = [f"p{i}" for i in range(8)]
# Entities: x = p0 p1 p2, y = p3, z = p4 p5, w = p6, v = p7.
ENTITIES = ["x", "x", "x", "y", "z", "z", "w", "v"]
PAIRS = [
    ("p0", "p1", 0.95),
    ("p1", "p2", 0.90),
    ("p2", "p3", 0.60),  # false
    ("p4", "p5", 0.85),
    ("p5", "p6", 0.30),  # false
    ("p0", "p7", 0.10),  # false
]
AUTO = {"Enabled": True, "Consolidation": {"MatchingAttributesList": [["EmailAddress"]]}}


def ml_config(merge_threshold: float | None = 0.8) -> dict[str, Any]:
    auto = {**AUTO, MERGE: merge_threshold} if merge_threshold is not None else None
    matching: dict[str, Any] = {"Enabled": True}
    if auto:
        matching["AutoMerging"] = auto
    return {"DomainName": "tune-test", "Matching": matching}


def ml_folder(
    root: Path,
    pairs: list[tuple[str, str, float]] = PAIRS,
    *,
    link_threshold: float = 0.5,
    merge_threshold: float | None = 0.8,
    name: str = "results",
) -> Path:
    """A results folder with an ML job: the pairs, and groups at `link_threshold` that merge
    whole when their score reaches `merge_threshold`."""
    folder = root / name
    (folder / "ml").mkdir(parents=True)
    manifest = {
        "profile_count": len(IDS),
        "profile_ids_sha256": profile_ids_digest(pl.Series(IDS)),
        "config": ml_config(merge_threshold),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    frame = pl.DataFrame(
        pairs,
        schema={"ProfileIdA": pl.String, "ProfileIdB": pl.String, "ConfidenceScore": pl.Float64},
        orient="row",
    )
    frame.write_parquet(folder / "ml" / "pairs.parquet")
    index = {p: i for i, p in enumerate(IDS)}
    rows = pl.DataFrame(
        {
            "a": [index[p] for p in frame["ProfileIdA"]],
            "b": [index[p] for p in frame["ProfileIdB"]],
            "ConfidenceScore": frame["ConfidenceScore"],
        }
    )
    g = ml_groups(len(IDS), rows, link_threshold=link_threshold).with_columns(
        pl.Series("ProfileId", IDS)
    )
    g = g.filter(pl.len().over("group") >= 2)
    ids = {k: match_id(v) for k, v in g.group_by("group").agg("ProfileId").iter_rows()}
    merges = pl.col("ConfidenceScore") >= (merge_threshold if merge_threshold is not None else 2)
    g.select(
        "ProfileId",
        pl.col("group").replace_strict(ids, return_dtype=pl.String).alias("MatchId"),
        "ConfidenceScore",
        pl.when(merges)
        .then(pl.col("group").replace_strict(ids, return_dtype=pl.String))
        .alias("MergeGroupId"),
    ).write_parquet(folder / "ml" / "groups.parquet")
    return folder


@pytest.fixture
def truth() -> pl.DataFrame:
    return pl.DataFrame({"ProfileId": IDS, "EntityId": ENTITIES})


@pytest.fixture
def truth_file(tmp_path: Path, truth: pl.DataFrame) -> Path:
    path = tmp_path / "truth.csv"
    truth.write_csv(path)
    return path


def row(frame: pl.DataFrame, t: float) -> dict[str, Any]:
    return frame.filter((pl.col("threshold") - t).abs() < 1e-9).row(0, named=True)


def test_suggestions_with_truth(tmp_path: Path, truth: pl.DataFrame) -> None:
    r = tune_results(ml_folder(tmp_path), truth, min_precision=0.99)
    assert r.link.height == r.merge.height == 101 and r.has_truth
    # Link threshold: above 0.60 the false link p2-p3 is gone (precision 1), up to 0.85 nothing
    # true is lost (F1 1.0; ties go to the highest threshold).
    assert r.link_suggestion["best_f1_threshold"] == 0.85
    assert r.link_suggestion["best_f1_f1"] == 1.0
    assert r.link_suggestion["min_precision_threshold"] == 0.61
    assert row(r.link, 0.6)["precision"] == pytest.approx(4 / 7)  # {p0..p3}: 3 true of 6, + p4-p5
    # Merge threshold over the groups at link 0.5: {p0..p3} scores 0.60, {p4,p5} 0.85.
    assert r.merge_suggestion["best_f1_threshold"] == 0.6
    assert r.merge_suggestion["min_precision_threshold"] == 0.61
    assert r.merge_suggestion["min_precision_recall"] == 0.25
    assert r.merge_suggestion["min_precision_consolidation_known"] is False
    assert row(r.merge, 0.6)["merges"] == 4 and row(r.merge, 0.85)["merges"] == 1
    assert row(r.merge, 0.86)["merges"] == 0


def test_without_truth_counts_groups_and_merges(tmp_path: Path) -> None:
    r = tune_results(ml_folder(tmp_path))
    assert not r.has_truth and r.link_suggestion is None and r.merge_suggestion is None
    assert "precision" not in r.link.columns
    assert r.profiles == 8  # every profile appears in some pair
    assert row(r.link, 0.0)["groups"] == 2 and row(r.link, 0.0)["merges"] == 6
    assert row(r.link, 0.9)["groups"] == 1 and row(r.link, 0.9)["merges"] == 2
    assert row(r.link, 1.0)["groups"] == 0


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.61, 0.9, 0.95])
def test_link_sweep_agrees_with_grouping_at_each_threshold(tmp_path: Path, t: float) -> None:
    r = tune_results(ml_folder(tmp_path))
    index = {p: i for i, p in enumerate(IDS)}
    rows = pl.DataFrame(
        {
            "a": [index[a] for a, _, _ in PAIRS],
            "b": [index[b] for _, b, _ in PAIRS],
            "ConfidenceScore": [s for _, _, s in PAIRS],
        }
    )
    sizes = ml_groups(len(IDS), rows, link_threshold=t).group_by("group").len()["len"]
    assert row(r.link, t)["groups"] == int((sizes >= 2).sum())
    assert row(r.link, t)["merges"] == int((sizes - 1).sum())


def test_consolidation_known_only_at_or_above_the_run_threshold(tmp_path: Path) -> None:
    merge = tune_results(ml_folder(tmp_path, merge_threshold=0.8)).merge
    known = dict(zip(merge["threshold"].to_list(), merge[KNOWN].to_list(), strict=True))
    assert not known[0.79] and known[0.8] and known[1.0]
    off = tune_results(ml_folder(tmp_path, merge_threshold=None, name="off")).merge
    assert not off[KNOWN].any()


def test_merge_units_use_the_stored_consolidation(tmp_path: Path) -> None:
    folder = ml_folder(tmp_path, merge_threshold=0.5)
    groups = pl.read_parquet(folder / "ml" / "groups.parquet")
    # Consolidation merged only p0 and p1 of the {p0..p3} group; p2 and p3 stay apart.
    sub = pl.when(pl.col("ProfileId").is_in(["p0", "p1"])).then(pl.lit("sub"))
    groups.with_columns(
        pl.when(pl.col("ProfileId").is_in(["p4", "p5"]))
        .then(pl.col("MergeGroupId"))
        .otherwise(sub)
        .alias("MergeGroupId")
    ).write_parquet(folder / "ml" / "groups.parquet")
    merge = tune_results(folder).merge
    assert row(merge, 0.6)["merge_groups"] == 2 and row(merge, 0.6)["merges"] == 2


def test_truth_of_another_profile_set_is_refused(tmp_path: Path, truth: pl.DataFrame) -> None:
    with pytest.raises(InputError, match="profile"):
        tune_results(ml_folder(tmp_path), truth.head(7))


def test_folder_without_scores(tmp_path: Path) -> None:
    folder = ml_folder(tmp_path)
    (folder / "ml" / "pairs.parquet").unlink()
    with pytest.raises(ResultsError, match="no ML scores to sweep"):
        tune_results(folder)


def test_compact_keeps_steps_and_marked_rows(tmp_path: Path) -> None:
    r = tune_results(ml_folder(tmp_path))
    view = compact(r.link, {0.61: "best"})
    assert view.height == 22 and view.filter(pl.col("note") == "best")["threshold"].item() == 0.61


def test_tuned_config_round_trips_and_is_a_valid_create_domain(tmp_path: Path) -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    config = tuned_config(parse_domain(ml_config(0.8)), 0.93)
    data = config.to_aws_json()
    assert data["Matching"]["AutoMerging"][MERGE] == 0.93
    assert parse_domain(data) == config
    model = botocore.session.get_session().get_service_model("customer-profiles")
    shape = model.operation_model("CreateDomain").input_shape
    report = ParamValidator().validate(data, shape)
    assert not report.has_errors(), report.generate_report()


def test_tuned_config_needs_auto_merging() -> None:
    with pytest.raises(ConfigError, match="AutoMerging"):
        tuned_config(parse_domain({"Matching": {"Enabled": True}}), 0.5)


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_table_with_truth(tmp_path: Path, truth_file: Path, capsys) -> None:
    assert main(["tune", str(ml_folder(tmp_path)), "--truth", str(truth_file)]) == 0
    out = capsys.readouterr().out
    assert "best F1" in out and "precision ≥ 0.99" in out and "this run" in out
    assert "best F1 1.0000 at 0.85" in out


def test_cli_json_and_csv_hold_every_row(tmp_path: Path, truth_file: Path, capsys) -> None:
    csv = tmp_path / "sweep.csv"
    argv = ["tune", str(ml_folder(tmp_path)), "--truth", str(truth_file), "--json"]
    assert main([*argv, "--csv", str(csv)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["link_threshold"]) == len(data[MERGE]) == 101
    assert data["suggestions"][MERGE]["best_f1_threshold"] == 0.6
    sweep = pl.read_csv(csv)
    assert sweep.height == 202 and set(sweep["parameter"]) == {"link_threshold", MERGE}


@pytest.mark.parametrize(
    ("pick", "expected"),
    [pytest.param("precision", 0.61, id="precision"), pytest.param("f1", 0.6, id="f1")],
)
def test_cli_write_config(
    tmp_path: Path, truth_file: Path, capsys, pick: str, expected: float
) -> None:
    domain = tmp_path / "domain.json"
    domain.write_text(json.dumps({**ml_config(0.8), "DomainName": "live"}))
    out = tmp_path / "tuned.json"
    argv = ["tune", str(ml_folder(tmp_path)), "--truth", str(truth_file)]
    argv += ["--write-config", str(out), "--domain", str(domain), "--pick", pick]
    assert main(argv) == 0
    written = load_domain(out)
    assert written.DomainName == "live"
    assert written.Matching.AutoMerging.MinAllowedConfidenceScoreForMerging == expected
    assert not list(tmp_path.glob(".tuned.json.*"))  # no temporary file left behind


def test_cli_write_config_from_the_manifest_with_explicit_threshold(tmp_path: Path) -> None:
    out = tmp_path / "tuned.json"
    argv = ["tune", str(ml_folder(tmp_path)), "--write-config", str(out), "--threshold", "0.7"]
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert data["DomainName"] == "tune-test" and data["Matching"]["AutoMerging"][MERGE] == 0.7


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--write-config", "x.json"], "needs --truth", id="no-truth-no-threshold"),
        pytest.param(["--min-precision", "1.5"], "between 0 and 1", id="bad-precision"),
        pytest.param(["--pick", "recall"], "'precision' or 'f1'", id="bad-pick"),
        pytest.param(["--domain", "d.json"], "only used with --write-config", id="domain-alone"),
        pytest.param(["--truth", "nope.csv"], "not found", id="missing-truth"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    assert main(["tune", str(ml_folder(tmp_path)), *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_without_scores_exits_2(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "rb"
    (folder / "rule-based").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"profile_count": 0}))
    assert main(["tune", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "no ML scores to sweep" in err and "rule-based" in err


def test_sweep_is_deterministic(tmp_path: Path, truth: pl.DataFrame) -> None:
    shuffled = [PAIRS[i] for i in np.random.default_rng(5).permutation(len(PAIRS))]
    a = tune_results(ml_folder(tmp_path), truth)
    b = tune_results(ml_folder(tmp_path, shuffled, name="shuffled"), truth)
    assert a.link.equals(b.link) and a.merge.equals(b.merge)


def test_a_threshold_that_merges_nothing_is_never_suggested(tmp_path: Path) -> None:
    # p4 and p5 are different people: every merge threshold that merges anything has a false pair.
    truth = pl.DataFrame({"ProfileId": IDS, "EntityId": ["x", "x", "x", "y", "z", "q", "w", "v"]})
    r = tune_results(ml_folder(tmp_path), truth, min_precision=0.99)
    assert row(r.merge, 0.9)["precision"] == 1.0  # vacuous: nothing merges at 0.9
    assert r.merge_suggestion["min_precision_threshold"] is None
    assert r.merge_suggestion["best_f1_threshold"] == 0.6
