"""Validation errors of :mod:`idres.config` in idres's words, and their translation into Problems.

Every check raises a ``PydanticCustomError`` of type ``idres`` whose whole message is ours (the rule,
then ``(got <value!r>)``, see :func:`error`); :func:`translate` turns a ``ValidationError`` into
:class:`~idres.errors.Problem` objects with JSON paths (``RuleBasedMatching.MatchingRules[2].Rule[0]``)
and rewrites pydantic's own error types (missing member, unknown member, wrong JSON type) in the same
style, so pydantic's wording never reaches a user. Checks over several members or over the length of a
list run in wrap validators that :func:`gather` their problems with those of the members, so every
problem is reported at once.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from idres.errors import Problem, did_you_mean

ERROR_TYPE = "idres"


def show(value: Any) -> str:
    """``repr(value)``, shortened for long strings and collections.

    >>> show("abc")
    "'abc'"
    >>> show("x" * 300)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (300 characters)"
    """
    text = repr(value)
    if len(text) <= 100:
        return text
    if isinstance(value, str):
        head = repr(value[:40])
        return f"{head[:-1]}…{head[-1]} ({len(value)} characters)"
    if isinstance(value, Sequence | Mapping):
        return f"{text[:60]}… ({len(value)} entries)"
    return text[:100] + "…"


def error(message: str, *value: Any) -> PydanticCustomError:
    """An ``idres`` validation error; with a `value`, the message ends with ``(got <value!r>)``."""
    if value:
        message = f"{message} (got {show(value[0])})"
    return PydanticCustomError(ERROR_TYPE, "{m}", {"m": message})


def detail(loc: tuple[str | int, ...], message: str, *value: Any) -> InitErrorDetails:
    """An error at `loc` (relative to the value being validated), for :func:`gather`."""
    return {"type": error(message, *value), "loc": loc, "input": value[0] if value else None}


def close_hint(name: str, choices: Iterable[str]) -> str:
    """Did-you-mean hint, preferring a case-insensitive exact match."""
    choices = list(choices)
    folded = [c for c in choices if c.casefold() == name.casefold()]
    return f" (did you mean {folded[0]!r}?)" if folded else did_you_mean(name, choices)


# --- combining problems -----------------------------------------------------------------------


def gather(
    value: Any,
    handler: Callable[[Any], Any],
    extra: list[InitErrorDetails],
    *,
    first: bool = True,
) -> Any:
    """Run `handler(value)`; raise its errors and `extra` together (`extra` first or last), if any."""
    try:
        result = handler(value)
    except ValidationError as exc:
        if not extra:
            raise
        errors = [*extra, *_details(exc)] if first else [*_details(exc), *extra]
        raise ValidationError.from_exception_data(exc.title, errors) from None
    if extra:
        raise ValidationError.from_exception_data("DomainConfig", extra)
    return result


def _details(exc: ValidationError) -> list[InitErrorDetails]:
    out: list[InitErrorDetails] = []
    for err in exc.errors(include_url=False):
        ctx = err.get("ctx")
        kind: Any = err["type"]
        if kind == ERROR_TYPE and ctx is not None:
            kind, ctx = PydanticCustomError(ERROR_TYPE, "{m}", {"m": ctx["m"]}), None
        item: InitErrorDetails = {"type": kind, "loc": err["loc"], "input": err.get("input")}
        if ctx is not None:
            item["ctx"] = ctx
        out.append(item)
    return out


# --- translation into Problems ----------------------------------------------------------------

_TYPE_MESSAGES = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "finite_number": "must be a finite number",
}


def path(loc: Sequence[str | int]) -> str:
    """The JSON path of a pydantic error location.

    >>> path(("RuleBasedMatching", "MatchingRules", 2, "Rule", 0))
    'RuleBasedMatching.MatchingRules[2].Rule[0]'
    >>> path(("Tags", "aws:team"))
    "Tags['aws:team']"
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def translate(exc: ValidationError, root: type[BaseModel], source: str | None) -> list[Problem]:
    """One :class:`Problem` per error of `exc`, in our words, located by JSON path under `root`."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p != "[key]")
        kind = err["type"]
        value = err.get("input")
        if kind == ERROR_TYPE:
            message = err.get("ctx", {}).get("m", err["msg"])
        elif kind == "missing":
            message = "required member is missing"
        elif kind == "extra_forbidden":
            allowed = members_at(root, loc[:-1])
            name = str(loc[-1])
            hint = close_hint(name, allowed)
            listing = "" if hint else f"; members here: {', '.join(allowed)}"
            message = f"unknown member{hint}{listing} (got {name!r})"
        elif kind in _TYPE_MESSAGES:
            what = "tag key " if "[key]" in err["loc"] else ""
            message = f"{what}{_TYPE_MESSAGES[kind]} (got {show(value)})"
        else:  # a pydantic check we did not anticipate: still our format, never pydantic's text
            message = f"invalid value ({kind}) (got {show(value)})"
        problems.append(Problem(source, path(loc), message))
    return problems


def members_at(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Member names of the structure found at `loc` under `root` ([] when there is none)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside `annotation` (through Optional, tuple and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
