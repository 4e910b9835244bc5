"""Blocking: candidate pairs for the ML matcher, and random pairs for estimating u.

A :class:`BlockingRule` is a union of conjunctions ("alternatives"): two profiles are a candidate
pair under the rule when they share the values of every key of at least one alternative. A
multi-valued rule such as "any email" has one alternative per email sub-type, and a value in
``EmailAddress`` on one side meets the same value in ``BusinessEmailAddress`` on the other (keys are
not tagged with the sub-type). Keys are ``_n.`` column names or Polars expressions over them; an
alternative that needs a column absent from the frame is skipped, and a null key value never blocks.

Pairs are generated inside each block without any Python loop (sorted keys, triangular indices in
numpy) and deduplicated across rules. A block larger than ``max_block_size`` (a placeholder email
such as ``test@test.com``, a call-centre phone number) is skipped with a :class:`BlockSizeWarning`
naming the rule and the value: it would produce ``size * (size - 1) / 2`` pairs of little evidence.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from idres import schema
from idres.errors import InputError, Problem, repeated_names

log = logging.getLogger(__name__)

Key = str | pl.Expr

A: Final = "a"
B: Final = "b"
RULES: Final = "rules"
#: Default block-size cap, mirroring the AWS low-cardinality limit of 500 profiles.
MAX_BLOCK_SIZE: Final = 500
_MAX_RULES: Final = 64


class BlockSizeWarning(UserWarning):
    """A block larger than ``max_block_size`` was skipped (its pairs were not generated)."""


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """A named blocking rule: a union of alternatives, each a conjunction of keys.

    Build it with :meth:`of`, which zips sequences of sub-type columns and repeats single keys.

    >>> rule = BlockingRule.of("name+postcode", "_n.LastName", ["_n.Address.PostalCode", "_n.ShippingAddress.PostalCode"])
    >>> [tuple(alt) for alt in rule.alternatives]
    [('_n.LastName', '_n.Address.PostalCode'), ('_n.LastName', '_n.ShippingAddress.PostalCode')]
    """

    name: str
    alternatives: tuple[tuple[Key, ...], ...]

    @classmethod
    def of(cls, name: str, *keys: Key | Sequence[Key]) -> BlockingRule:
        """Rule from keys; list arguments (one entry per sub-type) are zipped, single keys repeated."""
        lengths = {len(k) for k in keys if not isinstance(k, str | pl.Expr)}
        if len(lengths) > 1:
            raise ValueError(f"rule {name!r}: sub-type lists differ in length (got {lengths!r})")
        width = lengths.pop() if lengths else 1
        alts = tuple(
            tuple(k if isinstance(k, str | pl.Expr) else k[i] for k in keys) for i in range(width)
        )
        return cls(name, alts)

    def columns(self) -> frozenset[str]:
        """Every column the rule reads (the roots of its expressions included)."""
        return frozenset(c for alt in self.alternatives for k in alt for c in _roots(k))


def _roots(key: Key) -> list[str]:
    return [key] if isinstance(key, str) else key.meta.root_names()


def _address(part: str) -> list[str]:
    return [schema.norm(f"{t}.{part}") for t in schema.ADDRESS_TYPES]


def either_order(first: str, second: str) -> pl.Expr:
    """Both values sorted and joined (null if either is missing): a key that survives a swap.

    >>> f = pl.DataFrame({"f": ["ann", "li"], "l": ["li", "ann"]})
    >>> f.select(either_order("f", "l")).to_series().to_list()
    ['ann li', 'ann li']
    """
    x, y = pl.col(first), pl.col(second)
    return (
        pl.when(x <= y)
        .then(x + " " + y)
        .otherwise(y + " " + x)  # null when either is null
        .alias(f"sorted({first},{second})")
    )


def default_rules() -> tuple[BlockingRule, ...]:
    """The default blocking rules for profiles (strict enough for a million profiles).

    Every rule but email and phone pairs a person attribute with a place or a birth date, so no
    common value (a popular first name, a big city) makes blocks of thousands on its own.

    >>> [r.name for r in default_rules()][:3]
    ['email', 'phone', 'last_name+birth_date']
    """
    first, last = schema.norm("FirstName"), schema.norm("LastName")
    birth, business = schema.norm("BirthDate"), schema.norm("BusinessName")
    postcode, city = _address("PostalCode"), _address("City")
    line = _address(schema.ADDRESS_LINE)
    names = either_order(first, last)
    return (
        BlockingRule.of("email", [schema.norm(c) for c in schema.EMAIL_FIELDS]),
        BlockingRule.of("phone", [schema.norm(c) for c in schema.PHONE_FIELDS]),
        BlockingRule.of("last_name+birth_date", last, birth),
        BlockingRule.of("first_name+birth_date", first, birth),
        BlockingRule.of("names+postal_code", names, postcode),
        BlockingRule.of("names+city", names, city),
        BlockingRule.of("first_name+postal_code", first, postcode),
        BlockingRule.of("last_name+postal_code", last, postcode),
        BlockingRule.of("address+postal_code", line, postcode),
        BlockingRule.of("address+city", line, city),
        BlockingRule.of("birth_date+postal_code", birth, postcode),
        BlockingRule.of("birth_date+city", birth, city),
        BlockingRule.of("business_name+postal_code", business, postcode),
        BlockingRule.of("business_name+city", business, city),
        BlockingRule.of("account_number", schema.norm("AccountNumber")),
    )


def _available(frame: pl.DataFrame, rule: BlockingRule) -> list[tuple[Key, ...]]:
    have = set(frame.columns)
    return [alt for alt in rule.alternatives if all(set(_roots(k)) <= have for k in alt)]


def _rule_keys(frame: pl.DataFrame, alts: list[tuple[Key, ...]]) -> pl.DataFrame:
    """Distinct (key hash, row) of one rule, sorted, with the key values kept for messages."""
    width = len(alts[0])
    row = pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row")
    parts = [
        frame.select(
            row,
            *[(pl.col(k) if isinstance(k, str) else k).alias(f"__v{i}") for i, k in enumerate(alt)],
        )
        for alt in alts
    ]
    names = [f"__v{i}" for i in range(width)]
    keys = pl.concat(parts, how="vertical_relaxed").drop_nulls(names)
    keys = keys.with_columns(pl.struct(names).hash(seed=0).alias("__key"))
    return keys.unique(["__key", "__row"], keep="first").sort(["__key", "__row"])


def _block_pairs(
    rows: npt.NDArray[np.uint32],
    starts: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    keep: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Every pair inside each kept block (rows sorted within a block, so a < b)."""
    local = np.arange(rows.size, dtype=np.int64) - np.repeat(starts, sizes)
    count = np.where(np.repeat(keep, sizes), np.repeat(sizes, sizes) - 1 - local, 0)
    total = int(count.sum())
    first = np.repeat(np.arange(rows.size, dtype=np.int64), count)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return rows[first], rows[first + 1 + offset]


