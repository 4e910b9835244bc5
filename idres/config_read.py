"""Reading a config document: bytes -> UTF-8 text -> JSON or YAML -> plain Python values.

Problems of the file itself become :class:`~idres.errors.Problem` objects with a line and column:
a file that is missing, empty, not UTF-8 (a UTF-8 byte-order mark is accepted), malformed, or that
repeats a member name (JSON and YAML parsers silently keep the last one; idres reports it).

YAML is read with the YAML 1.2 core schema [choice]: only ``true``/``false`` are booleans and only
plain numbers are numbers, so ``Time: 12:30``, ``DayOfTheWeek: no`` or a date-like tag value stay
strings (YAML 1.1, PyYAML's default, would turn ``12:30`` into the integer 750).
"""

from __future__ import annotations

import codecs
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from idres.config_problems import path
from idres.errors import ConfigError, Problem

__all__ = ["read_document"]

_EXPECTED = "expected a CreateDomain request or a GetDomain response"


class _Object(dict[str, Any]):
    """A mapping that remembers the member names it saw twice."""

    duplicates: list[str]

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        super().__init__()
        self.duplicates = []
        for key, value in pairs:
            key = key if isinstance(key, str) else str(key)
            if key in self:
                self.duplicates.append(key)
            self[key] = value


class _CoreLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema scalars and duplicate-member tracking."""


_CoreLoader.yaml_implicit_resolvers = {}
for _tag, _regex, _first in (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
):
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_regex), _first)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = loader.construct_scalar(node)
    return int(str(value), 0) if str(value)[:2] in ("0o", "0x") else int(str(value))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Object:
    loader.flatten_mapping(node)
    pairs = [
        (loader.construct_object(k, deep=True), loader.construct_object(x, deep=True))
        for k, x in node.value
    ]
    return _Object(pairs)


_CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_CoreLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def read_document(path: str | os.PathLike[str]) -> tuple[Any, list[Problem]]:
    """Parse the JSON or YAML document at `path`.

    Returns the data and the problems that do not stop reading (duplicate members, each located by
    JSON path); raises :class:`~idres.errors.ConfigError` when there is nothing to read.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.yaml"
    >>> _ = p.write_text("DomainName: demo\\nMatching: {Enabled: true, JobSchedule: "
    ...                  "{DayOfTheWeek: MONDAY, Time: 12:30}}\\n")
    >>> read_document(p)[0]["Matching"]["JobSchedule"]["Time"]
    '12:30'
    """
    source = os.fspath(path)
    text = _read_text(Path(path), source)
    if not text.strip():
        raise ConfigError(Problem(source, "", f"empty file: {_EXPECTED} (got {text!r})"))
    suffix = Path(path).suffix.lower()
    as_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip()[:1] == "{")
    data = _parse_json(text, source) if as_json else _parse_yaml(text, source)
    return data, [
        Problem(source, loc, f"member given twice; only one is allowed (got {key!r})")
        for loc, key in _duplicates(data)
    ]


def _read_text(path: Path, source: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(Problem(source, "", "no such file")) from None
    except IsADirectoryError:
        raise ConfigError(Problem(source, "", "is a folder, not a config file")) from None
    except OSError as exc:
        raise ConfigError(Problem(source, "", f"cannot read: {exc.strerror}")) from None
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if raw.startswith(bom):
            message = f"the file is {name}-encoded; save it as UTF-8 (got byte-order mark {bom!r})"
            raise ConfigError(Problem(source, "line 1", message))
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start : exc.end]
        message = f"not UTF-8 text; save the file as UTF-8 (got bytes {bad!r})"
        raise ConfigError(Problem(source, f"line {line}, column {column}", message)) from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_Object)
    except json.JSONDecodeError as exc:
        near = exc.doc[exc.pos : exc.pos + 20].split("\n")[0]
        message = f"malformed JSON: {exc.msg} (got {near!r})"
        raise ConfigError(
            Problem(source, f"line {exc.lineno}, column {exc.colno}", message)
        ) from None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_CoreLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "cannot parse"
        near = text.splitlines()[mark.line][mark.column : mark.column + 20] if mark else ""
        message = f"malformed YAML: {what} (got {near!r})"
        raise ConfigError(Problem(source, where, message)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(Problem(source, "", f"malformed YAML: {exc}")) from None


def _duplicates(value: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[str, str]]:
    """(JSON path, member name) of every member given twice, depth first."""
    found: list[tuple[str, str]] = []
    if isinstance(value, _Object):
        found += [(path((*loc, key)), key) for key in value.duplicates]
        for key, item in value.items():
            found += _duplicates(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _duplicates(item, (*loc, i))
    return found
