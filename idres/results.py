"""The result of a preview, its results folder, and the AWS-shaped answers read from it.

One :class:`PreviewResult` carries what a run produced, so the CLI, the Python API, the evaluator and
the report all read the same thing. :func:`write_results` lays it out as docs/DESIGN.md describes
(built beside the target and swapped in when complete); :class:`ResultsFolder` reads a folder back
and answers ListRuleBasedMatches / GetSimilarProfiles / GetMatches questions and explanations.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from idres import schema
from idres.atomic import atomic_dir
from idres.direct_io import open_direct
from idres.errors import Problem, ResultsError
from idres.merged_text import empty_plan
from idres.threads import in_background
from idres.timings import timed

if TYPE_CHECKING:
    from idres.config import DomainConfig
    from idres.rulebased import RuleBasedResult

RULE_BASED = "rule-based"
ML = "ml"
JOBS = (RULE_BASED, ML)
MATCH_TYPE = {RULE_BASED: "RULE_BASED_MATCHING", ML: "ML_BASED_MATCHING"}


#: ProfileIds hashed per slice by :func:`profile_ids_digest` (a few MB of text at a time).
_DIGEST_SLICE: Final = 100_000


def profile_ids_digest(profile_ids: pl.Series) -> str:
    """SHA-256 of the sorted ProfileIds joined by newlines: identifies a profile set.

    >>> profile_ids_digest(pl.Series(["b", "a"])) == profile_ids_digest(pl.Series(["a", "b"]))
    True
    """
    ids = profile_ids.cast(pl.String)
    if not ids.is_sorted():
        ids = ids.sort()
    digest = hashlib.sha256()
    # Fed a slice at a time: 10M ids joined at once were 330 MB of text, copied twice more
    # (to a str, then to bytes), all of it fresh memory.
    for lo in range(0, ids.len(), _DIGEST_SLICE):
        if lo:
            digest.update(b"\n")
        digest.update(ids.slice(lo, _DIGEST_SLICE).str.join("\n").cast(pl.Binary).item())
    return digest.hexdigest()


@dataclass(frozen=True)
class PreviewResult:
    """What one preview run produced (either job may be absent when not enabled)."""

    config: DomainConfig
    profile_count: int
    profile_ids_sha256: str
    rule_based: RuleBasedResult | None = None
    ml: Any | None = None
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        """Both jobs' summaries, keyed by job name."""
        out: dict[str, Any] = {}
        if self.rule_based is not None:
            out[RULE_BASED] = self.rule_based.summary
        if self.ml is not None:
            out[ML] = self.ml.summary
        return out


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", "utf-8")


def _by_match_id(groups: pl.DataFrame) -> pl.DataFrame:
    """MatchId, ProfileId, RuleLevel of every grouped profile, by MatchId then ProfileId.

    Rows are ordered by an integer (MatchId's first 15 hex digits) with a stable sort, which
    keeps each group's ProfileIds in order; a check that MatchIds came out sorted falls back to
    sorting the strings (3x slower at 10M).
    """
    from idres.rule_codes import fingerprint_codes

    if not groups.get_column("ProfileId").is_sorted():
        groups = groups.sort("ProfileId")
    table = groups.select("MatchId", "ProfileId", "RuleLevel")
    if table.height >= 1 << 32:  # rows would not fit the packed sort below
        return table.sort("MatchId", "ProfileId")
    # Equal MatchIds share a code; the groups (not the rows) are ranked by prefix, and the rows
    # put in rank order by one sort of (rank, row) packed integers, which keeps ProfileId order.
    code, first = fingerprint_codes(table.get_column("MatchId"))
    prefix = (
        table.get_column("MatchId")
        .gather(first)
        .str.slice(0, 15)
        .str.to_integer(base=16, strict=False)
    )
    rank = np.empty(first.size, dtype=np.uint64)
    rank[prefix.arg_sort(nulls_last=True).to_numpy()] = np.arange(first.size, dtype=np.uint64)
    packed = (rank[code] << np.uint64(32)) | np.arange(table.height, dtype=np.uint64)
    order = pl.Series(packed).sort().to_numpy() & np.uint64(0xFFFFFFFF)
    ordered = table[order.astype(np.int64)]
    if not ordered.get_column("MatchId").is_sorted():
        ordered = table.sort("MatchId", "ProfileId")
    return ordered


#: Match groups written per pass of the compiled writer.
_MATCHES_PER_PASS: Final = 500_000


