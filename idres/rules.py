"""Rule-based matching: rule keys per level, type selection, the low-cardinality guard, links.

For each rule level L (1-based, up to MaxAllowedRuleLevelForMatching) every profile yields one key per
choice of sub-types (which e-mail, which phone, which address); profiles sharing a key match at level
L. Keys are integers: each attribute's normalized values are dense codes (:mod:`idres.rule_codes`)
and a key packs its codes and its sub-type tag into one ``uint64``, so keys are grouped by one sort of
plain integers. Each key group emits *star links* (every member to the group's smallest row index)
instead of all pairs, so a key shared by thousands costs O(size) links, not O(size²).

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
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from idres import schema
from idres.rule_codes import CodedAttribute, code_attribute

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
    return _raw_sources(required_columns(plans))


def _raw_sources(columns: Iterable[str]) -> list[str]:
    """Raw columns the ``_n.`` columns `columns` are normalized from, each once, in order."""
    from idres.normalize import sources

    targets = (c.removeprefix(schema.NORM_PREFIX) for c in columns)
    return list(dict.fromkeys(raw for target in targets for raw in sources(target)))


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


@dataclass
class _KeyRows:
    """The key rows of one level: one per profile and sub-type combination with every value."""

    rows: np.ndarray  # uint32 row of the profile
    tag: np.ndarray  # uint32 index into the level's tags
    codes: list[np.ndarray]  # per attribute of the level, its value code


def _key_rows(
    plan: LevelPlan, coded: dict[str, CodedAttribute], limit: int
) -> tuple[_KeyRows, np.ndarray, np.ndarray]:
    """The level's key rows that can be shared (no value held by one profile only, not every
    value low-cardinality), plus the rows of skipped keys and of kept keys (for dead letters)."""
    tags = list(dict.fromkeys(_tag(combo, plan.tagged) for combo in plan.combinations))
    parts: list[_KeyRows] = []
    skipped, kept = [], []
    for combo in plan.combinations:
        held = [coded[s.attribute].held[s.column] for s in combo]
        present = np.logical_and.reduce([h > 0 for h in held])
        low = present & np.logical_and.reduce([h > limit for h in held])
        # A key shared by two profiles needs each of its values held by two.
        shared = np.flatnonzero(~low & np.logical_and.reduce([h >= 2 for h in held]))
        shared = shared.astype(np.uint32)
        skipped.append(np.flatnonzero(low))
        kept.append(np.flatnonzero(present & ~low))
        tag = np.full(shared.size, tags.index(_tag(combo, plan.tagged)), dtype=np.uint32)
        codes = [coded[s.attribute].codes[s.column][shared] for s in combo]
        parts.append(_KeyRows(shared, tag, codes))
    width = len(plan.attributes)
    out = _KeyRows(
        np.concatenate([p.rows for p in parts]),
        np.concatenate([p.tag for p in parts]),
        [np.concatenate([p.codes[j] for p in parts]) for j in range(width)],
    )
    return out, np.concatenate(skipped), np.concatenate(kept)


def _tag(combo: tuple[Slot, ...], tagged: bool) -> str:
    return "|".join(dict.fromkeys(s.subtype for s in combo if s.subtype)) if tagged else ""


@dataclass(frozen=True)
class _Packing:
    """How :func:`_packed` built its keys, to read tag and codes back from a key."""

    sizes: tuple[int, ...]
    renumbered: tuple[np.ndarray | None, ...]

    def unpack(self, key: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(tag, codes) of packed keys."""
        key = key.astype(np.uint64)
        codes: list[np.ndarray] = []
        for size, uniq in zip(reversed(self.sizes), reversed(self.renumbered), strict=True):
            codes.insert(0, (key % np.uint64(size)).astype(np.uint32))
            key = key // np.uint64(size)
            if uniq is not None:
                key = uniq[key]
        return key.astype(np.uint32), codes


