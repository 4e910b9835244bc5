"""The profiles of the synthetic profile generator (:mod:`idres.synth`): each entity's values
written and corrupted field by field.

Every profile takes its entity's values and, at the rates of :class:`idres.synth.SynthParams`,
nicknames, middle initials, typos, case, spacing and phone-layout variants, abbreviations, other
spellings of regions, postal codes and countries, birth-date formats and errors, missing values,
placeholder values, and values stored under another sub-type; then its source, account number,
attributes and update time. A label row says what was done to each profile.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from idres import schema
from idres import synth_draw as D
from idres import synth_values as V
from idres import synth_variants as variants
from idres.schema import ENTITY_ID
from idres.synth_entities import PERSON

if TYPE_CHECKING:
    from idres.synth import SynthParams

__all__ = ["profiles"]

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%Y%m%d")
_ADDRESS_LINE = ("line1", "line2", "city", "county", "region", "country", "postal")


def profiles(
    rng: np.random.Generator, ent: pl.DataFrame, entity_of: np.ndarray, p: SynthParams
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per profile: its entity's values written and corrupted field by field; and labels."""
    n, S, col = len(entity_of), pl.Series, pl.col
    f = ent[entity_of]
    del ent  # the only reference: frees the entity table early
    hit = lambda rate: D.hit(rng, n, rate)  # noqa: E731
    person = (f["kind"] == PERSON).to_numpy()
    src = D.pick(rng, p.source_weights or [1.0] * len(p.sources), n)
    forms = [x for form in V.BUSINESS_FORMS for x in form]
    form = f["form"].to_numpy() * 3 + np.where(hit(p.abbreviation_rate), rng.integers(1, 3, n), 0)
    unit = np.where(hit(p.abbreviation_rate), rng.integers(1, len(V.UNIT_PREFIXES), n), 0)
    f = f.with_columns(
        line1=variants.street_line(
            col("num").cast(pl.String),
            (col("dir_full"), col("dir_abbr")),
            col("street"),
            (col("suf_full"), col("suf_abbr")),
            col("abbr") ^ S(hit(p.abbreviation_rate)),
        ),
        line2=pl.concat_str(
            D.pool(V.UNIT_PREFIXES, unit),
            D.pool([" " if u != "#" else "" for u in V.UNIT_PREFIXES], unit),
            col("unit"),
        ),
        bname=pl.concat_str(col("bname"), pl.lit(" "), D.pool(forms, form)).str.strip_chars_end(),
    )
    # Nicknames, middle initials, typos: on the rows they touch only.
    names, fi = V.first_name_table(), f["fi"].to_numpy()
    nick = hit(p.nickname_rate) & (names["nicks"].list.len().to_numpy()[fi] > 0)
    f = D.patch(f, nick, lambda idx: {"first": pl.lit(D.pick_in(rng, names["nicks"], fi[idx]))})
    f = D.patch(
        f,
        hit(p.middle_initial_rate),
        lambda idx: {
            "middle": col("middle").str.slice(0, 1)
            + D.pool(["", "."], rng.integers(0, 2, len(idx)))
        },
    )
    typos = {}
    for c in ("first", "last", "email", "line1", "city", "bname", "phone"):
        typos[c] = hit(p.typo_rate)
        f = D.patch(f, typos[c], partial(_typo, rng, c))
    # Case, spacing, phone layout.
    for cols in (("first", "middle", "last"), ("line1", "line2", "city")):
        f = D.patch(f, hit(p.case_rate), partial(_recase, rng, cols, (1, 2)))
    f = D.patch(f, hit(p.email_case_rate), partial(_recase, rng, ("email",), (1, 3)))
    for c in ("first", "last", "line1", "city", "bname"):
        f = D.patch(f, hit(p.whitespace_rate), partial(_respace, rng, c))
    house = np.asarray([V.SOURCE_PHONE_STYLE.get(s, 0) for s in p.sources])[src]
    fmt = np.where(hit(p.phone_format_rate), rng.integers(0, len(variants.PHONE_FORMATS), n), house)
    f = f.with_columns(
        phone=variants.format_phone(col("phone"), fmt), home=variants.format_phone(col("home"), fmt)
    )
    f = _other_fields(rng, f, src, p)

    # Missing values, then placeholders (1 e-mail, 2 phone, 3 first, 4 last name, 5 address line).
    miss = {k: hit(r) for k, r in _missing_rates(p).items()}
    ph = np.where(hit(p.placeholder_rate), D.pick(rng, [0.45, 0.35, 0.2], n) + 1, 0)
    ph = np.where(ph == 3, 3 + rng.integers(0, 3, n), ph)
    slots = {"email": 1, "phone": 2, "first": 3, "last": 4, "line1": 5}
    present = {c: ~miss[c] | (ph == slots[c]) for c in slots}
    f = f.with_columns(
        *(pl.when(S(miss[c])).then(None).otherwise(c).alias(c) for c in miss if c != "line1"),
        *(pl.when(S(miss["line1"])).then(None).otherwise(c).alias(c) for c in _ADDRESS_LINE),
        home=pl.when(S(hit(p.second_phone_rate))).then("home"),
    )
    pools = {1: V.PLACEHOLDER_EMAILS, 2: V.PLACEHOLDER_PHONES, 3: V.PLACEHOLDER_TEXTS}
    for c, k in slots.items():
        f = D.patch(f, ph == k, partial(_placeholder, rng, c, pools[min(k, 3)]))

    # Sub-types: which e-mail / phone / address field each value lands in.
    moved = {k: hit(p.subtype_move_rate) for k in ("email", "phone", "line1")}
    to = {
        "email": np.where(
            person, np.where(moved["email"], 1 + hit(0.3), 0), np.where(moved["email"], 0, 2)
        ),
        "phone": np.where(
            person, np.where(moved["phone"], 1 + 2 * hit(0.25), 0), np.where(moved["phone"], 0, 3)
        ),
        "line1": np.where(moved["line1"], 1 + D.pick(rng, [0.5, 0.35, 0.15], n), 0),
    }
    us = col("ccode") == "US"
    parts = {
        "Address1": col("line1"),
        "Address2": col("line2"),
        "City": col("city"),
        "County": col("county"),
        "State": pl.when(us).then("region"),
        "Province": pl.when(~us).then("region"),
        "Country": col("country"),
        "PostalCode": col("postal"),
    }
    e_to, p_to, a_to = (S(to[k]) for k in ("email", "phone", "line1"))
    flat = f.select(
        col("first").alias("FirstName"),
        col("middle").alias("MiddleName"),
        col("last").alias("LastName"),
        col("bname").alias("BusinessName"),
        col("kind").alias("PartyType"),
        "BirthDate",
        "Gender",
        "GenderString",
        "AccountNumber",
        *(pl.when(e_to == i).then("email").alias(c) for i, c in enumerate(schema.EMAIL_FIELDS)),
        *(
            pl.when(p_to == i).then("phone").alias(c)
            for i, c in enumerate(schema.PHONE_FIELDS)
            if i != 2
        ),
        col("home").alias(schema.PHONE_FIELDS[2]),
        *(
            pl.when(a_to == i).then(x).alias(f"{t}.{k}")
            for i, t in enumerate(schema.ADDRESS_TYPES)
            for k, x in parts.items()
        ),
        pl.col("^Attributes\\..*$"),
        schema.SOURCE,
        schema.UPDATED,
    )
    typo = np.zeros(n, dtype=bool)
    for c, h in typos.items():
        typo |= h & (present[c] if c in present else ~miss["line1"] if c == "city" else ~person)
    fields = (*schema.EMAIL_FIELDS, *schema.PHONE_FIELDS, "FirstName", "LastName")
    fields += tuple(f"{t}.Address1" for t in schema.ADDRESS_TYPES)
    code = np.select(
        [ph == 1, ph == 2, ph == 5], [to["email"], 3 + to["phone"], 9 + to["line1"]], 4 + ph
    )
    placeholder = pl.when(S(ph > 0)).then(D.pool(fields, np.where(ph > 0, code, 0)))
    labels = f.select(
        ENTITY_ID,
        col("kind").alias("Kind"),
        "HouseholdId",
        "Namesake",
        Nickname=S(nick & present["first"] & (ph != 3)),
        Typo=S(typo),
        Moved=S(
            (moved["email"] & present["email"])
            | (moved["phone"] & present["phone"])
            | (moved["line1"] & ~miss["line1"])
        ),
        Placeholder=placeholder,
    )
    return flat, labels


