"""Value codes of rule attributes: equal codes exactly when normalized values are equal."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.normalize import normalize
from idres.rule_codes import _raw_groups, code_attribute, group_equal

EMAILS = ["a@x.com", "A@X.com ", " a@x.com", "b@x.com", "B@x.COM", "c@y.org", "", "  ", None]
COLUMNS = ["EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress"]


def _frame(data: list[list[str | None]], width: int) -> pl.DataFrame:
    return pl.DataFrame(
        {c: [row[j] for row in data] for j, c in enumerate(COLUMNS[:width])},
        schema={c: pl.String for c in COLUMNS[:width]},
    )


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(1, 3),
    data=st.lists(st.lists(st.sampled_from(EMAILS), min_size=3, max_size=3), max_size=40),
)
def test_codes_follow_normalized_equality(width: int, data: list[list[str | None]]) -> None:
    frame = _frame(data, width)
    targets = [f"_n.{c}" for c in COLUMNS[:width]]
    coded = code_attribute(frame, targets)
    normalized = normalize(frame, columns=COLUMNS[:width])
    values = {t: normalized.get_column(t).to_list() for t in targets}
    cells = [(t, r) for t in targets for r in range(frame.height)]
    for t, r in cells:
        value, code = values[t][r], int(coded.codes[t][r])
        if value is None:
            assert code == coded.size and coded.held[t][r] == 0
            continue
        assert coded.text(np.array([code])).item() == value
        holders = {r2 for t2 in targets for r2 in range(frame.height) if values[t2][r2] == value}
        assert coded.held[t][r] == len(holders) == coded.profiles[code]
    distinct = {v for t in targets for v in values[t] if v is not None}
    assert coded.size == len(distinct)


def test_repetitive_columns_normalize_distinct_values_only() -> None:
    # 2,000 rows of three spellings: the raw-grouping path, same answer as the direct one.
    frame = pl.DataFrame({"LastName": ["Smith", " SMITH", "Jones"] * 700})
    coded = code_attribute(frame, ["_n.LastName"])
    codes = coded.codes["_n.LastName"]
    assert coded.size == 2 and codes[0] == codes[1] != codes[2]
    assert coded.held["_n.LastName"][:3].tolist() == [1400, 1400, 700]
    assert sorted(coded.text(np.arange(2)).to_list()) == ["jones", "smith"]


def test_address_line_codes_come_from_all_its_parts() -> None:
    frame = pl.DataFrame(
        {
            "Address.Address1": ["1 Main St", "1 main st.", "1 Main St", None],
            "Address.Address2": ["Apt 2", "APT 2", None, None],
        }
    )
    codes = code_attribute(frame, ["_n.Address.Address"]).codes["_n.Address.Address"]
    assert codes[0] == codes[1] != codes[2]
    assert codes[3] == 2  # missing: the code one past the last


def test_fingerprint_collisions_on_the_sorted_bits_are_told_apart() -> None:
    # Entries 0 and 2 share every bit of the first hash but not the second: different values.
    h1 = np.array([5, 9, 5, 9, 5], dtype=np.uint64)
    h2 = np.array([1, 3, 2, 3, 1], dtype=np.uint64)
    code, first = group_equal(h1, h2)
    assert code[0] == code[4] != code[2]
    assert code[1] == code[3]
    assert len(set(code.tolist())) == 3 == first.size
    # Top bits equal, low bits differ (the low bits carry positions in the sort).
    big = np.array([1 << 40, (1 << 40) + 1, 1 << 40], dtype=np.uint64)
    code, _ = group_equal(big, np.array([7, 8, 7], dtype=np.uint64))
    assert code[0] == code[2] != code[1]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(["", " ", "Smith", "smith", "Ä", "x" * 20])),
        max_size=60,
    )
)
def test_few_values_coded_through_an_enum_as_through_fingerprints(values: list[str | None]) -> None:
    frame = pl.DataFrame({"LastName": values}, schema={"LastName": pl.String})
    rows, code, chosen = _raw_groups(frame, ["LastName"], few=True)
    rows2, code2, chosen2 = _raw_groups(frame, ["LastName"], few=False)
    assert rows.tolist() == rows2.tolist()
    assert code.dtype == code2.dtype == np.uint32 and code.tolist() == code2.tolist()
    assert chosen.tolist() == chosen2.tolist()