def candidate_pairs(
    frame: pl.DataFrame,
    rules: Sequence[BlockingRule] | None = None,
    *,
    max_block_size: int = MAX_BLOCK_SIZE,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Candidate pairs of row indices under `rules`, deduplicated across rules.

    Returns ``(pairs, stats)``: `pairs` has ``a < b`` (``u32`` row indices, sorted) and ``rules``, a
    ``u64`` bitmask of the rules that produced the pair (bit ``i`` = ``rules[i]``); `stats` has one row
    per rule: ``rule``, ``pairs`` (pairs that rule produced), ``blocks`` (blocks of 2..max profiles),
    ``skipped_blocks`` and ``largest_block``.

    >>> f = pl.DataFrame({"_n.EmailAddress": ["x@a.io", "x@a.io", None], "_n.LastName": ["li", "li", "li"]})
    >>> rules = [BlockingRule.of("email", "_n.EmailAddress"), BlockingRule.of("last", "_n.LastName")]
    >>> pairs, stats = candidate_pairs(f, rules)
    >>> pairs.rows()
    [(0, 1, 3), (0, 2, 2), (1, 2, 2)]
    >>> stats["pairs"].to_list()
    [1, 3]
    """
    rules = tuple(default_rules() if rules is None else rules)
    problems = []
    if not isinstance(max_block_size, int) or max_block_size < 2:
        problems.append(
            Problem(None, "max_block_size", f"must be an integer >= 2 (got {max_block_size!r})")
        )
    if len(rules) > _MAX_RULES:
        problems.append(Problem(None, "rules", f"at most {_MAX_RULES} rules (got {len(rules)})"))
    problems += repeated_names((r.name for r in rules), "rules", "rule names")
    if problems:
        raise InputError(problems)

    all_a, all_b, all_bit, stats = [], [], [], []
    for i, rule in enumerate(rules):
        alts = _available(frame, rule)
        blocks = skipped = largest = 0
        if alts:
            keys = _rule_keys(frame, alts)
            key = keys["__key"].to_numpy()
            rows = keys["__row"].to_numpy()
            starts = (
                np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
                if key.size
                else np.zeros(0, np.int64)
            )
            sizes = np.diff(np.r_[starts, key.size]).astype(np.int64)
            largest = int(sizes.max()) if sizes.size else 0
            too_big = sizes > max_block_size
            skipped = int(too_big.sum())
            if skipped:
                _warn_skipped(rule, keys, starts[too_big], sizes[too_big], max_block_size)
            keep = (sizes >= 2) & ~too_big
            blocks = int(keep.sum())
            a, b = _block_pairs(rows, starts, sizes, keep)
            # Blocks of one rule may overlap (a pair sharing two emails): drop repeats later.
            all_a.append(a)
            all_b.append(b)
            all_bit.append(np.full(a.size, np.uint64(1) << np.uint64(i), dtype=np.uint64))
        else:
            log.info("blocking rule %r: no column of it in the frame; skipped", rule.name)
        stats.append((rule.name, blocks, skipped, largest))

    pairs = _dedup(all_a, all_b, all_bit)
    masks = pairs[RULES].to_numpy()
    counts = [int(((masks >> np.uint64(i)) & np.uint64(1)).sum()) for i in range(len(rules))]
    stats_frame = pl.DataFrame(
        {
            "rule": [s[0] for s in stats],
            "pairs": counts,
            "blocks": [s[1] for s in stats],
            "skipped_blocks": [s[2] for s in stats],
            "largest_block": [s[3] for s in stats],
        },
        schema={
            "rule": pl.String,
            "pairs": pl.Int64,
            "blocks": pl.Int64,
            "skipped_blocks": pl.Int64,
            "largest_block": pl.Int64,
        },
    )
    for row in stats_frame.iter_rows(named=True):
        log.info("blocking rule %(rule)r: %(pairs)d pairs from %(blocks)d blocks", row)
    return pairs, stats_frame


def _dedup(
    a: list[npt.NDArray[np.uint32]],
    b: list[npt.NDArray[np.uint32]],
    bit: list[npt.NDArray[np.uint64]],
) -> pl.DataFrame:
    """One row per distinct (a, b), the rule bits OR-ed, sorted by (a, b)."""
    if not a:
        return pl.DataFrame(schema={A: pl.UInt32, B: pl.UInt32, RULES: pl.UInt64})
    key = (np.concatenate(a).astype(np.uint64) << np.uint64(32)) | np.concatenate(b).astype(
        np.uint64
    )
    ordered = pl.DataFrame({"__key": key, RULES: np.concatenate(bit)}).sort("__key")
    key = ordered["__key"].to_numpy()
    bits = ordered[RULES].to_numpy()
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, int)
    rules = np.bitwise_or.reduceat(bits, start) if key.size else bits
    key = key[start]
    return pl.DataFrame(
        {
            A: (key >> np.uint64(32)).astype(np.uint32),
            B: (key & np.uint64(0xFFFFFFFF)).astype(np.uint32),
            RULES: rules.astype(np.uint64),
        }
    )


def _warn_skipped(
    rule: BlockingRule,
    keys: pl.DataFrame,
    starts: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    cap: int,
) -> None:
    order = np.lexsort((starts, -sizes))[:3]
    values = [c for c in keys.columns if c.startswith("__v")]
    shown = []
    for j in order:
        vals = keys.row(int(starts[j]), named=True)
        value = vals[values[0]] if len(values) == 1 else tuple(vals[c] for c in values)
        shown.append(f"{value!r} ({int(sizes[j])} profiles)")
    more = f" and {sizes.size - len(shown)} more" if sizes.size > len(shown) else ""
    warnings.warn(
        f"blocking rule {rule.name!r}: skipped {sizes.size} block(s) larger than max_block_size="
        f"{cap}: {', '.join(shown)}{more}",
        BlockSizeWarning,
        stacklevel=3,
    )


def random_pairs(n: int, size: int, *, seed: int) -> pl.DataFrame:
    """`size` seeded random pairs of distinct rows ``a < b`` out of ``n`` (for estimating u).

    Pairs are drawn with replacement and returned in draw order.

    >>> random_pairs(10, 3, seed=0).rows()
    [(2, 8), (2, 6), (0, 5)]
    """
    if n < 2 or size <= 0:
        return pl.DataFrame(schema={A: pl.UInt32, B: pl.UInt32})
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size, dtype=np.int64)
    b = rng.integers(0, n - 1, size, dtype=np.int64)
    b += b >= a
    return pl.DataFrame(
        {A: np.minimum(a, b).astype(np.uint32), B: np.maximum(a, b).astype(np.uint32)}
    )
