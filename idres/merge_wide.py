"""A first merge of flat records, field by field on the wide table (the rule-based preview's merge).

:func:`idres.merge.merge_profiles` merges *long* field rows, which also serves chained merges whose
fields carry their own provenance. A rule-based preview merges original records once, so every
field of a record shares its record's LastUpdatedAt and SourceObjectType, and the winner order of
:mod:`idres.merge` (SourceName first under SOURCE, latest UpdatedAt, held by the survivor, smallest
ProfileId) is one order of the member *rows*, the same for every field. So the members are sorted
once, and each field's winner in each group is the first row holding a value: a binary search over
the rows that hold it, per field, with no per-row or per-group Python. Under SOURCE the provenance
of a value is the latest row holding that same value (equal values are no conflict): a second order.

Everything written (merged profiles, FieldSourceProfileIds, JSON lines, the merge plan) is byte for
byte what the long path writes; tests check it on random tables. JSON lines and plan lines come in
chunks of 100,000 profiles, so writing them never holds all the text at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, TypeVar

import numpy as np
import polars as pl

from idres import schema
from idres.errors import ConfigError, Problem
from idres.json_pieces import (
    Entry,
    JsonPieces,
    after_first,
    joined,
    json_entry,
    json_key,
    text_entry,
)
from idres.merge import MERGED_IDS, json_string, preferred_source, timestamp_expr

if TYPE_CHECKING:
    from idres.merge import ConflictResolutionLike

_PID: Final = schema.PROFILE_ID
_ATTR: Final = schema.ATTRIBUTES + "."
_FOLD: Final = {"PartyType": "PartyTypeString", "Gender": "GenderString"}
_CHUNK: Final = 100_000
MAX_PER_REQUEST: Final = 20
T = TypeVar("T")
_DOMAIN_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _present(expr: pl.Expr) -> pl.Expr:
    """`expr` as a String, null when empty or only whitespace (as :mod:`idres.merge`)."""
    value = expr.cast(pl.String)
    return pl.when(value.str.strip_chars().str.len_bytes() > 0).then(value)


@dataclass(frozen=True)
class Field:
    """One merged field: a scalar column, an address type (its part columns) or an attribute."""

    name: str
    columns: tuple[str, ...]

    @property
    def is_address(self) -> bool:
        return self.name in schema.ADDRESS_TYPES

    @property
    def is_attribute(self) -> bool:
        return self.name.startswith(_ATTR)


def fields_of(columns: list[str]) -> list[Field]:
    """The fields of a table with `columns`, in :func:`idres.merge.field_order`."""
    have = set(columns)
    out = [Field(c, (c,)) for c in schema.STRING_FIELDS if c in have]
    for kind in schema.ADDRESS_TYPES:
        parts = tuple(f"{kind}.{p}" for p in schema.ADDRESS_PARTS if f"{kind}.{p}" in have)
        if parts:
            out.append(Field(kind, parts))
    return out + [Field(c, (c,)) for c in sorted(schema.attribute_columns(columns))]


def first_holding(holds: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per run ``[starts[k], ends[k])``, the first position where `holds` is true, else -1.

    >>> first_holding(np.array([False, True, True, False]), np.array([0, 2, 3]),
    ...               np.array([2, 3, 4])).tolist()
    [1, 2, -1]
    """
    pos = np.flatnonzero(holds)
    found = np.append(pos, holds.size)[np.searchsorted(pos, starts)]
    return np.where(found < ends, found, -1)