def write_matches(
    groups: pl.DataFrame, out: BinaryIO, *, per_pass: int = _MATCHES_PER_PASS
) -> None:
    """``matches.jsonl``: one match group a line, by MatchId — ``{"MatchId", "ProfileIds"
    (sorted), "RuleLevel"}`` — written from the rows by MatchId by :mod:`idres.json_lines`, each
    group's ProfileIds read as a range of rows: no per-group lists are built (Polars' group-by
    into lists and ``write_ndjson`` took 3.6 CPU s for 2.3M groups at 10M). `per_pass` groups
    are written by each pass of the compiled writer (its buffer holds their text).
    """
    from idres.json_lines import LineProgram, LineWriter

    ordered = _by_match_id(groups)
    ids = ordered.get_column("MatchId")
    new = (ids != ids.shift()).fill_null(True).to_numpy()
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], ids.len())[: starts.size]
    bounds = np.vstack([starts, ends])  # each group's rows
    program = LineProgram()
    program.begin()
    program.string("MatchId", 0, 0)
    program.strings("ProfileIds", 1, 0)
    program.json("RuleLevel", 2, 0)  # a number ("null" where missing, as Polars writes it)
    program.end()
    columns = [ids, ordered.get_column("ProfileId"), ordered.get_column("RuleLevel")]
    columns[2] = columns[2].cast(pl.String).fill_null("null")
    writer = LineWriter(program)
    for lo in range(0, starts.size, per_pass):
        index = np.ascontiguousarray(bounds[:, lo : lo + per_pass])
        text, _ = writer.lines(columns, index=index)
        out.write(text)  # type: ignore[arg-type]


#: snappy (the Parquet default of Spark and pyarrow) writes these large tables about 2.5x faster
#: than zstd, for files about 1.5x larger.
PARQUET_COMPRESSION: Final = "snappy"


def write_rule_based(result: RuleBasedResult, folder: Path) -> None:
    """Write the rule-based job's files into `folder` (which must exist); the time each took goes
    into ``timings.json`` (``write: <file>``). The files that do not need the merge go first, while
    it may still be running."""
    writes: dict[str, float] = {}  # this write's own times, filed as "write: <file>" at the end
    for name, frame in (
        ("links.parquet", result.links),
        ("keys.parquet", result.keys),
        ("groups.parquet", result.groups),
    ):
        with timed(writes, name), open_direct(folder / name) as out:
            frame.write_parquet(out, compression=PARQUET_COMPRESSION)
    with timed(writes, "matches.jsonl"), open_direct(folder / "matches.jsonl") as out:
        write_matches(result.groups, out)
    with timed(writes, "dead-letters.jsonl"), open_direct(folder / "dead-letters.jsonl") as out:
        result.dead_letters.write_ndjson(out)
    with timed(writes, "waiting for the merge"):  # it runs in the background until now
        merge = result.merge
    with open_direct(folder / "merge-plan.json") as plan_file:
        if merge is None:
            empty_plan(plan_file)
        else:
            with open_direct(folder / "merged-profiles.parquet") as out:
                # Beside the text, in a thread of its own: pyarrow's writer took 4.5 CPU s for
                # the merged profiles of a 10M preview where Polars' took 6.8 (on two threads).
                merged = merge.merged.to_arrow(compat_level=pl.CompatLevel.newest())
                # Statistics (min / max per row group) for ProfileId only, the column a reader
                # filters on: those of the 70 others took 1.1 of the writer's 5.0 CPU s at 10M.
                parquet = in_background(
                    lambda: pq.write_table(
                        merged,
                        out,
                        compression=PARQUET_COMPRESSION,
                        write_statistics=[schema.PROFILE_ID],
                    ),
                    name="idres-merged-parquet",
                )
                try:  # one pass writes both text files, chunk by chunk
                    with (
                        timed(writes, "merged-profiles.jsonl + merge-plan.json"),
                        open_direct(folder / "merged-profiles.jsonl") as profiles_file,
                    ):
                        merge.write_texts(profiles_file, plan_file)
                    with timed(writes, "merged-profiles.parquet"):  # what is left of it
                        parquet.result()
                finally:  # after an error too, the thread is done with `out` before it closes
                    wait([parquet])
    result.timings.update({f"write: {name}": t for name, t in writes.items()})
    _dump(folder / "summary.json", result.summary)
    _dump(folder / "timings.json", result.timings)


