"""CLI commands: ``idres profiles ...`` (a sub-app registered on the shared app)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, cast

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from idres.cli._common import app, console
from idres.inspect import LOW_CARDINALITY_LIMIT, Inspection, inspect_profiles
from idres.normalize import Mode
from idres.profiles import read_profiles
from idres.schema import (
    ATTRIBUTES,
    BOOKKEEPING_COLUMNS,
    PROFILE_COLUMNS,
    SOURCE,
    UPDATED,
    is_passthrough,
)

profiles_app = typer.Typer(
    name="profiles",
    help="Read and check profile files: JSON Lines, JSON arrays, search-profiles output, CSV, Parquet.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(profiles_app, name="profiles")


class Normalization(StrEnum):
    """Normalization modes (SPEC §3)."""

    standard = "standard"
    entity_resolution = "entity-resolution"


_INSPECT_HELP = (
    "Summarise a profile file: how many profiles, how full each column is, the most common values "
    "of key attributes, and the values shared by more than --limit profiles.\n\n"
    "FILE is JSON Lines (.jsonl/.ndjson) or a JSON array (.json) of AWS profile objects, the output "
    "of 'aws customer-profiles search-profiles' ({\"Items\": [...]}), or CSV (.csv) / Parquet "
    "(.parquet/.pq) with dot-joined columns such as Address.City and Attributes.LoyaltyId.\n\n"
    "Top values and shared values are counted after normalization (SPEC §3), as matching sees "
    "them. AWS's low-cardinality guard ignores a value held by more than 500 profiles: a rule "
    "level whose attributes are all such values matches nothing for those profiles.\n\n"
    "A file that cannot be read prints one line per problem (file: place: what is wrong) and "
    "exits with status 2."
)


@profiles_app.command("inspect", help=_INSPECT_HELP)
def inspect_command(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="Profile file to inspect.", show_default=False),
    ],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="File format: jsonl, json, csv or parquet. Default: from the file extension.",
            show_default=False,
        ),
    ] = None,
    source_column: Annotated[
        str,
        typer.Option(
            "--source-column",
            help="Name of the file's column (or member) holding the source ObjectType.",
        ),
    ] = SOURCE,
    updated_column: Annotated[
        str,
        typer.Option(
            "--updated-column",
            help=(
                "Name of the file's column (or member) holding the last-update time (ISO-8601, "
                "a date, or epoch seconds)."
            ),
        ),
    ] = UPDATED,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=1,
            help="List the normalized values held by more than this many profiles.",
        ),
    ] = LOW_CARDINALITY_LIMIT,
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many top values to show per key attribute.")
    ] = 5,
    normalization: Annotated[
        Normalization,
        typer.Option(
            "--normalization",
            help="Normalization applied before counting values; entity-resolution also shortens "
            "street suffixes and directions (street -> st), cuts postal codes at '-', and turns "
            "state and country names into codes.",
        ),
    ] = Normalization.standard,
    all_columns: Annotated[
        bool,
        typer.Option("--all-columns", help="Also list the columns that are entirely empty."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
) -> None:
    """Read FILE and print its summary (or raise ProfileError)."""
    frame = read_profiles(
        file, format=format, source_column=source_column, updated_column=updated_column
    )
    mode = cast("Mode", normalization.value)
    result = inspect_profiles(frame, limit=limit, top=top, mode=mode)
    if as_json:
        payload = {"file": str(file), **result.to_dict()}
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        return
    _print(file, frame, result, all_columns=all_columns)


def _kind(column: str) -> str:
    if column in PROFILE_COLUMNS:
        return "standard"
    if column in BOOKKEEPING_COLUMNS:
        return "bookkeeping"
    if column.startswith(ATTRIBUTES + "."):
        return "attribute"
    return "pass-through" if is_passthrough(column) else "other"


def _print(file: Path, frame: pl.DataFrame, result: Inspection, *, all_columns: bool) -> None:
    attributes = sum(c.startswith(ATTRIBUTES + ".") for c in frame.columns)
    passthrough = sum(is_passthrough(c) for c in frame.columns)
    console.print(
        f"[bold]{escape(str(file))}[/]: {result.rows:,} profiles; {attributes} custom "
        f"attribute(s), {passthrough} pass-through column(s)",
        soft_wrap=True,
    )
    fill = result.fill if all_columns else result.fill.filter(pl.col("filled") > 0)
    table = Table(title="Fill rate per column", title_justify="left", title_style="bold")
    for name, justify in (
        ("column", "left"),
        ("kind", "left"),
        ("filled", "right"),
        ("rate", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for column, filled, rate in fill.iter_rows():
        table.add_row(escape(column), _kind(column), f"{filled:,}", f"{rate:.1%}")
    hidden = result.fill.height - fill.height
    if hidden:
        table.caption = f"{hidden} empty column(s) not shown (--all-columns shows them)"
    console.print(table)

    top = Table(title="Top values (normalized)", title_justify="left", title_style="bold")
    for name, justify in (("attribute", "left"), ("value", "left"), ("profiles", "right")):
        top.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    previous = None
    for column, value, count in result.top.iter_rows():
        top.add_row(escape(column) if column != previous else "", escape(value), f"{count:,}")
        previous = column
    console.print(top if result.top.height else "[dim]No key attribute holds a value.[/]")

    title = (
        f"Values shared by more than {result.limit:,} profiles "
        "(AWS's low-cardinality guard skips them in rule-based matching)"
    )
    if result.crowded.is_empty():
        console.print(f"[bold]{title}[/]: none", soft_wrap=True)
        return
    crowded = Table(title=title, title_justify="left", title_style="bold")
    for name, justify in (("attribute", "left"), ("value", "left"), ("profiles", "right")):
        crowded.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for column, value, count in result.crowded.iter_rows():
        crowded.add_row(escape(column), escape(value), f"[yellow]{count:,}[/]")
    console.print(crowded)
