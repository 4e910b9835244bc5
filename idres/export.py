"""Export match groups to a local folder or any S3 API endpoint, in the layout of SPEC §7.

Layout below the destination root (``s3://bucket/S3KeyName`` or a local folder)::

    {DomainName}/{JobId}/matches.jsonl              ML job: one match group a line
    {DomainName}/{JobId}/manifest.json              written last: files, sizes, sha256, group count
    {DomainName}/rule-based/{date}/matches.jsonl    rule-based: one match group a line
    {DomainName}/rule-based/{date}/manifest.json

A line is ``{"MatchId","ProfileIds","ConfidenceScore"}`` (ML, from ``DIR/ml/matches.json``) or
``{"MatchId","ProfileIds","RuleLevel"}`` (rule-based, from ``DIR/rule-based/matches.jsonl``).

Safety [choice]: every object is written whole (one PutObject; S3 object writes are atomic; local
files go through :func:`idres.atomic.atomic_file`), the manifests last; when a write fails part-way,
what this run already wrote is deleted (best effort) and the error says so. Existing objects are not
replaced unless ``force`` (a failed forced run also removes what it had replaced). A key part that
would leave its prefix (``..``, ``.``, empty or absolute segments, backslashes) is refused.
Credentials come from the standard AWS chain and are never printed: errors quote only the AWS error
code, never the server's message text (:mod:`idres.aws` holds the clients and the writers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl

from idres.aws import (
    Destination,
    ExportError,
    LocalSink,
    S3Sink,
    Sink,
    aws_error_text,
    make_client,
    rollback,
)
from idres.errors import InputError, Problem, ResultsError
from idres.schema import CONFIDENCE, MATCH_ID, RULE_LEVEL

__all__ = [
    "Destination",
    "ExportError",
    "available_jobs",
    "destinations_from_config",
    "export_results",
    "parse_destination",
]

log = logging.getLogger(__name__)

Job = Literal["rule-based", "ml"]
JOBS: Final[tuple[Job, ...]] = ("rule-based", "ml")
MATCHES: Final = "matches.jsonl"
MANIFEST: Final = "manifest.json"
_BUCKET = re.compile(r"^[a-z0-9.-]{3,63}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ML_SCHEMA: Final = pl.Schema(
    {MATCH_ID: pl.String(), "ProfileIds": pl.List(pl.String()), CONFIDENCE: pl.Float64()}
)
_RB_SCHEMA: Final = pl.Schema(
    {MATCH_ID: pl.String(), "ProfileIds": pl.List(pl.String()), RULE_LEVEL: pl.Int64()}
)
_SOURCES: Final[dict[Job, str]] = {
    "rule-based": "rule-based/matches.jsonl",
    "ml": "ml/matches.json",
}


def _bad(location: str, message: str, file: str | None = None) -> Problem:
    return Problem(file, location, message)


def _key_problems(value: str, what: str, *, prefix: bool = False) -> list[Problem]:
    """Problems of a key segment (or, with `prefix`, a '/'-joined key prefix; '' allowed)."""
    if prefix and value == "":
        return []
    parts = value.split("/") if prefix else [value]
    bad = (
        value.startswith("/")
        or "\\" in value
        or re.match(r"^[A-Za-z]:", value) is not None
        or any(p in {"", ".", ".."} or (not prefix and "/" in p) for p in parts)
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    )
    rule = "a relative key prefix" if prefix else "one key segment"
    why = "without '..', '.', empty or absolute segments, backslashes or control characters"
    return [_bad(what, f"must be {rule} {why} (got {value!r})")] if bad else []


def parse_destination(target: str | Path) -> Destination:
    """Parse ``s3://bucket[/prefix]`` or a local folder path.

    >>> parse_destination("s3://my-bucket/exports/idres/")
    Destination(bucket='my-bucket', prefix='exports/idres', folder=None)
    >>> parse_destination("out").folder
    PosixPath('out')
    """
    text = str(target)
    if not text.startswith("s3://"):
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
            raise InputError(
                Problem(
                    None, "destination", f"expected s3://bucket/prefix or a folder (got {text!r})"
                )
            )
        return Destination(None, "", Path(text))
    bucket, _, prefix = text[len("s3://") :].partition("/")
    prefix = prefix[:-1] if prefix.endswith("/") else prefix
    problems = []
    if not _BUCKET.match(bucket):
        problems.append(
            Problem(
                None, "destination", f"S3 bucket name must be 3..63 of a-z 0-9 . - (got {bucket!r})"
            )
        )
    problems += _key_problems(prefix, "destination", prefix=True)
    if problems:
        raise InputError(problems)
    return Destination(bucket, prefix)


def destinations_from_config(config: Any) -> dict[Job, str]:
    """``s3://S3BucketName/S3KeyName`` of each job whose ExportingConfig is set.

    >>> from types import SimpleNamespace as NS
    >>> s3 = NS(S3Exporting=NS(S3BucketName="b-1", S3KeyName="ir"))
    >>> destinations_from_config(NS(Matching=NS(ExportingConfig=s3), RuleBasedMatching=None))
    {'ml': 's3://b-1/ir'}
    """
    found: dict[Job, str] = {}
    members: tuple[tuple[Job, str], ...] = (("rule-based", "RuleBasedMatching"), ("ml", "Matching"))
    for job, member in members:
        exporting = getattr(getattr(config, member, None), "ExportingConfig", None)
        s3 = getattr(exporting, "S3Exporting", None)
        if s3 is not None and getattr(s3, "S3BucketName", None):
            key = (getattr(s3, "S3KeyName", None) or "").strip("/")
            found[job] = f"s3://{s3.S3BucketName}/{key}" if key else f"s3://{s3.S3BucketName}"
    return found


# -- reading the results folder ---------------------------------------------------------------


def _read_groups(root: Path, job: Job) -> tuple[bytes, int]:
    """One match group a line (canonical JSON Lines) and the group count of `job`'s results."""
    file = root / _SOURCES[job]
    if not file.is_file():
        raise ResultsError(_bad("", "match groups not found (run idres preview first)", str(file)))
    try:
        if job == "rule-based":
            frame = pl.read_ndjson(file, schema=_RB_SCHEMA)
        else:
            matches = json.loads(file.read_text(encoding="utf-8"))["Matches"]
            frame = pl.DataFrame(matches, schema=_ML_SCHEMA)
    except (ValueError, KeyError, TypeError, pl.exceptions.PolarsError) as exc:
        shape = "JSON Lines of match groups" if job == "rule-based" else "a GetMatches response"
        got = f"{type(exc).__name__}: {str(exc)[:100]}"
        raise ResultsError(_bad("", f"not {shape} (got {got!r})", str(file))) from None
    incomplete = (
        frame.with_row_index("__n", offset=1)
        .filter(
            pl.any_horizontal(pl.exclude("__n").is_null()) | (pl.col("ProfileIds").list.len() == 0)
        )
        .head(5)
    )
    if incomplete.height:
        where = "line" if job == "rule-based" else "Matches entry"
        raise ResultsError(
            [
                _bad(f"{where} {n}", f"incomplete match group (got {row!r})", str(file))
                for n, row in zip(
                    incomplete["__n"], incomplete.drop("__n").rows(named=True), strict=True
                )
            ]
        )
    return frame.write_ndjson().encode(), frame.height


