"""Shared pieces of the CLI: the Typer app, consoles, progress bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:
    from idres.rulebased import RuleBasedOptions

app = typer.Typer(
    name="idres",
    help=(
        "Preview Amazon Connect Customer Profiles identity resolution offline: which profiles a "
        "domain config would match and merge, why, and what the merged profiles would look like."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Progress]:
    """A progress display for long steps (hidden when output is not a terminal or disabled)."""
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True, disable=not enabled) as bar:
        yield bar


def command_rule_options(**options: Any) -> RuleBasedOptions:
    """Rule-based options as every ``idres`` command runs the job: in a process of its own, so
    numpy's large blocks are kept in one glibc heap during rule keys
    (:func:`idres.allocator.heap_kept`, whose effects are process-wide)."""
    from idres.rulebased import RuleBasedOptions

    return RuleBasedOptions(keep_heap=True, **options)
