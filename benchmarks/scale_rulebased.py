"""Scale run of the rule-based preview: 100k, 1M, 10M profiles, stage timings, peak RSS, floor ratio.

Each measurement runs in a fresh subprocess (so peak RSS is that run's own) and is repeated; the
table reports medians. The *floor* is the least any rule-based preview must do on the same file:
read the Parquet, one Polars group-by per level on the raw columns, scipy components — no
normalization, no sub-type combinations, no merging, nothing written (the whole file is read, as
any preview that writes merged profiles must). idres / floor is the
overhead ratio (target ≤ 2.5), measured in the same run so machine noise cancels. idres scans the
file as ``idres preview`` does (:func:`idres.profiles.scan_profiles`): "read" is the ProfileId and
timestamp check; the rule columns are read inside "rule keys", which also normalizes (distinct
values only) and codes them, and the other columns of the profiles that merge inside "merge", a
batch of columns at a time. "write" is the whole results folder; its "write: <file>" parts are
shown too. CPU s is each child process's user + system time (imports included): the work done,
which other tenants of the machine disturb less than the wall time.

    .venv/bin/python -m benchmarks.scale_rulebased --sizes 100000 1000000 --repeat 3
    .venv/bin/python -m benchmarks.scale_rulebased --sizes 10000000 --repeat 1 --matching-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.memory import cpu_s, peak_rss_mb
from idres.allocator import allocator_environ

CONFIG = {
    "DomainName": "scale",
    "RuleBasedMatching": {
        "Enabled": True,
        "MatchingRules": [
            {"Rule": ["EmailAddress"]},
            {"Rule": ["PhoneNumber", "LastName"]},
            {"Rule": ["FirstName", "LastName", "BirthDate"]},
            {"Rule": ["Address.Address", "Address.PostalCode", "LastName"]},
            {"Rule": ["FirstName", "LastName", "Address.City"]},
        ],
        "MaxAllowedRuleLevelForMerging": 2,
        "AttributeTypesSelector": {
            "AttributeMatchingModel": "MANY_TO_MANY",
            "EmailAddress": ["EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress"],
            "PhoneNumber": ["PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber"],
            "Address": ["Address"],
        },
        "ConflictResolution": {"ConflictResolvingModel": "RECENCY"},
    },
}
FLOOR_LEVELS = [
    ["EmailAddress"],
    ["PhoneNumber", "LastName"],
    ["FirstName", "LastName", "BirthDate"],
    ["Address.Address1", "Address.PostalCode", "LastName"],
    ["FirstName", "LastName", "Address.City"],
]


def run_idres(parquet: str, out: str, *, matching_only: bool = False) -> dict:
    """Read Parquet → rule-based preview → results folder (merged profiles included) written.

    With `matching_only`, the config merges nothing and no results folder is written.
    """
    from idres.cli._common import command_rule_options
    from idres.config import parse_domain
    from idres.pipeline import preview
    from idres.profiles import scan_profiles
    from idres.results import write_results

    config = json.loads(json.dumps(CONFIG))
    if matching_only:
        del config["RuleBasedMatching"]["MaxAllowedRuleLevelForMerging"]
    t0 = time.perf_counter()
    profiles = scan_profiles(parquet)  # checks ProfileIds and timestamps; columns read on demand
    t_read = time.perf_counter() - t0
    # As the idres command runs it (numpy's large blocks kept in one heap during rule keys).
    result = preview(parse_domain(config), profiles, rule_based_options=command_rule_options())
    t_run = time.perf_counter() - t0 - t_read
    t1 = time.perf_counter()
    if not matching_only:
        write_results(result, out, force=True)
    t_write = time.perf_counter() - t1
    rb = result.rule_based
    return {
        "total": time.perf_counter() - t0,
        "read": t_read + result.rule_based.timings.pop("read", 0.0),
        "run": t_run,
        "write": t_write,
        "stages": rb.timings,
        "groups": rb.summary["MatchGroups"],
        "merged": rb.summary["ProfilesInMergeGroups"],
        "peak_mb": peak_rss_mb(),
        "cpu": cpu_s(),
    }


def run_floor(parquet: str) -> dict:
    """One group-by per level on raw columns + scipy components; nothing else."""
    from idres.graph import components

    t0 = time.perf_counter()
    # The whole file is read, as any preview that writes merged profiles must.
    frame = pl.read_parquet(parquet).with_row_index("__row")
    parts = [
        frame.lazy()
        .select("__row", *lv)
        .drop_nulls(lv)
        .with_columns(pl.col("__row").min().over(lv).alias("__a"))
        .filter(pl.col("__row") != pl.col("__a"))
        .select("__a", "__row")
        for lv in FLOOR_LEVELS
    ]
    edges = pl.concat(pl.collect_all(parts))
    labels = components(frame.height, edges["__a"].to_numpy(), edges["__row"].to_numpy())
    return {
        "total": time.perf_counter() - t0,
        "groups": int(np.unique(labels).size),
        "peak_mb": peak_rss_mb(),
        "cpu": cpu_s(),
    }


def child_run(kind: str, parquet: str, *, tree: Path | None = None) -> dict:
    """One measurement (`kind`: idres, matching or floor) in a fresh process, with the code of
    the checkout `tree` (default: this one). Every child, the floor's too, gets the allocator
    setting the ``idres`` command makes (:mod:`idres.allocator`): this module loads Polars before
    idres could make it, and both sides of a comparison should run alike."""
    env = {**os.environ, **allocator_environ()}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "benchmarks.scale_rulebased", "--child", kind, parquet, tmp]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tree, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "idres-bench"))
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PARQUET", "OUT"))
    parser.add_argument(
        "--matching-only",
        action="store_true",
        help="time idres without merging or writing (what the 10M row of README reports)",
    )
    args = parser.parse_args()
    if args.child:
        kind, parquet, out = args.child
        if kind == "floor":
            res = run_floor(parquet)
        else:
            res = run_idres(parquet, out + "/res", matching_only=kind == "matching")
        print(json.dumps(res))
        return
    from benchmarks.data import make_profiles

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    print(
        "| profiles | idres s (median) | floor s (median) | idres / floor | CPU s, idres / floor | "
        "peak RSS GB | match groups | profiles merged | stages (median s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    each = []  # every run's total, to show the machine's noise beside the medians
    for n in args.sizes:
        parquet = data_dir / f"profiles-{n}.parquet"
        if not parquet.exists():
            make_profiles(n, seed=0).write_parquet(parquet)
        runs, floors = [], []
        for _ in range(args.repeat):  # interleave so both see the same machine load
            floors.append(child_run("floor", str(parquet)))
            runs.append(child_run("matching" if args.matching_only else "idres", str(parquet)))
        idres_s = statistics.median(r["total"] for r in runs)
        floor_s = statistics.median(f["total"] for f in floors)
        ratios = statistics.median(
            r["total"] / f["total"] for r, f in zip(runs, floors, strict=True)
        )
        stages = {
            k: statistics.median(r["stages"].get(k, 0.0) for r in runs) for k in runs[0]["stages"]
        }
        stages["read"] = statistics.median(r["read"] for r in runs)
        stages["write"] = statistics.median(r["write"] for r in runs)
        stage_txt = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
        cpu = f"{statistics.median(r['cpu'] for r in runs):.1f} / "
        cpu += f"{statistics.median(f['cpu'] for f in floors):.1f}"
        print(
            f"| {n:,} | {idres_s:.1f} | {floor_s:.1f} | {ratios:.2f} | {cpu} | "
            f"{max(r['peak_mb'] for r in runs) / 1024:.1f} | {runs[0]['groups']:,} | "
            f"{runs[0]['merged']:,} | {stage_txt} |",
            flush=True,
        )
        each.append(
            f"{n:,}: idres "
            + ", ".join(f"{r['total']:.1f} ({r['cpu']:.0f} CPU)" for r in runs)
            + "; floor "
            + ", ".join(f"{f['total']:.1f} ({f['cpu']:.0f} CPU)" for f in floors)
            + " (s, in run order)"
        )
    print()
    print("\n".join(each))


if __name__ == "__main__":
    main()
