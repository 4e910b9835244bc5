"""Stage work in threads (idres/threads.py): order kept, errors handed on, daemon merge thread."""

from __future__ import annotations

import threading
import time

import pytest

from idres.threads import in_background, in_order


@pytest.mark.parametrize("workers", [1, 2])
def test_in_order_yields_in_order_whatever_finishes_first(workers):
    def make(x: int) -> int:
        time.sleep(0.02 * (5 - x))  # later items finish sooner
        return x

    assert list(in_order(range(5), make, workers=workers)) == [0, 1, 2, 3, 4]


def test_in_order_makes_the_next_item_while_this_one_is_used():
    started: list[int] = []

    def make(x: int) -> int:
        started.append(x)
        return x

    items = in_order(range(3), make, workers=1)
    assert next(items) == 0
    time.sleep(0.05)
    assert started == [0, 1]  # the second was made while the first was in use, not the third


def test_in_order_hands_on_an_error():
    def make(x: int) -> int:
        if x == 1:
            raise ValueError("bad item")
        return x

    with pytest.raises(ValueError, match="bad item"):
        list(in_order(range(3), make))


def test_in_background_runs_in_a_daemon_thread_and_keeps_the_error():
    seen: list[bool] = []
    ok = in_background(lambda: seen.append(threading.current_thread().daemon) or "done", name="t")
    assert ok.result() == "done" and seen == [True]
    failed = in_background(lambda: 1 / 0, name="t")
    with pytest.raises(ZeroDivisionError):
        failed.result()
