"""Stage timings: how long each step of a job took, for ``timings.json`` and the benchmarks.

Every job keeps a ``dict`` of seconds by step name; a step that runs twice adds up. The rule-based
merge runs in a thread and records into the same dict (distinct names, so no lock is needed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

__all__ = ["timed", "timed_call"]


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall time the block takes to ``timings[name]`` (also when it raises).

    >>> t: dict[str, float] = {}
    >>> with timed(t, "step"):
    ...     pass
    >>> list(t), t["step"] >= 0
    (['step'], True)
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def timed_call(timings: dict[str, float], name: str, step: Callable[[], T]) -> T:
    """``step()``, its wall time added to ``timings[name]``.

    >>> t: dict[str, float] = {}
    >>> timed_call(t, "add", lambda: 1 + 1), "add" in t
    (2, True)
    """
    with timed(timings, name):
        return step()