def _missing_rates(p: SynthParams) -> dict[str, float]:
    return {
        "first": p.missing_name_rate,
        "last": p.missing_name_rate,
        "middle": p.missing_middle_name_rate,
        "email": p.missing_email_rate,
        "phone": p.missing_phone_rate,
        "line1": p.missing_address_rate,
        "BirthDate": p.missing_birth_date_rate,
        "Gender": p.missing_gender_rate,
        "GenderString": p.missing_gender_rate,
    }


def _typo(rng: np.random.Generator, c: str, idx: np.ndarray) -> dict[str, pl.Expr]:
    """A typo in column `c` on each row of `idx` (in a phone: a digit substituted or transposed)."""
    k, digits = len(idx), c == "phone"
    kind = rng.integers(2, 4, k) if digits else rng.integers(0, 4, k)
    chars = "0123456789" if digits else "abcdefghijklmnopqrstuvwxyz"
    char = D.pool(list(chars), rng.integers(0, len(chars), k))
    return {c: variants.typo(pl.col(c), pl.Series(kind), pl.Series(rng.random(k)), char)}


def _recase(
    rng: np.random.Generator, cols: tuple[str, ...], styles: tuple[int, ...], idx: np.ndarray
) -> dict[str, pl.Expr]:
    """One case style from `styles` per row of `idx`, the same for all `cols` of the row."""
    style = pl.Series(np.asarray(styles)[rng.integers(0, len(styles), len(idx))])
    return {c: variants.recase(pl.col(c), style) for c in cols}


