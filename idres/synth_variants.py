"""How a value of the synthetic profile generator can be written: Polars expressions for variants.

Typos (:func:`typo`), case (:func:`recase`) and spacing (:func:`respace`) variants, phone layouts
(:data:`PHONE_FORMATS`, :func:`format_phone`), e-mail local parts (:data:`EMAIL_PATTERNS`,
:func:`email_local`) and street lines (:func:`street_line`). Each works on a whole column, with a
per-row choice given as a Series or an array (the generator :mod:`idres.synth` draws the choices).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

#: Phone layouts as (prefix, separator after the area code, separator after the exchange).
PHONE_FORMATS: Final = (
    ("", "", ""),  # 6175550100
    ("", "-", "-"),  # 617-555-0100
    ("(", ") ", "-"),  # (617) 555-0100
    ("", ".", "."),  # 617.555.0100
    ("+1 ", " ", " "),  # +1 617 555 0100
    ("+1-", "-", "-"),  # +1-617-555-0100
    ("+1", "", ""),  # +16175550100 (E.164)
    ("1-", "-", "-"),  # 1-617-555-0100
    ("", " ", " "),  # 617 555 0100
)
#: E-mail local parts as (first piece, separator, second piece, number); pieces: f first name,
#: i its initial, l last name, j its initial; numbers: n2 two digits, n3 three, y "19" + n2.
EMAIL_PATTERNS: Final = (
    ("f", ".", "l", ""),
    ("f", "", "l", ""),
    ("i", "", "l", ""),
    ("f", "_", "l", ""),
    ("f", ".", "l", "n2"),
    ("f", "", "j", "n3"),
    ("l", ".", "f", ""),
    ("f", "", "", "y"),
)
EMAIL_PATTERN_WEIGHTS: Final = (0.3, 0.15, 0.15, 0.05, 0.1, 0.1, 0.05, 0.1)


def typo(col: pl.Expr, kind: pl.Series, pos: pl.Series, char: pl.Series) -> pl.Expr:
    """One typo per row: kind 0 inserts `char`, 1 deletes, 2 substitutes `char`, 3 transposes.

    `pos` in [0, 1) is scaled to the value's length; values shorter than 3 are left alone.

    >>> s = pl.Series
    >>> pl.select(typo(pl.lit("william"), s([3]), s([0.0]), s(["x"]))).item()
    'iwlliam'
    """
    n = col.str.len_chars()
    at = (pl.lit(pos) * (n - 1)).floor().cast(pl.Int64)
    head, k, c = col.str.slice(0, at), pl.lit(kind), pl.lit(char)
    changed = (
        pl.when(k == 0)
        .then(head + c + col.str.slice(at))
        .when(k == 1)
        .then(head + col.str.slice(at + 1))
        .when(k == 2)
        .then(head + c + col.str.slice(at + 1))
        .otherwise(head + col.str.slice(at + 1, 1) + col.str.slice(at, 1) + col.str.slice(at + 2))
    )
    return pl.when(n >= 3).then(changed).otherwise(col)


def recase(col: pl.Expr, style: pl.Series) -> pl.Expr:
    """Style 1: upper case, 2: lower case, 3: title case, else unchanged.

    >>> pl.select(recase(pl.lit("McDonald"), pl.Series([1]))).item()
    'MCDONALD'
    """
    s = pl.lit(style)
    return (
        pl.when(s == 1)
        .then(col.str.to_uppercase())
        .when(s == 2)
        .then(col.str.to_lowercase())
        .when(s == 3)
        .then(col.str.to_titlecase())
        .otherwise(col)
    )


def respace(col: pl.Expr, kind: pl.Series) -> pl.Expr:
    """Kind 1: leading space, 2: trailing space, 3: an inner space doubled (else two trailing).

    >>> pl.select(respace(pl.lit("Main St"), pl.Series([3]))).item()
    'Main  St'
    """
    k = pl.lit(kind)
    doubled = (
        pl.when(col.str.contains(" ", literal=True))
        .then(col.str.replace(" ", "  ", literal=True))
        .otherwise(col + pl.lit("  "))
    )
    return (
        pl.when(k == 1)
        .then(pl.lit(" ") + col)
        .when(k == 2)
        .then(col + pl.lit(" "))
        .when(k == 3)
        .then(doubled)
        .otherwise(col)
    )


def format_phone(digits: pl.Expr, fmt: np.ndarray) -> pl.Expr:
    """Lay out 10-digit `digits` in the :data:`PHONE_FORMATS` entry `fmt` of each row.

    >>> pl.select(format_phone(pl.lit("6175550100"), np.array([2]))).item()
    '(617) 555-0100'
    """
    pre, sep1, sep2 = (
        pl.lit(pl.Series(list(p)).gather(fmt)) for p in zip(*PHONE_FORMATS, strict=True)
    )
    a, b, c = digits.str.slice(0, 3), digits.str.slice(3, 3), digits.str.slice(6, 4)
    return pl.concat_str([pre, a, sep1, b, sep2, c])


def email_local(
    first: pl.Expr, last: pl.Expr, n2: pl.Expr, n3: pl.Expr, pattern: np.ndarray
) -> pl.Expr:
    """The local part of an e-mail from a name, in the :data:`EMAIL_PATTERNS` entry `pattern`.

    `first` and `last` should already be lower-case ``a..z`` (see :func:`slug`).

    >>> pl.select(email_local(pl.lit("mary"), pl.lit("obrien"), pl.lit("7"), pl.lit("1"), np.array([2]))).item()
    'mobrien'
    """
    piece = {"f": first, "i": first.str.slice(0, 1), "l": last, "j": last.str.slice(0, 1)}
    piece |= {"n2": n2, "n3": n3, "y": pl.lit("19") + n2}
    out = []
    for i, column in enumerate(zip(*EMAIL_PATTERNS, strict=True)):
        tokens = sorted(set(column))
        code = pl.lit(pl.Series([tokens.index(t) for t in column]).gather(pattern))
        expr = pl.lit("")
        for j, t in enumerate(tokens):
            if t:
                expr = pl.when(code == j).then(piece[t] if i != 1 else pl.lit(t)).otherwise(expr)
        out.append(expr)
    return pl.concat_str(out)


def slug(col: pl.Expr) -> pl.Expr:
    """Lower case, letters ``a..z`` only: the form names take in e-mail addresses and domains.

    >>> pl.select(slug(pl.lit("O'Brien-Smith"))).item()
    'obriensmith'
    """
    return col.str.to_lowercase().str.replace_all("[^a-z]", "")


def street_line(
    num: pl.Expr,
    direction: tuple[pl.Expr, pl.Expr],
    street: pl.Expr,
    suffix: tuple[pl.Expr, pl.Expr],
    abbreviate: pl.Expr,
) -> pl.Expr:
    """``<number> [<direction>] <street> <suffix>``; (full, short) forms chosen by `abbreviate`.

    A null direction is left out.

    >>> e = lambda *v: tuple(pl.lit(x) for x in v)
    >>> line = street_line(pl.lit("12"), e("North", "N"), pl.lit("Main"), e("Street", "St"), pl.lit(True))
    >>> pl.select(line).item()
    '12 N Main St'
    """
    d = pl.when(abbreviate).then(direction[1]).otherwise(direction[0])
    s = pl.when(abbreviate).then(suffix[1]).otherwise(suffix[0])
    return pl.concat_str([num, d, street, s], separator=" ", ignore_nulls=True)
