"""CLI commands that meet AWS: ``schedule``, ``export``, ``send-dlq``, ``merge-plan``.

Exit status: 0 done; 1 done but not all well (a config change that would be refused, dead letters
the queue refused); 2 bad input or a failed AWS call (one line per problem on stderr).
Machine-readable output (commands, JSON) goes to stdout, notes to stderr.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from idres.cli._common import app, console, err_console
from idres.errors import InputError, Problem
from idres.export import Job


class JobName(StrEnum):
    rule_based = "rule-based"
    ml = "ml"


class PlanFormat(StrEnum):
    cli = "cli"
    json = "json"


#: Options of ``schedule`` that ``idres timeline`` shares.
ExistingDomainOpt = Annotated[
    bool,
    typer.Option(
        "--existing-domain/--new-domain", help="An existing domain waits 1 hour in PENDING."
    ),
]
FirstJobDelayOpt = Annotated[
    float,
    typer.Option(
        "--first-job-delay-hours", min=0, help="Latest first ML job after enabling [AWS: 24]."
    ),
]
DomainOpt = Annotated[
    Path | None,
    typer.Option(
        "--domain", help="Domain config (JSON/YAML): DomainName, ExportingConfig, DLQ URL."
    ),
]
DomainNameOpt = Annotated[
    str | None,
    typer.Option(
        "--domain-name",
        help="DomainName (default: the config's, else DIR/manifest.json's, else 'preview').",
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="S3/SQS API endpoint (default: AWS). Credentials: the standard AWS chain.",
    ),
]
ResultsArg = Annotated[
    Path, typer.Argument(help="Results folder written by `idres preview --out`.")
]


def _config(path: Path | None) -> Any:
    if path is None:
        return None
    from idres.config import load_domain

    return load_domain(path)


def _domain_name(config: Any, override: str | None, results: Path) -> str:
    """--domain-name, else the config's DomainName, else the results' manifest's, else 'preview'."""
    if override:
        return override
    if config is not None:
        return str(config.DomainName)
    try:
        return str(json.loads((results / "manifest.json").read_text("utf-8"))["DomainName"])
    except (OSError, ValueError, KeyError, TypeError):
        return "preview"


def _when(moment: datetime) -> str:
    return moment.strftime("%a %Y-%m-%d %H:%M UTC")


@app.command("schedule")
def schedule_command(
    domain: Annotated[Path, typer.Argument(help="Domain config (JSON or YAML).")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="When the config is applied (ISO 8601; no offset = UTC; default now)."
        ),
    ] = None,
    weeks: Annotated[int, typer.Option("--weeks", min=0, help="Weeks of ML jobs to list.")] = 4,
    existing_domain: ExistingDomainOpt = True,
    change_at: Annotated[
        str | None,
        typer.Option(
            "--change-at", help="Would a rule-based config change at this time be accepted?"
        ),
    ] = None,
    processing_hours: Annotated[
        float | None,
        typer.Option("--processing-hours", min=0, help="IN_PROGRESS duration [choice, default 1]."),
    ] = None,
    profiles: Annotated[
        int | None,
        typer.Option(
            "--profiles",
            min=0,
            help="Estimate IN_PROGRESS from a profile count (1M/hour, 15 min least).",
        ),
    ] = None,
    first_job_hours: FirstJobDelayOpt = 24.0,
) -> None:
    """ML job start times and the rule-based matching status timeline of DOMAIN from --as-of."""
    from idres import schedule as sch

    if processing_hours is not None and profiles is not None:
        raise InputError(Problem(None, "--processing-hours", "give it or --profiles, not both"))
    config = _config(domain)
    start = sch.parse_moment(as_of, option="--as-of") if as_of else datetime.now(UTC)
    jobs = sch.next_job_times(
        config, as_of=start, weeks=weeks, first_job_delay=timedelta(hours=first_job_hours)
    )
    matching = config.Matching
    if matching is not None and matching.Enabled:
        slot = matching.schedule
        table = Table(title=f"ML Identity Resolution Jobs ({slot.DayOfTheWeek} {slot.Time} UTC)")
        table.add_column("#", justify="right")
        table.add_column("starts")
        table.add_column("kind")
        for i, moment in enumerate(jobs, 1):
            kind = "first job after enabling" if i == 1 else "weekly"
            table.add_row(str(i), _when(moment), kind)
        console.print(table)
    else:
        console.print("ML matching (Matching.Enabled) is off: no Identity Resolution Jobs.")
    rules = config.RuleBasedMatching
    if rules is None or not rules.Enabled:
        console.print("Rule-based matching (RuleBasedMatching.Enabled) is off: no status timeline.")
        if change_at:
            console.print("A configuration change is accepted at any time.")
        return
    processing = (
        timedelta(hours=processing_hours)
        if processing_hours is not None
        else sch.processing_duration(profiles)
    )
    timeline = sch.rule_status_timeline(
        as_of=start, new_domain=not existing_domain, processing=processing
    )
    table = Table(title="Rule-based matching status")
    for column in ("status", "from", "until", "config changes"):
        table.add_column(column)
    for phase in timeline.phases:
        note = {
            "PENDING": "accepted (the one-hour wait restarts)",
            "IN_PROGRESS": "locked",
            "ACTIVE": f"accepted from {_when(timeline.locked_until)}",
        }[phase.status]
        table.add_row(phase.status, _when(phase.start), _when(phase.end) if phase.end else "", note)
    console.print(table)
    if change_at:
        moment = sch.parse_moment(change_at, option="--change-at")
        ok, reason = sch.can_change_config(timeline, moment)
        verdict = "[green]accepted[/]" if ok else "[red]refused[/]"
        console.print(f"Change at {_when(moment)}: {verdict}: {reason}", soft_wrap=True)
        if not ok:
            raise typer.Exit(1)


