"""Rule-based matching: rule keys per level, type selection, the low-cardinality guard, links.

For each rule level L (1-based, up to MaxAllowedRuleLevelForMatching) every profile yields one key per
choice of sub-types (which e-mail, which phone, which address); profiles sharing a key match at level
L. Keys are grouped once, and each key group emits *star links* (every member to the group's smallest
row index) instead of all pairs, so a key shared by thousands costs O(size) links, not O(size²).

Type selection [AWS]: with ONE_TO_ONE a key is tagged with its sub-types, so EmailAddress only meets
EmailAddress; with MANY_TO_MANY it is not, so any selected sub-type meets any other. All
``Address.*`` components of one level come from one address of each profile (the same sub-type
choice), so a level ``[Address.City, Address.PostalCode]`` never pairs a shipping city with a
billing postal code.

Low-cardinality guard [AWS]: a value held by more than ``limit`` profiles (500) is low-cardinality.
A key whose every attribute value is low-cardinality is skipped. A profile all of whose keys at level
L were skipped is not matched at L and gets the dead-letter message [choice: a profile that still
has another key at L, e.g. a second, rarer e-mail, is matched through it and gets no message].
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from idres import schema

if TYPE_CHECKING:
    from idres.config import AttributeTypesSelector, RuleBasedMatching

ROW = "__row"
DEFAULT_LOW_CARDINALITY_LIMIT = 500
DLQ_MESSAGE = "All attributes at rule level {level} are associated with more than {limit} records."

_ADDRESS_PREFIX = "Address."


@dataclass(frozen=True, slots=True)
class Slot:
    """One attribute of a level bound to one concrete normalized column.

    `attribute` is the rule's name (``EmailAddress``), `subtype` the selected sub-type
    (``BusinessEmailAddress``, an address type, or None for single-valued attributes) and `column`
    the normalized column read.
    """

    attribute: str
    subtype: str | None
    column: str


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """The keys one level builds: one tuple of slots per sub-type combination."""

    level: int
    attributes: tuple[str, ...]
    combinations: tuple[tuple[Slot, ...], ...]
    tagged: bool


def _family(attribute: str) -> str:
    if attribute == "EmailAddress":
        return "email"
    if attribute == "PhoneNumber":
        return "phone"
    if attribute.startswith(_ADDRESS_PREFIX):
        return "address"
    return attribute


def _options(family: str, selector: AttributeTypesSelector) -> tuple[str | None, ...]:
    if family == "email":
        return tuple(selector.email_fields)
    if family == "phone":
        return tuple(selector.phone_fields)
    if family == "address":
        return tuple(selector.address_types)
    return (None,)


def _column(attribute: str, subtype: str | None) -> str:
    if attribute in ("EmailAddress", "PhoneNumber"):
        return schema.norm(subtype or attribute)
    if attribute.startswith(_ADDRESS_PREFIX):
        part = attribute[len(_ADDRESS_PREFIX) :]
        return schema.norm(f"{subtype}.{part}")
    return schema.norm(attribute)


def plan_levels(rules: RuleBasedMatching) -> list[LevelPlan]:
    """The key plan of every evaluated level (levels above MaxAllowedRuleLevelForMatching are dropped).

    >>> from idres.config import parse_domain
    >>> cfg = parse_domain({"RuleBasedMatching": {"Enabled": True, "MatchingRules": [
    ...     {"Rule": ["EmailAddress", "LastName"]}],
    ...     "AttributeTypesSelector": {"AttributeMatchingModel": "MANY_TO_MANY",
    ...                                "EmailAddress": ["EmailAddress", "BusinessEmailAddress"]}}})
    >>> [[s.column for s in c] for c in plan_levels(cfg.RuleBasedMatching)[0].combinations]
    [['_n.EmailAddress', '_n.LastName'], ['_n.BusinessEmailAddress', '_n.LastName']]
    """
    selector = rules.selector
    tagged = selector.AttributeMatchingModel == "ONE_TO_ONE"
    plans = []
    for level, attributes in enumerate(rules.rules[: rules.max_matching_level], start=1):
        families = list(dict.fromkeys(_family(a) for a in attributes))
        choices = [_options(f, selector) for f in families]
        combos = []
        for pick in itertools.product(*choices):
            chosen = dict(zip(families, pick, strict=True))
            combos.append(
                tuple(
                    Slot(a, chosen[_family(a)], _column(a, chosen[_family(a)])) for a in attributes
                )
            )
        plans.append(LevelPlan(level, tuple(attributes), tuple(combos), tagged))
    return plans


def required_columns(plans: Sequence[LevelPlan]) -> list[str]:
    """Normalized columns the plans read, in first-use order."""
    cols = (slot.column for p in plans for combo in p.combinations for slot in combo)
    return list(dict.fromkeys(cols))


def raw_columns(plans: Sequence[LevelPlan]) -> list[str]:
    """Raw profile columns whose normalized copies the plans read (for ``normalize(columns=...)``)."""
    from idres.normalize import sources

    targets = (c.removeprefix(schema.NORM_PREFIX) for c in required_columns(plans))
    return list(dict.fromkeys(raw for target in targets for raw in sources(target)))


def _low_values(
    frame: pl.LazyFrame, plans: Sequence[LevelPlan], limit: int
) -> dict[str, pl.Series]:
    """Per rule attribute: the normalized values held by more than `limit` profiles.

    A value counts once per profile, whichever selected sub-type holds it.
    """
    columns_of: dict[str, list[str]] = {}
    for p in plans:
        for combo in p.combinations:
            for slot in combo:
                columns_of.setdefault(slot.attribute, [])
                if slot.column not in columns_of[slot.attribute]:
                    columns_of[slot.attribute].append(slot.column)
    queries = []
    names = []
    for attribute, cols in columns_of.items():
        long = pl.concat(
            [frame.select(pl.col(ROW), pl.col(c).alias("__v")) for c in cols], how="vertical"
        ).drop_nulls("__v")
        if len(cols) > 1:
            long = long.unique(["__v", ROW])
        queries.append(long.group_by("__v").len().filter(pl.col("len") > limit).select("__v"))
        names.append(attribute)
    results = pl.collect_all(queries) if queries else []
    return {n: r.get_column("__v") for n, r in zip(names, results, strict=True)}


def _level_keys(frame: pl.LazyFrame, plan: LevelPlan, low: dict[str, pl.Series]) -> pl.LazyFrame:
    """Rows (ROW, __tag, __k0.., __low) of one level: one per profile and sub-type combination."""
    parts = []
    for combo in plan.combinations:
        subtypes = dict.fromkeys(s.subtype for s in combo if s.subtype)
        tag = "|".join(subtypes) if plan.tagged else ""
        parts.append(
            frame.select(
                pl.col(ROW),
                pl.lit(tag).alias("__tag"),
                *[pl.col(s.column).alias(f"__k{j}") for j, s in enumerate(combo)],
                pl.all_horizontal(
                    [pl.col(s.column).is_in(low[s.attribute].implode()) for s in combo]
                ).alias("__low"),
            ).drop_nulls([f"__k{j}" for j in range(len(combo))])
        )
    return pl.concat(parts, how="vertical")


@dataclass(frozen=True)
class RuleLinks:
    """What rule evaluation produced, indexed by row.

    links: ``a`` (the key group's anchor row), ``b`` (a member row), ``RuleLevel``, ``KeyId``;
    keys: ``RuleLevel``, ``KeyId``, ``Key`` (readable values), ``Profiles`` (members);
    dead_letters: ``__row``, ``RuleLevel``, ``Message``.
    """

    links: pl.DataFrame
    keys: pl.DataFrame
    dead_letters: pl.DataFrame


def _key_text(combo: tuple[Slot, ...], tagged: bool) -> pl.Expr:
    pieces = []
    for j, slot in enumerate(combo):
        label = slot.attribute
        if slot.subtype is not None and slot.subtype != slot.attribute:
            label = f"{slot.attribute}[{slot.subtype}]" if tagged else slot.attribute
        pieces += [pl.lit(f"{label}="), pl.col(f"__k{j}")]
        if j < len(combo) - 1:
            pieces.append(pl.lit("; "))
    return pl.concat_str(pieces)


def _runs(kept: pl.DataFrame, key_cols: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort the key rows into runs of equal keys: (positions into `kept`, rows, run starts).

    Keys are compared through two independently seeded 64-bit hashes (grouping by 128-bit integers is
    several times faster than by strings); every run is then checked against its first row's actual
    values, and a collision, should one ever occur, falls back to exact grouping of the strings.
    """
    key = pl.struct(key_cols)
    hashed = kept.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"),
        pl.col(ROW),
        key.hash(0x1D5E5).alias("__h1"),
        key.hash(0x5EED).alias("__h2"),
    ).sort(["__h1", "__h2", ROW])
    h1 = hashed.get_column("__h1").to_numpy()
    h2 = hashed.get_column("__h2").to_numpy()
    pos = hashed.get_column("__i").to_numpy()
    rows = hashed.get_column(ROW).to_numpy()
    new = np.ones(h1.size, dtype=bool)
    new[1:] = (h1[1:] != h1[:-1]) | (h2[1:] != h2[:-1])
    first = pos[np.flatnonzero(new)[np.cumsum(new) - 1]] if h1.size else pos
    ref = kept.select(key_cols)
    mismatch = (ref[pos] != ref[first]).select(pl.any_horizontal(pl.all())).to_series()
    if mismatch.any():  # a 128-bit collision: group the strings exactly instead
        exact = kept.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"), pl.col(ROW), *key_cols
        ).sort([*key_cols, ROW], nulls_last=True)
        pos = exact.get_column("__i").to_numpy()
        rows = exact.get_column(ROW).to_numpy()
        ref = exact.select(key_cols)
        new = np.ones(pos.size, dtype=bool)
        if pos.size:
            new[1:] = (ref[1:] != ref[:-1]).select(pl.any_horizontal(pl.all())).to_series()
    # The same profile can reach one key through two sub-type choices: keep it once.
    dup = np.zeros(rows.size, dtype=bool)
    dup[1:] = ~new[1:] & (rows[1:] == rows[:-1])
    return pos[~dup], rows[~dup], new[~dup]


