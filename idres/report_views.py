"""Views of the HTML report that weigh a run against something: thresholds, truth, another run.

:func:`thresholds_view` shows the ML threshold sweeps (:mod:`idres.tune`), :func:`evaluation_view`
the metrics against ground truth per job and per rule level (:mod:`idres.evaluate`,
:mod:`idres.levels`), :func:`diff_view` what a second results folder does differently
(:mod:`idres.diff`). Each returns escaped HTML built from :mod:`idres.report_charts`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import polars as pl

from idres import report_charts as charts
from idres.diff import MERGE_GROUPS, diff_results
from idres.diff_examples import Example
from idres.evaluate import evaluate
from idres.levels import evaluate_levels
from idres.report_charts import details, img, p, records, section, table
from idres.results import RULE_BASED, ResultsFolder
from idres.runs import MERGE
from idres.schema import MATCH_ID, MERGE_GROUP_ID, RULE_LEVEL
from idres.tune import KNOWN, LINK, TuneResult, compact

# --- thresholds ---------------------------------------------------------------------------------


def _sweep_table(frame: pl.DataFrame, notes: dict[float, str], cols: Sequence[str]) -> str:
    view = compact(frame, notes, step=0.1)
    cols = [c for c in (*cols, "note") if c in view.columns]
    rows = [(f"{t:.2f}", *rest) for t, *rest in view.select(cols).rows()]  # cols[0]: threshold
    return table(cols, rows)


def thresholds_view(tuned: TuneResult) -> str:
    """The ML threshold sweeps: a chart and compact tables of both parameters."""
    link, merge = tuned.link, tuned.merge
    lm, mm = tuned.notes(LINK), tuned.notes(MERGE)
    metrics = ("precision", "recall", "f1")
    ys: tuple[tuple[str, ...], tuple[str, ...]]
    if tuned.has_truth:
        ys = (metrics, metrics)
        ylabel, alt = "pairwise metric", "precision, recall and F1 against threshold"
    else:
        ys = (("groups", "merges"), ("merge_groups", "merges"))
        ylabel, alt = "count", "groups and merges against threshold"
    panels = [
        (title, {c: frame[c].to_list() for c in ("threshold", *y)}, list(m.items()))
        for title, frame, y, m in (
            ("link threshold (match groups)", link, ys[0], lm),
            (MERGE, merge, ys[1], mm),
        )
    ]
    chart = charts.threshold_lines(panels, ylabel=ylabel, log=not tuned.has_truth)
    run_t = tuned.run_merge_threshold
    note = (
        f"Below the run's {MERGE} ({run_t}) the consolidation of groups that were not eligible "
        "is unknown: they count as merging whole (an upper bound)."
        if run_t is not None
        else "AutoMerging was off in this run: every group counts as merging whole (an upper bound)."
    )
    link_cols = ("threshold", "links", "groups", "merges", *metrics)
    merge_cols = ("threshold", "eligible_groups", "merge_groups", "merges", *metrics, KNOWN)
    return "".join(
        [
            img(chart, alt),
            "<h3>Link threshold</h3>",
            _sweep_table(link, lm, link_cols),
            f"<h3>{MERGE}</h3>",
            p(note, "muted"),
            _sweep_table(merge, mm, merge_cols),
        ]
    )


# --- evaluation and diff ------------------------------------------------------------------------

EVAL_ROWS: Final = {
    "groups (2+ profiles)": "groups",
    "pairwise precision": "precision",
    "pairwise recall": "recall",
    "pairwise F1": "f1",
    "false pairs (wrongly together)": "false_positives",
    "missed pairs": "false_negatives",
    "B-cubed F1": "bcubed_f1",
    "entities resolved exactly": "exact_entity_share",
    "over-merged groups": "over_merged_clusters",
    "split entities": "split_entities",
}
LEVEL_METRICS: Final = {
    "levels": "levels",
    "precision": "precision",
    "recall": "recall",
    "F1": "f1",
    "true pairs added": "new_true_pairs",
    "false pairs added": "new_false_pairs",
}


def evaluation_view(folder: ResultsFolder, truth: pl.DataFrame) -> str:
    """The section of metrics against `truth`, per job and (rule-based) per rule level."""
    parts = []
    for job in folder.jobs:
        groups = folder.groups(job)
        m = [evaluate(groups, truth, cluster_col=c, examples=0) for c in (MATCH_ID, MERGE_GROUP_ID)]
        rows = [(label, getattr(m[0], k), getattr(m[1], k)) for label, k in EVAL_ROWS.items()]
        parts += [
            f"<h3>{html.escape(job)}</h3>",
            table(["metric", "match groups", "merge groups"], rows),
        ]
        links = folder.path / job / "links.parquet"
        if job == RULE_BASED and links.is_file():
            levels = evaluate_levels(pl.read_parquet(links), truth, examples=0)
            per_level = [{**lv.to_dict(), "levels": f"≤ {lv.level}"} for lv in levels]
            if per_level:
                parts.append(img(charts.level_metrics(per_level), "metrics per rule level"))
                parts.append(records(per_level, LEVEL_METRICS))
    return section("evaluation", "Evaluation against truth", "".join(parts))


def _example(x: Example, *, opened: bool = False) -> str:
    why = (
        f"joining rule level {x.level}"
        if x.level is not None
        else f"ConfidenceScore {charts.fmt(x.score)}"
    )
    pieces = table(
        ["group on the other side", "profiles", "ProfileIds"],
        [(pc.group or "(each alone)", pc.size, list(pc.profile_ids)) for pc in x.parts],
    )
    keys = [k for k in (x.evidence[0] if x.evidence else {}) if k != "Profiles"]
    ev = table(["profiles", *keys], [(e["Profiles"], *(e[k] for k in keys)) for e in x.evidence])
    title = f"{x.group}: {x.size:,} profiles from {x.pieces:,} pieces ({why})"
    return details(title, pieces + (ev if x.evidence else ""), opened=opened)


def diff_view(folder: ResultsFolder, compare: str | Path, examples: int) -> str:
    """The section of what the results folder `compare` does differently (B) from `folder` (A)."""
    d = diff_results(folder, compare, examples=examples)
    parts = [p(f"A = this run ({d.a}); B = {d.b}. Merge groups first: merges cannot be undone.")]
    if d.skipped:
        parts.append(p(f"Jobs on one side only (not compared): {', '.join(d.skipped)}", "warn"))
    for g in d.diffs:
        cls = "ok" if not g.merged_profiles else "bad" if g.grouping == MERGE_GROUPS else "warn"
        text = (
            f"B would put {g.merged_profiles:,} profiles in {g.merged_groups:,} {g.grouping} that "
            f"A keeps apart ({g.merged_pairs:,} new pairs)."
            if g.merged_profiles
            else f"B joins no profiles in {g.grouping} that A keeps apart."
        )
        rows = [
            ("together in B, apart in A", g.merged_groups, g.merged_profiles, g.merged_pairs),
            ("together in A, split in B", g.split_groups, g.split_profiles, g.split_pairs),
            ("unchanged", g.unchanged_groups, g.unchanged_profiles, None),
            (
                "total in A → B",
                f"{g.groups_a:,} → {g.groups_b:,}",
                f"{g.profiles_a:,} → {g.profiles_b:,}",
                None,
            ),
        ]
        heading = html.escape(f"{g.job}: {g.grouping}")
        parts += [
            f"<h3>{heading}</h3>",
            p(text, cls),
            table(["", "groups", "profiles", "pairs"], rows),
        ]
        label = "joining rule level" if g.reason == RULE_LEVEL else "ConfidenceScore band"
        for what, by, exs in (
            ("merged in B", g.merged_by, g.merged_examples),
            ("split in B", g.split_by, g.split_examples),
        ):
            if by:
                parts.append(table([f"{what}: {label}", "groups", "profiles"], by))
            parts.extend(_example(x, opened=i == 0) for i, x in enumerate(exs))
    return section("diff", "Diff with another run", "".join(parts))


__all__ = ["diff_view", "evaluation_view", "thresholds_view"]