def _respace(rng: np.random.Generator, c: str, idx: np.ndarray) -> dict[str, pl.Expr]:
    return {c: variants.respace(pl.col(c), pl.Series(rng.integers(1, 4, len(idx))))}


def _placeholder(
    rng: np.random.Generator, c: str, pool: tuple[str, ...], idx: np.ndarray
) -> dict[str, pl.Expr]:
    """A placeholder from `pool` (the common ones more often) in column `c` on the rows `idx`."""
    return {c: pl.lit(D.pool(pool, D.pick(rng, V.rank_weights(len(pool)), len(idx))))}


def _other_fields(
    rng: np.random.Generator, f: pl.DataFrame, src: np.ndarray, p: SynthParams
) -> pl.DataFrame:
    """Birth date, gender, region, postal code, country, county, account, attributes, source, time."""
    n, S, col = f.height, pl.Series, pl.col
    hit = lambda rate: D.hit(rng, n, rate)  # noqa: E731
    off = np.where(hit(p.birth_date_error_rate), rng.choice([-1, 1, -365, 365], n), 0)
    gvar = rng.integers(0, 3, n)
    male = pl.when(col("gender") == "MALE").then(D.pool(V.GENDER_STRINGS["MALE"], gvar))
    spelled = male.otherwise(D.pool(V.GENDER_STRINGS["FEMALE"], gvar))
    person, as_string = col("kind") == PERSON, S(hit(p.gender_string_rate))
    account = (f["eidx"].to_numpy() * len(p.sources) + src) * 387_420_489
    account = S((account + int(rng.integers(0, 10**9))) % 10**9).cast(pl.String).str.zfill(9)
    end = int(p.updated_end.timestamp()) * 1_000_000
    ago = rng.integers(0, p.updated_span_days * 86_400 + 1, n) * 1_000_000
    loyalty, segment = (schema.attribute_column(k) for k in ("LoyaltyId", "Segment"))
    named = [  # columns whose names are not identifiers
        pl.when(S(~hit(p.missing_loyalty_rate))).then("loyalty").alias(loyalty),
        pl.when(S(~hit(p.missing_segment_rate))).then("segment").alias(segment),
        pl.lit(D.pool(p.sources, src)).alias(schema.SOURCE),
        pl.lit(S(end - ago).cast(schema.TIMESTAMP_DTYPE)).alias(schema.UPDATED),
    ]
    f = f.with_columns(
        *named,
        day=(col("birth") + S(off)).cast(pl.Int32).cast(pl.Date),
        Gender=pl.when(person & ~as_string).then("gender"),
        GenderString=pl.when(person & as_string).then(spelled),
        ccode=col("country"),
        postal=pl.when(S(hit(p.postal_variant_rate))).then("postal_alt").otherwise("postal"),
        county=pl.when(S(~hit(p.missing_county_rate))).then("county"),
        AccountNumber=pl.when(S(~hit(p.missing_account_rate))).then("AC" + account),
    ).with_columns(BirthDate=col("day").dt.strftime(_DATE_FORMATS[0]))

    def date_format(idx: np.ndarray) -> dict[str, pl.Expr]:
        fmt = S(rng.integers(1, len(_DATE_FORMATS), len(idx)))
        out = [col("day").dt.strftime(spec) for spec in _DATE_FORMATS]
        chosen = pl.when(fmt == 1).then(out[1]).when(fmt == 2).then(out[2]).otherwise(out[3])
        return {"BirthDate": chosen}

    def country(idx: np.ndarray) -> dict[str, pl.Expr]:
        v = rng.integers(0, 6, len(idx))
        us = D.pool(V.COUNTRY_VARIANTS["US"], v % 3)
        return {
            "country": pl.when(col("country") == "US")
            .then(us)
            .otherwise(D.pool(V.COUNTRY_VARIANTS["CA"], v % 2))
        }

    f = D.patch(f, hit(p.birth_date_format_rate), date_format)
    f = D.patch(
        f,
        hit(p.region_name_rate),
        lambda idx: {"region": col("region").replace_strict(V.REGION_NAMES)},
    )
    return D.patch(f, hit(p.country_variant_rate), country)
