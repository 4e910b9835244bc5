"""CLI command ``idres generate``: synthetic profiles with ground truth (a thin shell over idres.synth)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from idres import __version__
from idres.atomic import atomic_dir
from idres.cli._common import app, console, progress
from idres.errors import InputError, Problem, did_you_mean
from idres.profiles import write_profiles
from idres.synth import SynthParams, synthesize


class Format(StrEnum):
    """Profile file formats."""

    parquet = "parquet"
    jsonl = "jsonl"
    csv = "csv"
    json = "json"


class TruthFormat(StrEnum):
    """Truth (and labels) file formats."""

    parquet = "parquet"
    csv = "csv"


#: SynthParams fields that have their own option (so errors name the option the user typed).
_OPTIONS = {
    "household_rate": "--households-rate",
    "placeholder_rate": "--placeholder-rate",
    "singleton_rate": "--singleton-rate",
    "business_rate": "--business-rate",
    "namesake_rate": "--namesake-rate",
    "typo_rate": "--typo-rate",
}
_FIELDS = {f.name: f for f in dataclasses.fields(SynthParams)}
_DEFAULTS = SynthParams()
_shown = {
    k: ",".join(map(str, v))
    if isinstance(v, tuple)
    else v.isoformat()
    if isinstance(v, datetime)
    else v
    for k, v in ((f, getattr(_DEFAULTS, f)) for f in _FIELDS)
}

_HELP = f"""Generate synthetic customer profiles with known ground truth.

Writes DIR/profiles.<format> (JSON Lines and JSON in the nested AWS profile shape, CSV and Parquet
flat with dot-joined columns such as Address.City) and DIR/truth.parquet (DIR/truth.csv with
--format csv or --truth-format csv): one row per profile, ProfileId and EntityId, where
profiles of one real-world entity share the EntityId. DIR/synth.json records N, the seed and every
parameter, so the same command gives the same bytes.

Entities are people and some businesses; most have one profile, a few many (Zipf tail up to
max_profiles_per_entity). Every profile is corrupted field by field: typos, nicknames (William ->
Bill), case and whitespace, phone formats ((617) 555-0100, +1-617-555-0100, ...), e-mail case,
address abbreviations (Street <-> St), values under another sub-type (mobile vs home phone, personal
vs business e-mail, shipping vs mailing address), missing fields, four sources with their own update
times over two years. Traps: households (distinct entities sharing an address, a home phone, a last
name and sometimes an e-mail), namesakes (same first and last name) and placeholder values
(test@test.com, 555-555-5555, N/A) on unrelated profiles.

The main rates have their own options; every other parameter is set with --param NAME=VALUE
(repeatable). Parameters and defaults: {", ".join(f"{k}={v}" for k, v in _shown.items())}.
Lists (sources, source_weights) are comma-separated; sources without source_weights are equally
frequent; updated_end is ISO-8601 with a time zone.

