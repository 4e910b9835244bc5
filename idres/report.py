"""The HTML report of a results folder: one self-contained file, viewable with no network.

:func:`build_report` reads a results folder (and optionally ground truth and a second folder to
compare with) and returns one HTML page: summary tables, group size distribution, groups per rule
level, risk findings, precision / recall / F1 against threshold and score histograms of true and
false pairs (ML scores with truth), evaluation against truth, the largest groups with their
explanations, and the diff view (the threshold, evaluation and diff views are
:mod:`idres.report_views`). Charts are PNGs embedded as ``data:`` URIs (see
:mod:`idres.report_charts`); the CSS is inline; there is no script, font or link to fetch. Every
value from the data is escaped with :func:`html.escape`. :func:`write_report` writes atomically.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from idres import report_charts as charts
from idres import schema
from idres.atomic import atomic_file
from idres.errors import ResultsError
from idres.findings import COUNT_KEYS
from idres.report_charts import details, img, p, records, section, table
from idres.report_views import diff_view, evaluation_view, thresholds_view
from idres.results import ML, RULE_BASED, ResultsFolder
from idres.runs import as_folder, read_scored_pairs
from idres.schema import (
    CONFIDENCE,
    MATCH_ID,
    MERGE_GROUP_ID,
    PROFILE_ID_A,
    PROFILE_ID_B,
    RULE_LEVEL,
)
from idres.truth import check_truth_profile_set, read_truth
from idres.tune import SAME_ENTITY, label_pairs, tune_results

log = logging.getLogger(__name__)

PID: Final = schema.PROFILE_ID
TOP_GROUPS: Final = 5
MAX_ROWS: Final = 30
MAX_MEMBERS: Final = 20

# --- rule-based ---------------------------------------------------------------------------------

RB_KEYS: Final = (*COUNT_KEYS, "MaxAllowedRuleLevelForMerging")
LEVEL_COLUMNS: Final = {
    "level": RULE_LEVEL,
    "rule": "Rule",
    "merges": "Merges",
    "match groups": "MatchGroups",
    "profiles": "Profiles",
    "key groups": "KeyGroups",
    "dead letters": "DeadLetters",
}


def _sizes(groups: pl.DataFrame) -> dict[str, np.ndarray]:
    out = {}
    for label, col in (("match groups", MATCH_ID), ("merge groups", MERGE_GROUP_ID)):
        if col in groups.columns:
            s = groups.filter(pl.col(col).is_not_null()).group_by(col).len().get_column("len")
            out[label] = s.filter(s >= 2).sort().to_numpy()
    return out


def _levels(groups: pl.DataFrame, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per rule level: the summary's rows, else counts from the groups table."""
    if summary.get("Levels"):
        return [
            {**lv, "Rule": " + ".join(lv["Rule"]), "Merges": "yes" if lv["Merges"] else "no"}
            for lv in summary["Levels"]
        ]
    per = groups.group_by(MATCH_ID).agg(pl.col(RULE_LEVEL).first(), pl.len().alias("n"))
    rows = per.group_by(RULE_LEVEL).agg(pl.len(), pl.col("n").sum()).sort(RULE_LEVEL).rows()
    return [{RULE_LEVEL: lv, "MatchGroups": g, "Profiles": n} for lv, g, n in rows]


def _rule_based(folder: ResultsFolder, summary: dict[str, Any]) -> str:
    groups = folder.groups(RULE_BASED)
    facts = [(k, summary[k]) for k in RB_KEYS if k in summary]
    parts = [table(["", "value"], facts)] if facts else []
    levels = _levels(groups, summary)
    if levels:
        x, g, n = ([lv[k] for lv in levels] for k in (RULE_LEVEL, "MatchGroups", "Profiles"))
        parts += [
            "<h3>Groups per rule level</h3>",
            records(levels, LEVEL_COLUMNS),
            img(charts.level_bars(x, g, n), "match groups and profiles per rule level"),
        ]
    parts.append("<h3>Group size distribution</h3>")
    parts.append(img(charts.size_histogram(_sizes(groups)), "rule-based group sizes"))
    return section("rule-based", "Rule-based matching", "".join(parts))


def _binding(group: dict[str, Any]) -> dict[str, Any]:
    keys = group.get("BindingKeys", [])
    text = "; ".join(f"L{k['RuleLevel']}: {k['Key']} × {k['Profiles']}" for k in keys)
    return {**group, "BindingKeys": text}