def _key_groups(kept: pl.DataFrame, plan: LevelPlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Star links and key-group table of one level from its kept key rows."""
    kcols = [f"__k{j}" for j in range(len(plan.attributes))]
    pos, rows, new = _runs(kept, ["__tag", *kcols])
    run = np.cumsum(new) - 1
    sizes = np.bincount(run, minlength=int(run[-1]) + 1 if run.size else 0)
    starts = np.flatnonzero(new)
    keep_run = sizes >= 2
    anchors = rows[starts]
    # KeyId: key groups numbered in order of their anchor row (then of their first row's key).
    kept_runs = np.flatnonzero(keep_run)
    order = kept_runs[np.argsort(anchors[kept_runs], kind="stable")]
    key_id = np.full(sizes.size, -1, dtype=np.int64)
    key_id[order] = np.arange(order.size)
    member = keep_run[run] & ~new
    links = pl.DataFrame(
        {
            "a": anchors[run[member]].astype(np.uint32),
            "b": rows[member].astype(np.uint32),
            "RuleLevel": np.full(int(member.sum()), plan.level, dtype=np.int32),
            "KeyId": key_id[run[member]].astype(np.uint32),
        }
    ).sort(["KeyId", "b"])
    text = _key_text(plan.combinations[0], tagged=False)
    if plan.tagged and any(s.subtype for s in plan.combinations[0]):
        text = pl.concat_str([text, pl.lit(" ("), pl.col("__tag"), pl.lit(")")])
    reps = kept[pos[starts[order]]]
    keys = reps.select(
        pl.lit(plan.level, pl.Int32).alias("RuleLevel"),
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("KeyId"),
        text.alias("Key"),
        pl.Series("Profiles", sizes[order].astype(np.uint32)),
    )
    return links, keys


def rule_links(
    normalized: pl.DataFrame | pl.LazyFrame,
    plans: Sequence[LevelPlan],
    *,
    low_cardinality_limit: int = DEFAULT_LOW_CARDINALITY_LIMIT,
) -> RuleLinks:
    """Evaluate every level's keys and return the star links, the key groups and dead letters.

    `normalized` must hold the columns of :func:`required_columns` and be sorted by ProfileId (row
    index = position). Output is sorted and independent of anything but the profiles' content.

    >>> import polars as pl
    >>> from idres.config import parse_domain
    >>> cfg = parse_domain({"RuleBasedMatching": {"Enabled": True,
    ...     "MatchingRules": [{"Rule": ["EmailAddress"]}]}})
    >>> frame = pl.DataFrame({"_n.EmailAddress": ["a@x.com", None, "a@x.com"]})
    >>> rule_links(frame, plan_levels(cfg.RuleBasedMatching)).links.rows()
    [(0, 2, 1, 0)]
    """
    lf = normalized.lazy().select(required_columns(plans)).with_row_index(ROW)
    n = lf.select(pl.len()).collect().item()
    low = _low_values(lf, plans, low_cardinality_limit)
    links_list, keys_list, dlq_list = [], [], []
    for plan in plans:
        keys = _level_keys(lf, plan, low).collect()
        is_low = keys.get_column("__low").fill_null(False)
        kept = keys.filter(~is_low)
        # Profiles with a skipped key and no kept key at this level (a mask: O(n), no hashing).
        mask = np.zeros(n, dtype=bool)
        mask[keys.filter(is_low).get_column(ROW).to_numpy()] = True
        mask[kept.get_column(ROW).to_numpy()] = False
        skipped = np.flatnonzero(mask)
        message = DLQ_MESSAGE.format(level=plan.level, limit=low_cardinality_limit)
        dlq_list.append(
            pl.DataFrame(
                {
                    ROW: skipped.astype(np.uint32),
                    "RuleLevel": np.full(skipped.size, plan.level, dtype=np.int32),
                    "Message": pl.Series([message], dtype=pl.String).new_from_index(
                        0, skipped.size
                    ),
                }
            )
        )
        level_links, level_keys = _key_groups(kept, plan)
        links_list.append(level_links)
        keys_list.append(level_keys)
    empty_links = pl.DataFrame(
        schema={"a": pl.UInt32, "b": pl.UInt32, "RuleLevel": pl.Int32, "KeyId": pl.UInt32}
    )
    empty_keys = pl.DataFrame(
        schema={"RuleLevel": pl.Int32, "KeyId": pl.UInt32, "Key": pl.String, "Profiles": pl.UInt32}
    )
    empty_dlq = pl.DataFrame(schema={ROW: pl.UInt32, "RuleLevel": pl.Int32, "Message": pl.String})
    return RuleLinks(
        links=pl.concat([empty_links, *links_list]),
        keys=pl.concat([empty_keys, *keys_list]),
        dead_letters=pl.concat([empty_dlq, *dlq_list]).sort([ROW, "RuleLevel"]),
    )
