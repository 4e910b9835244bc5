"""JSON objects as the pieces of one ``concat_str``: each output byte is copied once.

Building a JSON line from nested ``concat_str`` calls (entry, then object, then line) copies every
byte several times, and the merged profiles of a large preview are gigabytes of text. Here an object
is a flat list of pieces: ``{``, then per entry a key piece (``"key":``, with a leading
comma unless it is the first entry present) and the value's pieces, then ``}``. A piece is null
where its entry is absent, and the caller joins every piece of a line with one
``concat_str(..., ignore_nulls=True)``. Which entry comes first is a small integer column computed
before the join (:attr:`JsonPieces.prepare`), so no text is ever tested for emptiness.

Joining costs about 25 ns per piece and row (100,000 rows of 400 pieces: 1 s), far more than
copying bytes, so callers leave out entries that are absent from every row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from idres.merge import json_string


def json_key(key: str) -> str:
    """`key` as a JSON string literal, as Polars writes it.

    >>> json_key('a"b')
    '"a\\\\"b"'
    """
    return pl.select(json_string(pl.lit(key, pl.String))).item()


@dataclass(frozen=True)
class Entry:
    """One member of an object: its key, the pieces of its JSON value (null only where the
    entry is absent) and a cheap test of presence (a null test on a column, not on text)."""

    key: str
    value: list[pl.Expr]
    present: pl.Expr


def text_entry(key: str, column: str) -> Entry:
    """A String column as a JSON string value (escaped, quoted); absent where null."""
    # One piece, not three (quote, text, quote): joining costs per piece and row, far more than
    # copying a short value once more.
    return Entry(key, [json_string(pl.col(column))], pl.col(column).is_not_null())


def json_entry(key: str, column: str) -> Entry:
    """A column already holding JSON text (a quoted string, an object); absent where null."""
    return Entry(key, [pl.col(column)], pl.col(column).is_not_null())


@dataclass
class JsonPieces:
    """Builds the pieces of objects; :attr:`prepare` holds the columns they need first."""

    prepare: list[pl.Expr] = field(default_factory=list)

    def obj(self, entries: list[Entry], *, key: str = "", always: bool = False) -> Entry:
        """An object of `entries`, as the entry `key` of an enclosing object: ``{``, the
        entries present, ``}``; absent when none is present, unless `always` (then ``{}``)."""
        if not entries:
            return Entry(key, [pl.lit("{}")], pl.lit(True)) if always else _absent(key)
        first = f"__first{len(self.prepare)}"
        self.prepare.append(
            pl.coalesce(
                pl.when(e.present).then(pl.lit(j, pl.UInt16)) for j, e in enumerate(entries)
            ).alias(first)
        )
        shown = pl.lit(True) if always else pl.col(first).is_not_null()
        pieces = [pl.when(shown).then(pl.lit("{"))]
        for j, e in enumerate(entries):
            name = json_key(e.key) + ":"
            if j == 0:
                pieces.append(pl.when(e.present).then(pl.lit(name)))
            else:
                pieces.append(
                    pl.when(e.present).then(
                        pl.when(pl.col(first) == j).then(pl.lit(name)).otherwise(pl.lit("," + name))
                    )
                )
            pieces += e.value
        pieces.append(pl.when(shown).then(pl.lit("}")))
        # Presence in terms of the entries' own tests, so that an enclosing object's
        # first-entry column can be prepared alongside this one's.
        present = pl.lit(True) if always else pl.any_horizontal(e.present for e in entries)
        return Entry(key, pieces, present)


def _absent(key: str) -> Entry:
    return Entry(key, [pl.lit(None, pl.String)], pl.lit(False))


def after_first(entries: list[Entry]) -> list[pl.Expr]:
    """The pieces of `entries` that follow a member always present: each with a leading comma."""
    pieces = []
    for e in entries:
        pieces.append(pl.when(e.present).then(pl.lit("," + json_key(e.key) + ":")))
        pieces += e.value
    return pieces


def joined(pieces: list[pl.Expr]) -> pl.Expr:
    """The text of `pieces`, absent ones skipped."""
    return pl.concat_str(pieces, ignore_nulls=True)