def _risks(summary: dict[str, Any]) -> str:
    risks = summary.get("Risks")
    if not risks:
        return section("risks", "Risk findings", p("No risk findings recorded.", "muted"))
    large, hubs = risks.get("LargeGroups", []), risks.get("HubValues", [])
    limit, hub = risks.get("MaxGroupSize"), risks.get("HubLimit")
    parts = []
    if not large and not hubs and not risks.get("AttributesAbsent"):
        text = f"No match group over {limit} profiles, no key value shared by {hub}+ profiles."
        parts.append(p(text, "ok"))
    if large:
        parts.append(p(f"{len(large)} match groups over {limit} profiles.", "bad"))
        columns = {MATCH_ID: MATCH_ID, "profiles": "Profiles", "level": RULE_LEVEL}
        columns["binding keys (level: key × profiles)"] = "BindingKeys"
        parts.append(records([_binding(g) for g in large[:MAX_ROWS]], columns))
    if hubs:
        count = risks.get("HubValueCount", len(hubs))
        text = (
            f"{count} key values shared by {hub}+ profiles but under the low-cardinality guard, "
            "so AWS would chain every profile that holds them."
        )
        columns = {"level": RULE_LEVEL, "key value": "Key", "profiles": "Profiles"}
        parts += [p(text, "warn"), records(hubs, {**columns, MATCH_ID: MATCH_ID})]
    if risks.get("AttributesAbsent"):
        absent = ", ".join(risks["AttributesAbsent"])
        parts.append(
            p(f"Rule attributes absent from every profile (never match): {absent}", "warn")
        )
    return section("risks", "Risk findings", "".join(parts))


def _largest(groups: pl.DataFrame, top: int, extra: str) -> list[tuple[Any, ...]]:
    return (
        groups.filter(pl.col(MATCH_ID).is_not_null())
        .group_by(MATCH_ID)
        .agg(pl.len().alias("size"), pl.col(extra).first(), pl.col(PID).sort())
        .filter(pl.col("size") >= 2)
        .sort(["size", MATCH_ID], descending=[True, False])
        .head(top)
        .rows()
    )


def _members(ids: Sequence[str], size: int) -> str:
    more = f" … and {size - MAX_MEMBERS:,} more" if size > MAX_MEMBERS else ""
    return p("Profiles: " + ", ".join(ids[:MAX_MEMBERS]) + more, "muted")


def _rb_explained(folder: ResultsFolder, top: int) -> str:
    parts = []
    for i, (mid, size, level, ids) in enumerate(
        _largest(folder.groups(RULE_BASED), top, RULE_LEVEL)
    ):
        body = [_members(ids, size)]
        try:
            ex = folder.explain(mid)
        except ResultsError as exc:
            body.append(p(f"No explanation: {exc}", "muted"))
        else:
            keys = [
                {**k, "n": len(k["ProfileIds"]), "ids": k["ProfileIds"][:10]}
                for k in ex["KeyGroups"]
            ]
            columns = {"level": RULE_LEVEL, "shared key value": "Key", "profiles": "n"}
            body.append(records(keys[:MAX_ROWS], {**columns, "ProfileIds": "ids"}))
            bridges = ex["Bridges"]
            text = f"{len(bridges)} single links whose removal would split the group (a usual sign of an over-merge):"
            columns = {"profile": PROFILE_ID_A, "other profile": PROFILE_ID_B, "level": RULE_LEVEL}
            columns |= {"key value": "Key", "splits into": "SplitsInto"}
            body.append(
                p(text, "warn") + records(bridges[:MAX_ROWS], columns)
                if bridges
                else p("No bridge: every link lies on a cycle.", "muted")
            )
        title = f"{mid} — {size:,} profiles, rule level {level}"
        parts.append(details(title, "".join(body), opened=i == 0))
    return "".join(parts) or p("No match groups.", "muted")


def _ml_explained(folder: ResultsFolder, pairs: pl.DataFrame | None, top: int) -> str:
    parts = []
    for i, (mid, size, score, ids) in enumerate(_largest(folder.groups(ML), top, CONFIDENCE)):
        body = [_members(ids, size)]
        if pairs is not None:
            members = pl.Series(ids).implode()
            inside = pairs.filter(
                pl.col(PROFILE_ID_A).is_in(members) & pl.col(PROFILE_ID_B).is_in(members)
            ).sort([CONFIDENCE, PROFILE_ID_A, PROFILE_ID_B], descending=[True, False, False])
            text = f"{inside.height:,} scored pairs inside the group, strongest first:"
            rows = inside.head(MAX_ROWS).rows()
            body += [p(text, "muted"), table(["profile", "other profile", CONFIDENCE], rows)]
        title = f"{mid} — {size:,} profiles, ConfidenceScore {charts.fmt(score)}"
        parts.append(details(title, "".join(body), opened=i == 0))
    return "".join(parts) or p("No match groups.", "muted")


# --- ML -----------------------------------------------------------------------------------------


