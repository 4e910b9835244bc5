"""The rule-based summary: counting groups on integer labels gives what counting MatchIds gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from idres.config import load_domain
from idres.findings import rule_based_summary
from idres.pipeline import preview
from idres.rulebased import DEFAULT_HUB_LIMIT, DEFAULT_MAX_GROUP_SIZE, RuleBasedResult
from idres.rules import plan_levels

DATA = Path(__file__).resolve().parent.parent / "datasets"
CONFIG = load_domain(DATA / "domain-rules.json")


@pytest.fixture(scope="module")
def result() -> RuleBasedResult:
    out = preview(CONFIG, DATA / "sample-profiles.jsonl", jobs=("rule-based",)).rule_based
    assert out is not None
    return out


def _args(result: RuleBasedResult, *, max_group_size: int, hub_limit: int) -> dict[str, Any]:
    rules = CONFIG.RuleBasedMatching
    assert rules is not None
    return {
        "profiles_reviewed": result.summary["ProfilesReviewed"],
        "groups": result.groups,
        "keys": result.keys,
        "links": result.links,
        "dead_letters": result.dead_letters,
        "plans": plan_levels(rules),
        "max_merging_level": rules.max_merging_level,
        "max_group_size": max_group_size,
        "hub_limit": hub_limit,
    }


def test_labels_count_what_ids_count(result: RuleBasedResult) -> None:
    args = _args(result, max_group_size=3, hub_limit=3)  # small: large groups and hubs shown
    # Integer labels of the groups, numbered unlike the ids (reversed): only equality matters.
    labels = result.groups.select(
        (-pl.col("MatchId").rank("dense").cast(pl.Int64)).alias("m"),
        (-pl.col("MergeGroupId").rank("dense").cast(pl.Int64)).alias("g"),
    )
    by_ids = rule_based_summary(**args)
    by_labels = rule_based_summary(
        **args, match_keys=labels.get_column("m"), merge_keys=labels.get_column("g")
    )
    assert by_labels == by_ids
    assert by_ids["MatchGroups"] > by_ids["MergeGroups"] >= 1
    assert by_ids["Risks"]["LargeGroups"] and by_ids["Risks"]["HubValues"]


def test_the_run_passes_labels_aligned_with_its_groups(result: RuleBasedResult) -> None:
    args = _args(result, max_group_size=DEFAULT_MAX_GROUP_SIZE, hub_limit=DEFAULT_HUB_LIMIT)
    assert result.summary == rule_based_summary(**args)
