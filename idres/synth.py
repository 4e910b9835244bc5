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
Every rate is a field of :class:`SynthParams`. The stages live beside this module: the entities
in :mod:`idres.synth_entities`, the corrupted profiles in :mod:`idres.synth_profiles` (both draw
with :mod:`idres.synth_draw`); the value pools in :mod:`idres.synth_values` and the written
variants of a value in :mod:`idres.synth_variants`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from idres import schema, synth_entities, synth_profiles
from idres.errors import InputError, Problem
from idres.schema import ENTITY_ID

__all__ = ["SynthParams", "Synthetic", "generate", "synthesize"]

log = logging.getLogger(__name__)


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
    flat, labels = synth_profiles.profiles(
        rng, synth_entities.entities(rng, sizes, p), entity_of, p
    )
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