def write_results(result: PreviewResult, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write a results folder atomically; refuse a non-empty `out_dir` unless `force`."""
    with atomic_dir(out_dir, force=force) as tmp:
        manifest = {
            "idres_version": _version(),
            "DomainName": result.config.DomainName,
            "profile_count": result.profile_count,
            "profile_ids_sha256": result.profile_ids_sha256,
            "jobs": [j for j, r in ((RULE_BASED, result.rule_based), (ML, result.ml)) if r],
            "inputs": result.inputs,
            "config": result.config.to_aws_json(),
        }
        _dump(tmp / "manifest.json", manifest)
        _dump(tmp / "summary.json", result.summary)
        if result.rule_based is not None:
            (tmp / RULE_BASED).mkdir()
            write_rule_based(result.rule_based, tmp / RULE_BASED)
        if result.ml is not None:
            (tmp / ML).mkdir()
            result.ml.write(tmp / ML)
    return Path(out_dir)


def _version() -> str:
    from idres import __version__

    return __version__


class ResultsFolder:
    """A results folder read back: the AWS-shaped answers and explanations.

    Files are read when first needed; every missing file is a :class:`ResultsError` naming it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "manifest.json").is_file():
            raise ResultsError(
                Problem(str(self.path), "", "not an idres results folder (no manifest.json)")
            )
        self.manifest: dict[str, Any] = json.loads((self.path / "manifest.json").read_text())

    @property
    def jobs(self) -> list[str]:
        """Jobs present in the folder."""
        return [j for j in JOBS if (self.path / j).is_dir()]

    def file(self, job: str, name: str) -> Path:
        """Path of one result file, or a clear error when the job or file is absent."""
        path = self.path / job / name
        if not path.exists():
            present = ", ".join(self.jobs) or "none"
            raise ResultsError(Problem(str(path), "", f"missing (jobs in this folder: {present})"))
        return path

    def groups(self, job: str) -> pl.DataFrame:
        """The job's groups table (one row per profile in a match group)."""
        return pl.read_parquet(self.file(job, "groups.parquet"))

    def default_job(self, job: str | None) -> str:
        """`job` if given, else the only job present, else rule-based."""
        if job:
            if job not in JOBS:
                raise ResultsError(Problem(None, "--job", f"must be one of {JOBS} (got {job!r})"))
            return job
        return self.jobs[0] if len(self.jobs) == 1 else RULE_BASED

    def list_matches(self, job: str = RULE_BASED) -> dict[str, Any]:
        """ListRuleBasedMatches: ``{"MatchIds": [...]}`` (sorted)."""
        ids = self.groups(job).get_column("MatchId").unique().sort().to_list()
        return {"MatchIds": ids}

    def similar(
        self, job: str, *, profile_id: str | None = None, match_id: str | None = None
    ) -> dict[str, Any]:
        """GetSimilarProfiles by ``_profileId`` or ``_matchId`` (exactly one must be given)."""
        if (profile_id is None) == (match_id is None):
            raise ResultsError(Problem(None, "", "give exactly one of --profile-id or --match-id"))
        groups = self.groups(job)
        if profile_id is not None:
            hit = groups.filter(pl.col("ProfileId") == profile_id)
            if hit.is_empty():
                raise ResultsError(
                    Problem(
                        str(self.path),
                        "_profileId",
                        f"profile {profile_id!r} is in no {job} match group "
                        f"(it matched nothing, or is not in the profile set of this run)",
                    )
                )
            match_id = hit.item(0, "MatchId")
        members = groups.filter(pl.col("MatchId") == match_id).sort("ProfileId")
        if members.is_empty():
            raise ResultsError(
                Problem(
                    str(self.path), "_matchId", f"no {job} match group has MatchId {match_id!r}"
                )
            )
        out: dict[str, Any] = {
            "ProfileIds": members.get_column("ProfileId").to_list(),
            "MatchId": match_id,
            "MatchType": MATCH_TYPE[job],
        }
        if "RuleLevel" in members.columns:
            out["RuleLevel"] = int(members.item(0, "RuleLevel"))
        if "ConfidenceScore" in members.columns:
            out["ConfidenceScore"] = float(members.item(0, "ConfidenceScore"))
        return out

    def explain(self, match_id: str) -> dict[str, Any]:
        """Explain a rule-based match group: its links (pair, level, key values) and bridges."""
        from idres.explain import explain_group

        groups = self.groups(RULE_BASED)
        members = groups.filter(pl.col("MatchId") == match_id)
        if members.is_empty():
            raise ResultsError(
                Problem(
                    str(self.path),
                    "_matchId",
                    f"no rule-based match group has MatchId {match_id!r}",
                )
            )
        links = pl.read_parquet(self.file(RULE_BASED, "links.parquet"))
        keys = pl.read_parquet(self.file(RULE_BASED, "keys.parquet"))
        return explain_group(members, links, keys)

    def summary(self) -> dict[str, Any]:
        """The run summary (both jobs)."""
        return json.loads((self.path / "summary.json").read_text())


__all__ = [
    "JOBS",
    "ML",
    "RULE_BASED",
    "PreviewResult",
    "ResultsFolder",
    "profile_ids_digest",
    "schema",
    "write_results",
]
