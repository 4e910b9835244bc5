"""CLI of the ML job: ``preview`` with Matching enabled, ``automerge-preview``, ``similar --job ml``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idres.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"
PROFILES = DATA / "sample-profiles.jsonl"


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "both"
    assert main(["preview", str(DATA / "domain-both.json"), str(PROFILES), "--out", str(out)]) == 0
    return out


def test_preview_runs_both_jobs_and_keeps_them_apart(
    both: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert {p.name for p in both.iterdir() if p.is_dir()} == {"rule-based", "ml"}
    summary = json.loads((both / "summary.json").read_text())
    assert summary["ml"]["ProfilesReviewed"] == 360
    assert summary["rule-based"]["ProfilesReviewed"] == 360
    job = json.loads((both / "ml" / "job.json").read_text())
    assert job["DomainName"] == "idres-demo" and job["Status"] == "COMPLETED"


def test_preview_ml_only_prints_the_ml_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ml"
    code = main(["preview", str(DATA / "domain-ml.json"), str(PROFILES), "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    for expected in ("ML matching", "CandidatePairs", "MatchGroups", "ProfilesAbsorbed", "JobId"):
        assert expected in text
    assert not (out / "rule-based").exists()


def test_automerge_preview_prints_a_table_and_the_json(
    both: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["automerge-preview", str(DATA / "domain-both.json"), str(both)]) == 0
    text = capsys.readouterr().out
    assert "Auto-merging preview" in text and "NumberOfProfilesWillBeMerged" in text
    assert main(["automerge-preview", str(DATA / "domain-both.json"), str(both), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer == json.loads((both / "ml" / "automerge-preview.json").read_text())
    strict = [str(DATA / "domain-both.json"), str(both), "--threshold", "1", "--json"]
    assert main(["automerge-preview", *strict]) == 0
    assert json.loads(capsys.readouterr().out)["NumberOfProfilesWillBeMerged"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--threshold", "1.5"], "--threshold", id="threshold-above-one"),
        pytest.param(["--threshold", "-0.5"], "--threshold", id="threshold-negative"),
    ],
)
def test_automerge_preview_rejects_a_bad_threshold(
    both: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = main(["automerge-preview", str(DATA / "domain-both.json"), str(both), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_automerge_preview_needs_consolidation(
    both: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["automerge-preview", str(DATA / "domain-rules.json"), str(both)]) == 2
    assert "Matching.AutoMerging.Consolidation" in capsys.readouterr().err


def test_automerge_preview_needs_a_results_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["automerge-preview", str(DATA / "domain-ml.json"), str(tmp_path)]) == 2
    assert "manifest.json" in capsys.readouterr().err


def test_similar_answers_for_ml(both: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matches = json.loads((both / "ml" / "matches.json").read_text())["Matches"]
    first = matches[0]
    capsys.readouterr()
    code = main(["similar", str(both), "--job", "ml", "--profile-id", first["ProfileIds"][0]])
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["MatchType"] == "ML_BASED_MATCHING"
    assert answer["ProfileIds"] == first["ProfileIds"]
    assert answer["ConfidenceScore"] == pytest.approx(first["ConfidenceScore"])
