"""Export of match groups to a local folder and to a real S3 API (moto server) (idres.export)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idres.aws import ExportError
from idres.errors import InputError, ResultsError
from idres.export import (
    destinations_from_config,
    export_objects,
    export_results,
    parse_destination,
)

RULE_GROUPS = [
    {"MatchId": "0" * 32, "ProfileIds": ["p1", "p2"], "RuleLevel": 1},
    {"MatchId": "1" * 32, "ProfileIds": ["p3", "p4", "p5"], "RuleLevel": 2},
]
ML_MATCHES = [
    {"MatchId": "a" * 32, "ProfileIds": ["p1", "p2"], "ConfidenceScore": 0.97},
    {"MatchId": "b" * 32, "ProfileIds": ["p6", "p7"], "ConfidenceScore": 0.5},
]
RB_DIR = "demo/rule-based/2024-06-01"
ML_DIR = "demo/job-1"
ALL_KEYS = [
    f"{RB_DIR}/matches.jsonl",
    f"{ML_DIR}/matches.jsonl",
    f"{RB_DIR}/manifest.json",
    f"{ML_DIR}/manifest.json",
]


def make_results(root: Path, rule_groups: list[dict[str, Any]] = RULE_GROUPS) -> Path:
    """A hand-built results folder (the layout of docs/DESIGN.md, only what export reads)."""
    (root / "rule-based").mkdir(parents=True)
    (root / "ml").mkdir()
    lines = "".join(json.dumps(g) + "\n" for g in rule_groups)
    (root / "rule-based" / "matches.jsonl").write_text(lines)
    get_matches = {"MatchGenerationDate": "2024-06-01T00:00:00Z", "PotentialMatches": 2}
    (root / "ml" / "matches.json").write_text(json.dumps(get_matches | {"Matches": ML_MATCHES}))
    (root / "ml" / "job.json").write_text(json.dumps({"JobId": "job-1", "Status": "COMPLETED"}))
    manifest = {"DomainName": "from-manifest", "CreatedAt": "2024-06-01T10:00:00Z"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return make_results(tmp_path / "results")


def lines_of(data: bytes) -> list[dict[str, Any]]:
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line) for line in data.decode().split("\n")[:-1]]  # not splitlines: U+0085


# -- local ------------------------------------------------------------------------------------


def test_local_layout_and_content(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = export_results(results, out, domain_name="demo")
    assert [Path(p).relative_to(out).as_posix() for p in written] == ALL_KEYS
    assert lines_of((out / RB_DIR / "matches.jsonl").read_bytes()) == RULE_GROUPS
    assert lines_of((out / ML_DIR / "matches.jsonl").read_bytes()) == ML_MATCHES
    manifest = json.loads((out / ML_DIR / "manifest.json").read_text())
    data = (out / ML_DIR / "matches.jsonl").read_bytes()
    assert manifest["Files"] == [
        {"Name": "matches.jsonl", "Bytes": len(data), "SHA256": hashlib.sha256(data).hexdigest()}
    ]
    assert (manifest["DomainName"], manifest["JobId"], manifest["MatchGroups"]) == (
        "demo",
        "job-1",
        2,
    )
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_local_export_refuses_existing_files_unless_forced(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_results(results, out, domain_name="demo", jobs=["ml"])
    before = (out / ML_DIR / "matches.jsonl").read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        export_results(results, out, domain_name="demo")
    assert not (out / RB_DIR).exists()  # nothing written by the refused run
    export_results(results, out, domain_name="demo", force=True)
    assert (out / ML_DIR / "matches.jsonl").read_bytes() == before


def test_options_override_job_id_and_date(results: Path) -> None:
    keys = [k for k, _ in export_objects(results, domain_name="d", job_id="j9", date="2023-01-02")]
    assert keys[:2] == ["d/rule-based/2023-01-02/matches.jsonl", "d/j9/matches.jsonl"]


def test_export_is_deterministic_whatever_the_run(results: Path) -> None:
    first = export_objects(results, domain_name="demo")
    assert export_objects(results, domain_name="demo") == first


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    groups=st.lists(
        st.fixed_dictionaries(
            {
                "MatchId": st.text("0123456789abcdef", min_size=32, max_size=32),
                "ProfileIds": st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4),
                "RuleLevel": st.integers(1, 15),
            }
        ),
        max_size=8,
    )
)
def test_rule_based_groups_round_trip(
    tmp_path_factory: pytest.TempPathFactory, groups: list[dict[str, Any]]
) -> None:
    root = make_results(tmp_path_factory.mktemp("r") / "results", groups)
    data = dict(export_objects(root, domain_name="demo", jobs=["rule-based"]))
    assert lines_of(data[f"{RB_DIR}/matches.jsonl"]) == groups


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        pytest.param({"domain_name": ".."}, "DomainName", id="dotdot-domain"),
        pytest.param({"domain_name": "a/b"}, "DomainName", id="slash-domain"),
        pytest.param({"domain_name": "a\\b"}, "DomainName", id="backslash-domain"),
        pytest.param({"domain_name": "demo", "job_id": "../x"}, "JobId", id="dotdot-job"),
        pytest.param({"domain_name": "demo", "job_id": "/etc"}, "JobId", id="absolute-job"),
        pytest.param({"domain_name": "demo", "date": "../../x"}, "date", id="bad-date"),
    ],
)
def test_escaping_key_parts_are_refused(
    results: Path, tmp_path: Path, kwargs: dict[str, Any], words: str
) -> None:
    with pytest.raises(InputError, match=words):
        export_results(results, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "destination",
    [
        pytest.param("s3://bkt/../up", id="dotdot"),
        pytest.param("s3://bkt//abs", id="absolute"),
        pytest.param("s3://bkt/a\\b", id="backslash"),
        pytest.param("s3://bkt/a/./b", id="dot"),
        pytest.param("s3://Bad_Bucket/x", id="bucket-name"),
        pytest.param("gs://bkt/x", id="other-scheme"),
    ],
)
def test_bad_destinations_are_refused(destination: str) -> None:
    with pytest.raises(InputError, match="destination"):
        parse_destination(destination)


def test_destinations_from_a_real_config() -> None:
    from idres.config import parse_domain

    exporting = {"S3Exporting": {"S3BucketName": "ml-bkt", "S3KeyName": "ir/ml"}}
    config = parse_domain(
        {
            "Matching": {"Enabled": True, "ExportingConfig": exporting},
            "RuleBasedMatching": {
                "Enabled": True,
                "MatchingRules": [{"Rule": ["EmailAddress"]}],
                "ExportingConfig": {"S3Exporting": {"S3BucketName": "rb-bkt"}},
            },
        }
    )
    assert destinations_from_config(config) == {
        "rule-based": "s3://rb-bkt",
        "ml": "s3://ml-bkt/ir/ml",
    }
    assert destinations_from_config(parse_domain({})) == {}


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        pytest.param(lambda r: (r / "rule-based" / "matches.jsonl").write_text('{"MatchId":\n'), "not JSON Lines", id="bad-jsonl"),
        pytest.param(lambda r: (r / "rule-based" / "matches.jsonl").write_text('{"MatchId":"m","ProfileIds":[]}\n'), "line 1", id="incomplete-group"),
        pytest.param(lambda r: (r / "ml" / "matches.json").write_text("{}"), "GetMatches", id="not-get-matches"),
        pytest.param(lambda r: (r / "ml" / "job.json").unlink(), "--job-id", id="no-job-id"),
    ],
)  # fmt: skip
def test_bad_results_folders(results: Path, tmp_path: Path, damage: Any, words: str) -> None:
    damage(results)
    with pytest.raises(ResultsError, match=words):
        export_results(results, tmp_path / "out", domain_name="demo")
    assert not (tmp_path / "out").exists()


def test_missing_results_folder(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not found"):
        export_results(tmp_path / "nope", tmp_path / "out", domain_name="demo")


# -- S3 (moto server) -------------------------------------------------------------------------


def bucket_keys(aws: Any, bucket: str) -> list[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_s3_layout_and_content_match_the_local_export(
    aws: Any, results: Path, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="exports")
    written = export_results(
        results, "s3://exports/ir/prefix/", domain_name="demo", endpoint_url=aws.endpoint
    )
    assert written == [f"s3://exports/ir/prefix/{k}" for k in ALL_KEYS]
    assert bucket_keys(aws, "exports") == sorted(f"ir/prefix/{k}" for k in ALL_KEYS)
    export_results(results, tmp_path / "local", domain_name="demo")
    for key in ALL_KEYS:
        body = s3.get_object(Bucket="exports", Key=f"ir/prefix/{key}")["Body"].read()
        assert body == (tmp_path / "local" / key).read_bytes()
    assert (
        lines_of(
            s3.get_object(Bucket="exports", Key=f"ir/prefix/{ML_DIR}/matches.jsonl")["Body"].read()
        )
        == ML_MATCHES
    )


def test_s3_export_to_bucket_root_with_a_given_client(aws: Any, results: Path) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="root-bkt")
    export_results(results, "s3://root-bkt", domain_name="demo", s3_client=s3, jobs=["rule-based"])
    assert bucket_keys(aws, "root-bkt") == [f"{RB_DIR}/manifest.json", f"{RB_DIR}/matches.jsonl"]


def test_s3_existing_objects_refused_unless_forced(aws: Any, results: Path) -> None:
    aws.client("s3").create_bucket(Bucket="exports")
    export_results(results, "s3://exports/x", domain_name="demo", endpoint_url=aws.endpoint)
    with pytest.raises(ExportError, match=r"s3://exports/x/demo/.*already exists"):
        export_results(results, "s3://exports/x", domain_name="demo", endpoint_url=aws.endpoint)
    export_results(
        results, "s3://exports/x", domain_name="demo", endpoint_url=aws.endpoint, force=True
    )


def test_missing_bucket_names_bucket_and_key_and_writes_nothing(aws: Any, results: Path) -> None:
    with pytest.raises(ExportError) as caught:
        export_results(
            results, "s3://no-such-bucket/pre", domain_name="demo", endpoint_url=aws.endpoint
        )
    message = str(caught.value)
    assert f"s3://no-such-bucket/pre/{RB_DIR}/matches.jsonl" in message
    assert "bucket does not exist" in message and "nothing was written" in message
    assert aws.client("s3").list_buckets()["Buckets"] == []


def test_unreachable_endpoint_fails_fast(
    aws_env: None, results: Path, closed_endpoint: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ExportError) as caught:
        export_results(results, "s3://bkt/pre", domain_name="demo", endpoint_url=closed_endpoint)
    assert f"cannot reach {closed_endpoint}" in str(caught.value)
    assert "s3://bkt/pre/demo/" in str(caught.value)
    assert time.monotonic() - started < 20


ALLOW_ALL = {
    "Effect": "Allow",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::exports", "arn:aws:s3:::exports/*"],
}


def test_denied_manifest_rolls_back_what_was_uploaded(
    aws: Any, iam_user: Any, results: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="exports")
    deny = {
        "Effect": "Deny",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::exports/*/manifest.json",
    }
    keys = iam_user("writer", {"Version": "2012-10-17", "Statement": [ALLOW_ALL, deny]})
    aws.enforce_auth(True)
    with pytest.raises(ExportError) as caught:
        export_results(
            results, "s3://exports/p", domain_name="demo", s3_client=aws.client("s3", **keys)
        )
    message = str(caught.value)
    assert f"s3://exports/p/{RB_DIR}/manifest.json" in message
    assert "access denied (AccessDenied" in message
    assert "removed the 2 object(s)" in message
    aws.enforce_auth(False)
    assert bucket_keys(aws, "exports") == []


def test_denied_write_leaves_nothing(aws: Any, iam_user: Any, results: Path) -> None:
    aws.client("s3").create_bucket(Bucket="exports")
    read_only = {
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:GetObject"],
        "Resource": ALLOW_ALL["Resource"],
    }
    keys = iam_user("reader", {"Version": "2012-10-17", "Statement": [read_only]})
    aws.enforce_auth(True)
    with pytest.raises(ExportError, match=r"access denied .*nothing was written"):
        export_results(
            results, "s3://exports/p", domain_name="demo", s3_client=aws.client("s3", **keys)
        )
    aws.enforce_auth(False)
    assert bucket_keys(aws, "exports") == []


def test_bad_secret_is_never_printed_or_logged(
    aws: Any, iam_user: Any, results: Path, caplog: pytest.LogCaptureFixture
) -> None:
    aws.client("s3").create_bucket(Bucket="exports")
    keys = iam_user("writer", {"Version": "2012-10-17", "Statement": [ALLOW_ALL]})
    wrong = "WrongSecret/" + keys["aws_secret_access_key"][::-1]
    aws.enforce_auth(True)
    client = aws.client(
        "s3", aws_access_key_id=keys["aws_access_key_id"], aws_secret_access_key=wrong
    )
    with caplog.at_level("DEBUG", logger="idres"), pytest.raises(ExportError) as caught:
        export_results(results, "s3://exports/p", domain_name="demo", s3_client=client)
    message = str(caught.value)
    assert "access denied" in message and "s3://exports/p/demo/" in message
    for secret in (wrong, keys["aws_secret_access_key"]):
        assert secret not in message
        assert secret not in caplog.text


# -- CLI --------------------------------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from idres.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_export_to_s3_prints_locations(
    aws: Any, results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.client("s3").create_bucket(Bucket="exports")
    argv = [
        "export",
        str(results),
        "--to",
        "s3://exports/cli",
        "--domain-name",
        "demo",
        "--endpoint-url",
        aws.endpoint,
    ]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out.splitlines() == [f"s3://exports/cli/{k}" for k in ALL_KEYS]


def test_cli_export_to_config_destinations(
    aws: Any, results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="ml-bkt")
    s3.create_bucket(Bucket="rb-bkt")
    domain = tmp_path / "domain.json"
    domain.write_text(
        json.dumps(
            {
                "DomainName": "demo",
                "Matching": {
                    "Enabled": True,
                    "ExportingConfig": {
                        "S3Exporting": {"S3BucketName": "ml-bkt", "S3KeyName": "ir"}
                    },
                },
                "RuleBasedMatching": {
                    "Enabled": True,
                    "MatchingRules": [{"Rule": ["EmailAddress"]}],
                    "ExportingConfig": {"S3Exporting": {"S3BucketName": "rb-bkt"}},
                },
            }
        )
    )
    code, _, _ = run(
        ["export", str(results), "--domain", str(domain), "--endpoint-url", aws.endpoint], capsys
    )
    assert code == 0
    assert bucket_keys(aws, "ml-bkt") == [
        f"ir/{ML_DIR}/manifest.json",
        f"ir/{ML_DIR}/matches.jsonl",
    ]
    assert bucket_keys(aws, "rb-bkt") == [f"{RB_DIR}/manifest.json", f"{RB_DIR}/matches.jsonl"]


def test_cli_export_domain_name_defaults_to_the_manifest(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["export", str(results), "--to", str(tmp_path / "o"), "--job", "ml"], capsys)
    assert code == 0
    assert out.splitlines()[0] == str(tmp_path / "o" / "from-manifest" / "job-1" / "matches.jsonl")


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([], id="no-destination"),
        pytest.param(["--to", "s3://exports/../x"], id="escaping-prefix"),
        pytest.param(["--to", "s3://missing-bucket/x"], id="missing-bucket"),
    ],
)
def test_cli_export_errors_exit_2(
    aws: Any, results: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, out, err = run(["export", str(results), "--endpoint-url", aws.endpoint, *extra], capsys)
    assert code == 2
    assert err.startswith("error:") and out == ""
