"""The edge to AWS and to the local disk: clients, error text, and object sinks.

:func:`make_client` builds a boto3 client from the standard AWS credential chain (against any S3 /
SQS API endpoint); :func:`aws_error_text` turns a failure into one line that never includes
credentials: only the AWS error code, the HTTP status and the operation are quoted, never the
server's message text. :class:`Destination` is where an export goes (an S3 bucket and key prefix,
or a local folder); :class:`LocalSink` and :class:`S3Sink` write whole objects below it (local
files through :func:`idres.atomic.atomic_file`, one PutObject each) and :func:`rollback` deletes
what a failed run wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from idres.atomic import atomic_file
from idres.errors import InputError, Problem

__all__ = [
    "Destination",
    "ExportError",
    "LocalSink",
    "S3Sink",
    "Sink",
    "aws_error_text",
    "make_client",
    "rollback",
]

_MAX_KEY_BYTES: Final = 1024


class ExportError(InputError):
    """An export or a send to AWS (S3, SQS) that failed; names the bucket and key or the queue."""


_CODE_TEXT: Final = {
    "NoSuchBucket": "bucket does not exist",
    "AccessDenied": "access denied",
    "AllAccessDisabled": "access denied",
    "InvalidAccessKeyId": "the access key id is not known to the endpoint",
    "SignatureDoesNotMatch": "request signature rejected (wrong secret access key?)",
    "InvalidClientTokenId": "the access key id is not known to the endpoint",
    "ExpiredToken": "the session token has expired",
    "AWS.SimpleQueueService.NonExistentQueue": "queue does not exist",
    "QueueDoesNotExist": "queue does not exist",
}


def make_client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client using the standard AWS credential chain, against `endpoint_url` when given.

    [choice] Region: `region`, else the configured one, else ``us-east-1``; short timeouts and
    three attempts so an unreachable endpoint fails within seconds.
    """
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(
        connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3}
    )
    try:
        return session.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region or session.region_name or "us-east-1",
            config=config,
        )
    except ValueError:
        raise InputError(
            Problem(None, "endpoint-url", f"not a valid endpoint URL (got {endpoint_url!r})")
        ) from None


def aws_error_text(exc: BaseException, endpoint_url: str | None = None) -> str:
    """A one-line description of a boto3/botocore failure that never includes credentials.

    Only the AWS error code, the HTTP status and the operation are quoted, never the server's text.

    >>> aws_error_text(OSError(28, "No space left on device"))
    'OSError: [Errno 28] No space left on device'
    """
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        text = _CODE_TEXT.get(code)
        if text is None and exc.operation_name == "HeadBucket" and status == 404:
            text, code = "bucket does not exist", "NoSuchBucket"
        text = text or {403: "access denied", 404: "not found"}.get(status or 0, "request refused")
        return f"{text} ({code}, HTTP {status}, {exc.operation_name})"
    if isinstance(exc, bx.NoCredentialsError):
        return (
            "no AWS credentials found (standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE and ~/.aws files, SSO, instance or container role)"
        )
    if isinstance(
        exc,
        bx.EndpointConnectionError
        | bx.ConnectTimeoutError
        | bx.ReadTimeoutError
        | bx.ConnectionClosedError,
    ):
        where = endpoint_url or getattr(exc, "kwargs", {}).get("endpoint_url") or "the AWS endpoint"
        return f"cannot reach {where} ({type(exc).__name__})"
    if isinstance(exc, bx.BotoCoreError):
        return f"AWS client error ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected failure ({type(exc).__name__})"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an export goes: an S3 bucket and key prefix, or a local folder (``bucket`` None)."""

    bucket: str | None
    prefix: str
    folder: Path | None = None

    def url(self, key: str) -> str:
        """The printable location of `key` (relative to the prefix)."""
        full = "/".join(p for p in (self.prefix, key) if p)
        if self.bucket is None:
            assert self.folder is not None
            return str(self.folder / full)
        return f"s3://{self.bucket}/{full}"


class LocalSink:
    """Objects as files below a local folder; a key may not leave it."""

    def __init__(self, dest: Destination) -> None:
        assert dest.folder is not None
        self.dest = dest
        self.root = dest.folder.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise InputError(Problem(None, "key", f"leaves the destination folder (got {key!r})"))
        return path

    def check(self, keys: Sequence[str]) -> list[str]:
        return [k for k in keys if self._path(k).exists()]

    def put(self, key: str, data: bytes) -> None:
        with atomic_file(self._path(key)) as tmp:
            tmp.write_bytes(data)

    def delete(self, keys: Sequence[str]) -> list[str]:
        failed = []
        for key in keys:
            try:
                self._path(key).unlink(missing_ok=True)
            except OSError:
                failed.append(key)
        return failed


class S3Sink:
    """Objects in an S3 bucket below the destination's key prefix (keys of at most 1024 bytes)."""

    def __init__(self, dest: Destination, client: Any) -> None:
        self.dest = dest
        self.client = client
        self.bucket = dest.bucket

    def full(self, key: str) -> str:
        return "/".join(p for p in (self.dest.prefix, key) if p)

    def check(self, keys: Sequence[str]) -> list[str]:
        from botocore.exceptions import ClientError

        too_long = [k for k in keys if len(self.full(k).encode()) > _MAX_KEY_BYTES]
        if too_long:
            raise InputError(
                Problem(
                    self.dest.url(too_long[0]), "", f"S3 keys are at most {_MAX_KEY_BYTES} bytes"
                )
            )
        self.client.head_bucket(Bucket=self.bucket)
        existing = []
        for key in keys:
            try:
                self.client.head_object(Bucket=self.bucket, Key=self.full(key))
                existing.append(key)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) not in {
                    "404",
                    "NoSuchKey",
                    "NotFound",
                }:
                    raise
        return existing

    def put(self, key: str, data: bytes) -> None:
        content_type = "application/x-ndjson" if key.endswith(".jsonl") else "application/json"
        self.client.put_object(
            Bucket=self.bucket, Key=self.full(key), Body=data, ContentType=content_type
        )

    def delete(self, keys: Sequence[str]) -> list[str]:
        if not keys:
            return []
        try:
            response = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self.full(k)} for k in keys], "Quiet": True},
            )
        except Exception:
            return list(keys)
        errors = {e.get("Key") for e in response.get("Errors", [])}
        return [k for k in keys if self.full(k) in errors]


Sink = LocalSink | S3Sink


def rollback(sink: Sink, written: Iterable[str]) -> str:
    """Delete the `written` keys; say what was removed, or what is left to delete by hand."""
    keys = list(written)
    if not keys:
        return "nothing was written"
    left = sink.delete(keys)
    if not left:
        return f"removed the {len(keys)} object(s) this run had already written"
    return (
        "could not remove " + ", ".join(sink.dest.url(k) for k in left) + " (delete them by hand)"
    )