A non-empty DIR is refused unless --force; the folder is written beside DIR and swapped in when
complete. Bad options print one line per problem and exit with status 2."""


def _rate(option: str, what: str) -> typer.models.OptionInfo:
    return typer.Option(option, help=what, show_default=False)


@app.command("generate", help=_HELP)
def generate_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="Output folder (required).", show_default=False, metavar="DIR"),
    ],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of profiles.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 0,
    format: Annotated[
        Format, typer.Option("--format", help="Format of the profile file.")
    ] = Format.parquet,
    truth_format: Annotated[
        TruthFormat | None,
        typer.Option(
            "--truth-format",
            help="Format of truth (and labels): default csv with --format csv, else parquet.",
            show_default=False,
        ),
    ] = None,
    households_rate: Annotated[
        float | None,
        _rate(
            "--households-rate",
            f"Share of person entities living in a household (default {_DEFAULTS.household_rate}).",
        ),
    ] = None,
    placeholder_rate: Annotated[
        float | None,
        _rate(
            "--placeholder-rate",
            f"Share of profiles with a placeholder value (default {_DEFAULTS.placeholder_rate}).",
        ),
    ] = None,
    singleton_rate: Annotated[
        float | None,
        _rate(
            "--singleton-rate",
            f"Share of entities with a single profile (default {_DEFAULTS.singleton_rate}).",
        ),
    ] = None,
    business_rate: Annotated[
        float | None,
        _rate(
            "--business-rate",
            f"Share of entities that are businesses (default {_DEFAULTS.business_rate}).",
        ),
    ] = None,
    namesake_rate: Annotated[
        float | None,
        _rate(
            "--namesake-rate",
            "Share of person entities given another's first and last name "
            f"(default {_DEFAULTS.namesake_rate}).",
        ),
    ] = None,
    typo_rate: Annotated[
        float | None,
        _rate("--typo-rate", f"Per profile and field: one typo (default {_DEFAULTS.typo_rate})."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="NAME=VALUE",
            help="Set any other generator parameter (repeatable), e.g. --param missing_email_rate=0.3.",
            show_default=False,
        ),
    ] = None,
    labels: Annotated[
        bool,
        typer.Option(
            "--labels",
            help="Also write DIR/labels.<truth format>: per profile its Kind, HouseholdId, "
            "Namesake, Nickname, Typo, Moved and Placeholder field.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace DIR if it exists and is not empty.")
    ] = False,
) -> None:
    """Generate, write atomically, print a summary."""
    options = {
        "household_rate": households_rate,
        "placeholder_rate": placeholder_rate,
        "singleton_rate": singleton_rate,
        "business_rate": business_rate,
        "namesake_rate": namesake_rate,
        "typo_rate": typo_rate,
    }
    params = parse_params(param or [], {k: v for k, v in options.items() if v is not None})
    truth_ext = truth_format or ("csv" if format == Format.csv else "parquet")
    with progress(enabled=n >= 200_000) as bar, atomic_dir(out, force=force) as tmp:
        task = bar.add_task(f"generating {n:,} profiles", total=3)
        result = synthesize(n, seed=seed, params=params)
        bar.update(task, advance=1, description="writing profiles")
        write_profiles(result.profiles, tmp / f"profiles.{format.value}", format=format.value)
        bar.update(task, advance=1, description="writing truth")
        written = [f"profiles.{format.value}", f"truth.{truth_ext}"]
        tables = {"truth": result.truth, **({"labels": result.labels} if labels else {})}
        for name, table in tables.items():
            path = tmp / f"{name}.{truth_ext}"
            if truth_ext == "csv":
                table.write_csv(path)
            else:
                table.write_parquet(path)
        written += [f"labels.{truth_ext}"] if labels else []
        record = {"idres": __version__, "n": n, "seed": seed, "params": _jsonable(params)}
        (tmp / "synth.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        bar.update(task, advance=1)
    _print_summary(out, result.summary(), [*written, "synth.json"])


def parse_params(items: list[str], options: dict[str, float]) -> SynthParams:
    """SynthParams from ``NAME=VALUE`` strings and the dedicated options; every problem at once.

    >>> parse_params(["missing_email_rate=0.3", "sources=CRM,Web"], {"household_rate": 0.1}).sources
    ('CRM', 'Web')
    """
    values: dict[str, object] = dict(options)
    where = {name: _OPTIONS[name] for name in options}
    problems: list[Problem] = []
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq:
            problems.append(Problem(None, "--param", f"expected NAME=VALUE (got {item!r})"))
        elif name not in _FIELDS:
            hint = did_you_mean(name, _FIELDS)
            problems.append(Problem(None, "--param", f"unknown parameter{hint} (got {name!r})"))
        else:
            where[name] = f"--param {name}"
            try:
                values[name] = _convert(str(_FIELDS[name].type), text.strip())
            except ValueError:
                kind = str(_FIELDS[name].type)
                problems.append(Problem(None, f"--param {name}", f"expected {kind} (got {text!r})"))
    if "sources" in values and "source_weights" not in values:
        values["source_weights"] = ()  # equal weights for the user's sources
    try:
        params = SynthParams(**values)  # type: ignore[arg-type]
    except InputError as exc:
        problems += [
            Problem(None, where.get(p.location, p.location), p.message) for p in exc.problems
        ]
    if problems:
        raise InputError(problems)
    return params


def _convert(kind: str, text: str) -> object:
    if kind == "float":
        return float(text)
    if kind == "int":
        return int(text)
    if kind == "datetime":
        return datetime.fromisoformat(text)
    if kind == "tuple[float, ...]":
        return tuple(float(x) for x in text.split(",") if x.strip())
    return tuple(x.strip() for x in text.split(","))


def _jsonable(params: SynthParams) -> dict[str, object]:
    out = dataclasses.asdict(params)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in out.items()}


def _print_summary(out: Path, summary: dict[str, int], files: list[str]) -> None:
    console.print(f"[bold]Synthetic profiles in {escape(str(out))}[/]", soft_wrap=True)
    table = Table()
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in summary.items():
        table.add_row(key, f"{value:,}")
    console.print(table)
    console.print("files: " + ", ".join(files), soft_wrap=True)
