"""Replaying a merge plan with the AWS CLI: checked MergeProfiles requests, commands, request files.

A merge plan (``DIR/<job>/merge-plan.json``) is ``{"Requests": [request, ...]}``, each request the
input of ``MergeProfiles``: ``DomainName``, ``MainProfileId``, ``ProfileIdsToBeMerged`` (1..20),
``FieldSourceProfileIds``. Every request is checked against botocore's own model of the operation
(:class:`botocore.validate.ParamValidator`, which checks members, types and minimum lengths) plus
the limits it leaves out (DomainName pattern and length, at most 20 ids, no id twice, field sources
among the merged profiles).

[choice] A request with more than 20 ids to merge is split into requests of at most 20 with the same
main profile, in order; each part keeps the FieldSourceProfileIds entries whose source profile is in
that part, and the entries sourced from the main profile go with the first part (fields a request
does not name keep the main profile's value, which earlier parts have already set).
[choice] ``DomainName`` may be overridden (a preview's default domain name is ``preview``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal

from idres.atomic import atomic_dir
from idres.errors import InputError, Problem, ResultsError

__all__ = [
    "MAX_PER_REQUEST",
    "chunk_request",
    "cli_command",
    "nonconforming_ids",
    "read_merge_plan",
    "validate_requests",
    "write_request_files",
]

Job = Literal["rule-based", "ml"]
MAX_PER_REQUEST: Final = 20  # [AWS] ProfileIdsToBeMerged: 1..20
_MEMBERS: Final[tuple[str, ...]] = (
    "DomainName",
    "MainProfileId",
    "ProfileIdsToBeMerged",
    "FieldSourceProfileIds",
)
_DOMAIN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_AWS_ID = re.compile(r"^[a-f0-9]{32}$")


def chunk_request(request: dict[str, Any], size: int = MAX_PER_REQUEST) -> list[dict[str, Any]]:
    """Split a MergeProfiles request into requests of at most `size` ids to merge.

    >>> req = {"DomainName": "d", "MainProfileId": "m", "ProfileIdsToBeMerged": ["a", "b", "c"],
    ...        "FieldSourceProfileIds": {"FirstName": "c", "LastName": "m"}}
    >>> [(r["ProfileIdsToBeMerged"], r["FieldSourceProfileIds"]) for r in chunk_request(req, 2)]
    [(['a', 'b'], {'LastName': 'm'}), (['c'], {'FirstName': 'c'})]
    """
    ids = list(request.get("ProfileIdsToBeMerged") or [])
    if len(ids) <= size:
        return [request]
    main = request.get("MainProfileId")
    sources = dict(request.get("FieldSourceProfileIds") or {})
    attributes = dict(sources.pop("Attributes", None) or {})
    parts = []
    for start in range(0, len(ids), size):
        part = ids[start : start + size]
        keep = set(part) | ({main} if start == 0 else set())
        fields = {k: v for k, v in sources.items() if v in keep}
        attrs = {k: v for k, v in attributes.items() if v in keep}
        parts.append(
            {
                **request,
                "ProfileIdsToBeMerged": part,
                "FieldSourceProfileIds": fields | ({"Attributes": attrs} if attrs else {}),
            }
        )
    return parts


def _ordered(request: dict[str, Any]) -> dict[str, Any]:
    """Members in the model's order, empty FieldSourceProfileIds left out."""
    out = {k: request[k] for k in _MEMBERS if k in request}
    if not out.get("FieldSourceProfileIds"):
        out.pop("FieldSourceProfileIds", None)
    return out


def read_merge_plan(
    results_dir: str | Path, *, job: Job = "rule-based", domain_name: str | None = None
) -> list[dict[str, Any]]:
    """The checked MergeProfiles requests of ``DIR/<job>/merge-plan.json``, split to 20 ids at most.

    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "rule-based").mkdir()
    >>> req = {"DomainName": "demo", "MainProfileId": "a" * 32, "ProfileIdsToBeMerged": ["b" * 32]}
    >>> _ = (d / "rule-based" / "merge-plan.json").write_text(json.dumps({"Requests": [req]}))
    >>> read_merge_plan(d, domain_name="prod")[0]["DomainName"]
    'prod'
    """
    if job not in ("rule-based", "ml"):
        raise InputError(Problem(None, "job", f"must be rule-based or ml (got {job!r})"))
    file = Path(results_dir) / job / "merge-plan.json"
    if not file.is_file():
        raise ResultsError(Problem(str(file), "", "merge plan not found (run idres preview first)"))
    try:
        plan = json.loads(file.read_text(encoding="utf-8"))
        requests = plan["Requests"]
        if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
            raise TypeError("Requests is not a list of objects")
    except (ValueError, KeyError, TypeError) as exc:
        raise ResultsError(
            Problem(str(file), "Requests", f"not a merge plan (got {type(exc).__name__}: {exc})")
        ) from None
    if domain_name is not None:
        requests = [{**r, "DomainName": domain_name} for r in requests]
    split = [_ordered(part) for r in requests for part in chunk_request(r)]
    validate_requests(split, file=str(file))
    return split


