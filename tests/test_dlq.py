"""Dead letters of the low-cardinality guard and sending them to a real SQS API (idres.dlq)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from idres.aws import ExportError
from idres.dlq import dead_letter_bodies, read_dead_letters, send_dead_letters
from idres.errors import InputError, ResultsError


def message(level: int) -> str:
    return f"All attributes at rule level {level} are associated with more than 500 records."


def make_results(root: Path, n: int) -> Path:
    """A results folder with `n` dead letters, written in reverse order."""
    (root / "rule-based").mkdir(parents=True)
    rows = [
        {"ProfileId": f"p{i:03d}", "RuleLevel": 1 + i % 3, "Message": message(1 + i % 3)}
        for i in reversed(range(n))
    ]
    (root / "rule-based" / "dead-letters.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    return root


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return make_results(tmp_path / "results", 23)


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return sorted(bodies, key=lambda b: (b["ProfileId"], b["RuleLevel"]))
        bodies += [json.loads(m["Body"]) for m in got["Messages"]]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(got["Messages"])
            ],
        )


def test_read_sorts_by_profile_and_level(results: Path) -> None:
    frame = read_dead_letters(results)
    assert frame.height == 23
    assert frame["ProfileId"].to_list() == sorted(frame["ProfileId"].to_list())


def test_body_shape_carries_the_aws_message() -> None:
    frame = pl.DataFrame({"ProfileId": ["p1"], "RuleLevel": [3], "Message": [message(3)]})
    body = json.loads(dead_letter_bodies(frame, domain_name="demo")[0])
    assert body == {
        "DomainName": "demo",
        "MatchType": "RULE_BASED_MATCHING",
        "ProfileId": "p1",
        "RuleLevel": 3,
        "Message": "All attributes at rule level 3 are associated with more than 500 records.",
    }


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(None, "not found", id="missing-file"),
        pytest.param('{"ProfileId": "p1"\n', "not JSON Lines", id="bad-json"),
        pytest.param('{"ProfileId": "p1", "RuleLevel": 1}\n', "line 1", id="no-message"),
    ],
)
def test_bad_dead_letter_files(tmp_path: Path, content: str | None, words: str) -> None:
    (tmp_path / "rule-based").mkdir()
    if content is not None:
        (tmp_path / "rule-based" / "dead-letters.jsonl").write_text(content)
    with pytest.raises(ResultsError, match=words):
        read_dead_letters(tmp_path)


def test_send_to_a_real_queue_and_receive_back(aws: Any, results: Path) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="idres-dlq")["QueueUrl"]
    calls: list[int] = []
    real = sqs.send_message_batch

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["Entries"]))
        return real(**kwargs)

    sqs.send_message_batch = counting  # type: ignore[method-assign]
    report = send_dead_letters(results, url, domain_name="demo", sqs_client=sqs)
    assert (report.sent, report.failed) == (23, ())
    assert calls == [10, 10, 3]
    received = receive_all(aws.client("sqs"), url)
    expected = read_dead_letters(results).to_dicts()
    assert [{k: b[k] for k in ("ProfileId", "RuleLevel", "Message")} for b in received] == expected
    assert {b["DomainName"] for b in received} == {"demo"}


def test_send_through_endpoint_url_to_a_fifo_queue(aws: Any, results: Path) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="idres-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    report = send_dead_letters(results, url, domain_name="demo", endpoint_url=aws.endpoint)
    assert report.sent == 23
    assert len(receive_all(sqs, url)) == 23


def test_refused_entries_are_reported_one_by_one(aws: Any, results: Path) -> None:
    """moto never refuses single entries, so a wrapper refuses two (the rest really go out)."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    real = sqs.send_message_batch

    def refusing(**kwargs: Any) -> Any:
        keep = [e for e in kwargs["Entries"] if e["Id"] not in {"4", "17"}]
        response = real(QueueUrl=kwargs["QueueUrl"], Entries=keep)
        refused = [e for e in kwargs["Entries"] if e not in keep]
        response["Failed"] = [
            {"Id": e["Id"], "Code": "InvalidMessageContents", "SenderFault": True} for e in refused
        ]
        return response

    sqs.send_message_batch = refusing  # type: ignore[method-assign]
    report = send_dead_letters(results, url, domain_name="demo", sqs_client=sqs)
    frame = read_dead_letters(results)
    assert report.sent == 21
    assert [(f.ProfileId, f.RuleLevel, f.Code) for f in report.failed] == [
        (frame["ProfileId"][i], frame["RuleLevel"][i], "InvalidMessageContents") for i in (4, 17)
    ]
    assert len(receive_all(sqs, url)) == 21


def test_no_dead_letters_sends_nothing(aws: Any, tmp_path: Path) -> None:
    results = make_results(tmp_path / "r", 0)
    url = aws.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    assert send_dead_letters(results, url, domain_name="demo", endpoint_url=aws.endpoint).sent == 0


def test_missing_queue_names_the_queue(aws: Any, results: Path) -> None:
    url = f"{aws.endpoint}/123456789012/no-such-queue"
    with pytest.raises(ExportError) as caught:
        send_dead_letters(results, url, domain_name="demo", endpoint_url=aws.endpoint)
    assert url in str(caught.value)
    assert "queue does not exist" in str(caught.value)
    assert "0 of 23 message(s) were sent" in str(caught.value)


def test_unreachable_endpoint(aws_env: None, results: Path, closed_endpoint: str) -> None:
    url = f"{closed_endpoint}/123456789012/q"
    with pytest.raises(ExportError, match="cannot reach"):
        send_dead_letters(results, url, domain_name="demo", endpoint_url=closed_endpoint)


def test_not_a_queue_url(results: Path) -> None:
    with pytest.raises(InputError, match="queue-url"):
        send_dead_letters(results, "my-queue", domain_name="demo")


# -- CLI --------------------------------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from idres.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_send_dlq_to_the_configured_queue(
    aws: Any, results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    domain = tmp_path / "domain.json"
    domain.write_text(json.dumps({"DomainName": "prod", "DeadLetterQueueUrl": url}))
    code, out, _ = run(
        ["send-dlq", str(results), "--domain", str(domain), "--endpoint-url", aws.endpoint], capsys
    )
    assert code == 0
    assert "sent 23 dead letter(s)" in out
    assert {b["DomainName"] for b in receive_all(sqs, url)} == {"prod"}


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([], id="no-queue"),
        pytest.param(["--queue-url", "http://127.0.0.1:1/0/q"], id="unreachable"),
    ],
)
def test_cli_send_dlq_errors_exit_2(
    aws_env: None, results: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, _, err = run(
        ["send-dlq", str(results), *extra, "--endpoint-url", "http://127.0.0.1:1"], capsys
    )
    assert code == 2
    assert err.startswith("error:")
