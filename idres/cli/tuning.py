"""CLI commands ``idres diff``, ``idres tune`` and ``idres report``: before changing a live domain."""

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

from idres.cli._common import app, console, progress
from idres.errors import InputError, Problem

# --- diff ---------------------------------------------------------------------------------------

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
            result = preview(config, frame)
            result.inputs.update(
                {"config": str(a if name == "A" else b), "profiles": str(profiles)}
            )
            folders.append(write_results(result, out or Path(tmp) / name, force=force))
        bar.update(task, description="comparing")
        d = diff_results(folders[0], folders[1], examples=examples)
    return dataclasses.replace(d, a=str(a), b=str(b))


def _fmt_by(reason: str, by: Any) -> str:
    name = "L" if reason == "RuleLevel" else "score ≥ "
    return ", ".join(f"{name}{k}: {g:,} ({p:,} profiles)" for k, g, p in by)


def _print_example(kind: str, x: Any, *, ids: int = 4) -> None:
    why = f"joining level {x.level}" if x.level is not None else f"score {_cell('', x.score)}"
    pieces = " + ".join(
        f"[{'alone' if pc.group is None else pc.group[:8]}: {', '.join(pc.profile_ids[:ids])}"
        f"{f' … ({pc.size} profiles)' if pc.size > ids else ''}]"
        for pc in x.parts
    )
    console.print(
        f"  {kind} {x.group} ({x.size} profiles, {x.pieces} pieces, {why}): {pieces}", markup=False
    )
    for e in x.evidence:
        detail = ", ".join(f"{k} {_cell(k, v)}" for k, v in e.items() if k != "Profiles")
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


# --- tune ---------------------------------------------------------------------------------------

_TUNE_HELP = "\n\n".join(
    [
        "Sweep the ML job's thresholds from a results folder's stored scores (no rescoring).",
        "For every threshold 0.00..1.00 (step 0.01): the link threshold (an idres option: pairs "
        "scoring at least t form match groups) and Matching.AutoMerging."
        "MinAllowedConfidenceScoreForMerging (match groups scoring at least t merge). Without "
        "--truth: groups and merges per threshold. With --truth: pairwise precision / recall / "
        "F1 too, and two suggestions: the threshold maximising F1 and the lowest one keeping "
        "precision ≥ --min-precision.",
        "The results folder holds consolidation only for the groups that were eligible in the "
        "run; below the run's MinAllowedConfidenceScoreForMerging the other groups count as "
        "merging whole (an upper bound, flagged consolidation_known = false).",
        "--write-config writes the domain config (--domain, else the one in the results "
        "manifest) with the chosen MinAllowedConfidenceScoreForMerging as a CreateDomain "
        "request: --threshold, else the suggestion named by --pick (needs --truth).",
    ]
)


