"""Dead-letter messages of the low-cardinality guard, and sending them to an SQS queue.

The rule-based stage records one message per (profile, rule level) whose attributes are all
low-cardinality in ``DIR/rule-based/dead-letters.jsonl`` (``{"ProfileId","RuleLevel","Message"}``),
whatever the DLQ setting. They stay there unless they are sent with :func:`send_dead_letters`
(``idres send-dlq``) to the domain's ``DeadLetterQueueUrl`` or another queue.

Message body [choice; AWS does not document the shape of this message], compact JSON::

    {"DomainName": "demo", "MatchType": "RULE_BASED_MATCHING", "ProfileId": "p1", "RuleLevel": 2,
     "Message": "All attributes at rule level 2 are associated with more than 500 records."}

Messages go out in ``(ProfileId, RuleLevel)`` order, ten per ``SendMessageBatch`` call; the entry
``Id`` is the message's 0-based position in that order. For a FIFO queue (URL ending ``.fifo``) the
group id is the domain name and the deduplication id the SHA-256 of the body. A refused entry is
reported with its profile, level and the AWS error code; the others are still sent.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from idres.aws import ExportError, aws_error_text, make_client
from idres.errors import InputError, Problem, ResultsError
from idres.schema import PROFILE_ID, RULE_LEVEL

__all__ = [
    "DlqReport",
    "FailedMessage",
    "dead_letter_bodies",
    "read_dead_letters",
    "send_dead_letters",
]

log = logging.getLogger(__name__)

DEAD_LETTERS: Final = "rule-based/dead-letters.jsonl"
BATCH: Final = 10  # SQS SendMessageBatch limit
_SCHEMA: Final = {PROFILE_ID: pl.String, RULE_LEVEL: pl.Int64, "Message": pl.String}
_REGION = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")


def read_dead_letters(results_dir: str | Path) -> pl.DataFrame:
    """The dead-letter messages of a results folder, sorted by ProfileId then RuleLevel.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "rule-based").mkdir()
    >>> msg = "All attributes at rule level 1 are associated with more than 500 records."
    >>> line = '{"ProfileId": "p1", "RuleLevel": 1, "Message": "%s"}' % msg
    >>> _ = (d / DEAD_LETTERS).write_text(line + "\\n")
    >>> read_dead_letters(d).height
    1
    """
    file = Path(results_dir) / DEAD_LETTERS
    if not file.is_file():
        raise ResultsError(
            Problem(str(file), "", "dead-letter file not found (run idres preview first)")
        )
    try:
        frame = pl.read_ndjson(file, schema=_SCHEMA)
    except pl.exceptions.PolarsError as exc:
        raise ResultsError(
            Problem(str(file), "", f"not JSON Lines of dead letters (got {str(exc)[:100]!r})")
        ) from None
    bad = frame.with_row_index("__n", offset=1).filter(
        pl.any_horizontal(pl.exclude("__n").is_null())
    )
    if bad.height:
        raise ResultsError(
            [
                Problem(
                    str(file), f"line {n}", f"needs ProfileId, RuleLevel and Message (got {row!r})"
                )
                for n, row in zip(
                    bad["__n"], bad.drop("__n").head(5).rows(named=True), strict=False
                )
            ]
        )
    return frame.sort(PROFILE_ID, RULE_LEVEL)


def dead_letter_bodies(frame: pl.DataFrame, *, domain_name: str) -> pl.Series:
    """The SQS message body (compact JSON) of each dead letter, in `frame` order.

    >>> f = pl.DataFrame({"ProfileId": ["p1"], "RuleLevel": [2], "Message": ["m"]})
    >>> dead_letter_bodies(f, domain_name="demo")[0]
    '{"DomainName":"demo","MatchType":"RULE_BASED_MATCHING","ProfileId":"p1","RuleLevel":2,"Message":"m"}'
    """
    body = pl.struct(
        pl.lit(domain_name, pl.String).alias("DomainName"),
        pl.lit("RULE_BASED_MATCHING", pl.String).alias("MatchType"),
        pl.col(PROFILE_ID),
        pl.col(RULE_LEVEL),
        pl.col("Message"),
    )
    return frame.select(body.struct.json_encode().alias("Body")).to_series()


@dataclass(frozen=True, slots=True)
class FailedMessage:
    """One message the queue refused."""

    ProfileId: str
    RuleLevel: int
    Code: str
    SenderFault: bool


@dataclass(frozen=True, slots=True)
class DlqReport:
    """What :func:`send_dead_letters` did: messages sent and those refused."""

    queue_url: str
    sent: int
    failed: tuple[FailedMessage, ...] = field(default=())


def _region_of(queue_url: str) -> str | None:
    found = _REGION.match(queue_url)
    return found.group(1) if found else None


def send_dead_letters(
    results_dir: str | Path,
    queue_url: str,
    *,
    domain_name: str,
    endpoint_url: str | None = None,
    sqs_client: Any = None,
) -> DlqReport:
    """Send the dead letters of `results_dir` to the SQS queue `queue_url`, ten per batch.

    A failure of a whole call (queue missing, access denied, endpoint unreachable) raises
    :class:`idres.aws.ExportError` naming the queue and how many were sent before; entries the
    queue refuses one by one are returned in the report.
    """
    if not re.match(r"^https?://", queue_url or ""):
        raise InputError(
            Problem(None, "queue-url", f"must be an SQS queue URL (got {queue_url!r})")
        )
    frame = read_dead_letters(results_dir)
    bodies = dead_letter_bodies(frame, domain_name=domain_name)
    fifo = queue_url.endswith(".fifo")
    client = sqs_client or make_client(
        "sqs", endpoint_url=endpoint_url, region=_region_of(queue_url)
    )
    failed: list[FailedMessage] = []
    sent = 0
    for start in range(0, frame.height, BATCH):
        chunk = bodies.slice(start, BATCH).to_list()
        entries = [{"Id": str(start + i), "MessageBody": body} for i, body in enumerate(chunk)]
        if fifo:
            for entry in entries:
                digest = hashlib.sha256(entry["MessageBody"].encode()).hexdigest()
                entry |= {"MessageGroupId": domain_name, "MessageDeduplicationId": digest}
        try:
            response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:
            raise ExportError(
                Problem(
                    queue_url,
                    "",
                    f"{aws_error_text(exc, endpoint_url)}; {sent} of {frame.height} message(s) "
                    "were sent before the failure",
                )
            ) from None
        sent += len(response.get("Successful", []))
        for item in response.get("Failed", []):
            row = frame.row(int(item["Id"]), named=True)
            failed.append(
                FailedMessage(
                    row[PROFILE_ID],
                    row[RULE_LEVEL],
                    str(item.get("Code")),
                    bool(item.get("SenderFault")),
                )
            )
    log.info("sent %d dead letter(s) to %s, %d refused", sent, queue_url, len(failed))
    return DlqReport(queue_url, sent, tuple(failed))
