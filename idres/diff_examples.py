"""The groups behind a config diff: why each differs, and examples with their evidence.

For the groups of one side that hold two or more pieces of the other side (see :mod:`idres.diff`),
:func:`side_diff` finds the reason [choice] — rule-based: the *joining level*, the lowest RuleLevel
among the group's links that connect two pieces of the other side; ML: the group's ConfidenceScore
in bands of 0.05 — and builds deterministic examples (most pieces, then largest, then smallest
group id) listing the pieces and up to five crossing links with their level and key value, or
crossing pairs with their score in both runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from idres.results import RULE_BASED
from idres.runs import Run
from idres.schema import CONFIDENCE, PROFILE_ID, PROFILE_ID_A, PROFILE_ID_B, RULE_LEVEL

PID: Final = PROFILE_ID
SCORE_BAND: Final = 0.05
MAX_PIECES: Final = 10
MAX_MEMBERS: Final = 10
MAX_EVIDENCE: Final = 5


@dataclass(frozen=True, slots=True)
class Piece:
    """Profiles of an example group held together on the other side (group None: each alone)."""

    group: str | None
    size: int
    profile_ids: tuple[str, ...]  # the first MAX_MEMBERS, sorted


@dataclass(frozen=True, slots=True)
class Example:
    """A group formed on one side that the other side holds in several pieces."""

    group: str  # MatchId / MergeGroupId on the side that forms it
    size: int
    pieces: int  # pieces on the other side, each lone profile counted
    level: int | None  # rule-based: the joining level
    score: float | None  # ml: the group's ConfidenceScore
    parts: tuple[Piece, ...]  # largest first, lone profiles last
    evidence: tuple[dict[str, Any], ...]  # crossing links (level, key) or pairs (scores)


def _crossing(
    edges: pl.LazyFrame, j: pl.DataFrame, codes: pl.Series, own: str, other: str
) -> pl.LazyFrame:
    """Edges inside one group of `own` (among `codes`) whose ends lie in different pieces of the
    other side."""
    lab = j.lazy().filter(pl.col(f"{own}i").is_in(codes.implode())).select(PID, own, f"{other}p")
    ends = [(PROFILE_ID_A, "1"), (PROFILE_ID_B, "2")]
    for end, k in ends:
        edges = edges.with_columns(pl.col(end).cast(pl.String)).join(
            lab.rename({PID: end, own: f"__g{k}", f"{other}p": f"__p{k}"}), on=end, how="inner"
        )
    return (
        edges.filter((pl.col("__g1") == pl.col("__g2")) & (pl.col("__p1") != pl.col("__p2")))
        .rename({"__g1": "group"})
        .drop("__g2", "__p1", "__p2")
    )


def _parts(j: pl.DataFrame, own: str, other: str, ids: pl.Series) -> dict[str, tuple[Piece, ...]]:
    """The pieces of each group in `ids`: its profiles by other-side group, lone ones together."""
    members = (
        j.filter(pl.col(own).is_in(ids.implode()))
        .group_by(own, other)
        .agg(pl.col(PID).sort(), pl.len().cast(pl.Int64).alias("n"))
        .sort(
            [pl.col(own), pl.col(other).is_null(), pl.col("n"), pl.col(PID).list.first()],
            descending=[False, False, True, False],
        )
    )
    out: dict[str, list[Piece]] = {}
    for g, o, pids, n in members.iter_rows():
        out.setdefault(g, []).append(Piece(o, int(n), tuple(pids[:MAX_MEMBERS])))
    return {g: tuple(p[:MAX_PIECES]) for g, p in out.items()}


def _evidence(
    cross: pl.LazyFrame | None,
    keys: pl.LazyFrame | None,
    other_edges: pl.LazyFrame | None,
    ids: pl.Series,
    *,
    rule_based: bool,
    own_name: str,
    other_name: str,
) -> dict[str, list[dict[str, Any]]]:
    if cross is None:
        return {}
    ev = cross.filter(pl.col("group").is_in(ids.implode()))
    if rule_based:
        # One row per key (or per level without keys): its first crossing link and how many.
        by = ["group", RULE_LEVEL, *(["KeyId"] if "KeyId" in ev.collect_schema().names() else [])]
        ev = (
            ev.sort([*by, PROFILE_ID_A, PROFILE_ID_B])
            .group_by(by, maintain_order=True)
            .agg(pl.col(PROFILE_ID_A, PROFILE_ID_B).first(), pl.len().alias("CrossingLinks"))
        )
        if keys is not None and "KeyId" in by:
            key = keys.select(RULE_LEVEL, "KeyId", "Key")
            ev = ev.join(key, on=[RULE_LEVEL, "KeyId"], how="left", maintain_order="left")
        else:
            ev = ev.with_columns(pl.lit(None, pl.String).alias("Key"))
        cols = [pl.col(RULE_LEVEL), pl.col("Key"), pl.col("CrossingLinks")]
    else:
        ev = ev.sort(
            ["group", CONFIDENCE, PROFILE_ID_A, PROFILE_ID_B],
            descending=[False, True, False, False],
        )
        other = pl.lit(None, pl.Float64).alias("__o")
        if other_edges is not None:
            o = other_edges.select(
                pl.col(PROFILE_ID_A).cast(pl.String),
                pl.col(PROFILE_ID_B).cast(pl.String),
                pl.col(CONFIDENCE).cast(pl.Float64).alias("__o"),
            )
            ev = ev.join(o, on=[PROFILE_ID_A, PROFILE_ID_B], how="left", maintain_order="left")
            other = pl.col("__o")
        cols = [pl.col(CONFIDENCE).alias(f"ScoreIn{own_name}"), other.alias(f"ScoreIn{other_name}")]
    top = ev.group_by("group", maintain_order=True).head(MAX_EVIDENCE).collect()
    out: dict[str, list[dict[str, Any]]] = {}
    rows = top.select("group", pl.concat_list(PROFILE_ID_A, PROFILE_ID_B).alias("Profiles"), *cols)
    for r in rows.iter_rows(named=True):
        out.setdefault(r.pop("group"), []).append(r)
    return out


def side_diff(
    j: pl.DataFrame,
    stat: pl.DataFrame,
    own: str,
    other: str,
    sides: tuple[Run, Run],
    job: str,
    examples: int,
) -> tuple[pl.DataFrame, tuple[Example, ...]]:
    """Groups of `own` (`stat`) holding several pieces of `other`, with reasons and examples."""
    own_side, other_side = sides if own == "__a" else sides[::-1]
    names = ("A", "B") if own == "__a" else ("B", "A")
    stat = stat.filter(pl.col("pieces") >= 2)
    edges = own_side.edges(job)
    codes = stat.get_column("code")
    cross = _crossing(edges, j, codes, own, other) if edges is not None else None
    rule_based = job == RULE_BASED
    if rule_based and cross is not None:
        level = cross.group_by("group").agg(pl.col(RULE_LEVEL).min().alias("level")).collect()
        stat = stat.join(level, on="group", how="left")
    elif "score" in stat.columns:
        band = (pl.col("score") / SCORE_BAND + 1e-9).floor() * SCORE_BAND
        stat = stat.with_columns(band.round(2).alias("band"))
    top = stat.sort(["pieces", "size", "group"], descending=[True, True, False]).head(examples)
    ids = top.get_column("group")
    parts = _parts(j, own, other, ids) if examples else {}
    ev = (
        _evidence(
            cross,
            own_side.keys() if rule_based else None,
            None if rule_based else other_side.edges(job),
            ids,
            rule_based=rule_based,
            own_name=names[0],
            other_name=names[1],
        )
        if examples
        else {}
    )
    out = tuple(
        Example(
            group=r["group"],
            size=r["size"],
            pieces=r["pieces"],
            level=r.get("level"),
            score=r.get("score"),
            parts=parts.get(r["group"], ()),
            evidence=tuple(ev.get(r["group"], [])),
        )
        for r in top.iter_rows(named=True)
    )
    return stat, out


__all__ = ["Example", "Piece", "side_diff"]
