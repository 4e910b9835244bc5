"""Saving, loading and explaining a fitted Fellegi-Sunter model.

A model file is JSON: the format name and version, the comparison definitions (name, kind, columns,
thresholds, TF flag, level labels), the attribute set (every ``_n.`` column the comparisons read),
the learned m / u per level, the prior and how u was estimated. It is written atomically.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from idres import schema
from idres.atomic import atomic_file
from idres.comparison_vectors import GAMMA, TF, Encoded, compare, encode
from idres.comparisons import Comparison, check_columns
from idres.errors import ModelError, Problem
from idres.fellegi_sunter import MATCH_PROBABILITY, MATCH_WEIGHT, FellegiSunter

FORMAT: Final = "idres.fellegi-sunter"
VERSION: Final = 1


def attribute_set(comparisons: Sequence[Comparison]) -> list[str]:
    """Sorted columns read by `comparisons`.

    >>> attribute_set([Comparison("LastName", "name", ("_n.LastName",))])
    ['_n.LastName']
    """
    return sorted({c for comp in comparisons for c in comp.columns})


def model_to_dict(model: FellegiSunter) -> dict[str, Any]:
    """JSON-ready form of a fitted model."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "comparisons": [c.to_dict() for c in model.comparisons],
        "attributes": attribute_set(model.comparisons),
        "m": {k: v.tolist() for k, v in model.m_.items()},
        "u": {k: v.tolist() for k, v in model.u_.items()},
        "lambda": model.lambda_,
        "u_source": model.u_source_,
        "n_iter": model.n_iter_,
        "converged": model.converged_,
        "params": {
            "max_iter": model.max_iter,
            "tol": model.tol,
            "u_pairs": model.u_pairs,
            "seed": model.seed,
        },
    }


def _probabilities(
    data: dict[str, Any], key: str, comps: list[Comparison], file: str | None
) -> tuple[dict[str, np.ndarray], list[Problem]]:
    table = data.get(key)
    if not isinstance(table, dict):
        return {}, [Problem(file, key, f"expected an object of probabilities (got {table!r})")]
    out, problems = {}, []
    for c in comps:
        p = table.get(c.name)
        ok = (
            isinstance(p, list)
            and len(p) == len(c.levels)
            and all(isinstance(x, int | float) and 0 < x <= 1 for x in p)
            and abs(sum(p) - 1) < 1e-6
        )
        if ok:
            out[c.name] = np.asarray(p, dtype=np.float64)
        else:
            problems.append(
                Problem(
                    file,
                    f"{key}.{c.name}",
                    f"expected {len(c.levels)} probabilities in (0, 1] summing to 1 (got {p!r})",
                )
            )
    return out, problems


def model_from_dict(data: Any, *, file: str | None = None) -> FellegiSunter:
    """Inverse of :func:`model_to_dict`; every problem found raises one :class:`ModelError`."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ModelError(
            Problem(file, "format", f"not an idres model, expected {FORMAT!r} (got {got!r})")
        )
    if data.get("version") != VERSION:
        raise ModelError(
            Problem(
                file,
                "version",
                f"unsupported model version, expected {VERSION} (got {data.get('version')!r})",
            )
        )
    problems: list[Problem] = []
    comps: list[Comparison] = []
    for i, item in enumerate(data.get("comparisons") or []):
        try:
            comps.append(Comparison.from_dict(item))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(
                Problem(file, f"comparisons[{i}]", f"bad comparison: {exc} (got {item!r})")
            )
    if not comps and not problems:
        problems.append(
            Problem(file, "comparisons", f"no comparison (got {data.get('comparisons')!r})")
        )
    m, pm = _probabilities(data, "m", comps, file)
    u, pu = _probabilities(data, "u", comps, file)
    lam = data.get("lambda")
    prior = float(lam) if isinstance(lam, int | float) else math.nan
    if not 0 < prior < 1:
        problems.append(Problem(file, "lambda", f"expected a probability in (0, 1) (got {lam!r})"))
    problems += pm + pu
    if problems:
        raise ModelError(problems)
    params = data.get("params") or {}
    kept = {k: params[k] for k in ("max_iter", "tol", "u_pairs", "seed") if k in params}
    model = FellegiSunter.from_parameters(comps, m, u, prior, **kept)
    model.u_source_ = str(data.get("u_source", "em"))
    model.n_iter_ = int(data.get("n_iter", 0))
    model.converged_ = bool(data.get("converged", True))
    return model


def save_model(model: FellegiSunter, path: str | os.PathLike[str]) -> None:
    """Write `model` as JSON to `path` (atomically)."""
    text = json.dumps(model_to_dict(model), indent=2) + "\n"
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def load_model(
    path: str | os.PathLike[str], *, expected: Sequence[Comparison] | None = None
) -> FellegiSunter:
    """Read a model written by :func:`save_model`.

    With `expected`, a model made for another attribute set (other comparisons, columns or
    levels) is refused with a :class:`ModelError` naming the differences.
    """
    file = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(Problem(file, "", "model file not found")) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(Problem(file, "", f"not a readable JSON model: {exc}")) from None
    model = model_from_dict(data, file=file)
    if expected is not None:
        check_comparisons(model, expected, file=file)
    return model


def check_comparisons(
    model: FellegiSunter, expected: Sequence[Comparison], *, file: str | None = None
) -> None:
    """Raise :class:`ModelError` unless `model` was made for exactly the `expected` comparisons."""
    have = {c.name: c for c in model.comparisons}
    want = {c.name: c for c in expected}
    problems = [
        Problem(
            file,
            f"comparisons.{name}",
            f"the model has no comparison for this attribute (got {sorted(have)!r})",
        )
        for name in want.keys() - have.keys()
    ] + [
        Problem(
            file,
            f"comparisons.{name}",
            f"the model compares an attribute not in the attribute set (got {sorted(want)!r})",
        )
        for name in have.keys() - want.keys()
    ]
    for name in sorted(have.keys() & want.keys()):
        if have[name] != want[name]:
            problems.append(
                Problem(
                    file,
                    f"comparisons.{name}",
                    f"defined differently: model {have[name].to_dict()!r} (got {want[name].to_dict()!r})",
                )
            )
    if problems:
        raise ModelError(sorted(problems, key=lambda p: p.location))


def check_model(model: FellegiSunter, frame: pl.DataFrame, *, file: str | None = None) -> None:
    """Raise :class:`ModelError` when `frame` lacks a column the model's comparisons read."""
    problems = check_columns(frame, model.comparisons)
    if problems:
        raise ModelError(
            [
                Problem(
                    file, p.location, "the model was made for another attribute set: " + p.message
                )
                for p in problems
            ]
        )


