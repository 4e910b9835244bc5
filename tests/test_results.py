"""results: matches.jsonl rows (one match group a line, by MatchId, members in order); timings.json."""

import io
import json
import random

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.config import parse_domain
from idres.pipeline import preview
from idres.profiles import canonicalize
from idres.results import write_matches, write_results


def _reference(groups: pl.DataFrame) -> pl.DataFrame:
    """The plain way: sort by MatchId and ProfileId, one row per MatchId."""
    return (
        groups.sort("MatchId", "ProfileId")
        .group_by("MatchId", maintain_order=True)
        .agg(pl.col("ProfileId").alias("ProfileIds"), pl.col("RuleLevel").first())
    )


def _written(groups: pl.DataFrame, per_pass: int = 1000) -> bytes:
    out = io.BytesIO()
    write_matches(groups, out, per_pass=per_pass)
    return out.getvalue()


def _rows(groups: pl.DataFrame) -> list[tuple]:
    lines = _written(groups).decode().splitlines()
    return [tuple(json.loads(line).values()) for line in lines]


def test_groups_in_match_id_order_with_sorted_members() -> None:
    groups = pl.DataFrame(
        {
            "ProfileId": ["p3", "p1", "p2", "p4"],
            "MatchId": ["b" * 32, "b" * 32, "a" * 32, "a" * 32],
            "RuleLevel": [2, 2, 1, 1],
        }
    )
    assert _rows(groups) == [
        ("a" * 32, ["p2", "p4"], 1),
        ("b" * 32, ["p1", "p3"], 2),
    ]


def test_match_ids_sharing_the_sorted_prefix() -> None:
    """Two MatchIds equal in their first 15 hex digits, members interleaved: still apart."""
    x, y = "0" * 15 + "1" * 17, "0" * 15 + "2" * 17
    groups = pl.DataFrame(
        {"ProfileId": ["a", "b", "c", "d"], "MatchId": [y, x, y, x], "RuleLevel": [1, 3, 1, 3]}
    )
    assert _rows(groups) == [(x, ["b", "d"], 3), (y, ["a", "c"], 1)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["0" * 15 + "a", "0" * 15 + "b", "f" * 16, "zz", "1" * 16])),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_same_bytes_as_polars_writing_the_sorted_groups(
    ids: list[tuple[str]], rnd: random.Random
) -> None:
    """Shuffled rows, ProfileIds needing escapes, a missing RuleLevel, and passes of a few
    groups: exactly what ``write_ndjson`` writes for the plainly sorted, grouped table."""
    groups = pl.DataFrame(
        {
            "ProfileId": [f'p"{i:03d}\\' for i in range(len(ids))],
            "MatchId": [m for (m,) in ids],
            "RuleLevel": [None if m == "zz" else len(m) % 5 for (m,) in ids],
        }
    )
    order = list(range(groups.height))
    rnd.shuffle(order)
    shuffled = groups[order]
    expected = _reference(groups).write_ndjson().encode()
    assert _written(shuffled, per_pass=rnd.choice([1, 2, 1000])) == expected


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


def test_no_groups_no_lines() -> None:
    empty = pl.DataFrame(
        schema={"ProfileId": pl.String, "MatchId": pl.String, "RuleLevel": pl.Int32}
    )
    assert _written(empty) == b""


def test_merged_profiles_parquet_keeps_statistics_for_profile_id_only(tmp_path) -> None:
    """Readers filter merged-profiles.parquet on ProfileId: its row groups' min / max are kept;
    the other columns' statistics are not written (they cost a fifth of the writer's time)."""
    import pyarrow.parquet as pq

    config = parse_domain(
        {
            "RuleBasedMatching": {
                "Enabled": True,
                "MatchingRules": [{"Rule": ["EmailAddress"]}],
                "MaxAllowedRuleLevelForMerging": 1,
            }
        }
    )
    frame = canonicalize(
        pl.DataFrame(
            {"ProfileId": ["a", "b", "c"], "EmailAddress": ["x@y", "x@y", None], "LastName": "L"}
        )
    )
    write_results(preview(config, frame), tmp_path / "out")
    meta = pq.ParquetFile(tmp_path / "out" / "rule-based" / "merged-profiles.parquet").metadata
    columns = {
        meta.schema.column(i).path: meta.row_group(0).column(i) for i in range(meta.num_columns)
    }
    assert columns["ProfileId"].statistics.has_min_max
    assert columns["ProfileId"].statistics.min == "a"
    assert columns["LastName"].statistics is None
