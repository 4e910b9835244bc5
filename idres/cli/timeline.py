"""CLI command: ``idres timeline DOMAIN PROFILES --as-of T`` (profiles arriving over time).

Exit status: 0 done; 2 bad input (one line per problem on stderr). ``--json`` prints only the events
(a JSON array) on stdout; notes go to stderr.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from idres.cli._common import app, console, err_console, progress
from idres.cli.aws import ExistingDomainOpt, FirstJobDelayOpt
from idres.schema import CONFIDENCE, RULE_LEVEL

_HELP = (
    "Simulate PROFILES arriving in a domain configured with DOMAIN at --as-of: when each match and "
    "merge would happen and the domain's state over time.\n\n"
    "Each profile arrives at its LastUpdatedAt; one without it, or updated before --as-of, is in "
    "the domain from the start. Profiles arriving after --weeks are left out.\n\n"
    "Rule-based matching: the status timeline (an existing domain waits 1 hour in PENDING, a new "
    "one starts IN_PROGRESS); at ACTIVE every profile present is matched in one batch, then each "
    "profile as it arrives. The rule-based state (profiles, match groups, merges) is reported at "
    "--snapshots times (day: every UTC midnight; week: every 7 days after --as-of; job: only at "
    "ACTIVE and ML job starts), always also at --as-of and the end.\n\n"
    "ML matching: Identity Resolution Jobs at their schedule (the first within 24 hours); each "
    "reviews every profile present at its start; merged profiles stay merged and take part in later "
    "jobs as one profile.\n\n"
    "--out DIR writes timeline.json, events.parquet, groups.parquet and profiles.parquet."
)


class SnapshotChoice(StrEnum):
    day = "day"
    week = "week"
    job = "job"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _num(value: Any) -> str:
    return f"{value:,}" if value is not None else ""


def _note(e: dict[str, Any]) -> str:
    """A short note for one event (the full text is in the JSON / Parquet output)."""
    kind = e["Kind"]
    if kind == "ML_JOB":
        if e["Status"] == "FAILED":
            return str(e["Detail"])
        return (
            f"reviewed {_num(e['NumberOfProfilesReviewed'])}, merges done "
            f"{_num(e['NumberOfMergesDone'])}, {_num(e['ProfilesAfterMerge'])} profiles after"
        )
    if kind in ("STATUS", "CONFIG_UNLOCKED"):
        accepted = "change accepted" in (e["Detail"] or "")
        return "config changes accepted" if accepted else "config locked"
    return ""


def _events_table(events: pl.DataFrame) -> Table:
    table = Table(title="Timeline (UTC)", title_justify="left")
    table.add_column("time", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("status")
    for col in ("profiles", "match groups", "in groups", "merged"):
        table.add_column(col, justify="right")
    table.add_column("note")
    labels = {"STATUS": "status", "CONFIG_UNLOCKED": "unlocked", "RULE_BASED_STATE": "state"}
    for e in events.iter_rows(named=True):
        ml = e["Kind"] == "ML_JOB"
        table.add_row(
            _when(e["Time"]),
            f"ML job {e['JobNumber']}" if ml else labels[e["Kind"]],
            e["Status"] or "",
            _num(e["Profiles"]),
            _num(e["NumberOfMatchesFound"] if ml else e["MatchGroups"]),
            _num(e["ProfilesInMatchGroups"]),
            _num(e["ProfilesMerged"]),
            escape(_note(e)),
        )
    return table


def _groups_table(groups: pl.DataFrame, limit: int) -> Table:
    shown = groups.sort("FirstFormedAt", "Job", "Kind", "GroupId").head(limit)
    title = f"Groups by first formation ({shown.height:,} of {groups.height:,})"
    table = Table(title=title, title_justify="left")
    table.add_column("job")
    table.add_column("kind")
    table.add_column("GroupId", overflow="fold")
    table.add_column("profiles", justify="right")
    table.add_column("first formed", no_wrap=True)
    table.add_column("complete", no_wrap=True)
    table.add_column("steps", justify="right")
    table.add_column("level / score", justify="right")
    for g in shown.iter_rows(named=True):
        score = g[CONFIDENCE]
        table.add_row(
            g["Job"],
            g["Kind"],
            g["GroupId"],
            _num(g["Profiles"]),
            _when(g["FirstFormedAt"]),
            _when(g["CompletedAt"]),
            _num(g["FormationSteps"]),
            f"{score:.3f}" if score is not None else _num(g[RULE_LEVEL]),
        )
    return table


@app.command("timeline", help=_HELP)
def timeline_command(
    domain: Annotated[Path, typer.Argument(help="Domain config (JSON or YAML).")],
    profiles: Annotated[Path, typer.Argument(help="Profiles (JSONL, JSON, CSV or Parquet).")],
    as_of: Annotated[
        str, typer.Option("--as-of", help="When the config is applied (ISO 8601; no offset = UTC).")
    ],
    weeks: Annotated[int, typer.Option("--weeks", min=0, help="Weeks simulated.")] = 4,
    existing_domain: ExistingDomainOpt = True,
    snapshots: Annotated[
        SnapshotChoice,
        typer.Option("--snapshots", help="When to report the rule-based state: day, week or job."),
    ] = SnapshotChoice.day,
    processing_hours: Annotated[
        float, typer.Option("--processing-hours", min=0, help="IN_PROGRESS duration [choice].")
    ] = 1.0,
    first_job_hours: FirstJobDelayOpt = 24.0,
    updated_column: Annotated[
        str, typer.Option("--updated-column", help="The profiles' arrival (update time) column.")
    ] = "LastUpdatedAt",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the timeline files to this folder.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON.")] = False,
    show_groups: Annotated[
        int, typer.Option("--groups", min=0, help="Groups listed in the table.")
    ] = 20,
) -> None:
    """Profiles arriving over time: when matches and merges happen (see --help)."""
    from idres import schedule
    from idres.atomic import check_output_dir
    from idres.config import load_domain
    from idres.profiles import read_profiles
    from idres.timeline import TimelineOptions, build_timeline, events_json, write_timeline

    start = schedule.parse_moment(as_of, option="--as-of")
    if out is not None:
        check_output_dir(out, force=force)
    config = load_domain(domain)
    table = read_profiles(profiles, updated_column=updated_column)
    options = TimelineOptions(
        weeks=weeks,
        new_domain=not existing_domain,
        processing=timedelta(hours=processing_hours),
        first_job_delay=timedelta(hours=first_job_hours),
        snapshots=snapshots.value,
    )
    with progress(err_console.is_terminal and not as_json) as bar:
        task = bar.add_task("simulating", total=None)
        result = build_timeline(
            config,
            table,
            as_of=start,
            options=options,
            on_step=lambda name: bar.update(task, description=name),
        )
    if out is not None:
        write_timeline(result, out, force=force)
        err_console.print(f"wrote {out}")
    for note in result.notes:
        err_console.print(f"note: {note}", soft_wrap=True)
    if as_json:
        typer.echo(json.dumps(events_json(result.events), indent=2))
        return
    c = result.counts
    console.print(
        f"{c['Total']:,} profiles: {c['PresentAtStart']:,} in the domain at {_when(result.as_of)}, "
        f"{c['ArrivingLater']:,} arriving until {_when(result.end)}, {c['AfterEnd']:,} later "
        "(left out)",
        soft_wrap=True,
    )
    console.print(_events_table(result.events))
    if show_groups and result.groups.height:
        console.print(_groups_table(result.groups, show_groups))
