"""Synthetic customer profiles with known ground truth.

:func:`generate` draws entities (people, and some businesses), gives each a skewed number of
profiles, and corrupts every profile field by field the way real data is corrupted: typos,
nicknames, case and whitespace, phone formats, address abbreviations, values stored under another
sub-type, missing fields, several sources with their own update times. It also lays the traps a
matcher must not fall into: households (distinct entities sharing an address, a home phone, a last
name and sometimes an e-mail), namesakes (distinct entities with the same first and last name) and
placeholder values (``test@test.com``, ``555-555-5555``, ``N/A``) on unrelated profiles.

Everything is drawn from one ``numpy.random.Generator(seed)`` in a fixed order and built with
Polars expressions (no Python loop per profile), so a seed gives the same frames, byte for byte.
Every rate is a field of :class:`SynthParams`; the value pools live in :mod:`idres.synth_values`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import numpy as np
import polars as pl

from idres import schema
from idres import synth_values as V
from idres.errors import InputError, Problem

__all__ = ["ENTITY_ID", "SynthParams", "Synthetic", "generate", "synthesize"]

log = logging.getLogger(__name__)

#: Column of the truth frame naming the real-world entity of a profile.
ENTITY_ID = "EntityId"


@dataclass(frozen=True, slots=True)
class SynthParams:
    """Every knob of the generator; rates are probabilities in [0, 1].

    Per-profile rates apply to each profile independently (first profile of an entity included).
    Fixed shapes [choice]: households have 2, 3 or 4 entities (60/25/15 %); a moved e-mail goes to
    PersonalEmailAddress (70 %) or BusinessEmailAddress (a business's to EmailAddress), a moved
    phone to MobilePhoneNumber (75 %) or BusinessPhoneNumber (a business's to PhoneNumber), a moved
    address to ShippingAddress / MailingAddress / BillingAddress (50/35/15 %); placeholders are an
    e-mail (45 %), a phone (35 %) or a FirstName / LastName / Address1 text (20 %).

    >>> SynthParams().household_rate
    0.05
    >>> round(SynthParams(singleton_rate=1.0).expected_duplicate_rate, 3)
    0.0
    """

    singleton_rate: float = 0.8
    """Share of entities with exactly one profile."""
    size_exponent: float = 2.5
    """Zipf exponent of the profile count k of the other entities: P(k) ∝ k**-a for 2 <= k <= max."""
    max_profiles_per_entity: int = 15
    """Largest number of profiles of one entity."""
    business_rate: float = 0.08
    """Share of entities that are businesses (BusinessName, business e-mail and phone)."""
    household_rate: float = 0.05
    """Share of person entities living with 1-3 others: same last name, address and home phone."""
    household_shared_phone_rate: float = 0.5
    """Share of household members whose main phone is the household's home phone."""
    household_shared_email_rate: float = 0.25
    """Share of household members (head excluded) who use the head's e-mail address."""
    namesake_rate: float = 0.01
    """Share of person entities (outside households) given the first and last name of another."""
    placeholder_rate: float = 0.002
    """Share of profiles with one placeholder value (an e-mail, a phone, or N/A-like text)."""
    nickname_rate: float = 0.1
    """Per profile: a first name that has nicknames is written as one (William -> Bill)."""
    typo_rate: float = 0.02
    """Per profile and field (names, e-mail, phone, address line, city, business name): one typo."""
    case_rate: float = 0.05
    """Per profile, separately for names and for the address: all upper or all lower case."""
    whitespace_rate: float = 0.02
    """Per profile and text field: a leading, trailing or doubled space."""
    email_case_rate: float = 0.1
    """Per profile: the e-mail in upper or title case."""
    phone_format_rate: float = 0.3
    """Per profile: phones in a random format instead of the source's usual one."""
    abbreviation_rate: float = 0.3
    """Per profile: street suffix / direction / unit written the other way (Street <-> St)."""
    region_name_rate: float = 0.1
    """Per profile: state or province written in full (Texas, not TX)."""
    postal_variant_rate: float = 0.1
    """Per profile: ZIP+4 (02139-4307) or a Canadian postal code without its space."""
    country_variant_rate: float = 0.2
    """Per profile: country written another way (USA, United States) instead of the ISO code."""
    birth_date_format_rate: float = 0.2
    """Per profile: birth date as MM/DD/YYYY, YYYY/MM/DD or YYYYMMDD instead of YYYY-MM-DD."""
    birth_date_error_rate: float = 0.01
    """Per profile: birth date off by one day or one year."""
    subtype_move_rate: float = 0.15
    """Per profile and kind (e-mail, phone, address): value stored under another sub-type."""
    second_phone_rate: float = 0.5
    """Per profile of an entity with a home phone: that phone given too (HomePhoneNumber)."""
    home_phone_rate: float = 0.35
    """Share of person entities with a home (landline) phone besides their main phone."""
    middle_name_rate: float = 0.6
    """Share of person entities with a middle name."""
    middle_initial_rate: float = 0.5
    """Per profile showing a middle name: written as its initial ("J" or "J.")."""
    gender_string_rate: float = 0.25
    """Per person profile: gender given as free-text GenderString ("female", "F") not Gender."""
    direction_rate: float = 0.15
    """Share of street addresses with a direction (North Main St)."""
    unit_rate: float = 0.25
    """Share of addresses with a unit in Address2 (Apt 4B)."""
    role_mailbox_rate: float = 0.35
    """Share of businesses whose e-mail is a shared mailbox (info@, sales@) not a person's."""
    loyalty_member_rate: float = 0.5
    """Share of entities with a loyalty id (Attributes.LoyaltyId, stable across their profiles)."""
    missing_name_rate: float = 0.02
    """Per profile, separately for FirstName and LastName: missing."""
    missing_middle_name_rate: float = 0.5
    """Per profile of an entity with a middle name: missing (else full name or initial)."""
    missing_email_rate: float = 0.15
    """Per profile: no e-mail."""
    missing_phone_rate: float = 0.2
    """Per profile: no main phone."""
    missing_address_rate: float = 0.25
    """Per profile: no address at all."""
    missing_county_rate: float = 0.7
    """Per profile with an address: no county."""
    missing_birth_date_rate: float = 0.4
    """Per person profile: no birth date."""
    missing_gender_rate: float = 0.3
    """Per person profile: neither Gender nor GenderString."""
    missing_account_rate: float = 0.5
    """Per profile: no AccountNumber (account numbers are per entity and source)."""
    missing_loyalty_rate: float = 0.2
    """Per profile of a loyalty member: LoyaltyId missing."""
    missing_segment_rate: float = 0.3
    """Per profile: Attributes.Segment missing."""
    sources: tuple[str, ...] = ("CRM", "Ecommerce", "Support", "Marketing")
    """ObjectTypes the profiles come from (SourceObjectType)."""
    source_weights: tuple[float, ...] = (0.35, 0.35, 0.15, 0.15)
    """Relative frequency of each source; empty: all equally frequent."""
    updated_end: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    """Latest LastUpdatedAt (fixed, so output does not depend on the clock)."""
    updated_span_days: int = 730
    """LastUpdatedAt is uniform over this many days before `updated_end`."""

    def __post_init__(self) -> None:
        problems = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and not 0.0 <= value <= 1.0 and f.name != "size_exponent":
                problems.append(_problem(f.name, "must be between 0 and 1", value))
        if not self.size_exponent > 0:
            problems.append(_problem("size_exponent", "must be > 0", self.size_exponent))
        if not 1 <= self.max_profiles_per_entity <= 1000:
            problems.append(
                _problem("max_profiles_per_entity", "must be 1..1000", self.max_profiles_per_entity)
            )
        if self.updated_span_days < 0:
            problems.append(_problem("updated_span_days", "must be >= 0", self.updated_span_days))
        if not self.sources or any(not s for s in self.sources):
            problems.append(_problem("sources", "must be non-empty names", self.sources))
        w = self.source_weights
        if w and (len(w) != len(self.sources) or min(w) < 0 or sum(w) <= 0):
            message = f"must be {len(self.sources)} non-negative numbers, not all 0, or empty"
            problems.append(_problem("source_weights", message, w))
        if self.updated_end.tzinfo is None:
            problems.append(_problem("updated_end", "must carry a time zone", self.updated_end))
        if problems:
            raise InputError(problems)

    @property
    def profile_count_weights(self) -> np.ndarray:
        """P(k profiles) for k = 1..max_profiles_per_entity."""
        k = np.arange(1, self.max_profiles_per_entity + 1, dtype=np.float64)
        tail = k[1:] ** -self.size_exponent
        tail = tail / tail.sum() * (1.0 - self.singleton_rate) if len(tail) else tail
        head = self.singleton_rate if len(tail) else 1.0
        return np.concatenate([[head], tail])

    @property
    def expected_duplicate_rate(self) -> float:
        """Expected share of profiles that are not their entity's first: ``1 - 1 / E[k]``."""
        w = self.profile_count_weights
        return 1.0 - 1.0 / float((np.arange(1, len(w) + 1) * w).sum())


def _problem(name: str, message: str, value: object) -> Problem:
    return Problem(None, name, f"{message} (got {value!r})")


@dataclass(frozen=True)
class Synthetic:
    """What :func:`synthesize` made.

    ``profiles``: the canonical flat profile table. ``truth``: ``ProfileId, EntityId``. ``labels``:
    one row per profile (ProfileId order) telling what was done to it: ``EntityId``, ``Kind``
    (``INDIVIDUAL`` / ``BUSINESS``), ``HouseholdId`` (null outside a household), ``Namesake``,
    ``Nickname``, ``Typo``, ``Moved`` (a value under another sub-type) and ``Placeholder`` (the
    field that holds a placeholder value, else null).
    """

    profiles: pl.DataFrame
    truth: pl.DataFrame
    labels: pl.DataFrame

    def summary(self) -> dict[str, int]:
        """Counts for a report: profiles, entities, duplicates, households, placeholders, ...

        >>> synthesize(50, seed=1).summary()["profiles"]
        50
        """
        lab = self.labels
        ent = lab.unique(ENTITY_ID)
        households = ent.get_column("HouseholdId").drop_nulls()
        return {
            "profiles": lab.height,
            "entities": ent.height,
            "duplicates": lab.height - ent.height,
            "businesses": int((ent.get_column("Kind") == "BUSINESS").sum()),
            "households": households.n_unique(),
            "household entities": households.len(),
            "namesake entities": int(ent.get_column("Namesake").sum()),
            "placeholders": lab.height - lab.get_column("Placeholder").null_count(),
        }


def synthesize(n: int, *, seed: int = 0, params: SynthParams | None = None) -> Synthetic:
    """`n` synthetic profiles with their truth and a label of what was done to each.

    >>> s = synthesize(100, seed=7)
    >>> s.profiles.height, s.truth.columns
    (100, ['ProfileId', 'EntityId'])
    """
    if n < 0:
        raise InputError(_problem("n", "must be >= 0", n))
    p = params or SynthParams()
    rng = np.random.default_rng(seed)
    sizes = _profile_counts(rng, n, p)
    log.info("synth: %d profiles of %d entities (seed %d)", n, len(sizes), seed)
    ids = _hex_ids(rng, n)
    # Profiles are built directly in ProfileId order: row r belongs to entity_of[r].
    entity_of = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    flat, labels = _profiles(rng, _entities(rng, sizes, p), entity_of, p)
    profiles = _canonical(flat.with_columns(ids))
    labels = labels.with_columns(ids).select(schema.PROFILE_ID, pl.exclude(schema.PROFILE_ID))
    return Synthetic(profiles, labels.select(schema.PROFILE_ID, ENTITY_ID), labels)


def generate(
    n: int, *, seed: int = 0, params: SynthParams | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`n` synthetic profiles (canonical flat frame, sorted by ProfileId) and their truth.

    The truth frame has ``ProfileId`` and ``EntityId``; profiles of one real-world entity share
    its EntityId. Same `seed` and `params`, same frames.

    >>> profiles, truth = generate(200, seed=3)
    >>> profiles.height, truth.height, truth.get_column("ProfileId").n_unique()
    (200, 200, 200)
    >>> profiles.equals(generate(200, seed=3)[0])
    True
    """
    s = synthesize(n, seed=seed, params=params)
    return s.profiles, s.truth


def _profile_counts(rng: np.random.Generator, n: int, p: SynthParams) -> np.ndarray:
    """Profiles per entity: i.i.d. from `p.profile_count_weights`, the last one cut to sum to `n`."""
    w = p.profile_count_weights
    mean = float((np.arange(1, len(w) + 1) * w).sum())
    chunks, total = [], 0
    while total < n:
        k = 1 + rng.choice(len(w), size=int(n / mean * 1.02) + 16, p=w)
        chunks.append(k)
        total += int(k.sum())
    sizes = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    cum = np.cumsum(sizes)
    e = int(np.searchsorted(cum, n)) + 1 if n else 0
    sizes = sizes[:e].copy()
    if e:
        sizes[-1] -= cum[e - 1] - n
    return sizes.astype(np.int64)


def _hex_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """`n` random 32-hex ids (128 random bits each), in sorted order."""
    bits = rng.integers(0, 2**64, size=(n, 2), dtype=np.uint64)
    bits = bits[np.lexsort((bits[:, 1], bits[:, 0]))].astype(">u8")
    raw = np.frombuffer(bits.tobytes().hex().encode("ascii"), dtype="S32")
    return pl.Series(schema.PROFILE_ID, raw).cast(pl.String)


def _canonical(flat: pl.DataFrame) -> pl.DataFrame:
    """The canonical profile table, built directly (rows are already in ProfileId order).

    Same columns, order and dtypes as :func:`idres.profiles.canonicalize` (a test holds them
    equal); calling it here would sort the table again and double the peak memory.
    """
    have = set(flat.columns)
    attrs = sorted(c for c in have if c.startswith(schema.ATTRIBUTES + "."))
    cols = [
        pl.col(c).cast(pl.String) if c in have else pl.lit(None, pl.String).alias(c)
        for c in (*schema.PROFILE_COLUMNS, schema.SOURCE)
    ]
    return flat.select(*cols, pl.col(schema.UPDATED).cast(schema.TIMESTAMP_DTYPE), *attrs)


# --- Drawing helpers -----------------------------------------------------------------------------

_PERSON, _BUSINESS = "INDIVIDUAL", "BUSINESS"
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%Y%m%d")
_UPPER = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ADDRESS_LINE = ("line1", "line2", "city", "county", "region", "country", "postal")


def _hit(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def _pick(rng: np.random.Generator, weights: object, n: int) -> np.ndarray:
    """`n` draws of an index with probability proportional to `weights`."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)


def _pool(values: tuple[str, ...] | list[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(idx)


def _digits(rng: np.random.Generator, n: int, width: int, low: int = 0) -> pl.Series:
    """`n` random zero-padded numbers of `width` digits, each >= `low`."""
    return pl.Series(rng.integers(low, 10**width, n)).cast(pl.String).str.zfill(width)


def _pick_in(rng: np.random.Generator, lists: pl.Series, rows: np.ndarray) -> pl.Series:
    """A random element of ``lists[row]`` for each of `rows` (an empty list gives any value)."""
    counts = lists.list.len().to_numpy().astype(np.int64)
    flat = pl.Series([x for lst in lists.to_list() for x in lst] or [""], dtype=pl.String)
    at = (np.cumsum(counts) - counts)[rows] + (rng.random(len(rows)) * counts[rows]).astype(
        np.int64
    )
    return flat.gather(np.minimum(at, flat.len() - 1))


def _patch(
    f: pl.DataFrame, mask: np.ndarray, make: Callable[[np.ndarray], dict[str, pl.Expr]]
) -> pl.DataFrame:
    """Recompute columns on the rows of `mask` only; ``make(rows)`` gives their expressions.

    Rare corruptions then cost in proportion to the rows they touch, not to the whole table.
    """
    idx = np.flatnonzero(mask)
    if not len(idx):
        return f
    exprs = make(idx)
    need = sorted({r for e in exprs.values() for r in e.meta.root_names()})
    sub = f.select(pl.col(need).gather(idx)).select(**exprs)
    return f.with_columns(f[c].scatter(idx, sub[c]) for c in exprs)


# --- Entities ------------------------------------------------------------------------------------


def _households(
    rng: np.random.Generator, business: np.ndarray, p: SynthParams
) -> tuple[np.ndarray, np.ndarray]:
    """Household number of each entity (-1: none) and its head (itself outside a household)."""
    e = len(business)
    chosen = np.flatnonzero(~business & _hit(rng, e, p.household_rate))
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
    return np.where(female, m + _pick(rng, w[~male], len(female)), _pick(rng, w[male], len(female)))


def _entities(rng: np.random.Generator, sizes: np.ndarray, p: SynthParams) -> pl.DataFrame:
    """One row per entity with its true values (namesakes and households applied)."""
    e = len(sizes)
    names, cities = V.first_name_table(), V.city_table()
    business, female = _hit(rng, e, p.business_rate), _hit(rng, e, 0.5)
    fi = _first_names(rng, names, female)
    li = _pick(rng, V.rank_weights(len(V.LAST_NAMES), 0.8, 5), e)
    household, head = _households(rng, business, p)
    persons = np.flatnonzero(~business)
    donor = persons[rng.integers(0, len(persons), e)] if len(persons) else np.arange(e)
    namesake = ~business & (household < 0) & (donor != np.arange(e))
    namesake &= _hit(rng, e, p.namesake_rate)
    fi = np.where(namesake, fi[donor], fi)
    li = np.where(namesake, li[donor], li)[head]
    end_day = (p.updated_end.date() - datetime(1970, 1, 1).date()).days
    age = np.clip(rng.normal(45.0, 16.0, e), 18.0, 95.0)
    ci = _pick(rng, cities["weight"], e)
    suffix = _pick(rng, V.rank_weights(len(V.STREET_SUFFIXES), 1.2, 1), e)
    direction = rng.integers(0, len(V.DIRECTIONS), e)
    city = cities.select("city", "county", "region", "country", "zip_first", "zip_count")[ci]
    us = (city["country"] == "US").to_numpy()
    zips = city["zip_first"] + (pl.Series(rng.random(e)) * city["zip_count"]).cast(pl.Int64)
    ldu = _digits(rng, e, 1) + _pool(_UPPER, rng.integers(0, 26, e))
    postal = (
        zips.cast(pl.String)
        .str.zfill(5)
        .zip_with(pl.Series(us), _pick_in(rng, cities["fsa"], ci) + " " + ldu + _digits(rng, e, 1))
    )
    zip4 = _digits(rng, e, 4, 1)
    unit = pl.Series(rng.integers(1, 40, e)).cast(pl.String) + _pool(
        ["A", "B", "C", "D", "", "", "", "", "", ""], rng.integers(0, 10, e)
    )
    f = pl.DataFrame(
        {
            ENTITY_ID: "E" + pl.Series(np.arange(e)).cast(pl.String).str.zfill(8),
            "kind": np.where(business, _BUSINESS, _PERSON),
            "household": household,
            "Namesake": namesake,
            "fi": fi,
            "first": names["name"].gather(fi),
            "gender": names["gender"].gather(fi),
            "last": _pool(V.LAST_NAMES, li),
            "middle": names["name"].gather(_first_names(rng, names, female)),
            "birth": end_day - (age * 365.25).astype(np.int64),
            "bname": _pool(V.BUSINESS_PREFIXES + V.LAST_NAMES[:100], rng.integers(0, 130, e))
            + " "
            + _pool(V.BUSINESS_TRADES, rng.integers(0, len(V.BUSINESS_TRADES), e)),
            "form": rng.integers(0, len(V.BUSINESS_FORMS), e),
            "num": pl.Series(np.exp(rng.random(e) * np.log(9999.0)).astype(np.int64)),
            "dir_full": _pool([d for d, _ in V.DIRECTIONS], direction),
            "dir_abbr": _pool([a for _, a in V.DIRECTIONS], direction),
            "street": _pool(
                V.STREET_NAMES, _pick(rng, V.rank_weights(len(V.STREET_NAMES), 0.7, 3), e)
            ),
            "suf_full": _pool([s for s, _ in V.STREET_SUFFIXES], suffix),
            "suf_abbr": _pool([a for _, a in V.STREET_SUFFIXES], suffix),
            "abbr": _hit(rng, e, 0.5),
            "unit": unit,
            "postal": postal,
            "postal_alt": (postal + "-" + zip4).zip_with(
                pl.Series(us), postal.str.replace(" ", "")
            ),
            "area": _pick_in(rng, cities["areas"], ci),
            "local": _digits(rng, e, 7, 2_000_000),
            "home_local": _digits(rng, e, 7, 2_000_000),
            "has_home": (~business & _hit(rng, e, p.home_phone_rate)) | (household >= 0),
            "n2": _digits(rng, e, 2),
            "n3": _digits(rng, e, 3, 1),
            "mailbox": _pool(V.ROLE_MAILBOXES, rng.integers(0, len(V.ROLE_MAILBOXES), e)),
            "domain": _pool(
                V.EMAIL_DOMAINS, _pick(rng, V.rank_weights(len(V.EMAIL_DOMAINS), 1.3, 1), e)
            ),
            "loyalty": "LY"
            + pl.Series((np.arange(e) * 7_654_321 + int(rng.integers(0, 10**8))) % 10**8)
            .cast(pl.String)
            .str.zfill(8),
            "segment": _pool(V.SEGMENTS, _pick(rng, V.SEGMENT_WEIGHTS, e)),
        }
    ).hstack(city.select("city", "county", "region", "country"))
    keep = {
        "middle": ~business & _hit(rng, e, p.middle_name_rate),
        "birth": ~business,
        "bname": business,
        "dir_full": (has_dir := _hit(rng, e, p.direction_rate)),
        "dir_abbr": has_dir,
        "unit": _hit(rng, e, p.unit_rate),
        "loyalty": _hit(rng, e, p.loyalty_member_rate),
    }
    pattern = np.where(business, 2 * rng.integers(0, 2, e), _pick(rng, V.EMAIL_PATTERN_WEIGHTS, e))
    role = pl.Series(business & _hit(rng, e, p.role_mailbox_rate))
    f = f.with_columns(pl.when(pl.Series(m)).then(c).alias(c) for c, m in keep.items())
    f = f.with_columns(
        fs=V.slug(pl.col("first")), ls=V.slug(pl.col("last")), bs=V.slug(pl.col("bname"))
    )
    f = f.with_columns(
        elocal=pl.when(role)
        .then("mailbox")
        .otherwise(V.email_local(pl.col("fs"), pl.col("ls"), pl.col("n2"), pl.col("n3"), pattern)),
        edomain=pl.when(pl.Series(business)).then(pl.col("bs") + ".com").otherwise("domain"),
    ).with_columns(email=pl.col("elocal") + "@" + pl.col("edomain"))
    f = _unique_phones(rng, _unique_emails(rng, f))
    # Household members take the head's address and home phone, some its e-mail.
    h, member = pl.Series(head), household >= 0
    shared = ["num", "dir_full", "dir_abbr", "street", "suf_full", "suf_abbr", "abbr", "unit"]
    shared += ["city", "county", "region", "country", "postal", "postal_alt", "home"]
    phone = pl.Series(member & _hit(rng, e, p.household_shared_phone_rate))
    email = member & (head != np.arange(e)) & _hit(rng, e, p.household_shared_email_rate)
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
        local = pl.col("elocal") + _digits(rng, len(idx), width)
        return {"elocal": local, "email": local + "@" + pl.col("edomain")}

    for width in (2, 2, 3, 3, 4, 4, 5, 5):
        dup = (~f["email"].is_first_distinct()).to_numpy()
        if not dup.any():
            return f
        f = _patch(f, dup, partial(more_digits, width=width))
    dup = (~f["email"].is_first_distinct()).to_numpy()
    last = pl.col("elocal") + "." + pl.col(ENTITY_ID) + "@" + pl.col("edomain")
    return _patch(f, dup, lambda idx: {"email": last})


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
        number = _patch(
            number, dup, lambda idx: {"n": pl.col("area") + _digits(rng, len(idx), 7, 2_000_000)}
        )
    n = number["n"]
    return f.with_columns(phone=n[:e], home=pl.when("has_home").then(n[e:]))


# --- Profiles ------------------------------------------------------------------------------------


def _profiles(
    rng: np.random.Generator, ent: pl.DataFrame, entity_of: np.ndarray, p: SynthParams
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per profile: its entity's values written and corrupted field by field; and labels."""
    n, S, col = len(entity_of), pl.Series, pl.col
    f = ent[entity_of]
    del ent  # the only reference: frees the entity table early
    hit = lambda rate: _hit(rng, n, rate)  # noqa: E731
    person = (f["kind"] == _PERSON).to_numpy()
    src = _pick(rng, p.source_weights or [1.0] * len(p.sources), n)
    forms = [x for form in V.BUSINESS_FORMS for x in form]
    form = f["form"].to_numpy() * 3 + np.where(hit(p.abbreviation_rate), rng.integers(1, 3, n), 0)
    unit = np.where(hit(p.abbreviation_rate), rng.integers(1, len(V.UNIT_PREFIXES), n), 0)
    f = f.with_columns(
        line1=V.street_line(
            col("num").cast(pl.String),
            (col("dir_full"), col("dir_abbr")),
            col("street"),
            (col("suf_full"), col("suf_abbr")),
            col("abbr") ^ S(hit(p.abbreviation_rate)),
        ),
        line2=pl.concat_str(
            _pool(V.UNIT_PREFIXES, unit),
            _pool([" " if u != "#" else "" for u in V.UNIT_PREFIXES], unit),
            col("unit"),
        ),
        bname=pl.concat_str(col("bname"), pl.lit(" "), _pool(forms, form)).str.strip_chars_end(),
    )
    # Nicknames, middle initials, typos: on the rows they touch only.
    names, fi = V.first_name_table(), f["fi"].to_numpy()
    nick = hit(p.nickname_rate) & (names["nicks"].list.len().to_numpy()[fi] > 0)
    f = _patch(f, nick, lambda idx: {"first": pl.lit(_pick_in(rng, names["nicks"], fi[idx]))})
    f = _patch(
        f,
        hit(p.middle_initial_rate),
        lambda idx: {
            "middle": col("middle").str.slice(0, 1) + _pool(["", "."], rng.integers(0, 2, len(idx)))
        },
    )
    typos = {}
    for c in ("first", "last", "email", "line1", "city", "bname", "phone"):
        typos[c] = hit(p.typo_rate)
        f = _patch(f, typos[c], partial(_typo, rng, c))
    # Case, spacing, phone layout.
    for cols in (("first", "middle", "last"), ("line1", "line2", "city")):
        f = _patch(f, hit(p.case_rate), partial(_recase, rng, cols, (1, 2)))
    f = _patch(f, hit(p.email_case_rate), partial(_recase, rng, ("email",), (1, 3)))
    for c in ("first", "last", "line1", "city", "bname"):
        f = _patch(f, hit(p.whitespace_rate), partial(_respace, rng, c))
    house = np.asarray([V.SOURCE_PHONE_STYLE.get(s, 0) for s in p.sources])[src]
    fmt = np.where(hit(p.phone_format_rate), rng.integers(0, len(V.PHONE_FORMATS), n), house)
    f = f.with_columns(
        phone=V.format_phone(col("phone"), fmt), home=V.format_phone(col("home"), fmt)
    )
    f = _other_fields(rng, f, src, p)

    # Missing values, then placeholders (1 e-mail, 2 phone, 3 first, 4 last name, 5 address line).
    miss = {k: hit(r) for k, r in _missing_rates(p).items()}
    ph = np.where(hit(p.placeholder_rate), _pick(rng, [0.45, 0.35, 0.2], n) + 1, 0)
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
        f = _patch(f, ph == k, partial(_placeholder, rng, c, pools[min(k, 3)]))

    # Sub-types: which e-mail / phone / address field each value lands in.
    moved = {k: hit(p.subtype_move_rate) for k in ("email", "phone", "line1")}
    to = {
        "email": np.where(
            person, np.where(moved["email"], 1 + hit(0.3), 0), np.where(moved["email"], 0, 2)
        ),
        "phone": np.where(
            person, np.where(moved["phone"], 1 + 2 * hit(0.25), 0), np.where(moved["phone"], 0, 3)
        ),
        "line1": np.where(moved["line1"], 1 + _pick(rng, [0.5, 0.35, 0.15], n), 0),
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
    placeholder = pl.when(S(ph > 0)).then(_pool(fields, np.where(ph > 0, code, 0)))
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
    char = _pool(list(chars), rng.integers(0, len(chars), k))
    return {c: V.typo(pl.col(c), pl.Series(kind), pl.Series(rng.random(k)), char)}


def _recase(
    rng: np.random.Generator, cols: tuple[str, ...], styles: tuple[int, ...], idx: np.ndarray
) -> dict[str, pl.Expr]:
    """One case style from `styles` per row of `idx`, the same for all `cols` of the row."""
    style = pl.Series(np.asarray(styles)[rng.integers(0, len(styles), len(idx))])
    return {c: V.recase(pl.col(c), style) for c in cols}


def _respace(rng: np.random.Generator, c: str, idx: np.ndarray) -> dict[str, pl.Expr]:
    return {c: V.respace(pl.col(c), pl.Series(rng.integers(1, 4, len(idx))))}


def _placeholder(
    rng: np.random.Generator, c: str, pool: tuple[str, ...], idx: np.ndarray
) -> dict[str, pl.Expr]:
    """A placeholder from `pool` (the common ones more often) in column `c` on the rows `idx`."""
    return {c: pl.lit(_pool(pool, _pick(rng, V.rank_weights(len(pool)), len(idx))))}


def _other_fields(
    rng: np.random.Generator, f: pl.DataFrame, src: np.ndarray, p: SynthParams
) -> pl.DataFrame:
    """Birth date, gender, region, postal code, country, county, account, attributes, source, time."""
    n, S, col = f.height, pl.Series, pl.col
    hit = lambda rate: _hit(rng, n, rate)  # noqa: E731
    off = np.where(hit(p.birth_date_error_rate), rng.choice([-1, 1, -365, 365], n), 0)
    gvar = rng.integers(0, 3, n)
    male = pl.when(col("gender") == "MALE").then(_pool(V.GENDER_STRINGS["MALE"], gvar))
    spelled = male.otherwise(_pool(V.GENDER_STRINGS["FEMALE"], gvar))
    person, as_string = col("kind") == _PERSON, S(hit(p.gender_string_rate))
    account = (f["eidx"].to_numpy() * len(p.sources) + src) * 387_420_489
    account = S((account + int(rng.integers(0, 10**9))) % 10**9).cast(pl.String).str.zfill(9)
    end = int(p.updated_end.timestamp()) * 1_000_000
    ago = rng.integers(0, p.updated_span_days * 86_400 + 1, n) * 1_000_000
    loyalty, segment = (schema.attribute_column(k) for k in ("LoyaltyId", "Segment"))
    named = [  # columns whose names are not identifiers
        pl.when(S(~hit(p.missing_loyalty_rate))).then("loyalty").alias(loyalty),
        pl.when(S(~hit(p.missing_segment_rate))).then("segment").alias(segment),
        pl.lit(_pool(p.sources, src)).alias(schema.SOURCE),
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
        us = _pool(V.COUNTRY_VARIANTS["US"], v % 3)
        return {
            "country": pl.when(col("country") == "US")
            .then(us)
            .otherwise(_pool(V.COUNTRY_VARIANTS["CA"], v % 2))
        }

    f = _patch(f, hit(p.birth_date_format_rate), date_format)
    f = _patch(
        f,
        hit(p.region_name_rate),
        lambda idx: {"region": col("region").replace_strict(V.REGION_NAMES)},
    )
    return _patch(f, hit(p.country_variant_rate), country)
