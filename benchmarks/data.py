"""Seeded synthetic profile tables for benchmarks: realistic, messy, fast to make.

:func:`make_profiles` builds ``n`` flat canonical profiles (every column of
:data:`idres.schema.PROFILE_COLUMNS`, two ``Attributes.*`` columns and the bookkeeping columns) with
the mess real exports carry: mixed case, stray, tab and non-breaking spaces, phones in several
formats, emails with spaces and capitals, addresses with punctuation and spelled-out suffixes, birth
dates in nine formats. Profiles come in duplicate clusters (one person, several records), so the
table serves matching benchmarks too; the true person is in the pass-through column ``EntityId``.

Speed comes from never formatting per row: every messy string is a small vocabulary of pre-damaged
variants gathered by numpy indices (``vocabulary[index * K + variant]``), and composite values are
one ``concat_str`` of gathered pieces: 1,000,000 profiles take a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from idres import schema


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty "
    "Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua "
    "Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald "
    "Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy "
    "Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott "
    "Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra "
    "José María Zoë François Søren Chloé Renée Björn Anne-Marie Jean-Luc"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "O'Brien Müller Šimek Núñez Łukasz D'Angelo McDonald St.John Van-Dyke"
)
STREETS = _words(
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Sunset Lincoln Jackson Church River "
    "Highland Forest Jefferson Madison Franklin Chestnut Spruce Walnut Willow Meadow Ridge Valley "
    "Cherry Birch Dogwood Magnolia Lakeview Broad Market Spring Mill Center Union Water Prospect "
    "Grove Sycamore Hickory Laurel Poplar Woodland Fairview Riverside Hillcrest Adams"
)
SUFFIXES = _words(
    "Street St St. Avenue Ave Ave. Road Rd Boulevard Blvd Drive Dr Lane Ln Court Ct Place Pl "
    "Parkway Pkwy Circle Cir Terrace Way Highway Hwy"
)
DIRECTIONS = ("", "", "", "", "", "N ", "North ", "S. ", "South ", "E ", "East ", "W ", "West ")
UNITS = ("Apt 4B", "Apt. 12", "# 7", "#210", "Suite 300", "Ste. 5", "Unit 9", "Apartment 3")
CITIES = (
    ("New York", "NY", "New York"),
    ("Los Angeles", "CA", "California"),
    ("Chicago", "IL", "Illinois"),
    ("Houston", "TX", "Texas"),
    ("Phoenix", "AZ", "Arizona"),
    ("Philadelphia", "PA", "Pennsylvania"),
    ("San Antonio", "TX", "Texas"),
    ("San Diego", "CA", "California"),
    ("Dallas", "TX", "Texas"),
    ("Jacksonville", "FL", "Florida"),
    ("Columbus", "OH", "Ohio"),
    ("Seattle", "WA", "Washington"),
    ("Denver", "CO", "Colorado"),
    ("Washington", "DC", "District of Columbia"),
    ("Boston", "MA", "Massachusetts"),
    ("Nashville", "TN", "Tennessee"),
    ("Portland", "OR", "Oregon"),
    ("Las Vegas", "NV", "Nevada"),
    ("Atlanta", "GA", "Georgia"),
    ("Miami", "FL", "Florida"),
    ("Minneapolis", "MN", "Minnesota"),
    ("St. Louis", "MO", "Missouri"),
    ("Salt Lake City", "UT", "Utah"),
    ("Fort Worth", "TX", "Texas"),
)
COUNTRIES = ("US", "US", "US", "USA", "United States", "United States of America", "U.S.", "us")
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "Outlook.com", "example.com", "hotmail.com", "aol.com")
#: chrono formats of the birth dates, all parseable by idres.normalize.
BIRTH_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%Y%m%d",
    "%b %-d %Y",
    "%-d %B %Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y-%m-%dT00:00:00Z",
    "%B %-d, %Y",
)
#: Kinds of damage a vocabulary word gets, and how often.
_DAMAGE_P = np.array([0.70, 0.10, 0.10, 0.04, 0.03, 0.03])
_K = len(_DAMAGE_P)


def _damaged(word: str) -> list[str]:
    """The `_K` variants of `word`: as is, upper, lower, padded, non-breaking space, leading tab."""
    nbsp = word.replace(" ", "\u00a0 ") if " " in word else word + "\u00a0"
    return [word, word.upper(), word.lower(), f"  {word} ", nbsp, "\t" + word]


def _gather(vocab: list[str] | tuple[str, ...], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(vocab), dtype=pl.String).gather(idx)


def _messy(vocab: list[str] | tuple[str, ...], idx: np.ndarray, damage: np.ndarray) -> pl.Series:
    table = [v for w in vocab for v in _damaged(w)]
    return _gather(table, idx * _K + damage)


def make_profiles(n: int, seed: int = 0, *, duplicate_rate: float = 0.3) -> pl.DataFrame:
    """`n` flat canonical profiles with messy values, seeded and deterministic.

    About ``duplicate_rate`` of the profiles repeat a person already in the table (same underlying
    name, email, phone, address and birth date, formatted differently and with other fields
    missing). Columns: :data:`idres.schema.PROFILE_COLUMNS` (``pl.String``), ``Attributes.LoyaltyId``,
    ``Attributes.Tier``, ``SourceObjectType``, ``LastUpdatedAt`` (UTC) and ``EntityId`` (``e<n>``).

    >>> df = make_profiles(5, seed=1)
    >>> df.height, "ShippingAddress.City" in df.columns, df["ProfileId"].is_unique().all()
    (5, True, True)
    """
    rng = np.random.default_rng(seed)
    n_people = max(1, round(n * (1 - duplicate_rate)))
    person = np.concatenate(
        [np.arange(min(n, n_people)), rng.integers(0, n_people, max(0, n - n_people))]
    )
    rng.shuffle(person)

    def per_person(high: int, low: int = 0) -> np.ndarray:
        return rng.integers(low, high, n_people)[person]

    def damage() -> np.ndarray:
        return np.searchsorted(np.cumsum(_DAMAGE_P), rng.random(n) * 0.999999)

    def choice(k: int) -> np.ndarray:
        return rng.integers(0, k, n)

    first, middle = per_person(len(FIRST_NAMES)), per_person(len(FIRST_NAMES))
    last = per_person(len(LAST_NAMES))
    city = per_person(len(CITIES))
    street, suffix = per_person(len(STREETS)), per_person(len(SUFFIXES))
    direction, unit = per_person(len(DIRECTIONS)), per_person(2 * len(UNITS))
    phones = {k: per_person(9_999_999_999, 2_000_000_000) for k in ("home", "mobile", "work")}
    people = pl.DataFrame(
        {
            "house": per_person(10_000, 1),
            "zip5": per_person(100_000, 1_000),
            "birth": per_person(65 * 365),
            "email_no": per_person(10_000, 1),
            "account": per_person(100_000_000, 10_000_000),
            "gender": per_person(3),
            "person": person,
            "domain": _gather(EMAIL_DOMAINS, per_person(len(EMAIL_DOMAINS))),
            "first": _gather(FIRST_NAMES, first),
            "last": _gather(LAST_NAMES, last),
            **{k: pl.Series(v).cast(pl.String) for k, v in phones.items()},
        }
    )
    cols: dict[str, pl.Series | pl.Expr] = {
        schema.PROFILE_ID: pl.format("p{}", pl.int_range(n).cast(pl.String).str.zfill(9)),
        "AccountNumber": pl.format("ACC-{}", "account"),
        "AdditionalInformation": pl.lit("VIP; call after 5pm"),
        "PartyType": pl.lit("INDIVIDUAL"),
        "PartyTypeString": pl.lit("Individual"),
        "BusinessName": pl.col("last") + " & Sons, Inc.",
        "FirstName": _messy(FIRST_NAMES, first, damage()),
        "MiddleName": _messy(FIRST_NAMES, middle, damage()),
        "LastName": _messy(LAST_NAMES, last, damage()),
        "BirthDate": _birth_dates(person_day=people["birth"].to_numpy(), fmt=choice(9)),
        "Gender": pl.col("gender").replace_strict([0, 1, 2], ["MALE", "FEMALE", "UNSPECIFIED"]),
        "GenderString": pl.col("gender").replace_strict([0, 1, 2], ["Male", "F", "unspecified"]),
    }
    phone_field = dict(zip(schema.PHONE_FIELDS, ("home", "mobile", "home", "work"), strict=True))
    for field, source in phone_field.items():
        cols[field] = _phone(pl.col(source), choice(6))
    email = pl.concat_str(
        pl.col("first").str.to_lowercase().str.replace_all(r"[^a-z]", ""),
        pl.lit("."),
        pl.col("last").str.to_lowercase().str.replace_all(r"[^a-z]", ""),
        pl.col("email_no").cast(pl.String),
        pl.lit("@"),
        pl.col("domain"),
    )
    for field in schema.EMAIL_FIELDS:
        pad = _gather(("", "", "", "", " ", "  "), choice(6))
        cols[field] = pl.concat_str(pl.lit(pad), _case(email, choice(10)), pl.lit(pad))
    for t in schema.ADDRESS_TYPES:
        cols |= _address(t, people, street, suffix, direction, unit, city, choice, damage)
    cols[schema.attribute_column("LoyaltyId")] = pl.format("L{}", "person")
    cols[schema.attribute_column("Tier")] = pl.lit(
        _gather(("Gold", "silver", " BRONZE"), choice(3))
    )
    full = people.select(**{k: v if isinstance(v, pl.Expr) else pl.lit(v) for k, v in cols.items()})

    present = _presence(rng, n)
    seconds = rng.integers(0, 5 * 365 * 86_400, n).astype("timedelta64[s]")
    updated = (np.datetime64("2020-01-01", "s") + seconds).astype("datetime64[us]")
    out = full.select(
        *(
            pl.when(pl.lit(pl.Series(present[c]))).then(pl.col(c)).alias(c)
            if c in present
            else pl.col(c)
            for c in full.columns
        ),
        pl.lit(_gather(("CRM", "Web", "POS"), choice(3))).alias(schema.SOURCE),
        pl.lit(pl.Series(updated)).cast(schema.TIMESTAMP_DTYPE).alias(schema.UPDATED),
        pl.format("e{}", pl.lit(pl.Series(person))).alias(schema.ENTITY_ID),
    )
    ordered = [*schema.PROFILE_COLUMNS, "Attributes.LoyaltyId", "Attributes.Tier"]
    return out.select(*ordered, schema.SOURCE, schema.UPDATED, schema.ENTITY_ID)


def _birth_dates(person_day: np.ndarray, fmt: np.ndarray) -> pl.Series:
    """Birth dates (days after 1940-01-01) written in `BIRTH_FORMATS[fmt]`, by table lookup."""
    days = pl.date_range(pl.date(1940, 1, 1), pl.date(2004, 12, 31), eager=True)
    table = pl.concat([days.dt.to_string(f) for f in BIRTH_FORMATS])
    return table.gather(fmt * len(days) + person_day)


def _case(expr: pl.Expr, k: np.ndarray) -> pl.Expr:
    """`expr` upper-cased where ``k == 0``, else unchanged."""
    return pl.when(pl.lit(pl.Series(k)) == 0).then(expr.str.to_uppercase()).otherwise(expr)


def _phone(digits: pl.Expr, fmt: np.ndarray) -> pl.Expr:
    """A 10-digit string written as +1-AAA-BBB-CCCC, (AAA) BBB-CCCC, AAA.BBB.CCCC, 1 AAA BBB CCCC,
    AAABBBCCCC, or as a UK number +44 20 BBB CCCC."""
    parts = (("+1-", "-", "-"), ("(", ") ", "-"), ("", ".", "."), ("1 ", " ", " "), ("", "", ""))
    prefix = _gather([p[0] for p in parts] + ["+44 20 "], fmt)
    sep1 = _gather([p[1] for p in parts] + [""], fmt)
    sep2 = _gather([p[2] for p in parts] + [" "], fmt)
    area = pl.when(pl.lit(pl.Series(fmt)) == 5).then(pl.lit("")).otherwise(digits.str.slice(0, 3))
    return pl.concat_str(
        pl.lit(prefix),
        area,
        pl.lit(sep1),
        digits.str.slice(3, 3),
        pl.lit(sep2),
        digits.str.slice(6, 4),
    )


def _address(
    t: str,
    people: pl.DataFrame,
    street: np.ndarray,
    suffix: np.ndarray,
    direction: np.ndarray,
    unit: np.ndarray,
    city: np.ndarray,
    choice: Callable[[int], np.ndarray],
    damage: Callable[[], np.ndarray],
) -> dict[str, pl.Series | pl.Expr]:
    """The ten columns of address type `t` (same place for every type, damaged independently)."""
    case = damage()
    line1 = pl.concat_str(
        pl.col("house").cast(pl.String),
        pl.lit(" "),
        pl.lit(_gather(DIRECTIONS, direction)),
        pl.lit(_messy(STREETS, street, case)),
        pl.lit(" "),
        pl.lit(_messy(SUFFIXES, suffix, case)),
    )
    units = [*UNITS, *([""] * len(UNITS))]
    state = np.where(choice(3) == 0, 1, 0)
    states = [v for _, code, name in CITIES for v in (code, name)]
    zip4 = choice(2)
    return {
        f"{t}.Address1": line1,
        f"{t}.Address2": pl.lit(_gather(units, unit)).replace("", None),
        f"{t}.Address3": pl.lit(None, pl.String),
        f"{t}.Address4": pl.lit(None, pl.String),
        f"{t}.City": _messy([c for c, _, _ in CITIES], city, case),
        f"{t}.County": pl.lit(None, pl.String),
        f"{t}.State": _messy(states, city * 2 + state, case),
        f"{t}.Province": pl.lit(None, pl.String),
        f"{t}.Country": _gather(COUNTRIES, choice(len(COUNTRIES))),
        f"{t}.PostalCode": pl.concat_str(
            pl.col("zip5").cast(pl.String).str.zfill(5),
            pl.when(pl.lit(pl.Series(zip4)) == 0).then(pl.lit("-1234")).otherwise(pl.lit("")),
        ),
    }


def _presence(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Which optional columns each record fills (whole address structures at once)."""
    share = {
        "AccountNumber": 0.5,
        "AdditionalInformation": 0.03,
        "PartyType": 0.6,
        "PartyTypeString": 0.03,
        "BusinessName": 0.1,
        "FirstName": 0.95,
        "MiddleName": 0.2,
        "LastName": 0.95,
        "BirthDate": 0.6,
        "Gender": 0.5,
        "GenderString": 0.1,
        "PhoneNumber": 0.7,
        "MobilePhoneNumber": 0.4,
        "HomePhoneNumber": 0.1,
        "BusinessPhoneNumber": 0.1,
        "EmailAddress": 0.8,
        "PersonalEmailAddress": 0.15,
        "BusinessEmailAddress": 0.1,
        "Attributes.LoyaltyId": 0.3,
        "Attributes.Tier": 0.5,
    }
    present = {c: rng.random(n) < p for c, p in share.items()}
    address_share = dict(zip(schema.ADDRESS_TYPES, (0.75, 0.3, 0.1, 0.15), strict=True))
    for t, p in address_share.items():
        has = rng.random(n) < p
        present |= {f"{t}.{part}": has for part in schema.ADDRESS_PARTS}
    return present