def _row(frame: pl.DataFrame, key: int | str) -> int:
    if isinstance(key, str):
        ids = frame.get_column(schema.PROFILE_ID)
        hit = np.flatnonzero((ids == key).to_numpy())
        if hit.size != 1:
            raise ModelError(Problem(None, "explain_pair", f"unknown ProfileId (got {key!r})"))
        return int(hit[0])
    if not 0 <= key < frame.height:
        raise ModelError(Problem(None, "explain_pair", f"row index out of range (got {key!r})"))
    return int(key)


def explain_pair(
    model: FellegiSunter,
    frame: pl.DataFrame,
    a: int | str,
    b: int | str,
    *,
    encoded: Encoded | None = None,
) -> pl.DataFrame:
    """Why the model scores profiles `a` and `b` (row indices or ProfileIds) as it does.

    One row for the prior, one per comparison (both sides' values, level, m, u, the value's term
    frequency, match weight) and a total with the match probability. Pass `encoded` (``encode(frame,
    model.comparisons)``) to explain many pairs of a large frame without re-encoding it.

    >>> f = pl.DataFrame({"_n.FirstName": ["ann", "ann", "bob"], "_n.LastName": ["li", "li", "wu"]})
    >>> comps = [Comparison(n, "name", (f"_n.{n}",)) for n in ("FirstName", "LastName")]
    >>> model = FellegiSunter.from_parameters(
    ...     comps, {c.name: [.8, .1, .05, .05] for c in comps}, {c.name: [.01, .01, .03, .95] for c in comps}, 0.01)
    >>> explain_pair(model, f, 0, 1).select("comparison", "level", pl.col("match_weight").round(2)).rows()
    [('(prior)', None, -6.63), ('FirstName', 'exact', 0.26), ('LastName', 'exact', 0.26), ('(total)', None, -6.1)]
    """
    check_model(model, frame)
    ra, rb = _row(frame, a), _row(frame, b)
    enc = encode(frame, model.comparisons) if encoded is None else encoded
    vec = compare(enc, pl.DataFrame({"a": [ra], "b": [rb]}))
    weights = model.comparison_weights(vec)
    rows: list[dict[str, Any]] = [
        {
            "comparison": "(prior)",
            "match_weight": float(np.log2(model.lambda_ / (1 - model.lambda_))),
        }
    ]
    for c in model.comparisons:
        g = int(vec[GAMMA + c.name][0])
        tf = float(vec[TF + c.name][0])
        side = [
            " | ".join(str(v) for v in frame.select(c.columns).row(r) if v is not None) or None
            for r in (ra, rb)
        ]
        rows.append(
            {
                "comparison": c.name,
                "value_a": side[0],
                "value_b": side[1],
                "gamma": g,
                "level": c.levels[g] if g >= 0 else "missing",
                "m": float(model.m_[c.name][g]) if g >= 0 else None,
                "u": float(model.u_[c.name][g]) if g >= 0 else None,
                "tf": None if math.isnan(tf) else tf,
                "match_weight": float(weights[c.name][0]),
            }
        )
    total = float(model.match_weights(vec)[0])
    rows.append(
        {
            "comparison": "(total)",
            "match_weight": total,
            MATCH_PROBABILITY: float(model.predict(vec)[MATCH_PROBABILITY][0]),
        }
    )
    schema_ = {
        "comparison": pl.String,
        "value_a": pl.String,
        "value_b": pl.String,
        "gamma": pl.Int8,
        "level": pl.String,
        "m": pl.Float64,
        "u": pl.Float64,
        "tf": pl.Float64,
        MATCH_WEIGHT: pl.Float64,
        MATCH_PROBABILITY: pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema_)