@app.command("export")
def export_command(
    results: ResultsArg,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="s3://bucket/prefix or a local folder (default: the config's ExportingConfig).",
        ),
    ] = None,
    domain: DomainOpt = None,
    domain_name: DomainNameOpt = None,
    endpoint_url: EndpointOpt = None,
    job_id: Annotated[
        str | None, typer.Option("--job-id", help="ML JobId (default: DIR/ml/job.json).")
    ] = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Rule-based export date YYYY-MM-DD (default: the preview's)."),
    ] = None,
    job: Annotated[
        list[JobName] | None, typer.Option("--job", help="Export only this job (repeatable).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace objects that exist.")] = False,
) -> None:
    """Export match groups as {S3KeyName}/{DomainName}/{JobId or rule-based/date}/matches.jsonl."""
    from idres.export import available_jobs, destinations_from_config, export_results

    config = _config(domain)
    jobs = [cast(Job, j.value) for j in job or []]
    targets: list[tuple[str, list[Job] | None]]
    if to is not None:
        targets = [(to, jobs or None)]
    elif config is not None:
        found = destinations_from_config(config)
        wanted = jobs or [j for j in available_jobs(results) if j in found]
        missing = [j for j in wanted if j not in found]
        if missing or not wanted:
            what = ", ".join(missing) or "any job with results"
            raise InputError(
                Problem(str(domain), "ExportingConfig", f"no S3Exporting for {what} (give --to)")
            )
        by_destination: dict[str, list[Job]] = {}
        for j in wanted:
            by_destination.setdefault(found[j], []).append(j)
        targets = [(d, js) for d, js in by_destination.items()]
    else:
        raise InputError(
            Problem(
                None,
                "--to",
                "give --to s3://bucket/prefix or a folder, or --domain with an ExportingConfig",
            )
        )
    name = _domain_name(config, domain_name, results)
    written: list[str] = []
    for destination, selected in targets:
        written += export_results(
            results, destination, domain_name=name, job_id=job_id, date=date,
            endpoint_url=endpoint_url, jobs=selected, force=force,
        )  # fmt: skip
    for location in written:
        typer.echo(location)
    err_console.print(f"exported {len(written)} object(s)")


@app.command("send-dlq")
def send_dlq_command(
    results: ResultsArg,
    queue_url: Annotated[
        str | None,
        typer.Option(
            "--queue-url", help="SQS queue URL (default: the config's DeadLetterQueueUrl)."
        ),
    ] = None,
    domain: DomainOpt = None,
    domain_name: DomainNameOpt = None,
    endpoint_url: EndpointOpt = None,
) -> None:
    """Send the low-cardinality dead letters (DIR/rule-based/dead-letters.jsonl) to an SQS queue."""
    from idres.dlq import send_dead_letters

    config = _config(domain)
    url = queue_url or getattr(config, "DeadLetterQueueUrl", None)
    if not url:
        raise InputError(
            Problem(None, "--queue-url", "give --queue-url, or --domain with a DeadLetterQueueUrl")
        )
    report = send_dead_letters(
        results,
        url,
        domain_name=_domain_name(config, domain_name, results),
        endpoint_url=endpoint_url,
    )
    console.print(f"sent {report.sent} dead letter(s) to {url}", soft_wrap=True, markup=False)
    if report.failed:
        table = Table(title=f"{len(report.failed)} message(s) refused by the queue")
        for column in ("ProfileId", "RuleLevel", "Code", "SenderFault"):
            table.add_column(column)
        for f in report.failed:
            table.add_row(f.ProfileId, str(f.RuleLevel), f.Code, str(f.SenderFault))
        err_console.print(table)
        raise typer.Exit(1)


@app.command("merge-plan")
def merge_plan_command(
    results: ResultsArg,
    fmt: Annotated[
        PlanFormat, typer.Option("--format", help="cli: aws commands; json: one request a line.")
    ] = PlanFormat.cli,
    job: Annotated[
        JobName, typer.Option("--job", help="Which job's merge plan.")
    ] = JobName.rule_based,
    domain_name: Annotated[
        str | None,
        typer.Option("--domain-name", help="Replace the plan's DomainName (e.g. 'preview')."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write one request file per merge into this folder."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Print the `aws customer-profiles merge-profiles` calls that replay a merge plan."""
    from idres.replay import cli_command, nonconforming_ids, read_merge_plan, write_request_files

    requests = read_merge_plan(results, job=job.value, domain_name=domain_name)
    odd = nonconforming_ids(requests)
    if odd:
        err_console.print(
            f"warning: {len(odd)} profile id(s) are not 32 hex characters as AWS ids are, e.g. {odd[0]!r}",
            markup=False, soft_wrap=True,
        )  # fmt: skip
    if out is not None:
        files = write_request_files(requests, out, force=force)
        for file in files:
            typer.echo(
                cli_command({}, input_file=str(file.resolve()))
                if fmt is PlanFormat.cli
                else str(file)
            )
    else:
        for request in requests:
            typer.echo(
                cli_command(request)
                if fmt is PlanFormat.cli
                else json.dumps(request, separators=(",", ":"))
            )
    err_console.print(f"{len(requests)} MergeProfiles request(s)")
