"""JSON objects as the pieces of one concat_str: hand-made cases, then json.loads agreement."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.json_pieces import (
    Entry,
    JsonPieces,
    after_first,
    joined,
    json_entry,
    json_key,
    text_entry,
)


def _lines(frame: pl.DataFrame, pieces: JsonPieces, exprs: list[pl.Expr]) -> list[str | None]:
    return frame.with_columns(pieces.prepare).select(joined(exprs).alias("j")).to_series().to_list()


def test_the_first_present_entry_has_no_comma() -> None:
    frame = pl.DataFrame({"a": [None, "1", None], "b": ["x", "y", None]})
    pieces = JsonPieces()
    obj = pieces.obj([text_entry("a", "a"), text_entry("b", "b")])
    assert _lines(frame, pieces, obj.value) == ['{"b":"x"}', '{"a":"1","b":"y"}', ""]


def test_an_object_always_shown_is_empty_braces_when_nothing_is_present() -> None:
    frame = pl.DataFrame({"a": [None, 'q"t']})
    pieces = JsonPieces()
    obj = pieces.obj([text_entry("a", "a")], always=True)
    assert _lines(frame, pieces, obj.value) == ["{}", '{"a":"q\\"t"}']


def test_nested_objects_and_entries_after_a_present_member() -> None:
    frame = pl.DataFrame({"id": ["p1", "p2"], "t": [None, "gold"], "src": ['"p9"', None]})
    pieces = JsonPieces()
    inner = pieces.obj([text_entry("Tier", "t")])
    sources = pieces.obj([json_entry("Tier", "src")], always=True)
    line = [
        pl.lit('{"ProfileId":'),
        pl.concat_str(pl.lit('"'), pl.col("id"), pl.lit('"')),
        *after_first(
            [
                Entry("Attributes", inner.value, inner.present),
                Entry("Sources", sources.value, sources.present),
            ]
        ),
        pl.lit("}"),
    ]
    assert _lines(frame, pieces, line) == [
        '{"ProfileId":"p1","Sources":{"Tier":"p9"}}',
        '{"ProfileId":"p2","Attributes":{"Tier":"gold"},"Sources":{}}',
    ]


def test_json_key_escapes() -> None:
    assert json.loads(json_key('a"b\\c\n')) == 'a"b\\c\n'


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {k: st.one_of(st.none(), st.text(max_size=5)) for k in ("a", "b", "c")}
        ),
        min_size=1,
        max_size=8,
    )
)
def test_objects_are_what_json_would_write(rows: list[dict[str, str | None]]) -> None:
    frame = pl.DataFrame(rows, schema={k: pl.String for k in ("a", "b", "c")})
    pieces = JsonPieces()
    obj = pieces.obj([text_entry(k, k) for k in ("a", "b", "c")], always=True)
    got = _lines(frame, pieces, obj.value)
    expected = [
        json.dumps(
            {k: row[k] for k in ("a", "b", "c") if row[k] is not None},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for row in rows
    ]
    assert got == expected
