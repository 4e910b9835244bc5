"""Benchmarks of idres.synth: generate 100,000 and 1,000,000 synthetic profiles with truth.

    .venv/bin/pytest benchmarks/bench_synth.py --benchmark-only -p no:cacheprovider
    .venv/bin/python benchmarks/bench_synth.py [--sizes 1e5 1e6 1e7] [--repeat 3]   # medians, peak RSS

Default parameters, seed 0. The script mode runs each size in a fresh Python process, so the peak
resident set size it prints (``resource.getrusage``) belongs to that size alone; it also prints the
CPU time (user + system) of one run, which is what a busy machine does not distort.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.memory import peak_rss_mb
from idres.synth import synthesize


def run(n: int) -> Any:
    return synthesize(n, seed=0)


@pytest.mark.parametrize("n", [pytest.param(10**5, id="n=1e5"), pytest.param(10**6, id="n=1e6")])
def test_generate(benchmark: Any, n: int) -> None:
    s = benchmark.pedantic(run, args=(n,), rounds=3, iterations=1)
    assert s.profiles.height == s.truth.height == n


def _one(n: int, repeat: int) -> dict[str, float]:
    """Time `repeat` runs of size `n` in this process; peak RSS and CPU of the process."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        run(n)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    peak_mb = peak_rss_mb()
    return {
        "median_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "peak_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(int(args.one), args.repeat)))
        return
    for size in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(size), "--repeat", str(args.repeat)]
        child = subprocess.run(cmd, check=True, capture_output=True, text=True)
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"synthesize n={size:.0e}: median {r['median_s']:6.2f} s over {args.repeat} runs, "
            f"CPU {r['cpu_s']:6.2f} s per run, peak RSS {r['peak_mb']:7.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
