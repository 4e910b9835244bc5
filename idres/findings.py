"""Run summaries and risk findings: what a user must see before merges that cannot be undone.

Risk findings [choice]: (1) *large groups*, match groups with more than ``max_group_size``
profiles (default 50), each with the key values that bind most of it; (2) *hub values*, rule keys
shared by ``hub_limit`` (default 20) or more profiles that the 500-profile low-cardinality guard
does not skip — a placeholder e-mail on 300 profiles chains 300 customers into one group, and AWS
would not stop it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from idres.rules import LevelPlan

#: The run-summary counts, in display order (the CLI and the report print these).
COUNT_KEYS = (
    "ProfilesReviewed",
    "MatchGroups",
    "ProfilesInMatchGroups",
    "MergeGroups",
    "ProfilesInMergeGroups",
    "ProfilesAbsorbed",
    "ProfilesAfterMerge",
    "DeadLetters",
)
TOP_GROUPS = 10
TOP_KEYS_PER_GROUP = 5
TOP_HUBS = 25


def _key_number() -> pl.Expr:
    """One integer per key group: its RuleLevel and KeyId packed."""
    return pl.col("RuleLevel").cast(pl.Int64) * (1 << 32) + pl.col("KeyId").cast(pl.Int64)


def _key_groups(keys: pl.DataFrame, links: pl.DataFrame, groups: pl.DataFrame) -> pl.DataFrame:
    """Each key group of `keys` with the MatchId of the match group it lies in.

    Called on the few keys a summary shows, so the joins stay small.
    """
    # Filters on one integer per key group (is_in over a small set): a semi-join on the two
    # columns hashed every one of millions of links, twice per summary (1.5 s at 10M).
    wanted = keys.select(_key_number().alias("k")).to_series().unique().implode()
    anchors = (
        links.filter(_key_number().is_in(wanted))
        .select("RuleLevel", "KeyId", "ProfileIdA")
        .unique(["RuleLevel", "KeyId"])
    )
    members = groups.filter(pl.col("ProfileId").is_in(anchors.get_column("ProfileIdA").implode()))
    return keys.join(anchors, on=["RuleLevel", "KeyId"], how="left").join(
        members.select("ProfileId", "MatchId"),
        left_on="ProfileIdA",
        right_on="ProfileId",
        how="left",
    )


def rule_based_summary(
    *,
    profiles_reviewed: int,
    groups: pl.DataFrame,
    keys: pl.DataFrame,
    links: pl.DataFrame,
    dead_letters: pl.DataFrame,
    plans: Sequence[LevelPlan],
    max_merging_level: int | None,
    max_group_size: int,
    hub_limit: int,
    missing_attributes: Sequence[str] = (),
    match_keys: pl.Series | None = None,
    merge_keys: pl.Series | None = None,
) -> dict[str, Any]:
    """The rule-based run summary as plain JSON-ready data (counts, per level, largest, risks).

    `match_keys` and `merge_keys`, when given, are integer labels of each row's match group and
    merge group (null: merges with nobody), aligned with `groups`: groups are then counted on
    integers instead of hashing 32-character ids (10M profiles: 1.6 s → 0.75 s).
    """
    by_match = groups.get_column("MatchId") if match_keys is None else match_keys
    sizes = (
        groups.with_columns(by_match.alias("__g"))
        .group_by("__g")
        .agg(pl.col("MatchId").first(), pl.len().alias("Profiles"), pl.col("RuleLevel").first())
        .drop("__g")
    )
    per_level = sizes.group_by("RuleLevel").agg(
        pl.len().alias("groups"), pl.col("Profiles").sum().alias("profiles")
    )
    level_rows = {r["RuleLevel"]: r for r in per_level.iter_rows(named=True)}  # at most 15 rows
    merging = groups.get_column("MergeGroupId") if merge_keys is None else merge_keys
    in_merges = groups.height - merging.null_count()
    merge_groups = merging.drop_nulls().n_unique()

    def binding(match_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        wanted = pl.Series(match_ids, dtype=pl.String).implode()
        anchors = groups.filter(pl.col("MatchId").is_in(wanted)).get_column("ProfileId")
        chosen = links.filter(pl.col("ProfileIdA").is_in(anchors.implode()))
        numbers = chosen.select(_key_number()).to_series().unique().implode()
        keyed = _key_groups(keys.filter(_key_number().is_in(numbers)), chosen, groups)
        top = (
            keyed.filter(pl.col("MatchId").is_in(wanted))
            .sort(["Profiles", "RuleLevel", "KeyId"], descending=[True, False, False])
            .group_by("MatchId", maintain_order=True)
            .head(TOP_KEYS_PER_GROUP)
        )
        out: dict[str, list[dict[str, Any]]] = {m: [] for m in match_ids}
        for r in top.iter_rows(named=True):
            out[r["MatchId"]].append(
                {"RuleLevel": r["RuleLevel"], "Key": r["Key"], "Profiles": r["Profiles"]}
            )
        return out

    # Only groups at least as large as the TOP_GROUPS-th largest can be shown: sort those.
    cut = sizes.get_column("Profiles").top_k(TOP_GROUPS).min() if sizes.height else 0
    shown = sizes.filter(pl.col("Profiles") >= min(cut or 0, max_group_size + 1))
    shown = shown.sort(["Profiles", "MatchId"], descending=[True, False])
    largest = shown.head(TOP_GROUPS)
    large = shown.filter(pl.col("Profiles") > max_group_size)
    bound = binding(sorted(set(largest.get_column("MatchId")) | set(large.get_column("MatchId"))))
    hubs = _key_groups(keys.filter(pl.col("Profiles") >= hub_limit), links, groups).sort(
        ["Profiles", "RuleLevel", "KeyId"], descending=[True, False, False]
    )
    dlq = dead_letters.group_by("RuleLevel").agg(pl.len().alias("n")).sort("RuleLevel")
    return {
        "ProfilesReviewed": profiles_reviewed,
        "MatchGroups": sizes.height,
        "ProfilesInMatchGroups": groups.height,
        "MergeGroups": merge_groups,
        "ProfilesInMergeGroups": in_merges,
        "ProfilesAbsorbed": in_merges - merge_groups,
        "ProfilesAfterMerge": profiles_reviewed - (in_merges - merge_groups),
        "MaxAllowedRuleLevelForMerging": max_merging_level,
        "Levels": [
            {
                "RuleLevel": p.level,
                "Rule": list(p.attributes),
                "Merges": max_merging_level is not None and p.level <= max_merging_level,
                "MatchGroups": int(level_rows.get(p.level, {}).get("groups", 0)),
                "Profiles": int(level_rows.get(p.level, {}).get("profiles", 0)),
                "KeyGroups": int((keys.get_column("RuleLevel") == p.level).sum()),
                "DeadLetters": int(
                    dlq.filter(pl.col("RuleLevel") == p.level).get_column("n").sum()
                ),
            }
            for p in plans
        ],
        "DeadLetters": dead_letters.height,
        "LargestGroups": [
            {**r, "BindingKeys": bound.get(r["MatchId"], [])} for r in largest.iter_rows(named=True)
        ],
        "Risks": {
            "MaxGroupSize": max_group_size,
            "LargeGroups": [
                {**r, "BindingKeys": bound.get(r["MatchId"], [])}
                for r in large.iter_rows(named=True)
            ],
            "HubLimit": hub_limit,
            "HubValueCount": hubs.height,
            "HubValues": [
                {
                    "RuleLevel": r["RuleLevel"],
                    "Key": r["Key"],
                    "Profiles": r["Profiles"],
                    "MatchId": r["MatchId"],
                }
                for r in hubs.head(TOP_HUBS).iter_rows(named=True)
            ],
            "AttributesAbsent": list(missing_attributes),
        },
    }