def _check_fraction(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise InputError(Problem(None, name, f"must be between 0 and 1 (got {value!r})"))
    return value


#: Short headers of the sweep tables (the --json / --csv keep the full column names).
_SHORT = {
    "threshold": "t",
    "profiles_in_groups": "in groups",
    "eligible_groups": "eligible",
    "merge_groups": "groups",
    "merged_profiles": "merged",
    "precision": "P",
    "recall": "R",
    "f1": "F1",
    "consolidation_known": "known",
}


def _cell(column: str, value: Any) -> str:
    if column == "threshold":
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _sweep_table(title: str, frame: Any, notes: dict[float, str], cols: tuple[str, ...]) -> Table:
    from idres.tune import compact

    view = compact(frame, notes)
    cols = (*(c for c in cols if c in view.columns), "note")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in cols:
        table.add_column(_SHORT.get(c, c), justify="left" if c == "note" else "right")
    for row in view.select(*cols).iter_rows():
        style = "bold" if row[-1] else None
        table.add_row(*(_cell(c, v) for c, v in zip(cols, row, strict=True)), style=style)
    return table


def print_tune(result: Any) -> None:
    """Print a :class:`~idres.tune.TuneResult`: compact tables and the suggestions."""
    from idres.tune import KNOWN, LINK, MERGE

    metrics = ("precision", "recall", "f1") if result.has_truth else ()
    console.print(
        f"{escape(result.results)}: {result.pairs:,} scored pairs over {result.profiles:,} profiles"
    )
    link_notes, merge_notes = result.notes(LINK), result.notes(MERGE)
    console.print(
        _sweep_table(
            "link threshold (every 0.05 and the suggested rows)",
            result.link,
            link_notes,
            ("threshold", "links", "groups", "merges", *metrics),
        )
    )
    console.print(
        _sweep_table(
            MERGE,
            result.merge,
            merge_notes,
            (
                "threshold",
                "eligible_groups",
                "merge_groups",
                "merges",
                *metrics,
                KNOWN,
            ),
        )
    )
    for name, s in (("link threshold", result.link_suggestion), (MERGE, result.merge_suggestion)):
        if s is None:
            continue
        if s["best_f1_threshold"] is None:
            console.print(f"{name}: nothing merges at any threshold", markup=False)
            continue
        low = s["min_precision_threshold"]
        console.print(
            f"{name}: best F1 {s['best_f1_f1']:.4f} at {s['best_f1_threshold']:.2f}; "
            + (
                f"lowest with precision ≥ {s['min_precision']}: {low:.2f} "
                f"(recall {s['min_precision_recall']:.4f})"
                if low is not None
                else f"no threshold that merges anything reaches precision {s['min_precision']}"
            ),
            markup=False,
        )
    if not result.has_truth:
        console.print("[dim]Give --truth for precision / recall / F1 and suggestions.[/]")


def _chosen(result: Any, threshold: float | None, pick: str) -> float:
    if threshold is not None:
        return threshold
    s = result.merge_suggestion
    if s is None:
        raise InputError(
            Problem(
                None,
                "--write-config",
                "needs --truth (to suggest a threshold) or --threshold (got neither)",
            )
        )
    key = "best_f1_threshold" if pick == "f1" else "min_precision_threshold"
    if s[key] is None:
        raise InputError(
            Problem(
                None,
                "--min-precision",
                f"no MinAllowedConfidenceScoreForMerging reaches this precision; lower it or use --pick f1 (got {s['min_precision']!r})",
            )
        )
    return float(s[key])


@app.command("tune", help=_TUNE_HELP)
def tune_command(
    results: Annotated[
        Path,
        typer.Argument(
            help="Results folder of `idres preview` with an ML job.",
            show_default=False,
            metavar="RESULTS",
        ),
    ],
    truth: Annotated[
        Path | None, typer.Option(help="Ground truth (ProfileId, EntityId; CSV or Parquet).")
    ] = None,
    min_precision: Annotated[
        float, typer.Option(help="Precision target of the suggested threshold.")
    ] = 0.99,
    write_config: Annotated[
        Path | None, typer.Option(help="Write the tuned domain config (AWS JSON) here.")
    ] = None,
    domain: Annotated[
        Path | None,
        typer.Option(help="Domain config to tune (default: the one in the results manifest)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="MinAllowedConfidenceScoreForMerging to write (default: the suggestion)."
        ),
    ] = None,
    pick: Annotated[
        str,
        typer.Option(
            help="Suggestion to write: 'precision' (lowest threshold meeting --min-precision) or 'f1'."
        ),
    ] = "precision",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print every row of both sweeps as JSON.")
    ] = False,
    csv: Annotated[
        Path | None, typer.Option(help="Write both full sweeps to this CSV file.")
    ] = None,
) -> None:
    """Sweep the ML thresholds of a results folder (see --help)."""
    from idres.atomic import atomic_file
    from idres.config import load_domain
    from idres.tune import MERGE, manifest_config, tune_results, tuned_config
    from idres.tune import write_config as write

    _check_fraction(min_precision, "--min-precision")
    if threshold is not None:
        _check_fraction(threshold, "--threshold")
    if pick not in ("precision", "f1"):
        raise InputError(Problem(None, "--pick", f"must be 'precision' or 'f1' (got {pick!r})"))
    if domain is not None and write_config is None:
        raise InputError(
            Problem(
                None,
                "--domain",
                "only used with --write-config (got a domain but no --write-config)",
            )
        )
    result = tune_results(results, truth, min_precision=min_precision)
    if csv is not None:
        with atomic_file(csv) as tmp:
            result.combined().write_csv(tmp)
    out: dict[str, Any] = result.to_dict()
    if write_config is not None:
        chosen = _chosen(result, threshold, pick)
        config = load_domain(domain) if domain is not None else manifest_config(results)
        write(tuned_config(config, chosen), write_config)
        out["written"] = {"path": str(write_config), MERGE: chosen}
    if json_output:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    print_tune(result)
    if csv is not None:
        console.print(f"full sweep written to {escape(str(csv))}")
    if write_config is not None:
        console.print(
            f"wrote {escape(str(write_config))} with {MERGE} = {out['written'][MERGE]:.2f}"
        )


# --- report -------------------------------------------------------------------------------------


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


__all__ = ["diff_command", "print_diff", "print_tune", "report_command", "tune_command"]
