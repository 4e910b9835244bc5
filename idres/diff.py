"""Config diff: the groups one run forms that another does not, and the evidence behind each.

Two runs over the same profile set (two results folders, or two previews) are compared job by job
(rule-based, ml) and grouping by grouping — merge groups first, because merges cannot be undone,
then match groups. Each profile gets a label on each side (its group; none when alone or in a group
of one), and one join of (ProfileId → A label, B label) with group-bys over it gives, without
listing pairs:

- *merged in B*: groups of B that join profiles A keeps apart (they hold two or more *pieces* of
  A, a profile alone in A being a piece of its own): the profiles B would merge that A would not;
- *split in B*: groups of A whose profiles B keeps apart (two or more pieces of B);
- *unchanged*: groups with the same members on both sides.

A group can join pieces and lose members at once (a reshuffle): it then counts as merged in B and
the A group it takes from counts as split. Pairs together in B but apart in A are
Σ C(|g|, 2) over B's groups minus Σ C(n, 2) over the (A group, B group) cells.

The reason behind a difference [choice]: rule-based, the *joining level*, the lowest RuleLevel
among the group's links (``links.parquet``) that connect two pieces of the other side; ML, the
group's ConfidenceScore, counted in bands of 0.05. Examples are deterministic (most pieces, then
largest, then smallest group id) and list the pieces and up to five crossing links with their level
and key value, or crossing pairs with their score in both runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from idres import schema
from idres.errors import Problem, ResultsError
from idres.evaluate import CONFIDENCE, MATCH_ID, MERGE_GROUP_ID, PROFILE_ID_A, PROFILE_ID_B
from idres.results import ML, RULE_BASED, PreviewResult, ResultsFolder

PID: Final = schema.PROFILE_ID
MERGE_GROUPS: Final = "merge groups"
MATCH_GROUPS: Final = "match groups"
#: Groupings in the order they are reported: the irreversible one first.
GROUPINGS: Final = ((MERGE_GROUPS, MERGE_GROUP_ID), (MATCH_GROUPS, MATCH_ID))
SCORE_BAND: Final = 0.05
MAX_PIECES: Final = 10
MAX_MEMBERS: Final = 10
MAX_EVIDENCE: Final = 5
_LONE: Final = 1 << 40  # piece codes of lone profiles start here (group codes are below)

Source = ResultsFolder | PreviewResult | str | Path


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


@dataclass(frozen=True, slots=True)
class GroupingDiff:
    """The difference of one grouping (merge or match groups) of one job."""

    job: str
    grouping: str
    groups_a: int
    groups_b: int
    profiles_a: int
    profiles_b: int
    merged_groups: int  # B groups joining what A keeps apart
    merged_profiles: int
    merged_pairs: int  # pairs together in B, apart in A
    split_groups: int  # A groups B keeps apart
    split_profiles: int
    split_pairs: int
    unchanged_groups: int
    unchanged_profiles: int
    reason: str  # "RuleLevel" or "ConfidenceScore"
    merged_by: tuple[tuple[Any, int, int], ...]  # (level or score band, groups, profiles)
    split_by: tuple[tuple[Any, int, int], ...]
    merged_examples: tuple[Example, ...] = ()
    split_examples: tuple[Example, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """What run B does differently from run A on the same profiles (see the module docstring)."""

    a: str
    b: str
    profiles: int | None
    jobs: tuple[str, ...]  # jobs compared (present on both sides)
    skipped: tuple[str, ...]  # jobs present on one side only
    diffs: tuple[GroupingDiff, ...]  # merge groups of every job first, then match groups

    def get(self, job: str, grouping: str) -> GroupingDiff:
        """The diff of one job's grouping (KeyError when not compared)."""
        for d in self.diffs:
            if d.job == job and d.grouping == grouping:
                return d
        raise KeyError((job, grouping))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (examples' pieces and evidence as lists)."""
        return asdict(self)


class _Side:
    """One run as the diff reads it: profile set, jobs, groups, links or pairs, keys."""

    def __init__(self, source: Source, name: str) -> None:
        if isinstance(source, str | Path):
            source = ResultsFolder(source)
        self.source = source
        self._groups: dict[str, pl.DataFrame] = {}
        if isinstance(source, ResultsFolder):
            self.label = str(source.path)
            self.count = source.manifest.get("profile_count")
            self.digest = source.manifest.get("profile_ids_sha256")
            self.jobs = tuple(source.jobs)
        else:
            self.label = name
            self.count, self.digest = source.profile_count, source.profile_ids_sha256
            self.jobs = tuple(j for j, r in ((RULE_BASED, source.rule_based), (ML, source.ml)) if r)

    def _file(self, job: str, name: str) -> pl.LazyFrame | None:
        assert isinstance(self.source, ResultsFolder)
        path = self.source.path / job / name
        return pl.scan_parquet(path) if path.is_file() else None

    def groups(self, job: str) -> pl.DataFrame:
        if job not in self._groups:  # read once, used for merge and match groups
            if isinstance(self.source, ResultsFolder):
                self._groups[job] = self.source.groups(job)
            else:
                result = self.source.rule_based if job == RULE_BASED else self.source.ml
                groups = getattr(result, "groups", None)
                if not isinstance(groups, pl.DataFrame):
                    message = "this preview result has no groups table; diff its results folder"
                    raise ResultsError(Problem(self.label, job, f"{message} (got {groups!r})"))
                self._groups[job] = groups
        return self._groups[job]

    def edges(self, job: str) -> pl.LazyFrame | None:
        """Rule-based links (…, RuleLevel, KeyId) or ML scored pairs (…, ConfidenceScore)."""
        if isinstance(self.source, ResultsFolder):
            return self._file(job, "links.parquet" if job == RULE_BASED else "pairs.parquet")
        if job == RULE_BASED:
            return self.source.rule_based.links.lazy()  # type: ignore[union-attr]
        pairs = getattr(self.source.ml, "pairs", None)
        ok = isinstance(pairs, pl.DataFrame) and PROFILE_ID_A in pairs.columns
        return pairs.lazy() if ok else None  # type: ignore[union-attr]

    def keys(self) -> pl.LazyFrame | None:
        if isinstance(self.source, ResultsFolder):
            return self._file(RULE_BASED, "keys.parquet")
        return self.source.rule_based.keys.lazy()  # type: ignore[union-attr]


def _check_same_profiles(a: _Side, b: _Side) -> None:
    if a.digest and a.digest == b.digest:
        return
    raise ResultsError(
        Problem(
            b.label,
            "manifest.json: profile_ids_sha256",
            f"A ({a.label}) and B were computed on different profile sets (A: {a.count} profiles, "
            f"sha256 {str(a.digest)[:12]}…); a diff would compare different customers "
            f"(got {b.count} profiles, sha256 {str(b.digest)[:12]!r}…)",
        )
    )


def _labels(groups: pl.DataFrame, col: str, tag: str) -> pl.DataFrame:
    """ProfileId, its group id (`tag`), an integer code of the group (`tag` + "i") and its score,
    for profiles in groups of two or more. One string group-by; later group-bys run on codes."""
    score = [pl.col(CONFIDENCE).cast(pl.Float64).alias(f"{tag}s")] if CONFIDENCE in groups else []
    if col not in groups.columns:  # e.g. no MergeGroupId: nothing merges
        groups = groups.with_columns(pl.lit(None, pl.String).alias(col))
    return (
        groups.filter(pl.col(col).is_not_null())
        .select(pl.col(PID).cast(pl.String), pl.col(col).cast(pl.String).alias(tag), *score)
        .group_by(tag)
        .agg(pl.all())
        .filter(pl.col(PID).list.len() >= 2)
        .with_row_index(f"{tag}i")
        .with_columns(pl.col(f"{tag}i").cast(pl.Int64))
        .explode([PID, *([f"{tag}s"] if score else [])])
    )


def _codes(j: pl.DataFrame) -> pl.DataFrame:
    """Pieces (``__ap``, ``__bp``): the group code, or a code of its own for a lone profile."""
    alone = pl.int_range(pl.len(), dtype=pl.Int64) + _LONE
    return j.with_columns(pl.coalesce(f"{t}i", alone).alias(f"{t}p") for t in ("__a", "__b"))


def _stats(j: pl.DataFrame, own: str, other: str) -> pl.DataFrame:
    """Per group of side `own`: its id, size, pieces of the other side, its one piece, score."""
    score = [pl.col(f"{own}s").first().alias("score")] if f"{own}s" in j.columns else []
    return (
        j.filter(pl.col(f"{own}i").is_not_null())
        .group_by(f"{own}i")
        .agg(
            pl.col(own).first().alias("group"),
            pl.len().cast(pl.Int64).alias("size"),
            pl.col(f"{other}p").n_unique().cast(pl.Int64).alias("pieces"),
            pl.col(f"{other}p").first().alias("piece"),
            *score,
        )
        .rename({f"{own}i": "code"})
    )


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


def _by(stat: pl.DataFrame, key: str) -> tuple[tuple[Any, int, int], ...]:
    if key not in stat.columns:
        return ()
    rows = (
        stat.group_by(key)
        .agg(pl.len(), pl.col("size").sum())
        .sort(key, descending=key == "band", nulls_last=True)
        .rows()
    )
    return tuple((k, int(g), int(p)) for k, g, p in rows)


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
        by = ["group", "RuleLevel", *(["KeyId"] if "KeyId" in ev.collect_schema().names() else [])]
        ev = (
            ev.sort([*by, PROFILE_ID_A, PROFILE_ID_B])
            .group_by(by, maintain_order=True)
            .agg(pl.col(PROFILE_ID_A, PROFILE_ID_B).first(), pl.len().alias("CrossingLinks"))
        )
        if keys is not None and "KeyId" in by:
            key = keys.select("RuleLevel", "KeyId", "Key")
            ev = ev.join(key, on=["RuleLevel", "KeyId"], how="left", maintain_order="left")
        else:
            ev = ev.with_columns(pl.lit(None, pl.String).alias("Key"))
        cols = [pl.col("RuleLevel"), pl.col("Key"), pl.col("CrossingLinks")]
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


def _side_diff(
    j: pl.DataFrame,
    stat: pl.DataFrame,
    own: str,
    other: str,
    sides: tuple[_Side, _Side],
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
        level = cross.group_by("group").agg(pl.col("RuleLevel").min().alias("level")).collect()
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


def _pairs(sizes: pl.Series) -> int:
    s = sizes.cast(pl.Int64)
    return int((s * (s - 1) // 2).sum())


def _grouping_diff(
    job: str,
    grouping: str,
    column: str,
    a: _Side,
    b: _Side,
    *,
    examples: int = 5,
) -> GroupingDiff:
    """The diff of one grouping (`column`: MatchId or MergeGroupId) of one job."""
    ga, gb = a.groups(job), b.groups(job)
    j = _codes(
        _labels(ga, column, "__a").join(
            _labels(gb, column, "__b"), on=PID, how="full", coalesce=True
        )
    )
    sa, sb = _stats(j, "__a", "__b"), _stats(j, "__b", "__a")
    cells = (
        j.filter(pl.col("__ai").is_not_null() & pl.col("__bi").is_not_null())
        .group_by("__ai", "__bi")
        .len()
    )
    same = _pairs(cells.get_column("len"))
    unchanged = (
        sb.filter(pl.col("pieces") == 1)
        .join(sa.select(pl.col("code").alias("piece"), pl.col("size").alias("size_a")), on="piece")
        .filter(pl.col("size") == pl.col("size_a"))
    )
    merged, merged_ex = _side_diff(j, sb, "__b", "__a", (a, b), job, examples)
    split, split_ex = _side_diff(j, sa, "__a", "__b", (a, b), job, examples)
    reason = "RuleLevel" if job == RULE_BASED else CONFIDENCE
    key = "level" if job == RULE_BASED else "band"
    return GroupingDiff(
        job=job,
        grouping=grouping,
        groups_a=sa.height,
        groups_b=sb.height,
        profiles_a=int(sa.get_column("size").sum()),
        profiles_b=int(sb.get_column("size").sum()),
        merged_groups=merged.height,
        merged_profiles=int(merged.get_column("size").sum()),
        merged_pairs=_pairs(sb.get_column("size")) - same,
        split_groups=split.height,
        split_profiles=int(split.get_column("size").sum()),
        split_pairs=_pairs(sa.get_column("size")) - same,
        unchanged_groups=unchanged.height,
        unchanged_profiles=int(unchanged.get_column("size").sum()),
        reason=reason,
        merged_by=_by(merged, key),
        split_by=_by(split, key),
        merged_examples=merged_ex,
        split_examples=split_ex,
    )


def diff_results(
    a: Source, b: Source, *, examples: int = 5, jobs: tuple[str, ...] | None = None
) -> ConfigDiff:
    """What run `b` does differently from run `a` (results folders or previews of the same profiles).

    Raises :class:`ResultsError` when the runs were made on different profile sets or share no job.

    >>> import polars as pl, tempfile
    >>> from idres.config import parse_domain
    >>> from idres.pipeline import preview
    >>> from idres.profiles import canonicalize
    >>> p = canonicalize(pl.DataFrame({"ProfileId": ["1", "2", "3"],
    ...     "EmailAddress": ["a@x", "a@x", "b@x"], "LastName": ["li", "lu", "lu"]}))
    >>> def cfg(level):
    ...     return parse_domain({"RuleBasedMatching": {"Enabled": True, "MatchingRules": [
    ...         {"Rule": ["EmailAddress"]}, {"Rule": ["LastName"]}],
    ...         "MaxAllowedRuleLevelForMerging": level}})
    >>> d = diff_results(preview(cfg(1), p), preview(cfg(2), p))
    >>> m = d.get("rule-based", "merge groups")
    >>> m.merged_groups, m.merged_profiles, m.merged_pairs, m.merged_by
    (1, 3, 2, ((2, 1, 3),))
    """
    sa, sb = _Side(a, "A"), _Side(b, "B")
    _check_same_profiles(sa, sb)
    common = tuple(j for j in sa.jobs if j in sb.jobs and (jobs is None or j in jobs))
    if not common:
        raise ResultsError(
            Problem(
                sb.label,
                "",
                f"no job to compare: A has {list(sa.jobs)}, B has {list(sb.jobs)}"
                + (f", asked for {list(jobs)}" if jobs else "")
                + f" (got {list(sb.jobs)!r})",
            )
        )
    skipped = tuple(sorted(set(sa.jobs) ^ set(sb.jobs)))
    diffs = tuple(
        _grouping_diff(job, name, col, sa, sb, examples=examples)
        for name, col in GROUPINGS
        for job in common
    )
    return ConfigDiff(sa.label, sb.label, sa.count, common, skipped, diffs)


__all__ = [
    "GROUPINGS",
    "MATCH_GROUPS",
    "MERGE_GROUPS",
    "ConfigDiff",
    "Example",
    "GroupingDiff",
    "Piece",
    "diff_results",
]
