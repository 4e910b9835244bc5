"""Stage work in threads: Polars and numpy release the GIL, so on two cores one step can run beside
another (the rule-based merge beside the other outputs; reading a column batch, or building a
chunk's text, beside the consumer of the previous one)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

A = TypeVar("A")
T = TypeVar("T")

__all__ = ["in_background", "in_order"]


def in_background(work: Callable[[], T], *, name: str) -> Future[T]:
    """Run `work` in a daemon thread; its Future holds the result or the exception.

    A daemon thread, not an executor's: an interrupted run (Ctrl-C while the other files are
    written) exits at once instead of waiting at exit for a merge nobody will read.

    >>> in_background(lambda: 6 * 7, name="demo").result()
    42
    """
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except Exception as exc:  # handed to whoever reads the Future
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def in_order(items: Iterable[A], make: Callable[[A], T], *, workers: int = 2) -> Iterator[T]:
    """`make` of each item in `workers` threads, yielded in order; the next item is started
    before the current one is yielded, so it is made while the caller uses this one (at most two
    items in flight: memory stays bounded).

    >>> list(in_order(range(5), lambda x: x * x, workers=1))
    [0, 1, 4, 9, 16]
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="idres") as pool:
        pending: deque[Future[T]] = deque()
        for item in items:
            pending.append(pool.submit(make, item))
            if len(pending) == 2:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
