"""CLI command: ``idres validate DOMAIN_FILE`` (registered on the shared app)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from idres.cli._common import app, console
from idres.config import load_domain
from idres.config_digest import DigestTable, digest

_ACTION_STYLE = {"match + merge": "bold green", "match only": "yellow"}


def _table(table: DigestTable) -> Table:
    out = Table(title=table.title, title_justify="left", title_style="bold", show_lines=False)
    for name in table.columns:
        out.add_column(name, overflow="fold")
    for row in table.rows:
        styled = [f"[{_ACTION_STYLE[c]}]{c}[/]" if c in _ACTION_STYLE else escape(c) for c in row]
        out.add_row(*styled)
    return out


_HELP = (
    "Check a domain config against every AWS constraint and show what idres will evaluate.\n\n"
    "DOMAIN_FILE is a CreateDomain / UpdateDomain request (what 'aws customer-profiles "
    "create-domain --cli-input-json' takes) or a GetDomain response, in JSON or YAML, with AWS's "
    "PascalCase member names. Output-only members (CreatedAt, LastUpdatedAt, Stats, DataStore, "
    "RuleBasedMatching.Status) are ignored; any other unknown member is an error.\n\n"
    "Prints OK and a digest: each rule level with its attributes and whether it merges or only "
    "matches, the attribute types selector and the sub-types it resolves to, the match and merge "
    "limits, the auto-merge criteria, threshold and conflict resolution, the job schedule, export "
    "and dead-letter settings, with idres's defaults marked '(default)'.\n\n"
    "On problems, prints every one as 'file: JSON.path: rule (got value)' and exits with status 2."
)


@app.command(help=_HELP)
def validate(
    domain_file: Path = typer.Argument(
        ...,
        metavar="DOMAIN_FILE",
        help="Domain config: a CreateDomain/UpdateDomain request or a GetDomain response, JSON or YAML.",
        show_default=False,
    ),
    request: bool = typer.Option(
        False,
        "--request",
        help=(
            "Print the checked config as the CreateDomain request JSON (what "
            "'aws customer-profiles create-domain --cli-input-json' takes) instead of the digest."
        ),
    ),
) -> None:
    """Check DOMAIN_FILE; print OK and its digest (or raise ConfigError)."""
    config = load_domain(domain_file)
    if request:
        typer.echo(json.dumps(config.to_aws_json(), indent=2, ensure_ascii=False))
        return
    name = escape(str(domain_file))
    console.print(f"[bold green]OK[/] {name}: domain {config.DomainName!r}", soft_wrap=True)
    for table in digest(config):
        console.print(_table(table))
