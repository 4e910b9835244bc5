"""The compiled JSON-lines writer against a plain-Python reference, and its edges."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.json_lines import LineProgram, LineWriter

# Control characters, quotes, backslashes, multi-byte text; short (inline views) and long values.
TEXT = st.text(
    alphabet=st.sampled_from(
        ["a", "B", " ", '"', "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "é", "€", "𝄞"]
    ),
    max_size=30,
)
VALUE = st.none() | TEXT


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> list[tuple]:
    """Entries of an object: ("string" | "json", key, column, slot), ("member", key, value) or
    ("object", key, always, entries)."""
    kinds = ["string", "json", "member"] + (["object"] if depth < 3 else [])
    out = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(kinds))
        key = draw(TEXT)
        if kind == "object":
            out.append((kind, key, draw(st.booleans()), draw(trees(depth + 1))))
        elif kind == "member":
            out.append((kind, key, draw(TEXT)))
        else:
            spliced = kind == "json" and draw(st.booleans())  # members text, no key
            out.append(
                (kind, None if spliced else key, draw(st.integers(0, 2)), draw(st.integers(-1, 1)))
            )
    return out


def _build(program: LineProgram, entries: list[tuple]) -> None:
    for entry in entries:
        if entry[0] == "object":
            program.begin(entry[1], always=entry[2])
            _build(program, entry[3])
            program.end()
        elif entry[0] == "member":
            program.member(entry[1], entry[2])
        else:
            kind, key, column, slot = entry
            source = 3 if slot >= 0 else column  # slots read the longer column 3
            getattr(program, kind)(key, source, slot)


def _reference(entries: list[tuple], columns: list[list], index: np.ndarray, row: int) -> list[str]:
    """The entries of an object for `row`, as text (the semantics, written plainly)."""
    out = []
    for entry in entries:
        if entry[0] == "object":
            inner = _reference(entry[3], columns, index, row)
            if inner or entry[2]:
                out.append(json.dumps(entry[1], ensure_ascii=False) + ":{" + ",".join(inner) + "}")
            continue
        if entry[0] == "member":
            out.append(
                json.dumps(entry[1], ensure_ascii=False)
                + ":"
                + json.dumps(entry[2], ensure_ascii=False)
            )
            continue
        kind, key, column, slot = entry
        at = row if slot < 0 else int(index[slot, row])
        value = None if at < 0 else columns[3 if slot >= 0 else column][at]
        if value is None or (kind == "json" and value == ""):
            continue
        head = "" if key is None else json.dumps(key, ensure_ascii=False) + ":"
        out.append(head + (json.dumps(value, ensure_ascii=False) if kind == "string" else value))
    return out


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_lines_equal_the_reference(data) -> None:
    n = data.draw(st.integers(0, 8))
    m = data.draw(st.integers(1, 6))
    columns = [data.draw(st.lists(VALUE, min_size=n, max_size=n)) for _ in range(3)]
    columns.append(data.draw(st.lists(VALUE, min_size=m, max_size=m)))
    index = np.array(
        data.draw(
            st.lists(
                st.lists(st.integers(-1, m - 1), min_size=n, max_size=n), min_size=2, max_size=2
            )
        ),
        dtype=np.int32,
    ).reshape(2, n)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    entries = data.draw(trees())
    prefix, end = data.draw(st.sampled_from([("", "\n"), ("    ", ",\n")]))
    program = LineProgram(prefix=prefix, line_end=end)
    program.begin()
    _build(program, entries)
    program.end()
    series = [pl.Series(c, dtype=pl.String) for c in columns]
    writer = LineWriter(program)
    text, ends = writer.lines(series, index=index, keep=keep)
    expected = [
        prefix + "{" + ",".join(_reference(entries, columns, index, r)) + "}" + end
        if keep[r]
        else ""
        for r in range(n)
    ]
    assert bytes(text).decode() == "".join(expected)
    assert ends.tolist() == np.cumsum([len(e.encode()) for e in expected], dtype=np.int64).tolist()


def _program() -> LineProgram:
    program = LineProgram()
    program.begin()
    program.string("s", 0)
    program.begin("o", always=True)
    program.json("j", 1, 0)
    program.end()
    program.end()
    return program


def test_sliced_and_chunked_columns_are_read_at_their_offset() -> None:
    # A slice shares its parent's views from an offset; two chunks are combined first.
    long = [f"value number {i} with more than twelve bytes" if i % 3 else None for i in range(50)]
    sliced = pl.Series(long).slice(7, 20)
    chunked = pl.concat([pl.Series(long[:10]), pl.Series(long[10:20])], rechunk=False)
    assert chunked.n_chunks() == 2
    members = pl.Series(['"a"', '"bb"', ""])
    index = np.array([[0, 1, 2, -1] * 5], dtype=np.int64)
    writer = LineWriter(_program())
    for column in (sliced, chunked):
        text, _ = writer.lines([column, members], index=index)
        lines = bytes(text).decode().splitlines()
        values = column.to_list()
        for r, line in enumerate(lines):
            record = json.loads(line)
            assert record.get("s") == values[r]
            assert record["o"] == ({"j": ["a", "bb"][r % 4]} if r % 4 < 2 else {})


def test_the_buffer_grows_and_stays_exact() -> None:
    # Starting from a 16-byte buffer every line runs out of room at least once.
    values = pl.Series(["x" * 1000, None, 'q"' * 300, "short"] * 30)
    members = pl.Series(["[1]"])
    index = np.zeros((1, values.len()), dtype=np.int64)
    small = LineWriter(_program())
    small._out = np.empty(16, dtype=np.uint8)
    text, ends = small.lines([values, members], index=index)
    reference, reference_ends = LineWriter(_program()).lines([values, members], index=index)
    assert bytes(text) == bytes(reference)
    assert ends.tolist() == reference_ends.tolist()
    assert [
        json.loads(line).get("s") for line in bytes(text).decode().splitlines()
    ] == values.to_list()


def test_all_null_and_empty_columns() -> None:
    writer = LineWriter(_program())
    nulls = pl.Series([None, None], dtype=pl.String)
    text, ends = writer.lines([nulls, nulls], index=np.array([[0, 1]]))
    assert bytes(text) == b'{"o":{}}\n{"o":{}}\n'
    assert ends.tolist() == [9, 18]
    empty = pl.Series([], dtype=pl.String)
    text, ends = writer.lines([empty, empty], index=np.zeros((1, 0), dtype=np.int64))
    assert bytes(text) == b"" and ends.size == 0


def test_a_non_string_column_is_written_as_its_text() -> None:
    program = LineProgram()
    program.begin()
    program.string("n", 0)
    program.end()
    text, _ = LineWriter(program).lines([pl.Series([1, None, 30])])
    assert bytes(text) == b'{"n":"1"}\n{}\n{"n":"30"}\n'


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda p: p.begin("key"), "opens without a key", id="line-with-key"),
        pytest.param(lambda p: (p.begin(), p.begin()), "with one", id="object-without-key"),
    ],
)
def test_a_malformed_program_is_refused(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(LineProgram())


def test_an_open_object_or_missing_columns_are_refused() -> None:
    program = LineProgram()
    program.begin()
    with pytest.raises(ValueError, match="open"):
        LineWriter(program)
    with pytest.raises(ValueError, match="2 columns, 1 given"):
        LineWriter(_program()).lines([pl.Series(["a"])])


def test_the_kernel_keeps_its_escapes_in_step_with_polars() -> None:
    # Every byte below 0x20, quote and backslash, as Polars' own JSON writer escapes them.
    text = "".join(chr(i) for i in range(32)) + '"\\/\x7f'
    expected = pl.DataFrame({"s": [text]}).write_ndjson()
    program = LineProgram()
    program.begin()
    program.string("s", 0)
    program.end()
    out, _ = LineWriter(program).lines([pl.Series([text])])
    assert bytes(out).decode() == expected


@pytest.mark.parametrize("bad", ['"', "\\", "\x00", "\x1f", "\n"])
def test_a_byte_needing_escape_is_found_at_every_position(bad: str) -> None:
    # Values of every length up to 40 (inline views, whole words, the overlapping last word)
    # with the one byte to escape at each position, among bytes beside the tested ranges.
    plain = " !#[]~\x7fé"
    values = []
    for n in range(41):
        base = "".join(plain[i % len(plain)] for i in range(n))
        values.append(base)
        values += [base[:i] + bad + base[i + 1 :] for i in range(n)]
    program = LineProgram()
    program.begin()
    program.string("v", 0)
    program.end()
    text, _ = LineWriter(program).lines([pl.Series(values)])
    expected = "".join('{"v":' + json.dumps(v, ensure_ascii=False) + "}\n" for v in values)
    assert bytes(text).decode() == expected


def test_strings_of_row_ranges_with_nulls_and_empty_ranges() -> None:
    program = LineProgram()
    program.begin()
    program.strings("ids", 0, 0)
    program.end()
    values = pl.Series(["a", None, 'q"', "long value past twelve bytes"])
    index = np.array([[0, 2, 4, -1], [2, 4, 4, 0]], dtype=np.int64)
    text, _ = LineWriter(program).lines([values], index=index)
    assert bytes(text).decode().splitlines() == [
        '{"ids":["a",null]}',
        '{"ids":["q\\"","long value past twelve bytes"]}',
        '{"ids":[]}',
        "{}",
    ]


def test_reads_out_of_bounds_are_refused() -> None:
    # The compiled pass does not check bounds: the writer refuses what would read past them.
    program = LineProgram()
    program.begin()
    program.string("own", 0)
    program.json("at", 1, 0)
    program.strings("range", 1, 1)
    program.end()
    writer = LineWriter(program)
    two, three = pl.Series(["a", "b"]), pl.Series(["1", "2", "3"])
    good = np.array([[2, -1], [0, 1], [1, 3]])
    assert len(writer.lines([two, three], index=good)[1]) == 2
    with pytest.raises(ValueError, match="past the 3 rows"):
        writer.lines([two, three], index=np.array([[3, 0], [0, 1], [1, 3]]))
    with pytest.raises(ValueError, match="past the 3 rows"):
        writer.lines([two, three], index=np.array([[0, 0], [0, 1], [1, 4]]))
    with pytest.raises(ValueError, match="row 2 is read"):
        writer.lines([two, three], index=good[:2])
    with pytest.raises(ValueError, match="1 rows for 2 lines"):
        writer.lines([two.head(1), three], index=good)
    with pytest.raises(ValueError, match="keep"):
        writer.lines([two, three], index=good, keep=np.ones(3, dtype=bool))


def test_objects_nest_at_most_32_deep() -> None:
    program = LineProgram()
    program.begin()
    for depth in range(31):
        program.begin(f"k{depth}")
    with pytest.raises(ValueError, match="at most 32"):
        program.begin("one too many")
