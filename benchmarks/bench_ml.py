"""End-to-end ML scoring benchmark: normalize, block, compare, EM, predict, groups.

Run the table (100k and 1M profiles by default)::

    .venv/bin/python benchmarks/bench_ml.py            # n = 1e5, 1e6
    .venv/bin/python benchmarks/bench_ml.py 200000     # other sizes

or through pytest-benchmark (100k only): ``.venv/bin/pytest benchmarks/bench_ml.py``.

Profiles come from ``benchmarks/data.py make_profiles(n, seed)`` when it exists, else from the seeded
generator below (entities with 1..8 profiles, Zipf-distributed names, households sharing address,
phone and last name, typos, values under other sub-types, placeholder emails and phones).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.febrl import normalize_profiles
from benchmarks.memory import peak_rss_mb
from idres import schema
from idres.ml import DEFAULT_LINK_THRESHOLD, ml_groups, score_profiles

_LETTERS = "karimolasanetoviraelanjobethmadelicharnasolycedamieronphtarige"
_SYLLABLES = np.array([_LETTERS[i : i + 2] for i in range(0, len(_LETTERS), 2)])


def _pool(rng: np.random.Generator, size: int, parts: tuple[int, int]) -> pl.Series:
    """`size` distinct pseudo-names of `parts` syllables."""
    k = rng.integers(parts[0], parts[1] + 1, size * 2)
    idx = rng.integers(0, _SYLLABLES.size, (size * 2, parts[1]))
    cols = [pl.Series(_SYLLABLES[idx[:, j]]) for j in range(parts[1])]
    frame = pl.DataFrame({f"s{j}": c for j, c in enumerate(cols)}).with_columns(k=pl.Series(k))
    name = pl.concat_str(
        [
            pl.when(pl.col("k") > j).then(pl.col(f"s{j}")).otherwise(pl.lit(""))
            for j in range(parts[1])
        ]
    )
    return frame.select(name.alias("n")).unique(maintain_order=True).head(size)["n"]


def _zipf(rng: np.random.Generator, size: int, pool: int, a: float = 1.1) -> np.ndarray:
    ranks = np.arange(1, pool + 1, dtype=np.float64) ** -a
    return rng.choice(pool, size, p=ranks / ranks.sum())


def _typo(expr: pl.Expr, mask: np.ndarray, pos: np.ndarray, char: np.ndarray) -> pl.Expr:
    p = pl.lit(pl.Series(pos)) % expr.str.len_chars().clip(1)
    swapped = expr.str.slice(0, p) + pl.lit(pl.Series(char)) + expr.str.slice(p + 1)
    return pl.when(pl.lit(pl.Series(mask))).then(swapped).otherwise(expr)


def make_ml_profiles(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` raw flat profiles (sorted by ProfileId) and their truth (ProfileId, EntityId)."""
    rng = np.random.default_rng(seed)
    sizes = np.where(rng.random(n) < 0.7, 1, 2 + rng.geometric(0.45, n) - 1).clip(1, 8)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    sizes[-1] -= sizes.sum() - n
    e = sizes.size
    ent = np.repeat(np.arange(e), sizes)
    firsts, lasts, streets = (
        _pool(rng, 3000, (2, 3)),
        _pool(rng, 30000, (2, 4)),
        _pool(rng, 5000, (2, 3)),
    )
    cities = _pool(rng, 2000, (2, 4))
    first, last = _zipf(rng, e, firsts.len()), _zipf(rng, e, lasts.len())
    postcode = rng.integers(0, 20000, e)
    number, street = rng.integers(1, 999, e), _zipf(rng, e, streets.len(), 0.8)
    phone = rng.integers(2_000_000_000, 9_999_999_999, e)
    dob = rng.integers(-11_000, 13_000, e)
    # Households: a few entities copy the previous entity's address, phone and last name.
    house = np.flatnonzero(rng.random(e) < 0.05)
    house = house[house > 0]
    for arr in (last, postcode, number, street, phone):
        arr[house] = arr[house - 1]
    ent_frame = pl.DataFrame(
        {
            "first": firsts.gather(first),
            "last": lasts.gather(last),
            "dob": pl.Series(dob, dtype=pl.Int32).cast(pl.Date),
            "pc": pl.Series(postcode).cast(pl.String).str.zfill(5),
            "city": cities.gather(postcode // 10),
            "line": pl.Series(number).cast(pl.String) + " " + streets.gather(street) + " st",
            "phone": pl.Series(phone).cast(pl.String),
            "num": pl.Series(rng.integers(1, 99, e)).cast(pl.String),
        }
    ).with_columns(email=pl.col("first") + "." + pl.col("last") + pl.col("num") + "@example.com")
    rows = ent_frame[ent]
    r = lambda: rng.random(n)  # noqa: E731
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    dup = np.r_[False, ent[1:] == ent[:-1]]

    def typo(col: str, rate: float) -> pl.Expr:
        return _typo(
            pl.col(col), dup & (r() < rate), rng.integers(0, 20, n), rng.choice(letters, n)
        )

    rows = rows.with_columns(
        typo("first", 0.08), typo("last", 0.05), typo("line", 0.1), typo("email", 0.03)
    )
    email_type = rng.integers(0, 3, n)
    phone_type = rng.integers(0, 4, n)
    addr_type = np.where(r() < 0.8, 0, 1)
    has = {k: r() < p for k, p in {"email": 0.6, "phone": 0.6, "addr": 0.8, "dob": 0.6}.items()}
    placeholder_email = r() < 0.003
    placeholder_phone = r() < 0.002

    def when(mask: np.ndarray, expr: pl.Expr) -> pl.Expr:
        return pl.when(pl.lit(pl.Series(mask))).then(expr)

    email = (
        pl.when(pl.lit(pl.Series(placeholder_email)))
        .then(pl.lit("test@test.com"))
        .otherwise(pl.col("email"))
    )
    phone_e = (
        pl.when(pl.lit(pl.Series(placeholder_phone)))
        .then(pl.lit("555-555-5555"))
        .otherwise(pl.lit("+1 ") + pl.col("phone"))
    )
    cols = [
        pl.col("first").str.to_titlecase().alias("FirstName"),
        when(r() < 0.97, pl.col("last").str.to_titlecase()).alias("LastName"),
        when(has["dob"], pl.col("dob").dt.strftime("%Y-%m-%d")).alias("BirthDate"),
        *[
            when(has["email"] & (email_type == i), email).alias(c)
            for i, c in enumerate(schema.EMAIL_FIELDS)
        ],
        *[
            when(has["phone"] & (phone_type == i), phone_e).alias(c)
            for i, c in enumerate(schema.PHONE_FIELDS)
        ],
    ]
    for i, t in enumerate(schema.ADDRESS_TYPES[:2]):
        m = has["addr"] & (addr_type == i)
        cols += [
            when(m, pl.col("line")).alias(f"{t}.Address1"),
            when(m, pl.col("city")).alias(f"{t}.City"),
            when(m, pl.col("pc")).alias(f"{t}.PostalCode"),
        ]
    ids = pl.Series(rng.permutation(n)).cast(pl.String).str.zfill(9)
    profiles = rows.select(cols).with_columns(("p" + ids).alias(schema.PROFILE_ID))
    truth = pl.DataFrame({schema.PROFILE_ID: profiles[schema.PROFILE_ID], "EntityId": ent})
    order = profiles[schema.PROFILE_ID].arg_sort()
    return profiles[order].select(schema.PROFILE_ID, pl.exclude(schema.PROFILE_ID)), truth[order]


def load_profiles(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``benchmarks/data.py make_profiles`` when present, else :func:`make_ml_profiles`."""
    if importlib.util.find_spec("benchmarks.data") is not None:
        from benchmarks.data import make_profiles

        profiles = make_profiles(n, seed)
        truth = profiles.select(schema.PROFILE_ID, "EntityId")
        return profiles.drop("EntityId"), truth
    return make_ml_profiles(n, seed)


def _peak_rss_gb() -> float:
    return peak_rss_mb() / 1024


def run(n: int, seed: int = 0) -> dict[str, Any]:
    """One end-to-end run: wall seconds per step (CPU seconds of the process in ``cpu_s``)."""
    profiles, _ = load_profiles(n, seed)
    cpu0, t1 = time.process_time(), time.perf_counter()
    normalized = normalize_profiles(profiles)
    t2 = time.perf_counter()
    scores = score_profiles(normalized, seed=seed)
    t3 = time.perf_counter()
    groups = ml_groups(n, scores.pairs, link_threshold=DEFAULT_LINK_THRESHOLD)
    t4 = time.perf_counter()
    timings = scores.timings
    pairs = scores.pairs.height
    grouped = groups.filter(pl.col("ConfidenceScore").is_not_null())
    return {
        "n": n,
        "normalize_s": round(t2 - t1, 1),
        "candidate_pairs": pairs,
        **{f"{k}_s": round(v, 1) for k, v in timings.items()},
        "pairs_scored_per_s": round(pairs / max(timings["compare"] + timings["predict"], 1e-9)),
        "groups_s": round(t4 - t3, 1),
        "groups": grouped["group"].n_unique(),
        "total_s": round(t4 - t1, 1),
        "cpu_s": round(time.process_time() - cpu0, 1),
        "peak_rss_gb": round(_peak_rss_gb(), 2),
    }


def test_bench_ml_100k(benchmark: Any) -> None:
    """pytest-benchmark entry: 100k profiles end to end (one round)."""
    result = benchmark.pedantic(run, args=(100_000,), rounds=1, iterations=1)
    assert result["candidate_pairs"] > 0


def main(argv: list[str]) -> None:
    sizes = [int(float(a)) for a in argv] or [100_000, 1_000_000]
    rows = [run(n) for n in sizes]
    table = pl.DataFrame({f"n={r['n']:.0e}": [str(v) for v in r.values()] for r in rows})
    table = table.with_columns(pl.Series("measure", list(rows[0])).alias("measure")).select(
        "measure", pl.exclude("measure")
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, tbl_hide_dataframe_shape=True):
        print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
