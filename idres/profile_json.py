"""Profiles from JSON: JSON Lines, a JSON array, or the search-profiles response ``{"Items": [...]}``.

Polars parses the file in one pass. Polars is lenient where AWS is not (a ``true`` or an object where
a string belongs becomes text), so values that could have been such a conversion (``"true"``,
``"false"``, text starting with ``{`` or ``[``) are checked against the raw JSON of their record; a
clean file pays nothing for this. When Polars cannot parse the file at all, the records are parsed one
by one only to say where and what is wrong.

Types [choice]: a string member may hold a JSON number (it becomes its decimal text: ``12345`` ->
``"12345"``, ``1.5`` -> ``"1.5"``); ``true``/``false``, arrays and objects are errors. The update time
may be a string or a number (epoch seconds). Address members and ``Attributes`` must be objects;
attribute values follow the string rule. Unknown members pass through with the type Polars gives them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from idres.profile_canonical import NESTED, Names
from idres.profile_locations import (
    MAX_PROBLEMS,
    Locator,
    Report,
    line_numbers,
    nonblank_lines,
    shorten,
)
from idres.schema import ADDRESS_PARTS, ADDRESS_TYPES, ATTRIBUTES, PROFILE_ID, STRING_FIELDS

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

logger = logging.getLogger(__name__)

PARSE_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException)
_SUSPECT = r"^(?:\{|\[|true$|false$)"
_OBJECT_HELP = {
    ATTRIBUTES: "an object mapping attribute names to strings",
    **{
        t: "an object with Address1..Address4, City, County, State, Province, Country, PostalCode"
        for t in ADDRESS_TYPES
    },
}


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


class JsonSource:
    """One JSON input: its bytes, its form (``jsonl``, ``array`` or ``items``) and its records."""

    def __init__(self, body: bytes, form: str, report: Report, names: Names) -> None:
        self.body = body
        self.form = form
        self.report = report
        self.names = names
        self._parsed: dict[str, Any] = {}
        #: Polars's message when it could not parse the input (see :meth:`diagnose`).
        self.failure = ""
        self.where = (
            Locator("line", lines=lambda: line_numbers(body))
            if form == "jsonl"
            else Locator("index", prefix="Items" if form == "items" else "")
        )

    @property
    def records(self) -> Callable[[int], Any]:
        """Record `i` as Python objects (parsed on demand; only for checks and messages)."""
        if self.form == "jsonl":
            if "lines" not in self._parsed:
                self._parsed["lines"] = nonblank_lines(self.body)
            starts, ends = self._parsed["lines"]
            return lambda i: json.loads(self.body[starts[i] : ends[i]])
        if "doc" not in self._parsed:
            self._parsed["doc"] = json.loads(self.body)
        doc = self._parsed["doc"]
        items = doc["Items"] if self.form == "items" else doc
        return lambda i: items[i]

    def frame(self) -> pl.DataFrame | None:
        """The records as a Polars frame (nested members as structs); None if Polars cannot parse
        them (its message is kept in :attr:`failure`; :meth:`diagnose` says where and why)."""
        try:
            if self.form == "jsonl":
                return pl.read_ndjson(self.body, infer_schema_length=None)
            frame = pl.read_json(self.body, infer_schema_length=None)
            if self.form == "items":
                if "Items" not in frame.columns:
                    self.failure = "no Items member"
                    return None
                if "NextToken" in frame.columns and frame["NextToken"].null_count() < frame.height:
                    logger.warning("%s has a NextToken: only this page is read", self.report.file)
                items = frame.select(pl.col("Items").explode())
                if not isinstance(items.schema["Items"], pl.Struct):
                    return pl.DataFrame(schema={PROFILE_ID: pl.String}).clear()
                return items.unnest("Items")
            return frame
        except PARSE_ERRORS as exc:
            self.failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None

    def diagnose(self) -> None:
        """Parse the records one by one to report where and why Polars could not read them."""
        polars_message = self.failure
        before = len(self.report.items)
        if self.form == "jsonl":
            self._diagnose_lines()
        else:
            self._diagnose_document()
        if len(self.report.items) == before and not self.report.hidden:
            self.report.add("", f"cannot read the JSON ({polars_message})")

    def _diagnose_lines(self) -> None:
        text = self.body.decode("utf-8", errors="replace")
        kinds: dict[str, dict[str, str]] = {}
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                self.report.add(
                    f"line {number}",
                    f"malformed JSON: {exc.msg} at column {exc.colno} (got {shorten(line, 50)})",
                )
                continue
            check_record(record, _place(f"line {number}", ", "), self.report, kinds, self.names)
        _report_kind_conflicts(kinds, self.report)

    def _diagnose_document(self) -> None:
        try:
            doc = json.loads(self.body)
        except json.JSONDecodeError as exc:
            self.report.add(f"line {exc.lineno}, column {exc.colno}", f"malformed JSON: {exc.msg}")
            return
        prefix = ""
        if isinstance(doc, dict) and "Items" in doc:
            prefix, doc = "Items", doc["Items"]
        if not isinstance(doc, list):
            self.report.add(
                prefix,
                "expected a JSON array of profiles or a search-profiles response "
                f'{{"Items": [...]}} (got {shorten(doc)})',
            )
            return
        kinds: dict[str, dict[str, str]] = {}
        for i, record in enumerate(doc):
            check_record(record, _place(f"{prefix}[{i}]", "."), self.report, kinds, self.names)
        _report_kind_conflicts(kinds, self.report)


def _place(record: str, joiner: str) -> Callable[[str | None], str]:
    return lambda column: record + (joiner + column if column else "")


def json_form(body: bytes, format_name: str) -> str | None:
    """``jsonl``, ``array`` or ``items`` for a JSON input (None: not JSON at all).

    >>> json_form(b' [{"ProfileId": "a"}]', "json"), json_form(b'{"Items": []}', "json")
    ('array', 'items')
    """
    if format_name == "jsonl":
        return "jsonl"
    match = re.match(rb"\s*(\S)", body)
    first = match.group(1) if match else b""
    if first == b"[":
        return "array"
    if first != b"{":
        return None
    end = body.find(b"\n")
    try:
        head = json.loads(body if end < 0 else body[:end])
    except json.JSONDecodeError:
        return "items"  # one document over several lines (or a broken one): read it whole
    return "items" if isinstance(head, dict) and "Items" in head else "jsonl"


def check_record(
    record: Any,
    where: Callable[[str | None], str],
    report: Report,
    kinds: dict[str, dict[str, str]],
    names: Names = Names(),
) -> None:
    """Report what is wrong with one parsed record (used only when diagnosing a broken file)."""
    if not isinstance(record, dict):
        report.add(where(None), f"expected a JSON object (a profile) (got {shorten(record)})")
        return
    strings = {PROFILE_ID, *STRING_FIELDS, names.source}
    for key, value in record.items():
        if value is None:
            continue
        if key in strings and not _is_text(value):
            report.add(where(key), f"expected a string (got {shorten(value)})")
        elif key == names.updated and not _is_text(value):
            report.add(
                where(key), f"expected a timestamp string or epoch seconds (got {shorten(value)})"
            )
        elif key in NESTED:
            if not isinstance(value, dict):
                report.add(where(key), f"expected {_OBJECT_HELP[key]} (got {shorten(value)})")
                continue
            for sub, item in value.items():
                checked = key == ATTRIBUTES or sub in ADDRESS_PARTS
                if checked and item is not None and not _is_text(item):
                    report.add(where(f"{key}.{sub}"), f"expected a string (got {shorten(item)})")
        elif key not in strings and key != names.updated:
            kind = (
                "an object"
                if isinstance(value, dict)
                else "an array"
                if isinstance(value, list)
                else "a scalar"
            )
            kinds.setdefault(key, {}).setdefault(kind, where(None))


def _report_kind_conflicts(kinds: dict[str, dict[str, str]], report: Report) -> None:
    """Pass-through members must keep one shape (Polars cannot hold an object here, a list there)."""
    for key, seen in kinds.items():
        if len(seen) > 1 and ("an object" in seen or "an array" in seen):
            shapes = " and ".join(f"{kind} at {place}" for kind, place in seen.items())
            report.add("", f"member {key!r} must keep one shape (got {shapes})")


def _text_members(
    schema: pl.Schema, names: Names
) -> list[tuple[tuple[str, ...], pl.Expr, PolarsDataType, str]]:
    """(path, expression, dtype, expected) of every member that must hold text."""
    strings = {PROFILE_ID, *STRING_FIELDS, names.source}
    members = []
    for name, dtype in schema.items():
        if name in strings or name == names.updated:
            expected = "a string" if name in strings else "a timestamp string or epoch seconds"
            members.append(((name,), pl.col(name), dtype, expected))
        elif name in NESTED and isinstance(dtype, pl.Struct):
            for fld in dtype.fields:
                if name == ATTRIBUTES or fld.name in ADDRESS_PARTS:
                    expr = pl.col(name).struct.field(fld.name)
                    members.append(((name, fld.name), expr, fld.dtype, "a string"))
    return members


def _suspect(expr: pl.Expr) -> pl.Expr:
    """Text that Polars may have made from a JSON ``true``/``false``, object or array."""
    return expr.str.contains(_SUSPECT)


def check_types(frame: pl.DataFrame, source: JsonSource, names: Names) -> frozenset[str]:
    """Report values of the wrong JSON type in a parsed frame; return the flat columns reported.

    One parallel pass looks for suspect text in every text member; only the members where some
    is found are looked at again, record by record.
    """
    reported: set[str] = set()
    members = _text_members(frame.schema, names)
    text = [(i, m) for i, m in enumerate(members) if m[2] == pl.String]
    flags = frame.select(_suspect(m[1]).any().alias(str(i)) for i, m in text) if text else None
    for i, (path, expr, dtype, expected) in enumerate(members):
        if dtype == pl.String:
            if flags is not None and flags[str(i)].item():
                rows = _rows(frame, expr, _suspect(expr))
                _report_rows(rows, path, source, reported, expected, verify=True)
        elif dtype != pl.Null and not dtype.is_numeric():
            rows = _rows(frame, expr, expr.is_not_null())
            _report_rows(rows, path, source, reported, expected, verify=False)
    for name, dtype in frame.schema.items():
        if name in NESTED and not isinstance(dtype, pl.Struct) and dtype != pl.Null:
            rows = _rows(frame, pl.col(name), pl.col(name).is_not_null())
            verify = dtype == pl.String
            _report_rows(rows, (name,), source, reported, _OBJECT_HELP[name], verify=verify)
    return frozenset(reported)


def _rows(frame: pl.DataFrame, expr: pl.Expr, condition: pl.Expr) -> pl.DataFrame:
    """(record number, value) of the rows where `condition` holds."""
    return (
        frame.select(
            pl.int_range(pl.len()).alias("record"),
            expr.alias("value"),
            condition.fill_null(False).alias("keep"),
        )
        .filter("keep")
        .drop("keep")
    )


def _report_rows(
    rows: pl.DataFrame,
    path: tuple[str, ...],
    source: JsonSource,
    reported: set[str],
    expected: str,
    *,
    verify: bool,
) -> None:
    """Report each row whose raw JSON value at `path` has the wrong type (re-read when `verify`)."""
    wanted = "object" if len(path) == 1 and path[0] in NESTED else "text"
    shown = 0
    records = source.records if verify else None
    for record, value in rows.iter_rows():
        if records is not None:
            raw: Any = records(record)
            for key in path:
                raw = raw.get(key) if isinstance(raw, dict) else None
            value = raw
            if value is None or (
                isinstance(value, dict) if wanted == "object" else _is_text(value)
            ):
                continue
        reported.add(".".join(path))
        if shown < MAX_PROBLEMS:
            source.report.add(
                source.where(record, ".".join(path)), f"expected {expected} (got {shorten(value)})"
            )
        else:
            source.report.hidden += 1
        shown += 1
