"""The wide first merge writes exactly what the long-row merge (idres.merge) writes."""

from __future__ import annotations

import datetime as dt
import random
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idres import merge_wide as merge_wide_module
from idres.merge_long import merge_profiles
from idres.merge_plan import merge_plan_lines, merged_json_lines
from idres.merge_wide import first_holding, merge_wide
from idres.profiles import canonicalize

VALUES = ["Ann", "ann", "Bo", " ", "", None, None, 'say "hi"\\', "Åsa", "tab\there\x01"]
SOURCES = ["crm", "web", None]
DAYS = [1, 2, 2, 3, None]
COLUMNS = [
    "FirstName",
    "PartyType",
    "PartyTypeString",
    "Gender",
    "GenderString",
    "Address.City",
    "Address.PostalCode",
    "ShippingAddress.City",
    "Attributes.Tier",
    "Attributes.b",
]


@st.composite
def tables(draw: st.DrawFn) -> tuple[pl.DataFrame, np.ndarray]:
    sizes = draw(st.lists(st.integers(2, 24), min_size=1, max_size=4))
    n = sum(sizes)
    labels = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)
    order = draw(st.permutations(list(range(n))))
    rows = {c: [draw(st.sampled_from(VALUES)) for _ in range(n)] for c in COLUMNS}
    days = [draw(st.sampled_from(DAYS)) for _ in range(n)]
    frame = pl.DataFrame(
        {
            "ProfileId": [f"p{i:03d}" for i in range(n)],
            **rows,
            "SourceObjectType": [draw(st.sampled_from(SOURCES)) for _ in range(n)],
            "LastUpdatedAt": [
                None if d is None else dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in days
            ],
            "EntityId": [f"e{i}" for i in range(n)],
        },
        schema_overrides={c: pl.String for c in COLUMNS},
    )
    return frame, labels[np.array(order)]


def _long(frame: pl.DataFrame, labels: np.ndarray, resolution: object) -> tuple:
    groups = pl.DataFrame({"ProfileId": frame["ProfileId"], "MergeGroupId": labels})
    out = merge_profiles(frame, groups, resolution=resolution, domain_name="demo")  # type: ignore[arg-type]
    return (
        out.merged,
        out.field_sources.get_column("FieldSourceProfileIds"),
        merged_json_lines(out),
        merge_plan_lines(out, domain_name="demo"),
    )


@pytest.mark.parametrize("model", ["RECENCY", "SOURCE"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables())
def test_wide_merge_equals_the_long_merge(model: str, table: tuple) -> None:
    frame, labels = table
    frame = canonicalize(frame)  # sorted by ProfileId; labels follow the p-numbers
    resolution = SimpleNamespace(ConflictResolvingModel=model, SourceName="crm")
    wide = merge_wide(frame, labels, resolution=resolution, domain_name="demo")
    merged, sources, lines, plan = _long(frame, labels, resolution)
    assert wide.merged.equals(merged)
    assert wide.field_sources().equals(sources, check_names=False)
    assert pl.concat(list(wide.json_lines())).to_list() == lines.to_list()
    assert pl.concat(list(wide.plan_lines())).to_list() == plan.to_list()
    # Both at once (FieldSourceProfileIds built once per chunk and shared): the same bytes.
    both = list(wide.texts())
    assert [x for p, _ in both for x in p.to_list()] == lines.to_list()
    assert [x for _, r in both for x in r.to_list()] == plan.to_list()
    assert wide.plan == [__import__("json").loads(s) for s in plan.to_list()]


@pytest.mark.parametrize("model", ["RECENCY", "SOURCE"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), data=st.data())
def test_a_scan_read_in_column_batches_merges_the_same(model: str, table: tuple, data) -> None:
    """Members read from a scan of a larger table, in any row order, three columns at a time."""
    frame, labels = table
    frame = canonicalize(frame)
    resolution = SimpleNamespace(ConflictResolvingModel=model, SourceName="crm")
    wide = merge_wide(frame, labels, resolution=resolution, domain_name="demo")
    others = frame.with_columns(pl.col("ProfileId") + "x")
    everything = pl.concat([frame, others])
    order = np.array(data.draw(st.permutations(list(range(everything.height)))))
    shuffled = everything[order]
    rows = np.argsort(order)[: frame.height]  # where each member landed, in ProfileId order
    narrow, merge_wide_module._BATCH_COLUMNS = merge_wide_module._BATCH_COLUMNS, 3
    try:
        scanned = merge_wide(
            shuffled.lazy(), labels, rows=rows, resolution=resolution, domain_name="demo"
        )
    finally:
        merge_wide_module._BATCH_COLUMNS = narrow
    assert scanned.merged.equals(wide.merged)
    assert scanned.big_rows.equals(wide.big_rows)
    assert _texts(scanned) == _texts(wide)


def test_first_holding_per_run() -> None:
    holds = np.array([False, False, True, True, False, True])
    assert first_holding(holds, np.array([0, 3, 4]), np.array([3, 4, 6])).tolist() == [2, 3, 5]
    assert first_holding(np.zeros(3, bool), np.array([0]), np.array([3])).tolist() == [-1]
    assert first_holding(np.zeros(0, bool), np.zeros(0, int), np.zeros(0, int)).size == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), max_size=12), st.randoms())