def _in_order(chunks: Iterator[pl.DataFrame], make: Callable[[pl.DataFrame], T]) -> Iterator[T]:
    """`make` of each chunk, two chunks at a time in threads (Polars releases the GIL and one
    chunk's text rarely keeps both cores busy), yielded in order."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[Future[T]] = []
        for chunk in chunks:
            pending.append(pool.submit(make, chunk))
            if len(pending) == 2:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


@dataclass(frozen=True, eq=False)
class WideMerge:
    """What a first merge produced.

    merged: the merged profiles, flat (as :attr:`idres.merge.MergeOutcome.merged`: standard
    columns, ``Attributes.*`` sorted, SourceObjectType, LastUpdatedAt, pass-through columns and
    ``MergedProfileIds``), sorted by ProfileId; untouched: profiles merged with nothing;
    fields / values / origins: per field and merged profile (arrays of shape fields × profiles),
    the member row whose value was kept and the row of `members` its provenance comes from (-1:
    no member has the field); members: per member (in merged-profile order) its ProfileId and
    provenance object as JSON text.
    """

    merged: pl.DataFrame
    untouched: int
    domain_name: str
    fields: tuple[Field, ...]
    values: np.ndarray
    origins: np.ndarray
    members: pl.DataFrame
    others: pl.Series  # per merged profile, its other members' ProfileIds, sorted
    big: pl.DataFrame  # ProfileId, MergeGroupId rows of groups over 21 members (plan via merge.py)
    big_rows: pl.DataFrame  # their member rows
    resolution: ConflictResolutionLike | None = None

    def _indices(self, lo: int, hi: int) -> pl.DataFrame:
        """Per field j the ``pid`` and ``prov`` text of the origin member of merged profiles
        lo..hi (``pid.o{j}``, ``prov.o{j}``; null when no member has the field) and, for
        PartyType and Gender, of the member FieldSourceProfileIds names (``pid.k{j}``: the
        PartyTypeString / GenderString origin when there is one)."""
        names = [f.name for f in self.fields]
        columns = {}
        for j, f in enumerate(self.fields):
            rows = self.origins[j, lo:hi]
            columns[f"o{j}"] = rows
            if f.name in _FOLD and _FOLD[f.name] in names:
                other = self.origins[names.index(_FOLD[f.name]), lo:hi]
                columns[f"k{j}"] = np.where(other >= 0, other, rows)
        index = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.Int64))
        return index.select(
            pl.lit(self.members.get_column(column))
            .gather(pl.when(pl.col(name) >= 0).then(pl.col(name)))
            .alias(f"{column}.{name}")
            for column in ("pid", "prov")
            for name in columns
        )

    def _chunks(self) -> Iterator[pl.DataFrame]:
        """The merged profiles in chunks, each with its :meth:`_indices` columns."""
        for lo in range(0, self.merged.height, _CHUNK):
            hi = min(lo + _CHUNK, self.merged.height)
            part = self.merged.slice(lo, hi - lo)
            yield part.hstack(self._indices(lo, hi)).with_columns(
                self.others.slice(lo, hi - lo).alias("ProfileIdsToBeMerged")
            )

    def _sources(self, pieces: JsonPieces, *, always: bool) -> Entry:
        """``FieldSourceProfileIds`` (MergeProfiles keys: PartyTypeString and GenderString fold
        into PartyType and Gender, Attributes by key), over a frame of :meth:`_indices`."""
        names = [f.name for f in self.fields]
        scalars, attributes = [], []
        for j, f in enumerate(self.fields):
            if f.name in _FOLD.values() and f.name.removesuffix("String") in names:
                continue
            folded = f.name in _FOLD and _FOLD[f.name] in names
            if not (
                self._kept_anywhere(j)
                or (folded and self._kept_anywhere(names.index(_FOLD[f.name])))
            ):
                continue
            index = f"k{j}" if folded else f"o{j}"
            entry = json_entry(f.name.removeprefix(_ATTR), f"pid.{index}")
            (attributes if f.is_attribute else scalars).append(entry)
        if attributes:
            inner = pieces.obj(attributes)
            scalars.append(Entry("Attributes", inner.value, inner.present))
        return pieces.obj(scalars, always=always)

    def _provenance(self, pieces: JsonPieces) -> Entry:
        """``FieldProvenance``: per field (unfolded names) its kept value's UpdatedAt and Source."""
        entries = [
            json_entry(f.name, f"prov.o{j}")
            for j, f in enumerate(self.fields)
            if self._kept_anywhere(j)
        ]
        return pieces.obj(entries)

    def _kept_anywhere(self, j: int) -> bool:
        """Whether any merged profile kept a value of field `j` (else its entries are left out
        of the JSON pieces: they would be null in every row)."""
        return bool(self.origins[j].size) and int(self.origins[j].max()) >= 0

    def field_sources(self) -> pl.Series:
        """``FieldSourceProfileIds`` JSON object of each merged profile (``{}`` when empty)."""
        pieces = JsonPieces()
        sources = joined(self._sources(pieces, always=True).value).alias("FieldSourceProfileIds")
        chunks = [c.with_columns(pieces.prepare).select(sources) for c in self._chunks()]
        return pl.concat(chunks).to_series() if chunks else pl.Series([], dtype=pl.String)

    def _profile_line(self, pieces: JsonPieces) -> pl.Expr:
        """Each merged profile as one JSON object (:func:`idres.merge.merged_json_lines`)."""
        record = [c for c in self.merged.columns if c in schema.BOOKKEEPING_COLUMNS]
        record += [c for c in self.merged.columns if c != _PID and schema.is_passthrough(c)]
        n = self.merged.height
        standard, attributes = [], []
        for j, f in enumerate(self.fields):
            if not self._kept_anywhere(j):
                continue
            if f.is_address:
                empty = {c for c in f.columns if self.merged.get_column(c).null_count() == n}
                parts = [text_entry(c.split(".", 1)[1], c) for c in f.columns if c not in empty]
                inner = pieces.obj(parts)
                standard.append(Entry(f.name, inner.value, inner.present))
            else:
                entry = text_entry(f.name.removeprefix(_ATTR), f.name)
                (attributes if f.is_attribute else standard).append(entry)
        if attributes:
            inner = pieces.obj(attributes)
            standard.append(Entry("Attributes", inner.value, inner.present))
        line = [pl.lit('{"' + _PID + '":'), json_string(pl.col(_PID)), *after_first(standard)]
        if record:
            encoded = pl.struct(record).struct.json_encode().str.slice(1).str.head(-1)
            line.append(pl.concat_str(pl.lit(","), encoded))
        sources = self._sources(pieces, always=True)
        provenance = self._provenance(pieces)
        line += after_first(
            [
                Entry("FieldSourceProfileIds", sources.value, sources.present),
                Entry("FieldProvenance", provenance.value, provenance.present),
            ]
        )
        return joined([*line, pl.lit("}")])

    def _request_line(self, pieces: JsonPieces) -> pl.Expr:
        """Each MergeProfiles request of a small group (≤ 21 members), over the same chunk."""
        sources = self._sources(pieces, always=False)
        return joined(
            [
                pl.lit('{"DomainName":' + json_key(self.domain_name) + ',"MainProfileId":'),
                json_string(pl.col(_PID)),
                pl.lit(","),
                pl.struct("ProfileIdsToBeMerged").struct.json_encode().str.slice(1).str.head(-1),
                *after_first([Entry("FieldSourceProfileIds", sources.value, sources.present)]),
                pl.lit("}"),
            ]
        )

    def texts(self) -> Iterator[tuple[pl.Series, pl.Series]]:
        """Per chunk of 100,000 merged profiles, their JSON lines (:func:`idres.merge.
        merged_json_lines`) and MergeProfiles requests (:func:`idres.merge.merge_plan_lines`,
        sorted by MainProfileId, then chunk of 20 ProfileIds): one pass builds both, so each
        profile's FieldSourceProfileIds is built once."""
        if not _DOMAIN_NAME.match(self.domain_name):
            message = f"must match ^[a-zA-Z0-9_-]+$, 1..64 (got {self.domain_name!r})"
            raise ConfigError(Problem(None, "DomainName", message))
        big_lines = self._big_requests()
        pieces = JsonPieces()
        profile, request = self._profile_line(pieces), self._request_line(pieces)

        def make(part: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
            part = part.with_columns(pieces.prepare)
            profiles = part.select(profile.alias("Profile")).to_series()
            small = part.filter(pl.col(MERGED_IDS).list.len() <= MAX_PER_REQUEST + 1)
            out = small.select(_PID, request.alias("Request"))
            if big_lines.height:
                first, last = part.item(0, _PID), part.item(part.height - 1, _PID)
                extra = big_lines.filter(pl.col(_PID).is_between(pl.lit(first), pl.lit(last)))
                out = pl.concat([out, extra]).sort(_PID, maintain_order=True)
            return profiles, out.get_column("Request")

        yield from _in_order(self._chunks(), make)

    def _big_requests(self) -> pl.DataFrame:
        """MainProfileId and request lines of the groups over 21 members (via the long path)."""
        from idres.merge_plan import merge_plan_lines, merge_profiles

        if not self.big.height:
            return pl.DataFrame(schema={_PID: pl.String, "Request": pl.String})
        outcome = merge_profiles(self.big_rows, self.big, resolution=self.resolution)
        lines = merge_plan_lines(outcome, domain_name=self.domain_name)
        mains = pl.Series([json.loads(s)["MainProfileId"] for s in lines.to_list()])
        return pl.DataFrame({_PID: mains, "Request": lines})

    def json_lines(self) -> Iterator[pl.Series]:
        """Each merged profile as one JSON object (:func:`idres.merge.merged_json_lines`)."""
        return (profiles for profiles, _ in self.texts())

    def plan_lines(self) -> Iterator[pl.Series]:
        """Each MergeProfiles request as one JSON string (:func:`idres.merge.merge_plan_lines`),
        sorted by MainProfileId, then chunk of 20 profiles."""
        return (requests for _, requests in self.texts())

    @cached_property
    def plan(self) -> list[dict[str, Any]]:
        """The MergeProfiles requests that replay these merges."""
        lines = [line for chunk in self.plan_lines() for line in chunk.to_list()]
        return json.loads("[" + ",".join(lines) + "]")


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
    big_mask = np.isin(code, np.flatnonzero(sizes > MAX_PER_REQUEST + 1))
    big_index = pl.Series(np.flatnonzero(big_mask))  # few rows: gathered, not filtered
    values = np.full((len(fields), survivors.size), -1, dtype=np.int64)
    origins = values.copy()
    kept: dict[str, pl.Series] = {}
    big_parts = [base[big_index]]  # whole rows of the groups planned by merge.py
    for batch in _batches(fields):
        table = read([c for j in batch for c in fields[j].columns])
        for j in batch:
            values[j], origins[j] = _field_winner(table, fields[j], code, winner_order, recency)
        kept.update(_kept(table, [(j, fields[j]) for j in batch], values))
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
    position = np.empty(n, dtype=np.int64)
    position[by_group] = np.arange(n)
    origins = np.where(origins >= 0, position[np.maximum(origins, 0)], -1)
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
    the earliest record of each group (null first), then the smallest ProfileId (= row)."""
    n = labels.size
    idx = np.arange(n, dtype=np.int64)
    oldest = pl.DataFrame({"g": labels, "e": epoch, "i": idx}).sort("g", "e", "i")
    g_sorted = oldest.get_column("g").to_numpy()
    lead = np.ones(n, dtype=bool)
    lead[1:] = g_sorted[1:] != g_sorted[:-1]
    survivors = oldest.get_column("i").to_numpy()[lead]  # per label, in label order
    rank = np.empty(survivors.size, dtype=np.int64)
    rank[np.argsort(survivors)] = np.arange(survivors.size)
    code = rank[np.searchsorted(g_sorted[lead], labels)]
    return code, np.sort(survivors)


Order = tuple[np.ndarray, np.ndarray, np.ndarray]


def _field_winner(
    table: pl.DataFrame, f: Field, code: np.ndarray, order: Order, recency: Order | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the member row whose value of `f` is kept (-1: none holds one) and the row its
    provenance comes from: the same row, or under SOURCE (`recency` given) the latest row holding
    that same value (equal values are no conflict)."""
    # Present: not null and not only whitespace (as _present; twice as fast as str.contains).
    holds = pl.any_horizontal(
        (pl.col(c).str.strip_chars().str.len_bytes() > 0).fill_null(False) for c in f.columns
    )
    present = table.select(holds).to_series().to_numpy()
    rows, starts, ends = order
    at = first_holding(present[rows], starts, ends)
    values = np.where(at >= 0, rows[np.maximum(at, 0)], -1)
    if recency is None:
        return values, values
    parts = table.select(_present(pl.col(c)).alias(c) for c in f.columns)
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
    rows, starts, ends = recency
    at = first_holding(same[rows], starts, ends)
    return values, np.where(at >= 0, rows[np.maximum(at, 0)], values)


def _kept(table: pl.DataFrame, fields: list[Field], values: np.ndarray) -> dict[str, pl.Series]:
    """The kept value of each column of `fields` (indices into `values`), per merged profile."""
    wanted = [
        (j, c)
        for j, f in fields
        for c in f.columns
        if table.get_column(c).null_count() < table.height
    ]
    if not wanted:
        return {}
    # A null index gives null: gather each kept row, then drop whitespace-only parts.
    index = pl.DataFrame(
        {str(j): values[j] for j, _ in wanted}, schema={str(j): pl.Int64 for j, _ in wanted}
    ).select(pl.when(pl.all() >= 0).then(pl.all()).name.keep())
    picked = table.select(  # one select: Polars gathers the columns in parallel
        _present(pl.col(c).gather(pl.lit(index.get_column(str(j))))).alias(c) for j, c in wanted
    )
    return {c: picked.get_column(c) for c in picked.columns}


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
