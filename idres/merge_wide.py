"""A first merge of flat records, field by field on the wide table (the rule-based preview's merge).

:func:`idres.merge.merge_profiles` merges *long* field rows, which also serves chained merges whose
fields carry their own provenance. A rule-based preview merges original records once, so every
field of a record shares its record's LastUpdatedAt and SourceObjectType, and the winner order of
:mod:`idres.merge` (SourceName first under SOURCE, latest UpdatedAt, held by the survivor, smallest
ProfileId) is one order of the member *rows*, the same for every field. So the members are sorted
once, and each field's winner in each group is the first row holding a value (one compiled pass
per field, :func:`first_holding`, over a mask of the rows holding text, :func:`idres.views.
holds_text`, tested once per column), with no per-row or per-group Python. Under SOURCE the
provenance of a value is the latest row holding that same value (equal values are no conflict):
a second order.

From a scan, the members' columns are read a batch at a time (:class:`_Reader`). The result, a
:class:`idres.merged_text.WideMerge`, writes byte for byte what the long path writes; tests check it
on random tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import numba as nb
import numpy as np
import polars as pl

from idres import schema
from idres.merge import (
    MERGED_IDS,
    json_string,
    preferred_source,
    timestamp_expr,
)
from idres.merged_text import MAX_PER_REQUEST, Field, WideMerge, fields_of
from idres.threads import in_order
from idres.views import holds_text

if TYPE_CHECKING:
    from idres.merge import ConflictResolutionLike

_PID: Final = schema.PROFILE_ID

__all__ = ["first_holding", "merge_wide"]


@nb.njit(cache=True, nogil=True)
def _first_holding(holds, rows, starts, ends, out):  # type: ignore[no-untyped-def]
    for k in range(starts.size):
        out[k] = -1
        for p in range(starts[k], ends[k]):
            row = rows[p] if rows.size else p
            if holds[row]:
                out[k] = row
                break
    return out


def first_holding(
    holds: np.ndarray, starts: np.ndarray, ends: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Per run ``[starts[k], ends[k])`` (ascending, not overlapping), the first position where
    `holds` is true, else -1; with `rows`, runs of positions in `rows`: the first ``rows[p]``
    with ``holds[rows[p]]``.

    One compiled pass that stops at each run's first hit (in a merge group sorted by preference,
    usually its first member), with no per-row arrays: the numpy version (``np.minimum.reduceat``
    over a gathered mask and a position array) took 140 ms a field at 10M, most of it fresh memory.

    >>> first_holding(np.array([False, True, True, False]), np.array([0, 2, 3]),
    ...               np.array([2, 3, 4])).tolist()
    [1, 2, -1]
    >>> first_holding(np.array([True, False, True]), np.array([0]), np.array([2]),
    ...               rows=np.array([1, 2, 0])).tolist()
    [2]
    """
    order = np.zeros(0, dtype=np.int64) if rows is None else rows
    return _first_holding(holds, order, starts, ends, np.empty(starts.size, dtype=np.int64))


class _Reader:
    """Columns of the member rows of a profile table, a few at a time, in the order of `rows`.

    A scan (LazyFrame) is read column batch by column batch with the members' row mask: the
    Parquet reader decodes only those columns, and the full rows of millions of members (16 bytes
    a value even when null) are never held at once.
    """

    def __init__(self, source: pl.DataFrame | pl.LazyFrame, rows: np.ndarray | None) -> None:
        self.source = source
        self.names = source.collect_schema().names()
        if isinstance(source, pl.DataFrame):
            if rows is not None:
                raise TypeError("rows are for a LazyFrame; filter a DataFrame first")
            self.mask = None
            return
        if rows is None:
            raise TypeError("a LazyFrame needs the members' rows")
        height = source.select(pl.len()).collect().item()
        self.mask = np.zeros(height, dtype=bool)
        self.mask[rows] = True
        # The scan yields members in row order; `order` puts them back in the order of `rows`.
        ascending = bool(np.all(rows[1:] > rows[:-1]))
        self.order = None if ascending else np.searchsorted(np.sort(rows), rows)

    def __call__(self, columns: list[str], subset: np.ndarray | None = None) -> pl.DataFrame:
        """`columns` of the members (of the members where `subset` is true, when given)."""
        if self.mask is None:
            frame = self.source.select(columns)
            assert isinstance(frame, pl.DataFrame)
            return frame if subset is None else frame.filter(pl.Series(subset))
        mask, order = self.mask, self.order
        if subset is not None:
            chosen = np.flatnonzero(subset)
            rows = np.flatnonzero(self.mask) if order is None else np.flatnonzero(self.mask)[order]
            mask = np.zeros_like(self.mask)
            mask[rows[chosen]] = True
            order = None if self.order is None else np.argsort(np.argsort(rows[chosen]))
        frame = self.source.select(columns).filter(pl.lit(pl.Series(mask))).collect()
        if order is not None:
            return frame[order]  # a gather: one chunk
        return frame.rechunk()  # one chunk: gathering from it is several times faster


