"""Merge-plan replay: checked MergeProfiles requests and `idres merge-plan` output (idres.replay)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idres.errors import InputError, ResultsError
from idres.replay import MAX_PER_REQUEST, chunk_request, read_merge_plan


def pid(i: int) -> str:
    return f"{i:032x}"


def merge_profiles_shape() -> Any:
    import botocore.session

    session = botocore.session.get_session()
    return (
        session.get_service_model("customer-profiles").operation_model("MergeProfiles").input_shape
    )


def assert_valid_for_botocore(requests: list[dict[str, Any]]) -> None:
    from botocore.validate import ParamValidator

    shape = merge_profiles_shape()
    for request in requests:
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), report.generate_report()
        assert 1 <= len(request["ProfileIdsToBeMerged"]) <= 20


BIG = {
    "DomainName": "demo",
    "MainProfileId": pid(0),
    "ProfileIdsToBeMerged": [pid(i) for i in range(1, 46)],
    "FieldSourceProfileIds": {
        "FirstName": pid(30),
        "LastName": pid(0),
        "EmailAddress": pid(2),
        "Attributes": {"LoyaltyId": pid(45), "Tier": pid(0)},
    },
}
SMALL = {"DomainName": "demo", "MainProfileId": pid(100), "ProfileIdsToBeMerged": [pid(101)]}
ODD = {
    "DomainName": "demo",
    "MainProfileId": "it's $HOME",
    "ProfileIdsToBeMerged": ['p "2"'],
    "FieldSourceProfileIds": {"FirstName": 'p "2"'},
}


def make_results(root: Path, requests: list[dict[str, Any]], job: str = "rule-based") -> Path:
    (root / job).mkdir(parents=True, exist_ok=True)
    (root / job / "merge-plan.json").write_text(json.dumps({"Requests": requests}))
    return root


def test_big_request_is_split_to_twenty_and_fits_botocore(tmp_path: Path) -> None:
    requests = read_merge_plan(make_results(tmp_path, [BIG, SMALL]))
    assert [len(r["ProfileIdsToBeMerged"]) for r in requests] == [20, 20, 5, 1]
    assert_valid_for_botocore(requests)
    assert {r["MainProfileId"] for r in requests[:3]} == {pid(0)}
    assert [r["FieldSourceProfileIds"] for r in requests[:3]] == [
        {"LastName": pid(0), "EmailAddress": pid(2), "Attributes": {"Tier": pid(0)}},
        {"FirstName": pid(30)},
        {"Attributes": {"LoyaltyId": pid(45)}},
    ]
    assert "FieldSourceProfileIds" not in requests[3]


@given(
    n=st.integers(1, 70),
    fields=st.dictionaries(
        st.sampled_from(["FirstName", "LastName", "BirthDate", "Address", "PhoneNumber"]),
        st.integers(0, 70),
    ),
)
def test_chunking_keeps_every_id_and_field_source(n: int, fields: dict[str, int]) -> None:
    request = {
        "DomainName": "d",
        "MainProfileId": pid(0),
        "ProfileIdsToBeMerged": [pid(i) for i in range(1, n + 1)],
        "FieldSourceProfileIds": {k: pid(min(v, n)) for k, v in fields.items()},
    }
    parts = chunk_request(request)
    assert [i for p in parts for i in p["ProfileIdsToBeMerged"]] == request["ProfileIdsToBeMerged"]
    assert all(len(p["ProfileIdsToBeMerged"]) <= MAX_PER_REQUEST for p in parts)
    merged: dict[str, str] = {}
    for part in parts:
        allowed = {part["MainProfileId"], *part["ProfileIdsToBeMerged"]}
        assert set(part["FieldSourceProfileIds"].values()) <= allowed
        merged |= part["FieldSourceProfileIds"]
    assert merged == request["FieldSourceProfileIds"]


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        pytest.param({"DomainName": "demo", "ProfileIdsToBeMerged": [pid(1)]}, "Missing required parameter", id="no-main"),
        pytest.param(SMALL | {"FieldSourceProfileIds": {"Nickname": pid(101)}}, "Unknown parameter", id="unknown-field"),
        pytest.param(SMALL | {"FieldSourceProfileIds": {"FirstName": pid(7)}}, "not one of the merged", id="foreign-source"),
        pytest.param(SMALL | {"ProfileIdsToBeMerged": [pid(100)]}, "main profile", id="main-merged-into-itself"),
        pytest.param(SMALL | {"ProfileIdsToBeMerged": [pid(1), pid(1)]}, "twice", id="duplicate-id"),
        pytest.param(SMALL | {"DomainName": "my domain"}, "DomainName", id="bad-domain"),
        pytest.param(SMALL | {"ProfileIdsToBeMerged": []}, "valid min length: 1", id="nothing-to-merge"),
    ],
)  # fmt: skip
def test_bad_requests_are_reported_with_their_index(
    tmp_path: Path, request_: dict[str, Any], words: str
) -> None:
    with pytest.raises(InputError, match=words) as caught:
        read_merge_plan(make_results(tmp_path, [SMALL, request_]))
    assert all(p.location.startswith("Requests[1]") for p in caught.value.problems)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("{", id="bad-json"),
        pytest.param('{"Requests": {}}', id="not-a-list"),
        pytest.param("[]", id="no-requests"),
    ],
)
def test_bad_plan_files(tmp_path: Path, content: str) -> None:
    (tmp_path / "rule-based").mkdir()
    (tmp_path / "rule-based" / "merge-plan.json").write_text(content)
    with pytest.raises(ResultsError, match="not a merge plan"):
        read_merge_plan(tmp_path)


# -- CLI --------------------------------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from idres.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_format_prints_one_quoted_command_per_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = make_results(tmp_path / "r", [BIG, SMALL, ODD])
    code, out, err = run(["merge-plan", str(results), "--format", "cli"], capsys)
    assert code == 0
    expected = read_merge_plan(results)
    lines = out.splitlines()
    assert len(lines) == len(expected) == 5
    for line, request in zip(lines, expected, strict=True):
        words = shlex.split(line)
        assert words[:4] == ["aws", "customer-profiles", "merge-profiles", "--cli-input-json"]
        assert len(words) == 5
        assert json.loads(words[4]) == request
    assert "not 32 hex characters" in err  # ODD's ids would be refused by AWS


def test_cli_json_format_and_other_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = make_results(tmp_path / "r", [BIG], job="ml")
    argv = ["merge-plan", str(results), "--format", "json", "--job", "ml", "--domain-name", "prod"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    requests = [json.loads(line) for line in out.splitlines()]
    assert len(requests) == 3 and {r["DomainName"] for r in requests} == {"prod"}
    assert_valid_for_botocore(requests)


def test_cli_writes_request_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = make_results(tmp_path / "r", [BIG, SMALL])
    out_dir = tmp_path / "requests"
    code, out, _ = run(["merge-plan", str(results), "--out", str(out_dir)], capsys)
    assert code == 0
    files = sorted(out_dir.iterdir())
    assert [f.name for f in files] == [f"merge-profiles-0000{i}.json" for i in range(1, 5)]
    assert [json.loads(f.read_text()) for f in files] == read_merge_plan(results)
    assert shlex.split(out.splitlines()[0])[-1] == f"file://{files[0].resolve()}"
    code, _, err = run(["merge-plan", str(results), "--out", str(out_dir)], capsys)
    assert code == 2 and "--force" in err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--job", "ml"], id="missing-plan"),
        pytest.param(
            ["--format", "yaml"],
            id="bad-format",
        ),
    ],
)
def test_cli_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    results = make_results(tmp_path / "r", [SMALL])
    code, _, _ = run(["merge-plan", str(results), *argv], capsys)
    assert code == 2