def test_first_holding_is_the_first_true_of_each_run(
    shape: list[tuple[int, int]], rnd: random.Random
) -> None:
    """Runs with gaps between them (gap, length) against the obvious loop."""
    starts, ends, at = [], [], 0
    for gap, length in shape:
        starts.append(at + gap)
        ends.append(at + gap + length)
        at += gap + length
    holds = np.array([rnd.random() < 0.4 for _ in range(at + rnd.randint(0, 2))], dtype=bool)
    expected = [
        next((i for i in range(a, b) if holds[i]), -1) for a, b in zip(starts, ends, strict=True)
    ]
    got = first_holding(holds, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64))
    assert got.tolist() == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([-5, 0, 3, 7, 10**9]), st.sampled_from([None, 1, 2, 3])),
        max_size=30,
    )
)
def test_survivors_are_the_earliest_record_then_the_smallest_row(rows: list[tuple]) -> None:
    """Against the obvious loop: labels sparse or negative, null timestamps (oldest), ties."""
    labels = np.array([g for g, _ in rows], dtype=np.int64)
    never = np.iinfo(np.int64).min  # a null timestamp, as merge_wide fills it
    epoch = np.array([never if e is None else e for _, e in rows], dtype=np.int64)
    code, survivors = merge_wide_module._survivors(labels, epoch)
    best = {}
    for i, (g, e) in enumerate(zip(labels.tolist(), epoch.tolist(), strict=True)):
        if g not in best or (e, i) < best[g]:
            best[g] = (e, i)
    expected = sorted(i for _, i in best.values())
    assert survivors.tolist() == expected
    assert [expected[c] for c in code.tolist()] == [best[g][1] for g in labels.tolist()]


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param(np.array([2**63 + 5, 2**63 + 1, 2**63 + 5], dtype=np.uint64), id="uint64"),
        pytest.param(np.array([3, 1, 3], dtype=np.uint32), id="uint32"),
        pytest.param(np.array([-(2**62), 2**62, -(2**62)]), id="int64-wide"),
    ],
)
def test_survivors_of_labels_of_any_integer_type(labels: np.ndarray) -> None:
    code, survivors = merge_wide_module._survivors(labels, np.array([1, 1, 0]))
    assert code.tolist() == [1, 0, 1]
    assert survivors.tolist() == [1, 2]


def _texts(merge) -> list[tuple[list[str], list[str]]]:
    return [(p.to_list(), r.to_list()) for p, r in merge.texts()]


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_reader_returns_members_in_the_order_of_their_rows(data) -> None:
    """_Reader on a scan: the members' rows (any order), whole or a subset, in member order."""
    n = data.draw(st.integers(1, 30))
    frame = pl.DataFrame({"ProfileId": [f"p{i:02d}" for i in range(n)], "v": list(range(n))})
    rows = np.array(data.draw(st.permutations(list(range(n))))[: data.draw(st.integers(1, n))])
    read = merge_wide_module._Reader(frame.lazy(), rows)
    assert read(["v"]).get_column("v").to_list() == rows.tolist()
    subset = np.array([data.draw(st.booleans()) for _ in range(rows.size)])
    assert read(["v"], subset).get_column("v").to_list() == rows[subset].tolist()


def test_a_group_with_no_field_values_has_no_sources_in_its_request() -> None:
    """p1+p2 hold nothing to keep: their request has no FieldSourceProfileIds (their merged
    profile shows ``{}``), while p3+p4's does; texts() built together equal the long path's."""
    frame = canonicalize(
        pl.DataFrame(
            {
                "ProfileId": ["p1", "p2", "p3", "p4"],
                "FirstName": [None, " ", "Ann", "Anne"],
                "LastUpdatedAt": ["2024-01-01T00:00:00Z", None, "2024-02-01T00:00:00Z", None],
            }
        )
    )
    labels = np.array([0, 0, 1, 1])
    wide = merge_wide(frame, labels, domain_name="demo")
    _, _, lines, plan = _long(frame, labels, None)
    both = list(wide.texts())
    assert [x for p, _ in both for x in p.to_list()] == lines.to_list()
    requests = [x for _, r in both for x in r.to_list()]
    assert requests == plan.to_list()
    assert ["FieldSourceProfileIds" in r for r in requests] == [False, True]
    assert '"FieldSourceProfileIds":{}' in lines[0]


def test_profile_ids_and_values_needing_escapes_are_escaped() -> None:
    # Quotes, backslashes and control characters beside plain values: the same bytes as the long
    # path, ProfileIds (profile lines and requests) included.
    frame = canonicalize(
        pl.DataFrame(
            {
                "ProfileId": ['a"1', "a\\2", "b1", "b2"],
                "FirstName": ["Ann", "Ann", 'Bo "B"', "Bo"],
                "LastName": ["Lee", "Lee", "Ray", "Ray"],
                "Attributes.Note": ["x\ty", None, "plain", None],
                "LastUpdatedAt": [dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 2, 4, 3)],
            }
        )
    )
    labels = np.array([0, 0, 1, 1])
    resolution = SimpleNamespace(ConflictResolvingModel="RECENCY", SourceName=None)
    wide = merge_wide(frame, labels, resolution=resolution, domain_name="demo")
    _, _, lines, plan = _long(frame, labels, resolution)
    assert pl.concat(list(wide.json_lines())).to_list() == lines.to_list()
    assert pl.concat(list(wide.plan_lines())).to_list() == plan.to_list()
    assert '"a\\"1"' in lines.item(0)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_first_holding_through_rows_is_the_first_row_holding(data) -> None:
    """With `rows`, runs are of positions in rows and the answer is the row itself."""
    n = data.draw(st.integers(0, 20))
    rows = np.array(data.draw(st.permutations(list(range(n)))), dtype=np.int64)
    holds = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, n), max_size=6))) | {0, n})
    starts, ends = np.array(cuts[:-1], dtype=np.int64), np.array(cuts[1:], dtype=np.int64)
    expected = [
        next((int(r) for r in rows[a:b] if holds[r]), -1) for a, b in zip(starts, ends, strict=True)
    ]
    assert first_holding(holds, starts, ends, rows).tolist() == expected