def validate_requests(requests: Sequence[dict[str, Any]], *, file: str | None = None) -> None:
    """Raise :class:`InputError` listing every problem of every MergeProfiles request.

    >>> validate_requests([{"DomainName": "d", "MainProfileId": "m", "ProfileIdsToBeMerged": []}])
    Traceback (most recent call last):
    ...
    idres.errors.InputError: Requests[0]: Invalid length for parameter ProfileIdsToBeMerged, value: 0, valid min length: 1
    """
    import botocore.session
    from botocore.validate import ParamValidator

    shape = (
        botocore.session.get_session()
        .get_service_model("customer-profiles")
        .operation_model("MergeProfiles")
        .input_shape
    )
    validator = ParamValidator()
    problems: list[Problem] = []
    for i, request in enumerate(requests):
        where = f"Requests[{i}]"
        report = validator.validate(request, shape)
        if report.has_errors():
            problems += [
                Problem(file, where, line) for line in report.generate_report().splitlines()
            ]
            continue
        main, ids = request["MainProfileId"], request["ProfileIdsToBeMerged"]
        sources = dict(request.get("FieldSourceProfileIds") or {})
        sources |= {f"Attributes.{k}": v for k, v in sources.pop("Attributes", {}).items()}
        if not _DOMAIN.match(request["DomainName"]):
            problems.append(
                Problem(
                    file,
                    f"{where}.DomainName",
                    f"must match ^[a-zA-Z0-9_-]+$, 1..64 chars (got {request['DomainName']!r})",
                )
            )
        if len(ids) > MAX_PER_REQUEST:
            problems.append(
                Problem(
                    file,
                    f"{where}.ProfileIdsToBeMerged",
                    f"at most {MAX_PER_REQUEST} ids (got {len(ids)})",
                )
            )
        if len(set(ids)) != len(ids) or main in ids:
            problems.append(
                Problem(
                    file,
                    f"{where}.ProfileIdsToBeMerged",
                    f"an id appears twice or is the main profile (got {ids!r})",
                )
            )
        allowed = {main, *ids}
        problems += [
            Problem(
                file,
                f"{where}.FieldSourceProfileIds.{k}",
                f"source is not one of the merged profiles (got {v!r})",
            )
            for k, v in sources.items()
            if v not in allowed
        ]
    if problems:
        raise InputError(problems)


def nonconforming_ids(requests: Sequence[dict[str, Any]]) -> list[str]:
    """Profile ids that are not 32 lowercase hex characters, the form AWS gives real profiles.

    >>> nonconforming_ids([{"MainProfileId": "p1", "ProfileIdsToBeMerged": ["a" * 32]}])
    ['p1']
    """
    ids = {r["MainProfileId"] for r in requests} | {
        i for r in requests for i in r["ProfileIdsToBeMerged"]
    }
    return sorted(i for i in ids if not _AWS_ID.match(i))


def cli_command(request: dict[str, Any], *, input_file: str | None = None) -> str:
    """The ``aws customer-profiles merge-profiles`` command of one request, shell-quoted.

    >>> print(cli_command({"DomainName": "d", "MainProfileId": "m", "ProfileIdsToBeMerged": ["o'k"]}))
    aws customer-profiles merge-profiles --cli-input-json '{"DomainName":"d","MainProfileId":"m","ProfileIdsToBeMerged":["o'"'"'k"]}'
    """
    argument = (
        f"file://{input_file}"
        if input_file
        else json.dumps(_ordered(request), separators=(",", ":"))
    )
    return f"aws customer-profiles merge-profiles --cli-input-json {shlex.quote(argument)}"


def write_request_files(
    requests: Sequence[dict[str, Any]], out_dir: str | Path, *, force: bool = False
) -> list[Path]:
    """Write one ``merge-profiles-NNNNN.json`` request file per request into `out_dir` (atomically).

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "requests"
    >>> [p.name for p in write_request_files([{"DomainName": "d", "MainProfileId": "m",
    ...     "ProfileIdsToBeMerged": ["x"]}], out)]
    ['merge-profiles-00001.json']
    """
    target = Path(out_dir)
    width = max(5, len(str(len(requests))))
    names = [f"merge-profiles-{i:0{width}d}.json" for i in range(1, len(requests) + 1)]
    with atomic_dir(target, force=force) as tmp:
        for name, request in zip(names, requests, strict=True):
            (tmp / name).write_text(
                json.dumps(_ordered(request), indent=2) + "\n", encoding="utf-8"
            )
    return [target / n for n in names]
