"""CLI command ``idres tune``: sweep the ML thresholds of a results folder, no rescoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from idres.cli._common import app, console
from idres.cli.diff import cell
from idres.errors import InputError, Problem

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


def _sweep_table(title: str, frame: Any, notes: dict[float, str], cols: tuple[str, ...]) -> Table:
    from idres.tune import compact

    view = compact(frame, notes)
    cols = (*(c for c in cols if c in view.columns), "note")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in cols:
        table.add_column(_SHORT.get(c, c), justify="left" if c == "note" else "right")
    for row in view.select(*cols).iter_rows():
        style = "bold" if row[-1] else None
        table.add_row(*(cell(c, v) for c, v in zip(cols, row, strict=True)), style=style)
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
    from idres.runs import manifest_config
    from idres.tune import MERGE, tune_results, tuned_config
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


__all__ = ["print_tune", "tune_command"]
