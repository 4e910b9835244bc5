"""CLI command ``idres report``: one self-contained HTML report of a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from idres.cli._common import app, console, progress


@app.command("report")
def report_command(
    results: Annotated[
        Path,
        typer.Argument(
            help="Results folder of `idres preview`.", show_default=False, metavar="RESULTS"
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="HTML file to write.", show_default=False)
    ],
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Ground truth (ProfileId, EntityId): evaluation, P/R/F1 curves, score histograms."
        ),
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option(help="A second results folder (same profiles): add the diff view."),
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Largest groups to explain, per job.")] = 5,
    examples: Annotated[int, typer.Option(min=0, help="Diff examples per kind of difference.")] = 5,
) -> None:
    """Write one self-contained HTML report of a results folder (no network needed to view it).

    Summary tables, group size distribution, groups per rule level, risk findings, ML threshold
    curves and score histograms (with --truth), evaluation against truth, the largest groups with
    their explanations, and the diff view with --compare.
    """
    from idres.report import write_report

    with progress() as bar:
        bar.add_task("building the report", total=None)
        path = write_report(
            results, out, truth=truth, compare=compare, top_groups=top, examples=examples
        )
    console.print(f"report written to {escape(str(path))} ({path.stat().st_size:,} bytes)")


__all__ = ["report_command"]
