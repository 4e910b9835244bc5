"""Where a problem in a profile file is: line, array index or row, and how many problems to show.

Each input form numbers its records the way a person reading that file would look for them:

- JSON Lines: ``line N`` (the physical line, 1-based; blank lines count);
- a JSON array: ``[i]`` (0-based, like a JSON path); the search-profiles response: ``Items[i]``;
- CSV: ``row N`` as a spreadsheet numbers it (the header is row 1, the first profile row 2);
- Parquet and in-memory frames: ``row N``, the 0-based row index (``frame[N]``).

A column is added after the record: ``line 3, Address.City``, ``[2].Address.City``,
``row 5, column Address.City``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from idres.errors import Problem

#: Most problems reported for one file; the rest are counted in one closing line.
MAX_PROBLEMS = 20
#: Most problems kept in memory for one file (a file broken on every line is only counted past it).
MAX_KEPT = 1000
#: Most duplicated ProfileIds named one by one.
MAX_DUPLICATES = 10
#: Most other places listed for one duplicated ProfileId.
MAX_PLACES = 5


@dataclass(frozen=True)
class Locator:
    """Turn a 0-based record number (and a column) into the location text of a :class:`Problem`.

    >>> Locator("row", first=2)(0, "FirstName")
    'row 2, column FirstName'
    >>> Locator("index", prefix="Items")(3, "Address.City")
    'Items[3].Address.City'
    >>> Locator("line", lines=lambda: np.array([1, 3]))(1)
    'line 3'
    """

    style: Literal["line", "index", "row"]
    prefix: str = ""
    first: int = 0
    #: For JSON Lines: returns the physical line number of each record (computed only when needed).
    lines: Callable[[], npt.NDArray[np.int64]] | None = None
    _cache: dict[str, npt.NDArray[np.int64]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def record(self, record: int) -> str:
        """Location of a whole record."""
        if self.style == "line":
            return f"line {self._line(record)}"
        if self.style == "index":
            return f"{self.prefix}[{record}]"
        return f"row {record + self.first}"

    def __call__(self, record: int, column: str | None = None) -> str:
        base = self.record(record)
        if not column:
            return base
        if self.style == "index":
            return f"{base}.{column}"
        if self.style == "line":
            return f"{base}, {column}"
        return f"{base}, column {column}"

    def many(self, records: Sequence[int], *, limit: int = MAX_PLACES) -> str:
        """Several record locations: ``lines 3, 7 and 2 more``.

        >>> Locator("row", first=2).many([0, 5, 9], limit=2)
        'rows 2, 7 and 1 more'
        """
        shown = [self.record(r).split(" ", 1)[-1] for r in records[:limit]]
        rest = len(records) - len(shown)
        words = {"line": "lines ", "row": "rows ", "index": ""}
        text = words[self.style] + ", ".join(shown)
        return text + (f" and {rest} more" if rest > 0 else "")

    def _line(self, record: int) -> int:
        if self.lines is None:
            return record + 1
        if "lines" not in self._cache:
            self._cache["lines"] = self.lines()
        return int(self._cache["lines"][record])


def nonblank_lines(data: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end byte offsets of each line of `data` holding something besides whitespace.

    The i-th entry is the i-th JSON Lines record (Polars skips blank lines the same way).

    >>> starts, ends = nonblank_lines(b'{"a":1}\\n\\n  \\n{"b":2}\\n')
    >>> starts.tolist(), ends.tolist()
    ([0, 12], [7, 19])
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
    ends = np.concatenate([newlines, [buf.size]]).astype(np.int64)
    blank = np.zeros(256, dtype=bool)
    blank[list(b" \t\r\n")] = True
    content = ~blank[buf]
    # Count non-blank bytes per line; a sentinel keeps the last (possibly empty) segment apart.
    padded = np.concatenate([content, [False]])
    counts = np.add.reduceat(padded, np.minimum(starts, buf.size), dtype=np.int64)
    counts[starts >= buf.size] = 0
    keep = counts > 0
    return starts[keep], ends[keep]


def line_numbers(data: bytes) -> npt.NDArray[np.int64]:
    """1-based physical line number of each non-blank line of `data`.

    >>> line_numbers(b'{"a":1}\\n\\n{"b":2}').tolist()
    [1, 3]
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, _ = nonblank_lines(data)
    newlines = np.flatnonzero(buf == 10)
    return np.searchsorted(newlines, starts, side="left").astype(np.int64) + 1


def capped(
    problems: Sequence[Problem], file: str | None, *, hidden: int = 0, limit: int = MAX_PROBLEMS
) -> list[Problem]:
    """At most `limit` problems, then one line counting the rest (and `hidden` ones never listed).

    >>> [str(p) for p in capped([Problem("f", "row 1", "bad")] * 3, "f", limit=2)][-1]
    'f: and 1 more problem'
    """
    rest = max(len(problems) - limit, 0) + hidden
    if rest == 0:
        return list(problems)
    return [*problems[:limit], Problem(file, "", f"and {rest} more problem{'s' * (rest != 1)}")]


@dataclass
class Report:
    """Problems found in one input so far, plus a count of those not worth listing one by one.

    >>> report = Report("p.csv")
    >>> report.add("row 2, column ProfileId", "missing")
    >>> report.hidden += 4
    >>> [str(p) for p in report.capped()]
    ['p.csv: row 2, column ProfileId: missing', 'p.csv: and 4 more problems']
    """

    file: str
    items: list[Problem] = field(default_factory=list)
    hidden: int = 0

    def add(self, location: str, message: str) -> None:
        """Record one problem at `location` (past MAX_KEPT problems, only count it)."""
        if len(self.items) < MAX_KEPT:
            self.items.append(Problem(self.file, location, message))
        else:
            self.hidden += 1

    def __bool__(self) -> bool:
        return bool(self.items) or self.hidden > 0

    def capped(self) -> list[Problem]:
        """The problems to show: at most MAX_PROBLEMS, then one line counting the rest."""
        return capped(self.items, self.file, hidden=self.hidden)


def shorten(value: object, width: int = 60) -> str:
    """``repr`` of `value`, cut to about `width` characters.

    >>> shorten("x" * 100, 10)
    "'xxxxxxxx…"
    """
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
