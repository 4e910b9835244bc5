"""Stage timings (idres/timings.py): steps add up, a failing step is still timed."""

from __future__ import annotations

import pytest

from idres.timings import timed, timed_call


def test_a_step_run_twice_adds_up():
    timings: dict[str, float] = {"step": 1.0}
    assert timed_call(timings, "step", lambda: "done") == "done"
    assert timings["step"] >= 1.0


def test_a_failing_step_is_timed_and_its_error_kept():
    timings: dict[str, float] = {}
    with pytest.raises(ValueError, match="boom"), timed(timings, "bad"):
        raise ValueError("boom")
    assert set(timings) == {"bad"}