#: Columns read at once from a scan: ~12 columns of millions of members hold a few hundred MB.
_BATCH_COLUMNS = 12


def _batches(fields: list[Field]) -> Iterator[list[int]]:
    """Indices of `fields` in batches of about :data:`_BATCH_COLUMNS` columns (an address is one
    field: its parts are read together)."""
    width = _BATCH_COLUMNS
    batch: list[int] = []
    count = 0
    for j, f in enumerate(fields):
        if batch and count + len(f.columns) > width:
            yield batch
            batch, count = [], 0
        batch.append(j)
        count += len(f.columns)
    if batch:
        yield batch


def merge_wide(
    members: pl.DataFrame | pl.LazyFrame,
    labels: np.ndarray,
    *,
    rows: np.ndarray | None = None,
    resolution: ConflictResolutionLike | None = None,
    domain_name: str = "preview",
    untouched: int = 0,
) -> WideMerge:
    """Merge the canonical profile rows `members` (sorted by ProfileId, every one in a group of two
    or more), each labelled with its merge group in `labels` (integers).

    `members` may be a scan of all profiles, with `rows` the members' ascending row numbers in it:
    fields are then read and merged a batch of columns at a time.
    """
    source_name = preferred_source(resolution)
    read = _Reader(members, rows)
    names = read.names
    passthrough = [c for c in names if c != _PID and schema.is_passthrough(c)]
    base = read([_PID, *(c for c in (schema.UPDATED, schema.SOURCE) if c in names), *passthrough])
    n = base.height
    idx = np.arange(n, dtype=np.int64)
    ts = base.select(timestamp_expr(base.schema).alias("t")).get_column("t")
    epoch = ts.dt.epoch("us").fill_null(np.iinfo(np.int64).min).to_numpy()
    source = (
        base.get_column(schema.SOURCE).cast(pl.String)
        if schema.SOURCE in names
        else pl.repeat(None, n, dtype=pl.String, eager=True)
    )
    code, survivors = _survivors(labels, epoch)
    own = survivors[code] == idx
    prefer = (
        (source == source_name).fill_null(False).to_numpy()
        if source_name is not None
        else np.zeros(n, dtype=bool)
    )

    def order_by(*keys: str, descending: list[bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        frame = pl.DataFrame({"c": code, "p": prefer, "e": epoch, "o": own, "i": idx})
        order = frame.sort(["c", *keys, "i"], descending=[False, *descending, False])
        rows = order.get_column("i").to_numpy()
        c = code[rows]
        starts = np.flatnonzero(np.append(True, c[1:] != c[:-1]))
        return rows, starts, np.append(starts[1:], n)

    fields = fields_of(names)
    winner_order = order_by("p", "e", "o", descending=[True, True, True])
    recency = order_by("e", "o", descending=[True, True]) if source_name is not None else None
    sizes = np.bincount(code, minlength=survivors.size)
    big_mask = (sizes > MAX_PER_REQUEST + 1)[code]
    big_index = pl.Series(np.flatnonzero(big_mask))  # few rows: gathered, not filtered
    # Fields x merged profiles, filled field by field: 4-byte rows where they fit (fresh memory is
    # dear on the VMs this runs on: 24 fields x 2.1M profiles took 1.7 s to allocate as int64).
    kind = np.int32 if n < np.iinfo(np.int32).max else np.int64
    values = np.empty((len(fields), survivors.size), dtype=kind)
    origins = np.empty_like(values)
    kept: dict[str, pl.Series] = {}
    big_parts = [base[big_index]]  # whole rows of the groups planned by merge.py

    # The next batch is read in a thread while this one merges (reading is Polars' work, merging
    # mostly single-threaded numpy).
    def batch_of(batch: list[int]) -> tuple[list[int], pl.DataFrame]:
        return batch, read([c for j in batch for c in fields[j].columns])

    for batch, table in in_order(_batches(fields), batch_of, workers=1):
        texts = {c: holds_text(table.get_column(c)) for c in table.columns}  # member rows
        for j in batch:
            values[j], origins[j] = _field_winner(
                table, texts, fields[j], code, winner_order, recency
            )
        kept.update(_kept(table, texts, [(j, fields[j]) for j in batch], values))
        big_parts.append(table[big_index])
    rest = [c for c in names if not any(c in p.columns for p in big_parts)]
    if rest:
        big_parts.append(read(rest, big_mask))
    big_rows = pl.concat(big_parts, how="horizontal").select(names)
    merged, others = _merged(base, kept, code, survivors, ts, source, passthrough, names)
    big = pl.DataFrame({_PID: big_rows.get_column(_PID), "MergeGroupId": code[big_mask]})
    # Provenance text per member, laid out group by group (in merged-profile order), so the
    # gathers of one chunk of merged profiles read one contiguous stretch of it.
    by_group = np.argsort(code, kind="stable")
    position = np.empty(n, dtype=kind)
    position[by_group] = np.arange(n, dtype=kind)
    for row in origins:  # in place, one field at a time (no fields x profiles temporaries)
        held = row >= 0
        row[held] = position[row[held]]
    provenance = base.select(
        json_string(pl.col(_PID)).alias("pid"),
        pl.struct(ts.alias("UpdatedAt"), source.alias("Source")).struct.json_encode().alias("prov"),
    )[by_group]
    return WideMerge(
        merged=merged,
        untouched=untouched,
        domain_name=domain_name,
        fields=tuple(fields),
        values=values,
        origins=origins,
        members=provenance,
        others=others,
        big=big,
        big_rows=big_rows,
        resolution=resolution,
    )


def _survivors(labels: np.ndarray, epoch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per member its group's number (groups numbered by survivor row), and the survivor rows:
    the earliest record of each group (null first), then the smallest ProfileId (= row).

    Two minimum passes over the groups instead of a three-key sort (4.7M members: 2.0 → 0.4 s).

    >>> code, rows = _survivors(np.array([7, 3, 7, 3]), np.array([5, 2, 1, 2]))
    >>> code.tolist(), rows.tolist()
    ([1, 0, 1, 0], [1, 2])
    """
    n = labels.size
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if int(labels.max()) - int(labels.min()) < 2 * n:
        group = (labels - labels.min()).astype(np.int64)
    else:  # sparse labels: numbered densely first
        group = np.unique(labels, return_inverse=True)[1].reshape(-1)
    m = int(group.max()) + 1
    earliest = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest, group, epoch)
    holding = np.flatnonzero(epoch == earliest[group])  # rows with their group's earliest time
    first = np.full(m, n, dtype=np.int64)
    np.minimum.at(first, group[holding], holding)
    is_survivor = np.zeros(n, dtype=bool)
    is_survivor[first[first < n]] = True
    number = np.cumsum(is_survivor, dtype=np.int64) - 1  # a survivor row's group number
    return number[first[group]], np.flatnonzero(is_survivor)


Order = tuple[np.ndarray, np.ndarray, np.ndarray]


def _text_only(column: pl.Series, texts: np.ndarray) -> pl.Series:
    """`column` as a String, null where `texts` (:func:`idres.views.holds_text`) is false."""
    return column.cast(pl.String).set(pl.Series(~texts), None)


def _field_winner(
    table: pl.DataFrame,
    texts: dict[str, np.ndarray],
    f: Field,
    code: np.ndarray,
    order: Order,
    recency: Order | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the member row whose value of `f` is kept (-1: none holds one) and the row its
    provenance comes from: the same row, or under SOURCE (`recency` given) the latest row holding
    that same value (equal values are no conflict). `texts`: per column, which rows hold text."""
    rows, starts, ends = order
    present = texts[f.columns[0]].copy()
    for c in f.columns[1:]:
        present |= texts[c]
    values = first_holding(present, starts, ends, rows)
    if recency is None:
        return values, values
    parts = pl.DataFrame([_text_only(table.get_column(c), texts[c]) for c in f.columns])
    kept = values[code]  # per member row, its group's kept row
    has = kept >= 0
    mine = parts.filter(pl.Series(has))
    theirs = parts[kept[has]]
    equal = pl.select(
        pl.all_horizontal(
            pl.lit(mine.get_column(c)).eq_missing(pl.lit(theirs.get_column(c))) for c in f.columns
        )
    ).to_series()
    same = np.zeros(table.height, dtype=bool)
    same[has] = equal.to_numpy()
    if not f.is_address:
        same[has] &= mine.get_column(f.columns[0]).is_not_null().to_numpy()
    at = first_holding(same, recency[1], recency[2], recency[0])
    return values, np.where(at >= 0, at, values)


def _kept(
    table: pl.DataFrame, texts: dict[str, np.ndarray], fields: list[Field], values: np.ndarray
) -> dict[str, pl.Series]:
    """The kept value of each column of `fields` (indices into `values`), per merged profile;
    `texts`: per column, which member rows hold text."""
    wanted = [
        (j, c, len(f.columns) > 1)
        for j, f in fields
        for c in f.columns
        if table.get_column(c).null_count() < table.height
    ]
    if not wanted:
        return {}
    # A null index gives null: gather each kept row, then drop whitespace-only address parts (a
    # one-column field's kept row holds text by construction: nothing to drop).
    index = pl.DataFrame(
        {str(j): values[j] for j, _, _ in wanted}, schema={str(j): pl.Int64 for j, _, _ in wanted}
    ).select(pl.when(pl.all() >= 0).then(pl.all()).name.keep())

    gathered = (pl.col(c).gather(pl.lit(index.get_column(str(j)))) for j, c, _ in wanted)
    picked = table.select(v.cast(pl.String) for v in gathered)  # one select: in parallel
    out = {}
    for j, c, part in wanted:
        value = picked.get_column(c)
        if part:  # the kept row's text test, read from the member rows' (-1: none kept)
            value = _text_only(value, texts[c][values[j]] & (values[j] >= 0))
        out[c] = value
    return out


def _merged(
    base: pl.DataFrame,
    kept: dict[str, pl.Series],
    code: np.ndarray,
    survivors: np.ndarray,
    ts: pl.Series,
    source: pl.Series,
    passthrough: list[str],
    names: list[str],
) -> tuple[pl.DataFrame, pl.Series]:
    """The flat merged profiles and each one's other members (sorted ProfileIds)."""
    ids = base.get_column(_PID).cast(pl.String)
    lists = (
        pl.DataFrame({"c": code, _PID: ids})
        .sort("c", maintain_order=True)  # rows are in ProfileId order: members come sorted
        .group_by("c", maintain_order=True)
        .agg(pl.col(_PID))
        .get_column(_PID)
    )
    latest = pl.DataFrame({"c": code, "t": ts}).group_by("c").agg(pl.col("t").max()).sort("c")
    surv = pl.Series(survivors)
    attributes = sorted(schema.attribute_columns(names))
    out = {_PID: ids.gather(surv)}
    for c in (*schema.PROFILE_COLUMNS[1:], *attributes):
        out[c] = kept.get(c, pl.repeat(None, survivors.size, dtype=pl.String, eager=True))
    out[schema.SOURCE] = source.gather(surv)
    out[schema.UPDATED] = latest.get_column("t")
    for c in passthrough:
        out[c] = base.get_column(c).gather(surv)
    out[MERGED_IDS] = lists
    mains = out[_PID]
    others = (
        pl.DataFrame({"m": mains, "l": lists})
        .with_row_index("r")
        .explode("l")
        .filter(pl.col("l") != pl.col("m"))
        .group_by("r", maintain_order=True)
        .agg(pl.col("l"))
        .get_column("l")
    )
    return pl.DataFrame([s.alias(name) for name, s in out.items()]), others.alias("others")
