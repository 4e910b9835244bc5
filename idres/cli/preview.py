"""CLI commands: preview (run the enabled jobs), similar (GetSimilarProfiles), explain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from idres.cli._common import app, command_rule_options, console, err_console, progress
from idres.findings import COUNT_KEYS

RB = "rule-based"


def _summary_tables(summary: dict[str, Any]) -> None:
    rb = summary.get(RB)
    if rb:
        head = Table(title="Rule-based matching", show_header=False, title_justify="left")
        for key in COUNT_KEYS:
            head.add_row(key, f"{rb[key]:,}")
        console.print(head)
        levels = Table(title="Per rule level", title_justify="left")
        for col in ("Level", "Rule", "Merges", "Match groups", "Profiles", "Dead letters"):
            levels.add_column(col, justify="right" if col != "Rule" else "left")
        for lv in rb["Levels"]:
            levels.add_row(
                str(lv["RuleLevel"]),
                " + ".join(lv["Rule"]),
                "yes" if lv["Merges"] else "match only",
                f"{lv['MatchGroups']:,}",
                f"{lv['Profiles']:,}",
                f"{lv['DeadLetters']:,}",
            )
        console.print(levels)
        console.print(_group_table("Largest match groups", rb["LargestGroups"]))
        _risks(rb["Risks"])
    ml = summary.get("ml")
    if ml:
        table = Table(title="ML matching", show_header=False, title_justify="left")
        for key, value in ml.items():
            if isinstance(value, int | float | str):
                table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
        console.print(table)


def _group_table(title: str, groups: list[dict[str, Any]]) -> Table:
    """Groups with the key that binds most of each (full MatchIds: users copy them)."""
    table = Table(title=title, title_justify="left")
    table.add_column("MatchId", no_wrap=True)
    table.add_column("Profiles", justify="right")
    table.add_column("Level", justify="right")
    table.add_column("Main binding key (profiles)", overflow="fold")
    for g in groups:
        keys = g["BindingKeys"]
        bind = f"L{keys[0]['RuleLevel']} {keys[0]['Key']} ({keys[0]['Profiles']})" if keys else ""
        table.add_row(g["MatchId"], str(g["Profiles"]), str(g["RuleLevel"]), bind)
    return table


def _risks(risks: dict[str, Any]) -> None:
    large, hubs = risks["LargeGroups"], risks["HubValues"]
    if not large and not hubs and not risks["AttributesAbsent"]:
        console.print(
            "[green]No risk findings[/]: no group over "
            f"{risks['MaxGroupSize']} profiles, no key shared by {risks['HubLimit']}+ profiles."
        )
        return
    if large:
        title = f"[red]RISK[/] match groups over {risks['MaxGroupSize']} profiles"
        console.print(_group_table(title, large[:15]))
    if hubs:
        t = Table(
            title=f"[yellow]RISK[/] {risks['HubValueCount']:,} key values shared by "
            f"{risks['HubLimit']}+ profiles (under the low-cardinality guard, so AWS would chain them)",
            title_justify="left",
        )
        for col in ("Level", "Key", "Profiles", "MatchId"):
            t.add_column(col)
        for h in hubs[:15]:
            t.add_row(str(h["RuleLevel"]), h["Key"], str(h["Profiles"]), h["MatchId"] or "")
        console.print(t)
    if risks["AttributesAbsent"]:
        console.print(
            "[yellow]Rule attributes absent from every profile (they never match):[/] "
            + ", ".join(risks["AttributesAbsent"])
        )


@app.command("preview")
def preview_command(
    domain: Annotated[
        Path,
        typer.Argument(
            help="Domain config: CreateDomain request or GetDomain response, JSON or YAML."
        ),
    ],
    profiles: Annotated[
        Path,
        typer.Argument(help="Profiles: JSONL, JSON array, search-profiles output, CSV or Parquet."),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Results folder to write (see README: results layout)."),
    ],
    force: Annotated[bool, typer.Option(help="Replace a non-empty results folder.")] = False,
    job: Annotated[
        str | None,
        typer.Option(help="Run only 'rule-based' or 'ml' (default: every job the config enables)."),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Truth file (ProfileId, EntityId; CSV or Parquet): also print evaluation."
        ),
    ] = None,
    low_cardinality_limit: Annotated[
        int, typer.Option(help="AWS's guard: a value held by more profiles than this is skipped.")
    ] = 500,
    max_group_size: Annotated[
        int, typer.Option(help="Flag match groups larger than this as a risk.")
    ] = 50,
    hub_limit: Annotated[
        int, typer.Option(help="Flag key values shared by at least this many profiles as a risk.")
    ] = 20,
    normalization: Annotated[
        str,
        typer.Option(
            help="'standard' or 'entity-resolution' (address abbreviations, state/country codes)."
        ),
    ] = "standard",
    source_column: Annotated[
        str,
        typer.Option(help="Column holding each record's ObjectType (SOURCE conflict resolution)."),
    ] = "SourceObjectType",
    updated_column: Annotated[
        str, typer.Option(help="Column holding each record's update time (RECENCY).")
    ] = "LastUpdatedAt",
    profile_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Profile file format when the extension does not say: jsonl, json, csv, parquet.",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
    link_threshold: Annotated[
        float,
        typer.Option(help="ML job: link pairs whose ConfidenceScore is at least this (0..1)."),
    ] = 0.9,
    model: Annotated[
        Path | None,
        typer.Option(help="ML job: a saved model.json to score with instead of fitting."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="ML job: ISO time the job is scheduled after (default: latest LastUpdatedAt)."
        ),
    ] = None,
    max_block_size: Annotated[
        int, typer.Option(help="ML job: skip blocking keys shared by more profiles than this.")
    ] = 500,
    seed: Annotated[
        int, typer.Option(help="ML job: seed of the random pairs that estimate u.")
    ] = 0,
    send_dlq: Annotated[
        bool,
        typer.Option(
            "--send-dlq",
            help="Also send the dead letters to the config's DeadLetterQueueUrl (SQS); without it they "
            "stay in the results folder.",
        ),
    ] = False,
    endpoint_url: Annotated[
        str | None, typer.Option(help="With --send-dlq: an SQS API endpoint other than AWS's.")
    ] = None,
) -> None:
    """Preview which profiles a domain config would match and merge, and why.

    Runs the rule-based job when RuleBasedMatching.Enabled and the ML job when Matching.Enabled,
    writes matches, merged profiles, merge plan, dead letters and the summary to --out, and prints
    the summary with risk findings (over-large groups, widely shared key values).
    """
    from idres.atomic import check_output_dir
    from idres.config import load_domain
    from idres.errors import InputError, Problem
    from idres.pipeline import preview
    from idres.profiles import scan_profiles
    from idres.results import write_results

    if normalization not in ("standard", "entity-resolution"):
        raise InputError(
            Problem(
                None,
                "--normalization",
                f"must be 'standard' or 'entity-resolution' (got {normalization!r})",
            )
        )
    if job not in (None, "rule-based", "ml"):
        raise InputError(Problem(None, "--job", f"must be 'rule-based' or 'ml' (got {job!r})"))
    check_output_dir(out, force=force)
    config = load_domain(domain)
    queue = config.DeadLetterQueueUrl
    if send_dlq and not queue:
        raise InputError(
            Problem(
                str(domain),
                "DeadLetterQueueUrl",
                "--send-dlq needs a DeadLetterQueueUrl (got none)",
            )
        )
    from idres.mljob import MLOptions
    from idres.schedule import parse_moment

    ml_options = MLOptions(
        link_threshold=link_threshold,
        model=model,
        as_of=parse_moment(as_of, option="--as-of") if as_of else None,
        max_block_size=max_block_size,
        seed=seed,
        normalization=normalization,
    )
    with progress(enabled=not json_output) as bar:
        task = bar.add_task("reading inputs", total=None)
        frame = scan_profiles(  # Parquet stays lazy: the preview reads what it needs
            profiles,
            format=profile_format,
            source_column=source_column,
            updated_column=updated_column,
        )
        truth_frame = None
        if truth is not None:
            from idres.truth import check_truth, read_truth

            truth_frame = read_truth(truth)
            ids = frame.lazy().select("ProfileId").collect().get_column("ProfileId")
            check_truth(truth_frame, ids, source=str(truth))

        def step(name: str) -> None:
            bar.update(task, description=name)

        result = preview(
            config,
            frame,
            rule_based_options=command_rule_options(
                low_cardinality_limit=low_cardinality_limit,
                max_group_size=max_group_size,
                hub_limit=hub_limit,
                normalization=normalization,
            ),
            ml_options=ml_options,
            jobs=(job,) if job else None,
            on_step=step,
        )
        result.inputs.update({"config": str(domain), "profiles": str(profiles)})
        step("writing results")
        write_results(result, out, force=force)
    if send_dlq and result.rule_based is not None:
        from idres.dlq import send_dead_letters

        report = send_dead_letters(
            out, queue, domain_name=config.DomainName, endpoint_url=endpoint_url
        )
        err_console.print(
            f"Dead letters sent to {report.queue_url}: {report.sent:,}; refused: {len(report.failed):,}"
        )
        if report.failed:
            raise typer.Exit(1)
    summary = result.summary
    if truth_frame is not None:
        from idres.evaluate import evaluate

        for name, job_result in ((RB, result.rule_based), ("ml", result.ml)):
            if job_result is None:
                continue
            groups = job_result.groups
            summary[name]["Evaluation"] = {
                "MatchGroups": evaluate(groups, truth_frame).to_dict(),
                "MergeGroups": evaluate(
                    groups.filter(groups["MergeGroupId"].is_not_null()),
                    truth_frame,
                    cluster_col="MergeGroupId",
                ).to_dict(),
            }
    if json_output:
        console.print_json(json.dumps(summary, default=str))
        return
    _summary_tables(summary)
    for name in (RB, "ml"):
        ev = summary.get(name, {}).get("Evaluation")
        if ev:
            t = Table(title=f"{name}: evaluation against {truth}", title_justify="left")
            for col in ("groups", "pair precision", "pair recall", "pair F1", "B³ F1"):
                t.add_column(col)
            for kind, m in ev.items():
                t.add_row(
                    kind,
                    *(
                        f"{m.get(k, float('nan')):.4f}"
                        for k in (
                            "precision",
                            "recall",
                            "f1",
                            "bcubed_f1",
                        )
                    ),
                )
            console.print(t)
    console.print(f"Results written to [bold]{out}[/]")


@app.command("similar")
def similar_command(
    results: Annotated[Path, typer.Argument(help="A results folder written by 'idres preview'.")],
    profile_id: Annotated[
        str | None, typer.Option("--profile-id", help="Search key _profileId.")
    ] = None,
    match_id: Annotated[str | None, typer.Option("--match-id", help="Search key _matchId.")] = None,
    job: Annotated[
        str | None,
        typer.Option(help="'rule-based' (RULE_BASED_MATCHING) or 'ml' (ML_BASED_MATCHING)."),
    ] = None,
) -> None:
    """Answer like GetSimilarProfiles: the match group of a profile or of a MatchId, as JSON."""
    from idres.results import ResultsFolder

    folder = ResultsFolder(results)
    answer = folder.similar(folder.default_job(job), profile_id=profile_id, match_id=match_id)
    console.print_json(json.dumps(answer))


@app.command("explain")
def explain_command(
    results: Annotated[Path, typer.Argument(help="A results folder written by 'idres preview'.")],
    match_id: Annotated[str, typer.Option("--match-id", help="The rule-based MatchId to explain.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of tables.")
    ] = False,
) -> None:
    """Explain a rule-based match group: the keys and links that hold it, and its bridges."""
    from idres.results import ResultsFolder

    info = ResultsFolder(results).explain(match_id)
    if json_output:
        console.print_json(json.dumps(info))
        return
    console.print(
        f"Match group [bold]{info['MatchId']}[/]: {len(info['ProfileIds'])} profiles, RuleLevel {info['RuleLevel']}"
    )
    keys = Table(
        title="Key groups (profiles sharing all attributes of a rule level)", title_justify="left"
    )
    for col in ("Level", "Key", "Profiles"):
        keys.add_column(col)
    for k in info["KeyGroups"]:
        shown = ", ".join(k["ProfileIds"][:6]) + (" ..." if len(k["ProfileIds"]) > 6 else "")
        keys.add_row(str(k["RuleLevel"]), k["Key"], f"{len(k['ProfileIds'])}: {shown}")
    console.print(keys)
    if "Links" in info:
        links = Table(title="Links (pairs, lowest level, matched values)", title_justify="left")
        for col in ("ProfileIdA", "ProfileIdB", "Level", "Matched on"):
            links.add_column(col)
        for link in info["Links"]:
            links.add_row(
                link["ProfileIdA"],
                link["ProfileIdB"],
                str(link["RuleLevel"]),
                " | ".join(link["Key"]),
            )
        console.print(links)
    if info["Bridges"]:
        bridges = Table(
            title="[red]Bridges[/]: single links whose removal splits the group",
            title_justify="left",
        )
        for col in ("ProfileIdA", "ProfileIdB", "Level", "Key", "Splits into"):
            bridges.add_column(col)
        for b in info["Bridges"]:
            bridges.add_row(
                b["ProfileIdA"],
                b["ProfileIdB"],
                str(b["RuleLevel"]),
                b["Key"],
                " + ".join(map(str, b["SplitsInto"])),
            )
        console.print(bridges)
    else:
        console.print(
            "[green]No bridges[/]: no single link holds two parts of this group together."
        )
