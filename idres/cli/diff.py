"""CLI command ``idres diff``: what configuration B would do differently from A, before changing a
live domain."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from idres.cli._common import app, command_rule_options, console, progress
from idres.errors import InputError, Problem
from idres.schema import RULE_LEVEL

_DIFF_HELP = "\n\n".join(
    [
        "What configuration B would do differently from configuration A on the same profiles.",
        "Either `idres diff A.json B.json PROFILES` (two domain configs: both previews are run on "
        "PROFILES) or `idres diff RESULTS_A RESULTS_B` (two results folders of `idres preview`, "
        "refused when they were computed on different profile sets).",
        "For each job in both (rule-based, ml), merge groups first — merges cannot be undone — "
        "then match groups: the groups B forms that join profiles A keeps apart (the profiles B "
        "would MERGE that A would not), the groups of A that B splits, and the unchanged ones; "
        "with counts of groups, profiles and pairs, the rule level (rule-based: the lowest level "
        "of the links joining the pieces) or ConfidenceScore (ML) behind each difference, and "
        "examples with the links or scored pairs that make them.",
    ]
)


def _diff_configs(
    a: Path,
    b: Path,
    profiles: Path,
    *,
    examples: int,
    out_a: Path | None,
    out_b: Path | None,
    force: bool,
) -> Any:
    """Preview both configs on the profiles, write both results folders, diff them."""
    from idres.atomic import check_output_dir
    from idres.config import load_domain
    from idres.diff import diff_results
    from idres.errors import ConfigError
    from idres.pipeline import preview
    from idres.profiles import read_profiles
    from idres.results import write_results

    for out in (out_a, out_b):
        if out is not None:
            check_output_dir(out, force=force)
    configs: list[Any] = []
    problems: list[Problem] = []
    for path in (a, b):  # report the problems of both configs at once
        try:
            configs.append(load_domain(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    with tempfile.TemporaryDirectory(prefix="idres-diff-") as tmp, progress() as bar:
        task = bar.add_task("reading profiles", total=None)
        frame = read_profiles(profiles)
        folders = []
        for name, config, out in (("A", configs[0], out_a), ("B", configs[1], out_b)):
            bar.update(task, description=f"previewing {name}")
            result = preview(config, frame, rule_based_options=command_rule_options())
            result.inputs.update(
                {"config": str(a if name == "A" else b), "profiles": str(profiles)}
            )
            folders.append(write_results(result, out or Path(tmp) / name, force=force))
        bar.update(task, description="comparing")
        d = diff_results(folders[0], folders[1], examples=examples)
    return dataclasses.replace(d, a=str(a), b=str(b))


def cell(column: str, value: Any) -> str:
    """A value as table text: thresholds with 2 decimals, other floats 4, ints with separators.

    >>> cell("threshold", 0.5), cell("recall", 0.5), cell("links", 1234), cell("known", True)
    ('0.50', '0.5000', '1,234', 'yes')
    """
    if column == "threshold":
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _fmt_by(reason: str, by: Any) -> str:
    name = "L" if reason == RULE_LEVEL else "score ≥ "
    return ", ".join(f"{name}{k}: {g:,} ({p:,} profiles)" for k, g, p in by)


def _print_example(kind: str, x: Any, *, ids: int = 4) -> None:
    why = f"joining level {x.level}" if x.level is not None else f"score {cell('', x.score)}"
    pieces = " + ".join(
        f"[{'alone' if pc.group is None else pc.group[:8]}: {', '.join(pc.profile_ids[:ids])}"
        f"{f' … ({pc.size} profiles)' if pc.size > ids else ''}]"
        for pc in x.parts
    )
    console.print(
        f"  {kind} {x.group} ({x.size} profiles, {x.pieces} pieces, {why}): {pieces}", markup=False
    )
    for e in x.evidence:
        detail = ", ".join(f"{k} {cell(k, v)}" for k, v in e.items() if k != "Profiles")
        console.print(f"      {' – '.join(e['Profiles'])}: {detail}", markup=False)


def print_diff(d: Any) -> None:
    """Print a :class:`~idres.diff.ConfigDiff`: the new merges first, then tables and examples."""
    console.print(f"A: {escape(d.a)}\nB: {escape(d.b)}\n{d.profiles:,} profiles")
    for g in d.diffs:
        if g.grouping == "merge groups":
            if g.merged_profiles:
                console.print(
                    f"[bold red]{g.job}: B would MERGE {g.merged_profiles:,} profiles "
                    f"({g.merged_groups:,} merge groups, {g.merged_pairs:,} pairs) that A keeps "
                    "apart.[/]"
                )
            else:
                console.print(f"[green]{g.job}: B merges no profiles that A keeps apart.[/]")
    if d.skipped:
        console.print(f"[yellow]Not compared (in one run only):[/] {', '.join(d.skipped)}")
    for g in d.diffs:
        table = Table(title=f"{g.job}: {g.grouping}", title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("", "groups", "profiles", "pairs"):
            table.add_column(col, justify="right" if col else "left")
        table.add_row(
            "together in B, apart in A",
            f"{g.merged_groups:,}",
            f"{g.merged_profiles:,}",
            f"{g.merged_pairs:,}",
            style="bold red" if g.merged_profiles and g.grouping == "merge groups" else None,
        )
        table.add_row(
            "together in A, split in B",
            f"{g.split_groups:,}",
            f"{g.split_profiles:,}",
            f"{g.split_pairs:,}",
        )
        table.add_row("unchanged", f"{g.unchanged_groups:,}", f"{g.unchanged_profiles:,}", "")
        table.add_row(
            "total A → B",
            f"{g.groups_a:,} → {g.groups_b:,}",
            f"{g.profiles_a:,} → {g.profiles_b:,}",
            "",
        )
        console.print(table)
        for what, by in (("merged in B", g.merged_by), ("split in B", g.split_by)):
            if by:
                console.print(f"  {what}, by {g.reason}: {_fmt_by(g.reason, by)}", markup=False)
        for x in g.merged_examples:
            _print_example("merged in B:", x)
        for x in g.split_examples:
            _print_example("split in B:", x)


@app.command("diff", help=_DIFF_HELP)
def diff_command(
    a: Annotated[
        Path,
        typer.Argument(
            help="Domain config A, or results folder A.", show_default=False, metavar="A"
        ),
    ],
    b: Annotated[
        Path,
        typer.Argument(
            help="Domain config B, or results folder B.", show_default=False, metavar="B"
        ),
    ],
    profiles: Annotated[
        Path | None,
        typer.Argument(
            help="Profiles to preview both configs on (only with two configs).", show_default=False
        ),
    ] = None,
    examples: Annotated[
        int, typer.Option("--examples", "-n", min=0, help="Examples per kind of difference.")
    ] = 5,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    out_a: Annotated[
        Path | None, typer.Option(help="Keep A's preview in this results folder (configs only).")
    ] = None,
    out_b: Annotated[
        Path | None, typer.Option(help="Keep B's preview in this results folder (configs only).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace non-empty --out-a / --out-b folders.")
    ] = False,
) -> None:
    """What configuration B would do differently from A (see --help)."""
    from idres.diff import diff_results

    folders = a.is_dir() and b.is_dir()
    if folders and profiles is not None:
        raise InputError(
            Problem(
                None,
                "PROFILES",
                f"not used when A and B are results folders (got {str(profiles)!r})",
            )
        )
    if not folders:
        for path in (a, b):
            if not path.exists():
                raise InputError(Problem(str(path), "", "no such file or folder"))
        if a.is_dir() != b.is_dir():
            raise InputError(
                Problem(
                    None,
                    "A/B",
                    f"give two config files or two results folders (got {str(a)!r} and {str(b)!r})",
                )
            )
        if profiles is None:
            raise InputError(
                Problem(None, "PROFILES", "required when A and B are domain configs (got none)")
            )
        d = _diff_configs(a, b, profiles, examples=examples, out_a=out_a, out_b=out_b, force=force)
    else:
        d = diff_results(a, b, examples=examples)
    if json_output:
        typer.echo(json.dumps(d.to_dict(), indent=2, default=str))
    else:
        print_diff(d)


__all__ = ["cell", "diff_command", "print_diff"]