def _ml(
    folder: ResultsFolder, summary: dict[str, Any], truth: pl.DataFrame | None, top: int
) -> str:
    groups = folder.groups(ML)
    scalars = [(k, v) for k, v in summary.items() if isinstance(v, int | float | str)]
    parts = [table(["", "value"], scalars)] if scalars else []
    parts += [
        "<h3>Group size distribution</h3>",
        img(charts.size_histogram(_sizes(groups)), "ML group sizes"),
    ]
    try:
        pairs = read_scored_pairs(folder)
    except ResultsError as exc:
        pairs = None
        parts.append(p(f"No threshold sweep: {exc}", "muted"))
    if pairs is not None:
        parts.append(
            section("thresholds", "ML thresholds", thresholds_view(tune_results(folder, truth)))
        )
    if pairs is not None and truth is not None:
        labelled = label_pairs(pairs, truth)
        same = labelled.get_column(SAME_ENTITY).fill_null(False).to_numpy()
        score = labelled.get_column(CONFIDENCE).to_numpy()
        chart = img(charts.score_histogram(score[same], score[~same]), "score histograms")
        parts.append(section("scores", "Scores of true and false pairs", chart))
    parts.append(section("ml-groups", "Largest ML groups", _ml_explained(folder, pairs, top)))
    return section("ml", "ML matching", "".join(parts))


# --- the page -----------------------------------------------------------------------------------

NAV: Final = {
    "rule-based": "Rule-based",
    "risks": "Risks",
    "rb-groups": "Largest groups",
    "ml": "ML",
    "thresholds": "Thresholds",
    "scores": "Scores",
    "evaluation": "Evaluation",
    "diff": "Diff",
}


def build_report(
    results: ResultsFolder | str | Path,
    *,
    truth: pl.DataFrame | str | Path | None = None,
    compare: str | Path | None = None,
    top_groups: int = TOP_GROUPS,
    examples: int = 5,
) -> str:
    """The HTML report of a results folder (see the module docstring) as one string.

    `truth` (a frame or a truth file) must cover the folder's profile set; `compare` is a second
    results folder over the same profiles (the diff view shows what it does differently).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text('{"profile_count": 0}')
    >>> page = build_report(d)
    >>> page.startswith("<!DOCTYPE html>"), "no job results" in page
    (True, True)
    """
    folder = as_folder(results)
    manifest = folder.manifest
    truth_frame = read_truth(truth) if isinstance(truth, str | Path) else truth
    if truth_frame is not None:
        check_truth_profile_set(
            truth_frame,
            profile_count=manifest.get("profile_count", -1),
            profile_ids_sha256=manifest.get("profile_ids_sha256", ""),
            source=str(truth) if isinstance(truth, str | Path) else "truth",
        )
    summary = folder.summary() if (folder.path / "summary.json").is_file() else {}
    body: list[str] = []
    if RULE_BASED in folder.jobs:
        rb = summary.get(RULE_BASED) or {}
        body += [_rule_based(folder, rb), _risks(rb)]
        body.append(
            section("rb-groups", "Largest rule-based groups", _rb_explained(folder, top_groups))
        )
    if ML in folder.jobs:
        body.append(_ml(folder, summary.get(ML) or {}, truth_frame, top_groups))
    if truth_frame is not None:
        body.append(evaluation_view(folder, truth_frame))
    if compare is not None:
        body.append(diff_view(folder, compare, examples))
    if not folder.jobs:
        body.append(section("summary", "Summary", p("The folder holds no job results.", "warn")))
    name = html.escape(str(manifest.get("DomainName") or "preview"))
    facts = [
        f"results {folder.path}",
        f"{charts.fmt(manifest.get('profile_count'))} profiles",
        "jobs: " + (", ".join(folder.jobs) or "none"),
        f"idres {manifest.get('idres_version', '?')}",
    ]
    if truth is not None:
        facts.append(f"truth {truth if isinstance(truth, str | Path) else '(frame)'}")
    page = "".join(body)
    nav = " ".join(f'<a href="#{i}">{t}</a>' for i, t in NAV.items() if f'id="{i}"' in page)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>idres report: {name}'
        f"</title><style>{charts.CSS}</style></head><body><header><h1>idres report: {name}</h1>"
        f"<p>{html.escape(' · '.join(facts))}</p></header><nav>{nav}</nav><main>{page}</main>"
        "</body></html>\n"
    )


def write_report(
    results: ResultsFolder | str | Path,
    out: str | Path,
    *,
    truth: pl.DataFrame | str | Path | None = None,
    compare: str | Path | None = None,
    top_groups: int = TOP_GROUPS,
    examples: int = 5,
) -> Path:
    """Build the report and write it to `out` atomically; return the path.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text('{"profile_count": 0}')
    >>> write_report(d, d / "report.html").read_text().count("<section")
    1
    """
    page = build_report(
        results, truth=truth, compare=compare, top_groups=top_groups, examples=examples
    )
    target = Path(out)
    with atomic_file(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("report written to %s (%d bytes)", target, len(page))
    return target


__all__ = ["build_report", "write_report"]
