"""CLI command ``idres evaluate``: a results folder's groups against ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich import box
from rich.table import Table

from idres import schema
from idres.cli._common import app, console
from idres.errors import Problem, ResultsError
from idres.evaluate import evaluate
from idres.levels import evaluate_levels
from idres.results import JOBS, RULE_BASED
from idres.schema import ENTITY_ID, MATCH_ID, MERGE_GROUP_ID, PROFILE_ID_A, PROFILE_ID_B, RULE_LEVEL
from idres.truth import check_truth_profile_set, read_truth

GROUPS_FILE = "groups.parquet"
LINKS_FILE = "links.parquet"


def _read_parquet(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    """A results file, or a ResultsError naming it (missing, unreadable, or lacking columns)."""
    if not path.is_file():
        raise ResultsError(Problem(str(path), "", "missing from the results folder"))
    try:
        scan = pl.scan_parquet(path)
        names = scan.collect_schema().names()
        missing = [c for c in columns if c not in names]
        if missing:
            raise ResultsError(
                [Problem(str(path), c, f"missing column (got {names!r})") for c in missing]
            )
        return scan.select(columns).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ResultsError(Problem(str(path), "", f"cannot read: {exc}")) from exc


def _manifest(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise ResultsError(Problem(str(folder), "", "results folder not found"))
    path = folder / "manifest.json"
    if not path.is_file():
        raise ResultsError(Problem(str(path), "", "missing: not an idres results folder"))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ResultsError(Problem(str(path), "", f"cannot read: {exc}")) from exc
    if not isinstance(manifest, dict):
        raise ResultsError(
            Problem(str(path), "", f"not a JSON object (got {type(manifest).__name__})")
        )
    problems = [
        Problem(str(path), key, f"missing or not {kind.__name__} (got {manifest.get(key)!r})")
        for key, kind in (("profile_count", int), ("profile_ids_sha256", str))
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool)
    ]
    if problems:
        raise ResultsError(problems)
    return manifest


def evaluate_folder(folder: Path, truth_path: Path, *, examples: int = 3) -> dict[str, Any]:
    """Evaluate every job of a results folder; the result as a JSON-ready dict (also the --json)."""
    manifest = _manifest(folder)
    jobs = [j for j in JOBS if (folder / j).is_dir()]
    if not jobs:
        raise ResultsError(
            Problem(str(folder), "", f"no job results in the folder (expected one of {JOBS})")
        )
    truth = read_truth(truth_path)
    check_truth_profile_set(
        truth,
        profile_count=manifest["profile_count"],
        profile_ids_sha256=manifest["profile_ids_sha256"],
        source=str(truth_path),
    )
    out: dict[str, Any] = {
        "results": str(folder),
        "truth": str(truth_path),
        "profiles": truth.height,
        "entities": truth.get_column(ENTITY_ID).n_unique(),
        "jobs": {},
    }
    for job in jobs:
        path = folder / job / GROUPS_FILE
        groups = _read_parquet(path, (schema.PROFILE_ID, MATCH_ID, MERGE_GROUP_ID))
        report: dict[str, Any] = {}
        for key, col in (("match_groups", MATCH_ID), ("merge_groups", MERGE_GROUP_ID)):
            m = evaluate(groups, truth, cluster_col=col, examples=examples, source=str(path))
            report[key] = m.to_dict()
        if job == RULE_BASED:
            path = folder / job / LINKS_FILE
            links = _read_parquet(path, (PROFILE_ID_A, PROFILE_ID_B, RULE_LEVEL))
            levels = evaluate_levels(links, truth, examples=examples, source=str(path))
            report["levels"] = [lv.to_dict() for lv in levels]
        out["jobs"][job] = report
    return out


def _f(x: float) -> str:
    return f"{x:.4f}"


_ROWS: tuple[tuple[str, str], ...] = (
    ("groups (2+ profiles)", "groups"),
    ("profiles in groups", "profiles_in_groups"),
    ("pairwise precision", "precision"),
    ("pairwise recall", "recall"),
    ("pairwise F1", "f1"),
    ("true / false pairs", "pairs"),
    ("missed pairs", "false_negatives"),
    ("B-cubed precision", "bcubed_precision"),
    ("B-cubed recall", "bcubed_recall"),
    ("B-cubed F1", "bcubed_f1"),
    ("entities resolved exactly", "exact"),
    ("over-merged groups", "over_merged_clusters"),
    ("split entities", "split_entities"),
)


def _cell(m: dict[str, Any], key: str) -> str:
    if key == "pairs":
        return f"{m['true_positives']:,} / {m['false_positives']:,}"
    if key == "exact":
        return f"{m['exact_entity_share']:.2%} ({m['exact_entities']:,})"
    value = m[key]
    return _f(value) if isinstance(value, float) else f"{value:,}"


def _print_examples(label: str, m: dict[str, Any]) -> None:
    for x in m["over_merged_examples"]:
        pieces = ", ".join(f"{e} ×{c}" for e, c in x["pieces"])
        more = " …" if x["entities"] > len(x["pieces"]) else ""
        console.print(
            f"  over-merged {label} {x['cluster']} ({x['size']} profiles, "
            f"{x['entities']} entities): {pieces}{more}",
            markup=False,
        )
    for x in m["split_examples"]:
        parts = [f"{c} ×{k}" for c, k in x["pieces"]]
        if x["singletons"]:
            parts.append(f"{x['singletons']} alone")
        console.print(
            f"  split entity {x['entity']} ({x['size']} profiles in {x['clusters']} pieces): "
            + ", ".join(parts),
            markup=False,
        )


def _print_levels(job: str, levels: list[dict[str, Any]]) -> None:
    table = Table(
        title=f"{job}: match groups from the links of levels ≤ L "
        "(profiles in groups, pairwise P/R/F1, true and false pairs the level adds)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    names = ("L", "links", "groups", "profiles", "P", "R", "F1", "B³ F1", "+TP", "+FP")
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    for lv in levels:
        table.add_row(
            str(lv["level"]),
            f"{lv['links']:,}",
            f"{lv['groups']:,}",
            f"{lv['profiles_in_groups']:,}",
            f"{lv['precision']:.3f}",
            f"{lv['recall']:.3f}",
            f"{lv['f1']:.3f}",
            f"{lv['bcubed_f1']:.3f}",
            f"{lv['new_true_pairs']:,}",
            f"{lv['new_false_pairs']:,}",
        )
    console.print(table)


def print_report(report: dict[str, Any]) -> None:
    """Print :func:`evaluate_folder`'s result as rich tables."""
    console.print(
        f"{report['results']} against {report['truth']}: "
        f"{report['profiles']:,} profiles, {report['entities']:,} entities",
        markup=False,
    )
    for job, r in report["jobs"].items():
        table = Table(title=job, title_justify="left")
        table.add_column("metric")
        table.add_column("match groups", justify="right")
        table.add_column("merge groups", justify="right")
        for label, key in _ROWS:
            table.add_row(label, _cell(r["match_groups"], key), _cell(r["merge_groups"], key))
        console.print(table)
        _print_examples("match group", r["match_groups"])
        _print_examples("merge group", r["merge_groups"])
        if "levels" in r:
            _print_levels(job, r["levels"])


