"""The preview, similar and explain commands: outputs, exit codes, refusals, the dead-letter queue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from idres.cli import main

RULES = "datasets/domain-rules.json"
SAMPLE = "datasets/sample-profiles.jsonl"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "res"
    assert main(["preview", RULES, SAMPLE, "--out", str(out), "--json"]) == 0
    return out


def test_preview_writes_the_documented_layout(results: Path) -> None:
    for name in ("manifest.json", "summary.json"):
        assert (results / name).is_file()
    for name in (
        "groups.parquet",
        "links.parquet",
        "keys.parquet",
        "matches.jsonl",
        "merged-profiles.jsonl",
        "merged-profiles.parquet",
        "merge-plan.json",
        "dead-letters.jsonl",
    ):
        assert (results / "rule-based" / name).is_file(), name
    plan = json.loads((results / "rule-based" / "merge-plan.json").read_text())
    assert plan["Requests"] and all(len(r["ProfileIdsToBeMerged"]) <= 20 for r in plan["Requests"])


def test_similar_by_profile_and_by_match(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    groups = pl.read_parquet(results / "rule-based" / "groups.parquet")
    pid, mid = groups.row(0)[:2]
    assert main(["similar", str(results), "--profile-id", pid]) == 0
    by_profile = json.loads(capsys.readouterr().out)
    assert main(["similar", str(results), "--match-id", mid]) == 0
    assert json.loads(capsys.readouterr().out) == by_profile
    assert by_profile["MatchType"] == "RULE_BASED_MATCHING" and pid in by_profile["ProfileIds"]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["similar", "{dir}", "--profile-id", "nope"], id="unknown-profile"),
        pytest.param(["similar", "{dir}", "--match-id", "0" * 32], id="unknown-match"),
        pytest.param(["explain", "{dir}", "--match-id", "0" * 32], id="explain-unknown"),
        pytest.param(["similar", "{dir}"], id="no-search-key"),
        pytest.param(["similar", "/nonexistent", "--match-id", "x"], id="not-a-results-folder"),
    ],
)
def test_bad_lookups_exit_2_without_traceback(
    results: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.replace("{dir}", str(results)) for a in args]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_explain_lists_keys_and_bridges(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads((results / "summary.json").read_text())
    mid = summary["rule-based"]["LargestGroups"][0]["MatchId"]
    assert main(["explain", str(results), "--match-id", mid, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["MatchId"] == mid and info["KeyGroups"]
    members = set(info["ProfileIds"])
    assert all(set(k["ProfileIds"]) <= members for k in info["KeyGroups"])


def test_non_empty_output_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["preview", RULES, SAMPLE, "--out", str(out), "--json"]) == 2
    assert (out / "keep.txt").read_text() == "mine"
    assert main(["preview", RULES, SAMPLE, "--out", str(out), "--json", "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "manifest.json").is_file()


def test_bad_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"RuleBasedMatching": {"Enabled": true, "MatchingRules": [{"Rule": ["Nope"]}]}}'
    )
    assert main(["preview", str(bad), SAMPLE, "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_send_dlq_delivers_the_guard_messages(tmp_path: Path, aws: Any) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="idres-dlq")["QueueUrl"]
    rows = [{"ProfileId": f"p{i:03d}", "EmailAddress": "noreply@example.com"} for i in range(3)]
    profiles = tmp_path / "p.jsonl"
    profiles.write_text("".join(json.dumps(r) + "\n" for r in rows))
    domain = tmp_path / "d.json"
    domain.write_text(
        json.dumps(
            {
                "DomainName": "dlq",
                "DeadLetterQueueUrl": url,
                "RuleBasedMatching": {
                    "Enabled": True,
                    "MatchingRules": [{"Rule": ["EmailAddress"]}],
                },
            }
        )
    )
    args = ["preview", str(domain), str(profiles), "--out", str(tmp_path / "o"), "--json"]
    args += ["--low-cardinality-limit", "2", "--send-dlq", "--endpoint-url", aws.endpoint]
    assert main(args) == 0
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    bodies = sorted((json.loads(m["Body"]) for m in got), key=lambda b: b["ProfileId"])
    assert [b["ProfileId"] for b in bodies] == ["p000", "p001", "p002"]
    assert bodies[0]["Message"] == (
        "All attributes at rule level 1 are associated with more than 2 records."
    )


def test_send_dlq_without_queue_is_refused(tmp_path: Path) -> None:
    args = ["preview", RULES, SAMPLE, "--out", str(tmp_path / "o"), "--send-dlq"]
    assert main(args) == 2
    assert not (tmp_path / "o").exists()


def test_commands_run_the_rule_based_job_with_the_heap_kept() -> None:
    from idres.cli._common import command_rule_options

    options = command_rule_options(max_group_size=7)
    assert options.keep_heap is True
    assert options.max_group_size == 7
