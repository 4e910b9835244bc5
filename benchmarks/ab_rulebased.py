"""A/B of the rule-based preview: this working tree against a git revision, runs alternating.

On a shared machine the same run varies by ±15 % from one hour to the next, so a change is judged by
runs of both sides taken in turns on the same Parquet file: each run is a fresh process (its own
peak RSS) doing :func:`benchmarks.scale_rulebased.run_idres` (read → preview → results folder),
through :func:`benchmarks.scale_rulebased.child_run`.
The revision is checked out into a temporary git worktree, removed afterwards.

    PYTHONPATH=. .venv/bin/python -m benchmarks.ab_rulebased --base HEAD~1 --size 10000000 --pairs 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_stages(runs: list[dict]) -> dict[str, float]:
    names = dict.fromkeys(k for r in runs for k in r["stages"])
    return {k: statistics.median(r["stages"].get(k, 0.0) for r in runs) for k in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare against")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "idres-bench"))
    args = parser.parse_args()
    from benchmarks.data import make_profiles
    from benchmarks.scale_rulebased import child_run

    parquet = Path(args.data_dir) / f"profiles-{args.size}.parquet"
    if not parquet.exists():
        parquet.parent.mkdir(parents=True, exist_ok=True)
        make_profiles(args.size, seed=0).write_parquet(parquet)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(base), args.base], cwd=ROOT, check=True
        )
        try:
            sides: dict[str, list[dict]] = {"base": [], "new": []}
            for _ in range(args.pairs):
                for side, tree in (("base", base), ("new", ROOT)):
                    sides[side].append(child_run("idres", str(parquet), tree=tree))
                    run = sides[side][-1]
                    print(f"{side}: {run['total']:.1f} s, {run['cpu']:.1f} CPU s", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)
    print(
        "\n| side | median s | runs s | CPU s (median) | peak RSS GB | stages (median s) |\n"
        "|---|---:|---|---:|---:|---|"
    )
    for side, runs in sides.items():
        totals = [r["total"] for r in runs]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in _median_stages(runs).items())
        print(
            f"| {side} ({args.base if side == 'base' else 'working tree'}) | "
            f"{statistics.median(totals):.1f} | {', '.join(f'{t:.1f}' for t in totals)} | "
            f"{statistics.median(r['cpu'] for r in runs):.1f} | "
            f"{max(r['peak_mb'] for r in runs) / 1024:.1f} | {stages} |"
        )


if __name__ == "__main__":
    main()
