"""End-to-end benchmark of the ML job: normalize, blocking, scoring, EM, groups, auto-merge.

Profiles come from :func:`idres.synth.generate` (seed 0, traps at their defaults) and the config is
``datasets/domain-ml.json`` (two consolidation criteria, MinAllowedConfidenceScoreForMerging 0.9).
Each size runs in its own process (so peak RSS is that size's), ``--runs`` times; the table shows
the median seconds of every step with the candidate pairs next to them, pairs scored per second
(candidate pairs / (encode + compare + predict)), the write of ``DIR/ml``, the peak RSS and the
load average of the machine before and after. Generating the profiles is not timed.

Run::

    .venv/bin/python benchmarks/bench_mljob.py                 # n = 100k and 1M, 3 runs each
    .venv/bin/python benchmarks/bench_mljob.py --runs 5 200000

or through pytest-benchmark (100k only): ``.venv/bin/pytest benchmarks/bench_mljob.py``.
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
import warnings
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.memory import peak_rss_mb
from idres.config import load_domain
from idres.mljob import run_ml_job
from idres.synth import generate

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT / "datasets" / "domain-ml.json"
STEPS = (
    "normalize",
    "blocking",
    "encode",
    "compare",
    "fit",
    "predict",
    "groups",
    "consolidate",
)


def run_once(profiles: pl.DataFrame) -> dict[str, Any]:
    """One end-to-end run of the ML job and the write of its results folder."""
    config = load_domain(DOMAIN)
    start = time.perf_counter()
    result = run_ml_job(profiles, config)
    total = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        written = time.perf_counter()
        result.write(Path(tmp) / "ml")
        write = time.perf_counter() - written
    t = result.timings
    scoring = t["encode"] + t["compare"] + t["predict"]
    return {
        **{f"{s}_s": t.get(s, 0.0) for s in STEPS},
        "job_s": total,
        "write_s": write,
        "candidate_pairs": result.pairs.height,
        "pairs_scored_per_s": result.pairs.height / max(scoring, 1e-9),
        "match_groups": result.summary["MatchGroups"],
        "largest_group": result.summary["LargestMatchGroup"],
        "profiles_absorbed": result.summary["ProfilesAbsorbed"],
    }


def child(n: int, runs: int) -> dict[str, Any]:
    """All runs of one size in this process; medians, peak RSS and load averages."""
    warnings.simplefilter("ignore")  # block-size warnings are part of the summary
    load_before = os.getloadavg()[0]
    profiles, _ = generate(n, seed=0)
    results = [run_once(profiles) for _ in range(runs)]
    out: dict[str, Any] = {"n": n, "runs": runs}
    for key in results[0]:
        values = [r[key] for r in results]
        out[key] = statistics.median(values)
    out["job_s_min"] = min(r["job_s"] for r in results)
    out["job_s_max"] = max(r["job_s"] for r in results)
    out["peak_rss_gb"] = peak_rss_mb() / 1024
    out["load_before"] = load_before
    out["load_after"] = os.getloadavg()[0]
    out["cpus"] = os.cpu_count()
    return out


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def test_bench_mljob_100k(benchmark: Any) -> None:
    """pytest-benchmark entry: 100k profiles end to end (one round)."""
    warnings.simplefilter("ignore")
    profiles, _ = generate(100_000, seed=0)
    result = benchmark.pedantic(run_once, args=(profiles,), rounds=1, iterations=1)
    assert result["candidate_pairs"] > 0


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=float, default=[1e5, 1e6])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(int(args.sizes[0]), args.runs)))
        return
    rows = []
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", "--runs", str(args.runs), str(int(n))]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"n={int(n):,}: {rows[-1]['job_s']:.1f} s (median of {args.runs})", file=sys.stderr)
    table = pl.DataFrame(
        {"measure": list(rows[0])}
        | {f"n={r['n']:,}": [_format(v) for v in r.values()] for r in rows}
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