def _packed(keys: _KeyRows, sizes: list[int], n_tags: int) -> tuple[np.ndarray, _Packing]:
    """One ``uint64`` per key row, equal exactly when tag and every code are equal (mixed radix;
    the partial key is renumbered densely whenever the next digit would overflow)."""
    key = keys.tag.astype(np.uint64)
    bound = max(n_tags, 1)
    used, renumbered = [], []
    for codes, size in zip(keys.codes, sizes, strict=True):
        size = max(size, 1)
        uniq = None
        if bound * size >= 1 << 63:
            uniq, inverse = np.unique(key, return_inverse=True)
            key, bound = inverse.astype(np.uint64), int(uniq.size)
        key = key * np.uint64(size) + codes.astype(np.uint64)
        bound *= size
        used.append(size)
        renumbered.append(uniq)
    return key, _Packing(tuple(used), tuple(renumbered))


def _runs(key: np.ndarray, rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Key rows sorted by key then row, a profile kept once per key: (keys, rows, run starts).

    Key and row are packed into one integer when they fit (sorting plain integers is several
    times faster than an argsort). The same profile can reach one key through two sub-type
    choices: it is kept once.
    """
    n = max(n, 1)
    if not key.size or int(key.max()) < (np.iinfo(np.uint64).max - n) // n:
        both = pl.Series(key * np.uint64(n) + rows.astype(np.uint64)).sort().to_numpy()
        k, r = both // np.uint64(n), (both % np.uint64(n)).astype(np.uint32)
    else:
        frame = pl.DataFrame({"k": key, "r": rows}).sort("k", "r")
        k, r = frame.get_column("k").to_numpy(), frame.get_column("r").to_numpy()
    new = np.ones(k.size, dtype=bool)
    new[1:] = k[1:] != k[:-1]
    keep = np.ones(k.size, dtype=bool)
    keep[1:] = new[1:] | (r[1:] != r[:-1])
    return k[keep], r[keep], new[keep]


def _key_text(
    plan: LevelPlan,
    tags: list[str],
    tag: np.ndarray,
    codes: list[np.ndarray],
    coded: dict[str, CodedAttribute],
) -> pl.Series:
    """Readable text of keys (``EmailAddress=a@x.com; LastName=smith``, `` (tag)`` when tagged)."""
    pieces: list[pl.Expr | pl.Series] = []
    for j, attribute in enumerate(plan.attributes):
        pieces += [pl.lit(f"{attribute}="), coded[attribute].text(codes[j])]
        if j < len(plan.attributes) - 1:
            pieces.append(pl.lit("; "))
    if plan.tagged and any(tags):
        names = pl.Series(tags, dtype=pl.String).gather(pl.Series(tag))
        pieces += [pl.lit(" ("), names, pl.lit(")")]
    exprs = [pl.lit(p) if isinstance(p, pl.Series) else p for p in pieces]
    return pl.select(pl.concat_str(exprs).alias("Key")).to_series()


def _level(
    plan: LevelPlan, coded: dict[str, CodedAttribute], n: int, limit: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Star links, key groups and dead letters of the `n` profiles at one level."""
    tags = list(dict.fromkeys(_tag(combo, plan.tagged) for combo in plan.combinations))
    keys, skipped_rows, kept_rows = _key_rows(plan, coded, limit)
    # Profiles with a skipped key and no kept key at this level (a mask: O(n), no hashing).
    mask = np.zeros(n, dtype=bool)
    mask[skipped_rows] = True
    mask[kept_rows] = False
    skipped = np.flatnonzero(mask)
    message = DLQ_MESSAGE.format(level=plan.level, limit=limit)
    dead = pl.DataFrame(
        {
            ROW: skipped.astype(np.uint32),
            "RuleLevel": np.full(skipped.size, plan.level, dtype=np.int32),
            "Message": pl.Series([message], dtype=pl.String).new_from_index(0, skipped.size),
        }
    )
    sizes = [coded[a].size for a in plan.attributes]
    packed, packing = _packed(keys, sizes, len(tags))
    key, rows, new = _runs(packed, keys.rows, n)
    run = np.cumsum(new) - 1
    counts = np.bincount(run, minlength=int(run[-1]) + 1 if run.size else 0)
    starts = np.flatnonzero(new)
    shared = np.flatnonzero(counts >= 2)
    tag, codes = packing.unpack(key[starts[shared]])
    text = _key_text(plan, tags, tag, codes, coded)
    anchors = rows[starts[shared]]
    # KeyId: key groups numbered by anchor row, then key text (never by hash order).
    order = pl.DataFrame({"a": anchors, "t": text}).select(pl.arg_sort_by("a", "t")).to_series()
    order_np = order.to_numpy()
    key_id = np.full(counts.size, -1, dtype=np.int64)
    key_id[shared[order_np]] = np.arange(order_np.size)
    member = (counts[run] >= 2) & ~new
    links = pl.DataFrame(
        {
            "a": anchors[np.searchsorted(shared, run[member])].astype(np.uint32),
            "b": rows[member].astype(np.uint32),
            "RuleLevel": np.full(int(member.sum()), plan.level, dtype=np.int32),
            "KeyId": key_id[run[member]].astype(np.uint32),
        }
    ).sort(["KeyId", "b"])
    table = pl.DataFrame(
        {
            "RuleLevel": np.full(order_np.size, plan.level, dtype=np.int32),
            "KeyId": np.arange(order_np.size, dtype=np.uint32),
            "Key": text.gather(order),
            "Profiles": counts[shared[order_np]].astype(np.uint32),
        }
    )
    return links, table, dead


def rule_links(
    profiles: pl.DataFrame | pl.LazyFrame,
    plans: Sequence[LevelPlan],
    *,
    low_cardinality_limit: int = DEFAULT_LOW_CARDINALITY_LIMIT,
    mode: str = "standard",
) -> RuleLinks:
    """Evaluate every level's keys and return the star links, the key groups and dead letters.

    `profiles` holds the raw columns of :func:`raw_columns` (absent ones never match), sorted by
    ProfileId (row index = position); values are normalized with `mode`. Output is sorted and
    independent of anything but the profiles' content.

    >>> import polars as pl
    >>> from idres.config import parse_domain
    >>> cfg = parse_domain({"RuleBasedMatching": {"Enabled": True,
    ...     "MatchingRules": [{"Rule": ["EmailAddress"]}]}})
    >>> frame = pl.DataFrame({"EmailAddress": ["a@x.com", None, " A@x.com"]})
    >>> rule_links(frame, plan_levels(cfg.RuleBasedMatching)).links.rows()
    [(0, 2, 1, 0)]
    """
    lazy = profiles.lazy()
    names = lazy.collect_schema().names()
    height = lazy.select(pl.len()).collect().item()  # a scan: from the Parquet metadata
    columns_of: dict[str, list[str]] = {}
    for p in plans:
        for combo in p.combinations:
            for slot in combo:
                cols = columns_of.setdefault(slot.attribute, [])
                if slot.column not in cols:
                    cols.append(slot.column)
    # Attributes are coded two at a time, those with the most raw columns first (they take
    # longest), and each level is evaluated as soon as its attributes are coded, in a second pool
    # (numpy and Polars release the GIL): the levels overlap the coding of the last attributes.
    raw_of = {a: _raw_sources(columns) for a, columns in columns_of.items()}

    def code(attribute: str) -> CodedAttribute:
        # Each attribute reads its own raw columns, dropped once coded: all rule columns of 10M
        # profiles (3 GB) are never held at once, and the stage's peak stays lower.
        raw = [c for c in raw_of[attribute] if c in names]
        frame = lazy.select(raw).collect() if raw else pl.DataFrame(height=height)
        return code_attribute(frame, columns_of[attribute], mode=mode)

    with (
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="idres-code") as pool,
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="idres-level") as level_pool,
    ):
        widest = sorted(columns_of, key=lambda a: len(raw_of[a]), reverse=True)
        futures = {a: pool.submit(code, a) for a in widest}

        def level(plan: LevelPlan) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
            coded = {a: futures[a].result() for a in plan.attributes}
            return _level(plan, coded, height, low_cardinality_limit)

        done = [f.result() for f in [level_pool.submit(level, plan) for plan in plans]]
    links_list = [links for links, _, _ in done]
    keys_list = [keys for _, keys, _ in done]
    dlq_list = [dead for _, _, dead in done]
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
