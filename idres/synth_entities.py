"""The entities of the synthetic profile generator (:mod:`idres.synth`): one row per real-world
customer with its true values.

People and some businesses, with a first name of the right gender, a last name, a middle name, a
birth date, a city with its county, region, postal code and area codes, a street address, a main
and sometimes a home phone, an e-mail address and a loyalty id. The traps are laid here:
households (a head and 1-3 members sharing the last name, the address, the home phone and
sometimes the head's e-mail) and namesakes (the first and last name of another person). E-mail
addresses and phone numbers are made distinct across entities.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from idres import synth_draw as D
from idres import synth_values as V
from idres import synth_variants as variants
from idres.schema import ENTITY_ID

if TYPE_CHECKING:
    from idres.synth import SynthParams

__all__ = ["BUSINESS", "PERSON", "entities"]

#: Entity kinds (the PartyType of their profiles).
PERSON, BUSINESS = "INDIVIDUAL", "BUSINESS"
_UPPER = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _households(
    rng: np.random.Generator, business: np.ndarray, p: SynthParams
) -> tuple[np.ndarray, np.ndarray]:
    """Household number of each entity (-1: none) and its head (itself outside a household)."""
    e = len(business)
    chosen = np.flatnonzero(~business & D.hit(rng, e, p.household_rate))
    sizes = rng.choice([2, 3, 4], size=len(chosen) // 2 + 1, p=[0.6, 0.25, 0.15])
    hid = np.repeat(np.arange(len(sizes)), sizes)[: len(chosen)]
    hid = np.where(np.bincount(hid, minlength=len(sizes))[hid] >= 2, hid, -1)
    household, head = np.full(e, -1), np.arange(e)
    _, first, inverse = np.unique(hid, return_index=True, return_inverse=True)
    household[chosen] = hid
    head[chosen] = np.where(hid >= 0, chosen[first[inverse]], chosen)
    return household, head


def _first_names(rng: np.random.Generator, names: pl.DataFrame, female: np.ndarray) -> np.ndarray:
    """Index into `names` of a first name of the right gender, common names more often."""
    w, male = names["weight"].to_numpy(), (names["gender"] == "MALE").to_numpy()
    m = int(male.sum())
    return np.where(
        female, m + D.pick(rng, w[~male], len(female)), D.pick(rng, w[male], len(female))
    )


def entities(rng: np.random.Generator, sizes: np.ndarray, p: SynthParams) -> pl.DataFrame:
    """One row per entity with its true values (namesakes and households applied)."""
    e = len(sizes)
    names, cities = V.first_name_table(), V.city_table()
    business, female = D.hit(rng, e, p.business_rate), D.hit(rng, e, 0.5)
    fi = _first_names(rng, names, female)
    li = D.pick(rng, V.rank_weights(len(V.LAST_NAMES), 0.8, 5), e)
    household, head = _households(rng, business, p)
    persons = np.flatnonzero(~business)
    donor = persons[rng.integers(0, len(persons), e)] if len(persons) else np.arange(e)
    namesake = ~business & (household < 0) & (donor != np.arange(e))
    namesake &= D.hit(rng, e, p.namesake_rate)
    fi = np.where(namesake, fi[donor], fi)
    li = np.where(namesake, li[donor], li)[head]
    end_day = (p.updated_end.date() - datetime(1970, 1, 1).date()).days
    age = np.clip(rng.normal(45.0, 16.0, e), 18.0, 95.0)
    ci = D.pick(rng, cities["weight"], e)
    suffix = D.pick(rng, V.rank_weights(len(V.STREET_SUFFIXES), 1.2, 1), e)
    direction = rng.integers(0, len(V.DIRECTIONS), e)
    city = cities.select("city", "county", "region", "country", "zip_first", "zip_count")[ci]
    us = (city["country"] == "US").to_numpy()
    zips = city["zip_first"] + (pl.Series(rng.random(e)) * city["zip_count"]).cast(pl.Int64)
    ldu = D.digits(rng, e, 1) + D.pool(_UPPER, rng.integers(0, 26, e))
    postal = (
        zips.cast(pl.String)
        .str.zfill(5)
        .zip_with(
            pl.Series(us), D.pick_in(rng, cities["fsa"], ci) + " " + ldu + D.digits(rng, e, 1)
        )
    )
    zip4 = D.digits(rng, e, 4, 1)
    unit = pl.Series(rng.integers(1, 40, e)).cast(pl.String) + D.pool(
        ["A", "B", "C", "D", "", "", "", "", "", ""], rng.integers(0, 10, e)
    )
    f = pl.DataFrame(
        {
            ENTITY_ID: "E" + pl.Series(np.arange(e)).cast(pl.String).str.zfill(8),
            "kind": np.where(business, BUSINESS, PERSON),
            "household": household,
            "Namesake": namesake,
            "fi": fi,
            "first": names["name"].gather(fi),
            "gender": names["gender"].gather(fi),
            "last": D.pool(V.LAST_NAMES, li),
            "middle": names["name"].gather(_first_names(rng, names, female)),
            "birth": end_day - (age * 365.25).astype(np.int64),
            "bname": D.pool(V.BUSINESS_PREFIXES + V.LAST_NAMES[:100], rng.integers(0, 130, e))
            + " "
            + D.pool(V.BUSINESS_TRADES, rng.integers(0, len(V.BUSINESS_TRADES), e)),
            "form": rng.integers(0, len(V.BUSINESS_FORMS), e),
            "num": pl.Series(np.exp(rng.random(e) * np.log(9999.0)).astype(np.int64)),
            "dir_full": D.pool([d for d, _ in V.DIRECTIONS], direction),
            "dir_abbr": D.pool([a for _, a in V.DIRECTIONS], direction),
            "street": D.pool(
                V.STREET_NAMES, D.pick(rng, V.rank_weights(len(V.STREET_NAMES), 0.7, 3), e)
            ),
            "suf_full": D.pool([s for s, _ in V.STREET_SUFFIXES], suffix),
            "suf_abbr": D.pool([a for _, a in V.STREET_SUFFIXES], suffix),
            "abbr": D.hit(rng, e, 0.5),
            "unit": unit,
            "postal": postal,
            "postal_alt": (postal + "-" + zip4).zip_with(
                pl.Series(us), postal.str.replace(" ", "")
            ),
            "area": D.pick_in(rng, cities["areas"], ci),
            "local": D.digits(rng, e, 7, 2_000_000),
            "home_local": D.digits(rng, e, 7, 2_000_000),
            "has_home": (~business & D.hit(rng, e, p.home_phone_rate)) | (household >= 0),
            "n2": D.digits(rng, e, 2),
            "n3": D.digits(rng, e, 3, 1),
            "mailbox": D.pool(V.ROLE_MAILBOXES, rng.integers(0, len(V.ROLE_MAILBOXES), e)),
            "domain": D.pool(
                V.EMAIL_DOMAINS, D.pick(rng, V.rank_weights(len(V.EMAIL_DOMAINS), 1.3, 1), e)
            ),
            "loyalty": "LY"
            + pl.Series((np.arange(e) * 7_654_321 + int(rng.integers(0, 10**8))) % 10**8)
            .cast(pl.String)
            .str.zfill(8),
            "segment": D.pool(V.SEGMENTS, D.pick(rng, V.SEGMENT_WEIGHTS, e)),
        }
    ).hstack(city.select("city", "county", "region", "country"))
    keep = {
        "middle": ~business & D.hit(rng, e, p.middle_name_rate),
        "birth": ~business,
        "bname": business,
        "dir_full": (has_dir := D.hit(rng, e, p.direction_rate)),
        "dir_abbr": has_dir,
        "unit": D.hit(rng, e, p.unit_rate),
        "loyalty": D.hit(rng, e, p.loyalty_member_rate),
    }
    pattern = np.where(
        business, 2 * rng.integers(0, 2, e), D.pick(rng, variants.EMAIL_PATTERN_WEIGHTS, e)
    )
    role = pl.Series(business & D.hit(rng, e, p.role_mailbox_rate))
    f = f.with_columns(pl.when(pl.Series(m)).then(c).alias(c) for c, m in keep.items())
    f = f.with_columns(
        fs=variants.slug(pl.col("first")),
        ls=variants.slug(pl.col("last")),
        bs=variants.slug(pl.col("bname")),
    )
    f = f.with_columns(
        elocal=pl.when(role)
        .then("mailbox")
        .otherwise(
            variants.email_local(pl.col("fs"), pl.col("ls"), pl.col("n2"), pl.col("n3"), pattern)
        ),
        edomain=pl.when(pl.Series(business)).then(pl.col("bs") + ".com").otherwise("domain"),
    ).with_columns(email=pl.col("elocal") + "@" + pl.col("edomain"))
    f = _unique_phones(rng, _unique_emails(rng, f))
    # Household members take the head's address and home phone, some its e-mail.
    h, member = pl.Series(head), household >= 0
    shared = ["num", "dir_full", "dir_abbr", "street", "suf_full", "suf_abbr", "abbr", "unit"]
    shared += ["city", "county", "region", "country", "postal", "postal_alt", "home"]
    phone = pl.Series(member & D.hit(rng, e, p.household_shared_phone_rate))
    email = member & (head != np.arange(e)) & D.hit(rng, e, p.household_shared_email_rate)
    f = f.with_columns(pl.col(shared).gather(h)).with_columns(
        phone=pl.when(phone).then("home").otherwise("phone"),
        email=pl.when(pl.Series(email)).then(pl.col("email").gather(h)).otherwise("email"),
        HouseholdId=pl.when(pl.col("household") >= 0).then(
            "H" + pl.col("household").cast(pl.String).str.zfill(7)
        ),
        eidx=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    cols = [ENTITY_ID, "kind", "HouseholdId", "Namesake", "fi", "first", "gender", "last"]
    cols += ["middle", "birth", "bname", "form", "email", "phone", "loyalty", "segment", "eidx"]
    return f.select(*cols, *shared)


def _unique_emails(rng: np.random.Generator, f: pl.DataFrame) -> pl.DataFrame:
    """Give every entity its own e-mail: a repeated one gets digits on its local part."""

    def more_digits(idx: np.ndarray, width: int) -> dict[str, pl.Expr]:
        local = pl.col("elocal") + D.digits(rng, len(idx), width)
        return {"elocal": local, "email": local + "@" + pl.col("edomain")}

    for width in (2, 2, 3, 3, 4, 4, 5, 5):
        dup = (~f["email"].is_first_distinct()).to_numpy()
        if not dup.any():
            return f
        f = D.patch(f, dup, partial(more_digits, width=width))
    dup = (~f["email"].is_first_distinct()).to_numpy()
    last = pl.col("elocal") + "." + pl.col(ENTITY_ID) + "@" + pl.col("edomain")
    return D.patch(f, dup, lambda idx: {"email": last})


def _unique_phones(rng: np.random.Generator, f: pl.DataFrame) -> pl.DataFrame:
    """Main and home phones distinct across entities: a repeated number is drawn again."""
    e = f.height
    number = pl.DataFrame(
        {
            "area": pl.concat([f["area"], f["area"]]),
            "local": pl.concat([f["local"], f["home_local"]]),
            "on": np.concatenate([np.ones(e, dtype=bool), f["has_home"].to_numpy()]),
        }
    ).with_columns(n=pl.col("area") + pl.col("local"))
    for _ in range(10):
        dup = (~number["n"].is_first_distinct() & number["on"]).to_numpy()
        if not dup.any():
            break
        number = D.patch(
            number, dup, lambda idx: {"n": pl.col("area") + D.digits(rng, len(idx), 7, 2_000_000)}
        )
    n = number["n"]
    return f.with_columns(phone=n[:e], home=pl.when("has_home").then(n[e:]))
