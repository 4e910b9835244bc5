"""Explain one rule-based match group: the key groups and links that hold it, and its bridges.

A *bridge* is a single link whose removal splits the group: the usual sign of an over-merge (two
customers joined by one shared phone number). The group's graph is small, so networkx serves here.
A key group of k ≥ 3 profiles is a clique; for bridge finding it is replaced by a cycle through its
members, which has the same connectivity and the same 2-edge-connectivity, so a key shared by
thousands costs k edges, not k²/2.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import polars as pl

MAX_PAIR_LISTING = 60


def explain_group(members: pl.DataFrame, links: pl.DataFrame, keys: pl.DataFrame) -> dict[str, Any]:
    """Explanation of the match group whose rows (ProfileId, MatchId, RuleLevel) are `members`.

    `links` and `keys` are the rule-based job's tables (ProfileIdA, ProfileIdB, RuleLevel, KeyId and
    RuleLevel, KeyId, Key, Profiles).
    """
    ids = members.get_column("ProfileId").sort()
    inside = links.filter(pl.col("ProfileIdA").is_in(ids.implode()))
    key_groups = (
        inside.group_by(["RuleLevel", "KeyId"])
        .agg(pl.col("ProfileIdA").first(), pl.col("ProfileIdB").sort())
        .with_columns(
            pl.concat_list([pl.col("ProfileIdA"), pl.col("ProfileIdB")])
            .list.sort()
            .alias("ProfileIds")
        )
        .join(keys, on=["RuleLevel", "KeyId"], how="left")
        .sort(["RuleLevel", "Profiles", "KeyId"], descending=[False, True, False])
    )
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(ids.to_list())
    for level, key, group in key_groups.select("RuleLevel", "Key", "ProfileIds").iter_rows():
        ring = group if len(group) > 2 else group[:1]
        for i, u in enumerate(ring):
            v = group[(i + 1) % len(group)]
            if graph.has_edge(u, v):
                data = graph.edges[u, v]
                data["multiplicity"] += 1
                if level < data["RuleLevel"]:
                    data["RuleLevel"], data["Key"] = level, key
            else:
                graph.add_edge(u, v, RuleLevel=level, Key=key, multiplicity=1)
    bridges = []
    for u, v in sorted(tuple(sorted(e)) for e in nx.bridges(graph)):
        data = graph.edges[u, v]
        if data["multiplicity"] > 1:
            continue
        graph.remove_edge(u, v)
        sides = sorted(
            (len(nx.node_connected_component(graph, u)), len(nx.node_connected_component(graph, v)))
        )
        graph.add_edge(u, v, **data)
        bridges.append(
            {
                "ProfileIdA": u,
                "ProfileIdB": v,
                "RuleLevel": data["RuleLevel"],
                "Key": data["Key"],
                "SplitsInto": sides,
            }
        )
    out: dict[str, Any] = {
        "MatchId": members.item(0, "MatchId"),
        "RuleLevel": int(members.item(0, "RuleLevel")),
        "ProfileIds": ids.to_list(),
        "KeyGroups": [
            {"RuleLevel": r["RuleLevel"], "Key": r["Key"], "ProfileIds": r["ProfileIds"]}
            for r in key_groups.iter_rows(named=True)
        ],
        "Bridges": bridges,
    }
    if members.height <= MAX_PAIR_LISTING:
        pairs = (
            key_groups.select("RuleLevel", "Key", "ProfileIds")
            .with_columns(pl.col("ProfileIds").alias("__b"))
            .explode("ProfileIds")
            .explode("__b")
            .filter(pl.col("ProfileIds") < pl.col("__b"))
            .rename({"ProfileIds": "ProfileIdA", "__b": "ProfileIdB"})
            .sort(["ProfileIdA", "ProfileIdB", "RuleLevel", "Key"])
            .group_by(["ProfileIdA", "ProfileIdB"], maintain_order=True)
            .agg(pl.col("RuleLevel").min(), pl.col("Key").unique(maintain_order=True))
        )
        out["Links"] = pairs.rows(named=True)
    return out
