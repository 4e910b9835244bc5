"""results: matches.jsonl rows (one match group a line, by MatchId, members in order); timings.json."""

import json
import random

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.config import parse_domain
from idres.pipeline import preview
from idres.profiles import canonicalize
from idres.results import _matches_jsonl, write_results


def _reference(groups: pl.DataFrame) -> pl.DataFrame:
    """The plain way: sort by MatchId and ProfileId, one row per MatchId."""
    return (
        groups.sort("MatchId", "ProfileId")
        .group_by("MatchId", maintain_order=True)
        .agg(pl.col("ProfileId").alias("ProfileIds"), pl.col("RuleLevel").first())
    )


def test_groups_in_match_id_order_with_sorted_members() -> None:
    groups = pl.DataFrame(
        {
            "ProfileId": ["p3", "p1", "p2", "p4"],
            "MatchId": ["b" * 32, "b" * 32, "a" * 32, "a" * 32],
            "RuleLevel": [2, 2, 1, 1],
        }
    )
    assert _matches_jsonl(groups).rows() == [
        ("a" * 32, ["p2", "p4"], 1),
        ("b" * 32, ["p1", "p3"], 2),
    ]


def test_match_ids_sharing_the_sorted_prefix() -> None:
    """Two MatchIds equal in their first 15 hex digits, members interleaved: still apart."""
    x, y = "0" * 15 + "1" * 17, "0" * 15 + "2" * 17
    groups = pl.DataFrame(
        {"ProfileId": ["a", "b", "c", "d"], "MatchId": [y, x, y, x], "RuleLevel": [1, 3, 1, 3]}
    )
    assert _matches_jsonl(groups).rows() == [(x, ["b", "d"], 3), (y, ["a", "c"], 1)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["0" * 15 + "a", "0" * 15 + "b", "f" * 16, "zz", "1" * 16])),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_same_rows_as_sorting_the_strings(ids: list[tuple[str]], rnd: random.Random) -> None:
    groups = pl.DataFrame(
        {
            "ProfileId": [f"p{i:03d}" for i in range(len(ids))],
            "MatchId": [m for (m,) in ids],
            "RuleLevel": [len(m) % 5 for (m,) in ids],
        }
    )
    order = list(range(groups.height))
    rnd.shuffle(order)
    shuffled = groups[order]
    assert _matches_jsonl(shuffled).equals(_reference(groups))


def test_each_write_records_its_own_write_times(tmp_path) -> None:
    """Writing a result twice does not add the first write's times to the second's."""
    config = parse_domain(
        {
            "RuleBasedMatching": {
                "Enabled": True,
                "MatchingRules": [{"Rule": ["EmailAddress"]}],
                "MaxAllowedRuleLevelForMerging": 1,
            }
        }
    )
    frame = canonicalize(pl.DataFrame({"ProfileId": ["a", "b"], "EmailAddress": ["x@y", "x@y"]}))
    result = preview(config, frame)
    assert result.rule_based is not None
    result.rule_based.timings["write: matches.jsonl"] = 1000.0
    write_results(result, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "rule-based" / "timings.json").read_text())
    assert 0 <= written["write: matches.jsonl"] < 1000
    assert "merge" in written and "write: waiting for the merge" in written