def _ml_job_id(root: Path) -> str:
    file = root / "ml" / "job.json"
    try:
        return str(json.loads(file.read_text(encoding="utf-8"))["JobId"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ResultsError(_bad("JobId", "no ML JobId found (give --job-id)", str(file))) from None


def _export_date(root: Path, value: date | datetime | str | None) -> str:
    """[choice] The rule-based export date: `value`, else manifest.json's CreatedAt, else today (UTC)."""
    if value is None:
        try:
            value = str(
                json.loads((root / "manifest.json").read_text(encoding="utf-8"))["CreatedAt"]
            )[:10]
        except (OSError, ValueError, KeyError, TypeError):
            return datetime.now(UTC).date().isoformat()
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InputError(_bad("date", f"must be a date YYYY-MM-DD (got {value!r})"))


def _manifest(meta: dict[str, Any], data: bytes, groups: int) -> bytes:
    from idres import __version__

    digest = hashlib.sha256(data).hexdigest()
    body = {
        **meta,
        "Files": [{"Name": MATCHES, "Bytes": len(data), "SHA256": digest}],
        "MatchGroups": groups,
        "Generator": f"idres {__version__}",
    }
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()


def available_jobs(results_dir: str | Path) -> list[Job]:
    """The jobs whose match groups are in `results_dir`.

    >>> available_jobs("/nonexistent")
    []
    """
    return [j for j in JOBS if (Path(results_dir) / _SOURCES[j]).is_file()]


def export_objects(
    results_dir: str | Path,
    *,
    domain_name: str,
    job_id: str | None = None,
    date: date | datetime | str | None = None,
    jobs: Sequence[Job] | None = None,
) -> list[tuple[str, bytes]]:
    """The (key below the destination root, content) pairs to export, manifests last.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "rule-based").mkdir()
    >>> line = '{"MatchId":"m","ProfileIds":["a","b"],"RuleLevel":1}'
    >>> _ = (d / "rule-based" / "matches.jsonl").write_text(line + "\\n")
    >>> [k for k, _ in export_objects(d, domain_name="demo", date="2024-06-01")]
    ['demo/rule-based/2024-06-01/matches.jsonl', 'demo/rule-based/2024-06-01/manifest.json']
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise ResultsError(_bad("", "results folder not found", str(root)))
    chosen = list(jobs) if jobs is not None else available_jobs(root)
    if not chosen:
        raise ResultsError(
            _bad("", "no match groups to export (run idres preview first)", str(root))
        )
    problems = _key_problems(domain_name, "DomainName")
    problems += [
        _bad("job", f"must be one of {', '.join(JOBS)} (got {j!r})")
        for j in chosen
        if j not in JOBS
    ]
    if problems:
        raise InputError(problems)
    folders: list[tuple[str, dict[str, Any]]] = []
    for job in dict.fromkeys(chosen):
        if job == "ml":
            jid = job_id if job_id is not None else _ml_job_id(root)
            if bad := _key_problems(jid, "JobId"):
                raise InputError(bad)
            folders.append((f"{domain_name}/{jid}", {"JobId": jid}))
        else:
            day = _export_date(root, date)
            folders.append((f"{domain_name}/rule-based/{day}", {"Date": day}))
    data_objects, manifests = [], []
    for job, (folder, meta) in zip(dict.fromkeys(chosen), folders, strict=True):
        data, groups = _read_groups(root, job)
        data_objects.append((f"{folder}/{MATCHES}", data))
        meta = {"DomainName": domain_name, "Job": job, **meta}
        manifests.append((f"{folder}/{MANIFEST}", _manifest(meta, data, groups)))
    return data_objects + manifests


# -- writing ----------------------------------------------------------------------------------


def export_results(
    results_dir: str | Path,
    destination: str | Path | Destination,
    *,
    domain_name: str,
    job_id: str | None = None,
    date: date | datetime | str | None = None,
    endpoint_url: str | None = None,
    s3_client: Any = None,
    jobs: Sequence[Job] | None = None,
    force: bool = False,
) -> list[str]:
    """Export the match groups of `results_dir` to `destination`; return the written locations.

    `destination` is ``s3://bucket[/prefix]`` (written through boto3, against `endpoint_url` when
    given) or a local folder. `jobs` limits the export (default: every job with results).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "rule-based").mkdir()
    >>> _ = (d / "rule-based" / "matches.jsonl").write_text('{"MatchId":"m","ProfileIds":["a","b"],"RuleLevel":1}\\n')
    >>> out = export_results(d, d / "out", domain_name="demo", date="2024-06-01")
    >>> [pathlib.Path(p).relative_to(d / "out").as_posix() for p in out]
    ['demo/rule-based/2024-06-01/matches.jsonl', 'demo/rule-based/2024-06-01/manifest.json']
    """
    dest = destination if isinstance(destination, Destination) else parse_destination(destination)
    objects = export_objects(
        results_dir, domain_name=domain_name, job_id=job_id, date=date, jobs=jobs
    )
    keys = [k for k, _ in objects]
    if dest.bucket is None:
        sink: Sink = LocalSink(dest)
    else:
        client = (
            s3_client if s3_client is not None else make_client("s3", endpoint_url=endpoint_url)
        )
        sink = S3Sink(dest, client)
    try:
        existing = sink.check(keys)
    except InputError:
        raise
    except Exception as exc:
        raise ExportError(
            Problem(
                dest.url(keys[0]), "", f"{aws_error_text(exc, endpoint_url)}; nothing was written"
            )
        ) from None
    if existing and not force:
        raise ExportError(
            [
                Problem(
                    dest.url(k), "", "already exists (use --force to replace); nothing was written"
                )
                for k in existing
            ]
        )
    written: list[str] = []
    for key, data in objects:
        try:
            sink.put(key, data)
        except Exception as exc:
            raise ExportError(
                Problem(
                    dest.url(key),
                    "",
                    f"{aws_error_text(exc, endpoint_url)}; {rollback(sink, written)}",
                )
            ) from None
        written.append(key)
        log.info("exported %s", dest.url(key))
    return [dest.url(k) for k in written]
