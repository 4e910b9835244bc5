"""CLI commands of the ML job: ``automerge-preview`` (registered on the shared app)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from idres.cli._common import app, console

_HELP = (
    "Answer like GetAutoMergingPreview from an existing results folder, without rescoring.\n\n"
    "Reruns AutoMerging with the Consolidation criteria and ConflictResolution of DOMAIN "
    "(Matching.AutoMerging) over every ML match group stored in DIR (written by 'idres preview' "
    "with Matching.Enabled) and prints NumberOfMatchesInSample, NumberOfProfilesInSample and "
    "NumberOfProfilesWillBeMerged (profiles that take part in a merge, the survivor included). "
    "AWS reviews a sample of match groups; idres reviews them all.\n\n"
    "--threshold is MinAllowedConfidenceScoreForMerging (0..1); without it, DOMAIN's value is "
    "used, and without that no threshold applies."
)


@app.command("automerge-preview", help=_HELP)
def automerge_preview_command(
    domain: Annotated[
        Path,
        typer.Argument(
            help="Domain config with Matching.AutoMerging.Consolidation (JSON or YAML).",
            show_default=False,
        ),
    ],
    results: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="A results folder written by 'idres preview'.", show_default=False
        ),
    ],
    threshold: Annotated[
        float | None,
        typer.Option(
            help="MinAllowedConfidenceScoreForMerging, 0..1 (default: DOMAIN's, else none).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON response.")
    ] = False,
) -> None:
    """Print the GetAutoMergingPreview answer for DOMAIN's AutoMerging settings over DIR."""
    from idres.config import load_domain
    from idres.errors import ConfigError, Problem
    from idres.ml import check_threshold
    from idres.mlresults import automerge_preview

    if threshold is not None:
        check_threshold(threshold, "--threshold")
    config = load_domain(domain)
    auto = config.Matching.AutoMerging if config.Matching is not None else None
    if auto is None or auto.Consolidation is None:
        raise ConfigError(
            Problem(
                str(domain),
                "Matching.AutoMerging.Consolidation",
                "required for an auto-merging preview (got none)",
            )
        )
    if threshold is None:
        threshold = auto.MinAllowedConfidenceScoreForMerging
    answer = automerge_preview(
        results,
        auto.Consolidation,
        auto.conflict_resolution,
        threshold,
        domain_name=config.DomainName,
    )
    if not json_output:
        table = Table(title="Auto-merging preview", show_header=False, title_justify="left")
        table.add_row("Criteria", " | ".join(" + ".join(c) for c in auto.criteria))
        table.add_row("ConflictResolution", auto.conflict_resolution.ConflictResolvingModel)
        table.add_row(
            "MinAllowedConfidenceScoreForMerging", "none" if threshold is None else f"{threshold:g}"
        )
        for key, value in answer.items():
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
        console.print(table)
    console.print_json(json.dumps(answer))
