"""The rule-based job end to end: invariants (hypothesis), merging, determinism of written files."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.config import parse_domain
from idres.ids import match_id
from idres.pipeline import preview
from idres.profiles import canonicalize
from idres.results import write_results
from idres.rulebased import RuleBasedOptions, assign_groups, merge_labels, run_rule_based

CONFIG = parse_domain(
    {
        "DomainName": "props",
        "RuleBasedMatching": {
            "Enabled": True,
            "MatchingRules": [
                {"Rule": ["EmailAddress", "LastName"]},
                {"Rule": ["PhoneNumber"]},
                {"Rule": ["FirstName", "LastName"]},
            ],
            "MaxAllowedRuleLevelForMerging": 2,
            "AttributeTypesSelector": {
                "AttributeMatchingModel": "MANY_TO_MANY",
                "EmailAddress": ["EmailAddress", "BusinessEmailAddress"],
                "PhoneNumber": ["PhoneNumber", "MobilePhoneNumber"],
            },
            "ConflictResolution": {"ConflictResolvingModel": "RECENCY"},
        },
    }
)

small = st.sampled_from(["a", "b", "c", None])


@st.composite
def profile_tables(draw) -> pl.DataFrame:
    n = draw(st.integers(min_value=1, max_value=25))
    base = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        rows.append(
            {
                "ProfileId": f"id{i:03d}",
                "EmailAddress": draw(small),
                "BusinessEmailAddress": draw(small),
                "LastName": draw(small),
                "FirstName": draw(small),
                "PhoneNumber": draw(st.sampled_from(["5550100000", "+1 555 010 0001", None])),
                "MobilePhoneNumber": draw(st.sampled_from(["(555) 010-0000", None])),
                "LastUpdatedAt": base + timedelta(days=draw(st.integers(0, 5))),
            }
        )
    return pl.DataFrame(rows)


def _groups(frame: pl.DataFrame) -> set[tuple[frozenset[str], int, str | None]]:
    result = run_rule_based(canonicalize(frame), CONFIG.RuleBasedMatching)
    merge = result.groups.group_by("MergeGroupId").agg(pl.col("ProfileId"))
    merges = {frozenset(r[1]) for r in merge.iter_rows() if r[0] is not None}
    g = result.groups.group_by("MatchId").agg(pl.col("ProfileId"), pl.col("RuleLevel").first())
    return {(frozenset(r[1]), r[2], None) for r in g.iter_rows()} | {
        (m, 0, "merge") for m in merges
    }


@settings(max_examples=40, deadline=None)
@given(profile_tables(), st.randoms(use_true_random=False))
def test_shuffling_rows_changes_no_group(frame, rnd):
    order = list(range(frame.height))
    rnd.shuffle(order)
    assert _groups(frame) == _groups(frame[order])


@settings(max_examples=30, deadline=None)
@given(profile_tables(), st.randoms(use_true_random=False))
def test_a_shuffled_scan_merges_as_the_sorted_table(frame, rnd):
    """A LazyFrame in any row order (read a batch of columns at a time) gives the same files."""
    table = canonicalize(frame)
    order = list(range(table.height))
    rnd.shuffle(order)
    sorted_run = run_rule_based(table, CONFIG.RuleBasedMatching)
    scan_run = run_rule_based(table[order].lazy(), CONFIG.RuleBasedMatching)
    assert scan_run.groups.equals(sorted_run.groups)
    if sorted_run.merge is None:
        assert scan_run.merge is None
        return
    assert scan_run.merge.merged.equals(sorted_run.merge.merged)
    assert _texts(scan_run.merge) == _texts(sorted_run.merge)


@settings(max_examples=40, deadline=None)
@given(profile_tables())
def test_every_profile_accounted_for_once(frame):
    table = canonicalize(frame)
    result = run_rule_based(table, CONFIG.RuleBasedMatching)
    ids = set(table.get_column("ProfileId"))
    grouped = result.groups.get_column("ProfileId")
    assert grouped.is_unique().all() and set(grouped) <= ids
    absorbed: set[str] = set()
    survivors: set[str] = set()
    if result.merge is not None:
        merged = result.merge.merged
        for pid, members in merged.select("ProfileId", "MergedProfileIds").iter_rows():
            assert pid in members
            assert not (set(members) & absorbed)
            absorbed |= set(members) - {pid}
            survivors.add(pid)
    untouched = ids - absorbed - survivors
    assert untouched | survivors | absorbed == ids
    assert len(untouched) + len(survivors) == result.summary["ProfilesAfterMerge"]


def test_group_level_from_forest():
    rows = assign_groups(
        5,
        np.array([0, 1, 0, 3]),
        np.array([1, 2, 2, 4]),
        np.array([3, 1, 2, 2]),
        max_merging_level=1,
    )
    assert rows.get_column("RuleLevel").to_list() == [2, 2, 2, 2, 2]
    assert rows.get_column("__merge").to_list() == [None, 1, 1, None, None]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "timings.json"
    }


def test_two_runs_write_identical_bytes(tmp_path):
    frame = canonicalize(
        pl.DataFrame(
            {
                "ProfileId": [f"x{i}" for i in range(40)],
                "EmailAddress": [f"e{i % 7}@x.com" for i in range(40)],
                "LastName": [f"n{i % 3}" for i in range(40)],
                "PhoneNumber": [f"555010{i % 11:04d}" for i in range(40)],
                "LastUpdatedAt": [f"2024-01-{1 + i % 28:02d}T00:00:00Z" for i in range(40)],
            }
        )
    )
    write_results(preview(CONFIG, frame), tmp_path / "a")
    write_results(preview(CONFIG, frame.reverse()), tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    kept = preview(CONFIG, frame, rule_based_options=RuleBasedOptions(keep_heap=True))
    write_results(kept, tmp_path / "c")  # an allocator setting changes no byte
    assert _digest(tmp_path / "c") == _digest(tmp_path / "a")
    assert (tmp_path / "a" / "rule-based" / "merge-plan.json").is_file()


def test_placeholder_chain_is_reported_as_risk():
    n = 60
    frame = canonicalize(
        pl.DataFrame(
            {
                "ProfileId": [f"x{i:03d}" for i in range(n)],
                "EmailAddress": ["noemail@example.com"] * n,
                "LastName": ["smith"] * n,
            }
        )
    )
    summary = run_rule_based(frame, CONFIG.RuleBasedMatching).summary
    risks = summary["Risks"]
    assert [g["Profiles"] for g in risks["LargeGroups"]] == [n]
    assert risks["HubValues"][0]["Profiles"] == n
    assert "noemail@example.com" in risks["HubValues"][0]["Key"]


def _texts(merge) -> list[tuple[list[str], list[str]]]:
    return [(p.to_list(), r.to_list()) for p, r in merge.texts()]


def test_merge_group_smaller_than_its_match_group_has_its_own_id():
    """a-b merge (level 2), b-c only match (level 3): the merge group's id is its two members'."""
    frame = canonicalize(
        pl.DataFrame(
            {
                "ProfileId": ["a", "b", "c"],
                "PhoneNumber": ["5550100000", "5550100000", None],
                "FirstName": [None, "ann", "ann"],
                "LastName": [None, "lee", "lee"],
            }
        )
    )
    groups = run_rule_based(frame, CONFIG.RuleBasedMatching).groups.sort("ProfileId")
    assert groups.get_column("MatchId").to_list() == [match_id(["a", "b", "c"])] * 3
    assert groups.get_column("MergeGroupId").to_list() == [match_id(["a", "b"])] * 2 + [None]
    assert groups.get_column("RuleLevel").to_list() == [3, 3, 3]


@settings(max_examples=40, deadline=None)
@given(profile_tables())
def test_match_and_merge_group_ids_are_the_digest_of_their_members(frame):
    groups = run_rule_based(canonicalize(frame), CONFIG.RuleBasedMatching).groups
    for column in ("MatchId", "MergeGroupId"):
        members = groups.drop_nulls(column).group_by(column).agg(pl.col("ProfileId"))
        for group_id, ids in members.iter_rows():
            assert group_id == match_id(ids), column


def _merging_frame() -> pl.DataFrame:
    return canonicalize(
        pl.DataFrame(
            {
                "ProfileId": ["a", "b", "c"],
                "PhoneNumber": ["5550100000", "5550100000", None],
                "FirstName": ["ann", "ann", "bo"],
                "Note": ["x", "y", "z"],  # a pass-through column: read by the merge only
            }
        )
    )


def test_the_merge_runs_in_the_background_and_is_awaited():
    result = run_rule_based(_merging_frame().lazy(), CONFIG.RuleBasedMatching)
    assert isinstance(result.merging, Future)
    merge = result.merge  # waits for it
    assert merge is not None and merge.merged.get_column("ProfileId").to_list() == ["a"]
    assert "merge" in result.timings
    match_only = parse_domain(
        {"RuleBasedMatching": {"Enabled": True, "MatchingRules": [{"Rule": ["PhoneNumber"]}]}}
    )
    assert run_rule_based(_merging_frame(), match_only.RuleBasedMatching).merging is None


def test_a_failed_merge_raises_where_it_is_read_and_leaves_no_folder(tmp_path):
    def broken(_: pl.Series) -> pl.Series:
        raise ValueError("disk gone")

    # The pass-through column fails only when read, which only the merge does.
    frame = (
        _merging_frame()
        .lazy()
        .with_columns(pl.col("Note").map_batches(broken, return_dtype=pl.String))
    )
    config = parse_domain(
        {
            "RuleBasedMatching": {
                "Enabled": True,
                "MatchingRules": [{"Rule": ["PhoneNumber"]}],
                "MaxAllowedRuleLevelForMerging": 1,
            }
        }
    )
    result = preview(config, frame)
    assert result.rule_based is not None and result.rule_based.groups.height == 2
    with pytest.raises(Exception, match="disk gone"):
        write_results(result, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_run_left_early_does_not_wait_for_its_merge(tmp_path):
    """The merge thread is a daemon: a process that stops (Ctrl-C, or just exits) while a slow
    merge runs ends at once instead of finishing the merge nobody will read."""
    script = tmp_path / "early.py"
    script.write_text(
        textwrap.dedent(
            """
            import time, polars as pl
            from idres.config import parse_domain
            from idres.pipeline import preview
            from idres.profiles import canonicalize

            def slow(s):
                time.sleep(120)
                return s

            frame = canonicalize(pl.DataFrame({"ProfileId": ["a", "b"], "PhoneNumber": ["1", "1"],
                                               "Note": ["x", "y"]}))
            lazy = frame.lazy().with_columns(pl.col("Note").map_batches(slow, return_dtype=pl.String))
            config = parse_domain({"RuleBasedMatching": {"Enabled": True, "MatchingRules": [
                {"Rule": ["PhoneNumber"]}], "MaxAllowedRuleLevelForMerging": 1}})
            result = preview(config, lazy)
            print(result.rule_based.groups.height, flush=True)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "2"


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(1, 4))),
            st.integers(1, 4),
        )
    )
)
def test_merge_labels_from_all_links_match_the_forest(case: tuple) -> None:
    """The merge starts from components over every link of level <= L (before the spanning
    forest is built); assign_groups given them says what it says working them out itself."""
    n, links, limit = case
    a = np.array([x for x, _, _ in links], dtype=np.int64)
    b = np.array([y for _, y, _ in links], dtype=np.int64)
    level = np.array([w for _, _, w in links], dtype=np.int32)
    merged = merge_labels(n, a, b, level, max_merging_level=limit)
    own = assign_groups(n, a, b, level, max_merging_level=limit)
    given = (merged, np.bincount(merged, minlength=n)[merged])
    given_labels = assign_groups(n, a, b, level, max_merging_level=limit, merged=given)
    assert own.equals(given_labels)
    # and every profile in a merge group of two or more is in the assigned frame
    sizes = np.bincount(merged, minlength=n)[merged]
    merging = own.filter(pl.col("__merge").is_not_null()).get_column("__row").to_list()
    assert merging == np.flatnonzero(sizes >= 2).tolist()