_HELP = "\n\n".join(
    [
        "Compare a preview's match groups and merge groups with ground truth.",
        "For each job in RESULTS (rule-based, ml) and each grouping (match groups, merge groups): "
        "pairwise precision / recall / F1 (a pair is right when both profiles belong to the same "
        "entity), B-cubed precision / recall / F1, the share of entities resolved exactly (all "
        "their profiles in one group holding nothing else), over-merged groups (more than one "
        "entity) and split entities (spread over more than one group), with examples. For "
        "rule-based results also the match groups using only the links of levels ≤ L, for each "
        "rule level L, and the true and false pairs each level adds.",
        "Profiles in no group are alone. A ratio with nothing to count is 1.0: precision is 1.0 "
        "when nothing is grouped, recall is 1.0 when the truth has no pair.",
        "TRUTH must list exactly the profiles of the preview, each once (checked against the "
        "profile count and sha256 in RESULTS/manifest.json). Exit status 2 on bad input.",
    ]
)


@app.command("evaluate", help=_HELP)
def evaluate_command(
    results: Annotated[
        Path,
        typer.Argument(
            help="Results folder written by `idres preview --out DIR`.", show_default=False
        ),
    ],
    truth: Annotated[
        Path,
        typer.Argument(
            help="Ground truth: CSV or Parquet with columns ProfileId and EntityId, one row per "
            "profile of the previewed profile set.",
            show_default=False,
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    examples: Annotated[
        int,
        typer.Option(
            "--examples",
            min=0,
            help="Over-merged groups and split entities to show as examples, per grouping.",
        ),
    ] = 3,
) -> None:
    """Compare a preview's match groups and merge groups with ground truth (see --help)."""
    report = evaluate_folder(results, truth, examples=examples)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_report(report)


__all__ = ["evaluate_command", "evaluate_folder", "print_report"]
