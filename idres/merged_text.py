"""The result of the wide first merge, and its text: merged-profile JSON lines and MergeProfiles
requests, chunk by chunk.

:class:`WideMerge` keeps the merged profiles flat, with, per field and merged profile, the member row
whose value was kept and the row its provenance comes from; JSON lines and plan requests are built
from those in chunks of 100,000 profiles (:mod:`idres.json_pieces`: one ``concat_str`` per line), so
writing them never holds all the text at once. Everything is byte for byte what the long path
(:mod:`idres.merge_long`, :mod:`idres.merge_plan`) writes; tests check it on random tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

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
from idres.merge import MERGED_IDS, json_string
from idres.merge_long import merge_profiles
from idres.merge_plan import merge_plan_lines
from idres.threads import in_order

if TYPE_CHECKING:
    from idres.merge import ConflictResolutionLike

_PID: Final = schema.PROFILE_ID
_ATTR: Final = schema.ATTRIBUTES + "."
_FOLD: Final = {"PartyType": "PartyTypeString", "Gender": "GenderString"}
_CHUNK: Final = 100_000
_SOURCES_KEY: Final = "FieldSourceProfileIds"
_SOURCES: Final = "__sources"  # a chunk's FieldSourceProfileIds text, shared by both lines
MAX_PER_REQUEST: Final = 20
_DOMAIN_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


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
    """The fields of a table with `columns`, in :func:`idres.field_rows.field_order`."""
    have = set(columns)
    out = [Field(c, (c,)) for c in schema.STRING_FIELDS if c in have]
    for kind in schema.ADDRESS_TYPES:
        parts = tuple(f"{kind}.{p}" for p in schema.ADDRESS_PARTS if f"{kind}.{p}" in have)
        if parts:
            out.append(Field(kind, parts))
    return out + [Field(c, (c,)) for c in sorted(schema.attribute_columns(columns))]


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

    def _sources(self, pieces: JsonPieces) -> Entry:
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
            scalars.append(pieces.obj(attributes, key="Attributes"))
        return pieces.obj(scalars, key=_SOURCES_KEY, always=True)

    def _sources_text(self, pieces: JsonPieces) -> pl.Expr:
        """The ``FieldSourceProfileIds`` object of each merged profile as JSON text (``{}``
        when empty), over a frame of :meth:`_indices`."""
        return joined(self._sources(pieces).value)

    def _provenance(self, pieces: JsonPieces) -> Entry:
        """``FieldProvenance``: per field (unfolded names) its kept value's UpdatedAt and Source."""
        entries = [
            json_entry(f.name, f"prov.o{j}")
            for j, f in enumerate(self.fields)
            if self._kept_anywhere(j)
        ]
        return pieces.obj(entries, key="FieldProvenance")

    def _kept_anywhere(self, j: int) -> bool:
        """Whether any merged profile kept a value of field `j` (else its entries are left out
        of the JSON pieces: they would be null in every row)."""
        return j in self._kept_fields

    @cached_property
    def _kept_fields(self) -> frozenset[int]:
        if not self.origins.size:
            return frozenset()
        return frozenset(np.flatnonzero(self.origins.max(axis=1) >= 0).tolist())

    def field_sources(self) -> pl.Series:
        """``FieldSourceProfileIds`` JSON object of each merged profile (``{}`` when empty)."""
        pieces = JsonPieces()
        sources = self._sources_text(pieces).alias(_SOURCES_KEY)
        chunks = [c.with_columns(pieces.prepare).select(sources) for c in self._chunks()]
        return pl.concat(chunks).to_series() if chunks else pl.Series([], dtype=pl.String)

    def _profile_line(self, pieces: JsonPieces, sources: Entry) -> pl.Expr:
        """Each merged profile as one JSON object (:func:`idres.merge.merged_json_lines`), with
        `sources` as its FieldSourceProfileIds."""
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
                standard.append(pieces.obj(parts, key=f.name))
            else:
                entry = text_entry(f.name.removeprefix(_ATTR), f.name)
                (attributes if f.is_attribute else standard).append(entry)
        if attributes:
            standard.append(pieces.obj(attributes, key="Attributes"))
        line = [pl.lit('{"' + _PID + '":'), json_string(pl.col(_PID)), *after_first(standard)]
        if record:
            encoded = pl.struct(record).struct.json_encode().str.slice(1).str.head(-1)
            line.append(pl.concat_str(pl.lit(","), encoded))
        line += after_first([sources, self._provenance(pieces)])
        return joined([*line, pl.lit("}")])

    def _request_line(self, sources: Entry) -> pl.Expr:
        """Each MergeProfiles request of a small group (≤ 21 members), over the same chunk, with
        `sources` as its FieldSourceProfileIds (left out when empty)."""
        return joined(
            [
                pl.lit('{"DomainName":' + json_key(self.domain_name) + ',"MainProfileId":'),
                json_string(pl.col(_PID)),
                pl.lit(","),
                pl.struct("ProfileIdsToBeMerged").struct.json_encode().str.slice(1).str.head(-1),
                *after_first([sources]),
                pl.lit("}"),
            ]
        )

    def texts(
        self, *, profiles: bool = True, requests: bool = True
    ) -> Iterator[tuple[pl.Series, pl.Series]]:
        """Per chunk of 100,000 merged profiles, their JSON lines (:func:`idres.merge.
        merged_json_lines`) and MergeProfiles requests (:func:`idres.merge.merge_plan_lines`,
        sorted by MainProfileId, then chunk of 20 ProfileIds): one pass builds both, so each
        profile's FieldSourceProfileIds is built once. A side not asked for comes empty."""
        if not _DOMAIN_NAME.match(self.domain_name):
            message = f"must match ^[a-zA-Z0-9_-]+$, 1..64 (got {self.domain_name!r})"
            raise ConfigError(Problem(None, "DomainName", message))
        big_lines = self._big_requests() if requests else None
        pieces = JsonPieces()
        # FieldSourceProfileIds is built once per chunk, as text both lines copy: joining its
        # pieces a second time for the requests cost more than one more copy of the text.
        shared = self._sources_text(pieces).alias(_SOURCES)
        held = pl.col(_SOURCES) != "{}"
        profile_sources = json_entry(_SOURCES_KEY, _SOURCES)
        request_sources = Entry(_SOURCES_KEY, [pl.when(held).then(pl.col(_SOURCES))], held)
        # Only the side asked for is built: each line's pieces add their own prepared columns.
        profile = self._profile_line(pieces, profile_sources) if profiles else None
        request = self._request_line(request_sources) if big_lines is not None else None
        nothing = pl.Series([], dtype=pl.String)

        def make(part: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
            part = part.with_columns(pieces.prepare).with_columns(shared)
            lines = nothing if profile is None else part.select(profile.alias("P")).to_series()
            if big_lines is None or request is None:
                return lines, nothing
            small = part.filter(pl.col(MERGED_IDS).list.len() <= MAX_PER_REQUEST + 1)
            out = small.select(_PID, request.alias("Request"))
            if big_lines.height:
                first, last = part.item(0, _PID), part.item(part.height - 1, _PID)
                extra = big_lines.filter(pl.col(_PID).is_between(pl.lit(first), pl.lit(last)))
                out = pl.concat([out, extra]).sort(_PID, maintain_order=True)
            return lines, out.get_column("Request")

        yield from in_order(self._chunks(), make)  # two chunks at a time

    def _big_requests(self) -> pl.DataFrame:
        """MainProfileId and request lines of the groups over 21 members (via the long path)."""
        if not self.big.height:
            return pl.DataFrame(schema={_PID: pl.String, "Request": pl.String})
        outcome = merge_profiles(self.big_rows, self.big, resolution=self.resolution)
        lines = merge_plan_lines(outcome, domain_name=self.domain_name)
        mains = pl.Series([json.loads(s)["MainProfileId"] for s in lines.to_list()])
        return pl.DataFrame({_PID: mains, "Request": lines})

    def json_lines(self) -> Iterator[pl.Series]:
        """Each merged profile as one JSON object (:func:`idres.merge.merged_json_lines`)."""
        return (lines for lines, _ in self.texts(requests=False))

    def plan_lines(self) -> Iterator[pl.Series]:
        """Each MergeProfiles request as one JSON string (:func:`idres.merge.merge_plan_lines`),
        sorted by MainProfileId, then chunk of 20 profiles."""
        return (requests for _, requests in self.texts(profiles=False))

    @cached_property
    def plan(self) -> list[dict[str, Any]]:
        """The MergeProfiles requests that replay these merges."""
        lines = [line for chunk in self.plan_lines() for line in chunk.to_list()]
        return json.loads("[" + ",".join(lines) + "]")
