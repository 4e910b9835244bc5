"""The result of the wide first merge, and its text: merged-profile JSON lines and MergeProfiles
requests, chunk by chunk.

:class:`WideMerge` keeps the merged profiles flat, with, per field and merged profile, the member row
whose value was kept and the row its provenance comes from. JSON lines and plan requests are written
from those in chunks of 100,000 profiles by :mod:`idres.json_lines` (one compiled pass per chunk that
copies each value straight from the Polars columns), so writing them never holds all the text at
once. Everything is byte for byte what the long path
(:mod:`idres.merge_long`, :mod:`idres.merge_plan`) writes; tests check it on random tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import numpy as np
import polars as pl

from idres import schema
from idres.errors import ConfigError, Problem
from idres.merge import MERGED_IDS
from idres.merge_long import merge_profiles
from idres.merge_plan import merge_plan_lines
from idres.threads import in_order

if TYPE_CHECKING:
    from idres.json_lines import LineProgram, LineWriter
    from idres.merge import ConflictResolutionLike

_PID: Final = schema.PROFILE_ID
_ATTR: Final = schema.ATTRIBUTES + "."
_FOLD: Final = {"PartyType": "PartyTypeString", "Gender": "GenderString"}
_CHUNK: Final = 100_000
_SOURCES_KEY: Final = "FieldSourceProfileIds"
MAX_PER_REQUEST: Final = 20
#: How the plan file holds a request: indented, one a line, each followed by a comma (dropped after
#: the last one by :meth:`WideMerge.write_texts`).
_REQUEST_PREFIX: Final = "    "
_REQUEST_END: Final = ",\n"
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

    @cached_property
    def _kept_fields(self) -> frozenset[int]:
        """Fields some merged profile kept a value of (the others are left out of the programs:
        they would be absent from every line)."""
        if not self.origins.size:
            return frozenset()
        return frozenset(np.flatnonzero(self.origins.max(axis=1) >= 0).tolist())

    @cached_property
    def _programs(self) -> _Programs:
        """The line programs of merged profiles, requests and FieldSourceProfileIds objects."""
        return _Programs.of(self)

    def _chunk_columns(self, lo: int, hi: int) -> list[pl.Series]:
        """The columns of merged profiles lo..hi the programs read, in :class:`_Programs` order."""
        part = self.merged.slice(lo, hi - lo)
        plan = self._programs
        extra = part.select(
            _members_text(plan.record).alias("record"),
            _members_text([self.others.slice(lo, hi - lo).alias("ProfileIdsToBeMerged")]),
        )
        return [
            *(part.get_column(c) for c in plan.columns),
            *extra.get_columns(),
            self.members.get_column("pid"),
            self.members.get_column("prov"),
        ]

    def _chunk_index(self, lo: int, hi: int) -> np.ndarray:
        """Per slot of :class:`_Programs` and merged profile lo..hi, the member row it reads."""
        slots = self._programs.slots
        index = np.empty((len(slots), hi - lo), dtype=self.origins.dtype)
        for i, (j, fold) in enumerate(slots):
            index[i] = self.origins[j, lo:hi]
            if fold is not None:  # FieldSourceProfileIds names the *String origin when held
                other = self.origins[fold, lo:hi]
                np.copyto(index[i], other, where=other >= 0)
        return index

    def _chunk_text(
        self, lo: int, hi: int, writers: _Writers, big: dict[str, list[bytes]] | None
    ) -> tuple[np.ndarray | None, list[np.ndarray | bytes]]:
        """Merged-profile lines of profiles lo..hi (None unless asked for) and the pieces of their
        plan's lines in order (each ``    {...},\n``; the long path's lines of large groups in
        their place)."""
        columns = self._chunk_columns(lo, hi)
        index = self._chunk_index(lo, hi)
        profiles = None
        if writers.profile is not None:
            profiles, _ = writers.profile.lines(columns, index=index)
        if big is None or writers.request is None:
            return profiles, []
        lists = self.merged.get_column(MERGED_IDS).slice(lo, hi - lo).list.len().to_numpy()
        small = lists <= MAX_PER_REQUEST + 1
        text, ends = writers.request.lines(columns, index=index, keep=small)
        pieces: list[np.ndarray | bytes] = []
        start = 0
        ids = columns[self._programs.columns.index(_PID)]
        for row in np.flatnonzero(~small).tolist():  # few: groups of over 21 profiles
            stop = int(ends[row])
            pieces.append(text[start:stop])
            pieces += big.get(ids[row], [])
            start = stop
        pieces.append(text[start:])
        return profiles, pieces

    def _texts(
        self, *, profiles: bool, requests: bool
    ) -> Iterator[tuple[np.ndarray | None, list[np.ndarray | bytes]]]:
        """:meth:`_chunk_text` of chunks of 100,000 merged profiles, two built at a time (each
        with its own writers: a chunk's text is used while the next one is built)."""
        if not _DOMAIN_NAME.match(self.domain_name):
            message = f"must match ^[a-zA-Z0-9_-]+$, 1..64 (got {self.domain_name!r})"
            raise ConfigError(Problem(None, "DomainName", message))
        big = self._big_requests() if requests else None
        writers = [self._programs.writers(profiles=profiles, requests=requests) for _ in "ab"]
        bounds = self._chunks()

        def make(k: int) -> tuple[np.ndarray | None, list[np.ndarray | bytes]]:
            lo, hi = bounds[k]
            return self._chunk_text(lo, hi, writers[k % 2], big)

        yield from in_order(range(len(bounds)), make)

    def _chunks(self) -> list[tuple[int, int]]:
        """The merged profiles in chunks of 100,000: (first, end) of each."""
        n = self.merged.height
        return [(lo, min(lo + _CHUNK, n)) for lo in range(0, n, _CHUNK)]

    def write_texts(self, profiles: BinaryIO, plan: BinaryIO) -> None:
        """Write the merged-profile JSON lines to `profiles` and the MergeProfiles requests, as
        ``{"Requests": [...]}`` with one request a line, to `plan`."""
        plan.write(_PLAN_HEAD)
        empty = True
        end = _REQUEST_END.encode()
        for lines, pieces in self._texts(profiles=True, requests=True):
            profiles.write(lines)  # type: ignore[arg-type]
            for piece in pieces:  # whole lines, each ending ",\n": the last one's comma goes
                if len(piece):
                    plan.write(b"" if empty else end)
                    plan.write(piece[: -len(end)])  # type: ignore[arg-type]
                    empty = False
        plan.write(_PLAN_TAIL if empty else b"\n" + _PLAN_TAIL)

    def texts(
        self, *, profiles: bool = True, requests: bool = True
    ) -> Iterator[tuple[pl.Series, pl.Series]]:
        """Per chunk of 100,000 merged profiles, their JSON lines (:func:`idres.merge.
        merged_json_lines`) and MergeProfiles requests (:func:`idres.merge.merge_plan_lines`,
        sorted by MainProfileId, then chunk of 20 ProfileIds). A side not asked for comes empty."""
        for lines, pieces in self._texts(profiles=profiles, requests=requests):
            text = b"" if lines is None else bytes(lines)
            plan = b"".join(bytes(p) for p in pieces)
            yield (
                pl.Series(text.decode().split("\n")[:-1], dtype=pl.String),
                pl.Series(
                    [
                        r.removeprefix(_REQUEST_PREFIX)
                        for r in plan.decode().split(_REQUEST_END)[:-1]
                    ],
                    dtype=pl.String,
                ),
            )

    def field_sources(self) -> pl.Series:
        """``FieldSourceProfileIds`` JSON object of each merged profile (``{}`` when empty)."""
        from idres.json_lines import LineWriter  # numba: loaded when text is written

        writer = LineWriter(self._programs.sources)
        out = []
        for lo, hi in self._chunks():
            text, _ = writer.lines(self._chunk_columns(lo, hi), index=self._chunk_index(lo, hi))
            out += bytes(text).decode().split("\n")[:-1]
        return pl.Series(_SOURCES_KEY, out, dtype=pl.String)

    def _big_requests(self) -> dict[str, list[bytes]]:
        """Per MainProfileId of a group over 21 members, its request lines (via the long path),
        each as the plan file holds it (``    {...},\n``)."""
        out: dict[str, list[bytes]] = {}
        if not self.big.height:
            return out
        outcome = merge_profiles(self.big_rows, self.big, resolution=self.resolution)
        for line in merge_plan_lines(outcome, domain_name=self.domain_name).to_list():
            main = json.loads(line)["MainProfileId"]
            out.setdefault(main, []).append(f"{_REQUEST_PREFIX}{line}{_REQUEST_END}".encode())
        return out

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


_PLAN_HEAD: Final = b'{"Requests": [\n'
_PLAN_TAIL: Final = b"]}\n"


def empty_plan(out: BinaryIO) -> None:
    """Write a merge plan with no requests (as :meth:`WideMerge.write_texts` would)."""
    out.write(_PLAN_HEAD + _PLAN_TAIL)


def _members_text(columns: list[str] | list[pl.Series]) -> pl.Expr:
    """The members `columns` as JSON object members (``"a":1,"b":[...]``, no braces)."""
    return pl.struct(columns).struct.json_encode().str.slice(1).str.head(-1)


@dataclass(frozen=True)
class _Writers:
    profile: LineWriter | None
    request: LineWriter | None


@dataclass(frozen=True)
class _Programs:
    """The :class:`idres.json_lines.LineProgram` of each text of a :class:`WideMerge` and what
    they read: columns of `merged` (in `columns` order), then the record members text, the
    ProfileIdsToBeMerged member text, and the members' ``pid`` and ``prov`` (read through
    slots: per slot a field and, for PartyType / Gender, the *String field whose origin
    FieldSourceProfileIds names when it holds one)."""

    profile: LineProgram
    request: LineProgram
    sources: LineProgram
    columns: list[str]
    record: list[str]
    slots: list[tuple[int, int | None]]

    @staticmethod
    def of(merge: WideMerge) -> _Programs:
        from idres.json_lines import LineProgram  # numba: loaded when text is written

        fields = merge.fields
        names = [f.name for f in fields]
        kept = merge._kept_fields
        columns: list[str] = [_PID]
        for j, f in enumerate(fields):
            if j in kept:
                columns += f.columns
        record = [c for c in merge.merged.columns if c in schema.BOOKKEEPING_COLUMNS]
        record += [c for c in merge.merged.columns if c != _PID and schema.is_passthrough(c)]
        record_text, others, pid, prov = range(len(columns), len(columns) + 4)
        slots: list[tuple[int, int | None]] = []

        def slot(j: int, fold: int | None = None) -> int:
            if (j, fold) not in slots:
                slots.append((j, fold))
            return slots.index((j, fold))

        # FieldSourceProfileIds: MergeProfiles keys (PartyTypeString and GenderString fold into
        # PartyType and Gender), Attributes by key.
        sources: list[tuple[Field, int]] = []
        for j, f in enumerate(fields):
            if f.name in _FOLD.values() and f.name.removesuffix("String") in names:
                continue
            fold = (
                names.index(_FOLD[f.name]) if f.name in _FOLD and _FOLD[f.name] in names else None
            )
            if j in kept or fold in kept:
                sources.append((f, slot(j, fold)))

        def add_sources(program: LineProgram) -> None:
            for f, k in sources:
                if not f.is_attribute:
                    program.json(f.name, pid, k)
            attributes = [(f, k) for f, k in sources if f.is_attribute]
            if attributes:
                program.begin("Attributes")
                for f, k in attributes:
                    program.json(f.name.removeprefix(_ATTR), pid, k)
                program.end()

        profile = LineProgram()
        profile.begin()
        profile.string(_PID, 0)
        attributes = []
        for j, f in enumerate(fields):
            if j not in kept:
                continue
            if f.is_address:
                profile.begin(f.name)
                for c in f.columns:
                    profile.string(c.split(".", 1)[1], columns.index(c))
                profile.end()
            elif f.is_attribute:
                attributes.append(f)
            else:
                profile.string(f.name, columns.index(f.name))
        if attributes:
            profile.begin("Attributes")
            for f in attributes:
                profile.string(f.name.removeprefix(_ATTR), columns.index(f.name))
            profile.end()
        if record:
            profile.json(None, record_text)
        profile.begin(_SOURCES_KEY, always=True)
        add_sources(profile)
        profile.end()
        profile.begin("FieldProvenance")
        for j, f in enumerate(fields):
            if j in kept:
                profile.json(f.name, prov, slot(j))
        profile.end()
        profile.end()

        request = LineProgram(prefix=_REQUEST_PREFIX, line_end=_REQUEST_END)
        request.begin()
        request.member("DomainName", merge.domain_name)
        request.string("MainProfileId", 0)
        request.json(None, others)
        request.begin(_SOURCES_KEY)
        add_sources(request)
        request.end()
        request.end()

        alone = LineProgram()  # FieldSourceProfileIds objects alone, one a line
        alone.begin()
        add_sources(alone)
        alone.end()
        return _Programs(profile, request, alone, columns, record, slots)

    def writers(self, *, profiles: bool, requests: bool) -> _Writers:
        from idres.json_lines import LineWriter

        return _Writers(
            LineWriter(self.profile) if profiles else None,
            LineWriter(self.request) if requests else None,
        )
