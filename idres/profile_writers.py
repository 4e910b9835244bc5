"""Profile tables back to files: nested AWS-shaped JSON, or flat CSV and Parquet.

JSON output reproduces the AWS profile object: ``Address.City`` goes back into ``"Address": {"City":
...}``, ``Attributes.LoyaltyId`` into ``"Attributes": {"LoyaltyId": ...}``, members come in AWS's order,
and null members are left out (an object whose members are all null is left out too). A JSON row is
built by Polars as one struct per row and encoded in one pass; nulls are then removed from the text
with a regular expression, so a million profiles write in a few seconds.

Timestamps are written as ``2024-05-01T12:00:00.000000Z`` (microseconds always, UTC), which reads
back to the same instant. In CSV, list and struct columns are written as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from idres import profile_timestamps as ts
from idres.atomic import atomic_file
from idres.profile_canonical import NESTED
from idres.schema import PROFILE_ID, SOURCE, STRING_FIELDS, UPDATED

_KEY = r'"(?:[^"\\]|\\.)*":null'
_TOP_ORDER = (PROFILE_ID, *STRING_FIELDS, *NESTED, SOURCE, UPDATED)


def _value(name: str, dtype: pl.DataType) -> pl.Expr:
    if name == UPDATED and isinstance(dtype, pl.Datetime):
        return ts.format_text(pl.col(name))
    return pl.col(name)


def nested_struct_expr(schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """One struct per row in the AWS profile shape, built from the flat columns of `schema`.

    Dot-joined columns of the nested objects (``Address.City``, ``Attributes.LoyaltyId``) become
    members of those objects; an object whose members are all null is null. Nulls are kept (see
    :func:`json_text_expr` for JSON text without them).

    >>> frame = pl.DataFrame({"ProfileId": ["a"], "Address.City": ["Oslo"], "Note": [1]})
    >>> frame.select(nested_struct_expr(frame.schema)).item()
    {'ProfileId': 'a', 'Address': {'City': 'Oslo'}, 'Note': 1}
    """
    top: dict[str, pl.Expr] = {}
    members: dict[str, list[pl.Expr]] = {}
    for name, dtype in schema.items():
        prefix, dot, rest = name.partition(".")
        if dot and prefix in NESTED:
            members.setdefault(prefix, []).append(_value(name, dtype).alias(rest))
        else:
            top[name] = _value(name, dtype).alias(name)
    for prefix, exprs in members.items():
        present = pl.any_horizontal(e.is_not_null() for e in exprs)
        top[prefix] = pl.when(present).then(pl.struct(exprs)).alias(prefix)
    ordered = [top[n] for n in _TOP_ORDER if n in top] + [
        e for n, e in top.items() if n not in _TOP_ORDER
    ]
    return pl.struct(ordered).alias("profile")


def json_text_expr(schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """Each row as one line of JSON in the AWS profile shape, null members left out.

    >>> frame = pl.DataFrame({"ProfileId": ["a"], "FirstName": [None], "Address.City": ["Oslo"]},
    ...                      schema_overrides={"FirstName": pl.String})
    >>> frame.select(json_text_expr(frame.schema)).item()
    '{"ProfileId":"a","Address":{"City":"Oslo"}}'
    """
    return (
        nested_struct_expr(schema)
        .struct.json_encode()
        .str.replace_all("," + _KEY, "")
        .str.replace_all(r"\{" + _KEY + ",", "{")
        .str.replace_all(r"\{" + _KEY + r"\}", "{}")
        .alias("json")
    )


def to_nested(frame: pl.DataFrame | pl.LazyFrame) -> list[dict[str, Any]]:
    """The profiles as AWS profile objects (dicts, null members left out).

    One dict per row: meant for small outputs at the edge (a merge plan, a test). Write large
    tables with :func:`write_profiles`, which never builds Python objects per row.

    >>> to_nested(pl.DataFrame({"ProfileId": ["a"], "Attributes.Tier": ["gold"]}))
    [{'ProfileId': 'a', 'Attributes': {'Tier': 'gold'}}]
    """
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return [json.loads(line) for line in data.select(json_text_expr(data.schema)).to_series()]


def _flat_for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        if name == UPDATED and isinstance(dtype, pl.Datetime):
            exprs.append(ts.format_text(pl.col(name)).alias(name))
        elif isinstance(dtype, pl.Struct):
            exprs.append(pl.col(name).struct.json_encode().alias(name))
        elif isinstance(dtype, pl.List | pl.Array):
            wrapped = pl.struct(pl.col(name).alias("v")).struct.json_encode()
            text = wrapped.str.slice(5).str.head(-1)  # strip '{"v":' and '}'
            exprs.append(pl.when(pl.col(name).is_not_null()).then(text).alias(name))
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


def write_file(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write `frame` to `path` in `fmt` (``jsonl``, ``json``, ``csv``, ``parquet``), atomically."""
    with atomic_file(path) as tmp:
        if fmt == "parquet":
            frame.write_parquet(tmp)
        elif fmt == "csv":
            _flat_for_csv(frame).write_csv(tmp)
        elif fmt == "jsonl":
            lines = frame.select(json_text_expr(frame.schema))
            lines.write_csv(tmp, include_header=False, quote_style="never")
        else:
            joined = frame.select(json_text_expr(frame.schema).str.join(",\n")).item()
            tmp.write_text(f"[\n{joined}\n]\n" if frame.height else "[]\n", encoding="utf-8")
