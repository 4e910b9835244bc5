"""A run as the analysis tools read it: a results folder, or a preview held in memory.

:class:`Run` gives diff one view of a results folder or a :class:`~idres.results.PreviewResult`:
its profile set (count and digest), jobs, groups, rule-based links and keys, ML scored pairs.
:func:`read_scored_pairs`, :func:`run_merge_threshold` and :func:`manifest_config` read what tune
and report need from a results folder: the ML job's scored pairs and the configuration it ran with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import polars as pl

from idres.config import DomainConfig, parse_domain
from idres.errors import Problem, ResultsError
from idres.results import ML, RULE_BASED, PreviewResult, ResultsFolder
from idres.schema import CONFIDENCE, PROFILE_ID_A, PROFILE_ID_B

#: The AutoMerging member holding the merge threshold.
MERGE: Final = "MinAllowedConfidenceScoreForMerging"

Source = ResultsFolder | PreviewResult | str | Path


def as_folder(results: ResultsFolder | str | Path) -> ResultsFolder:
    """`results` as a :class:`~idres.results.ResultsFolder` (a path is opened).

    >>> as_folder("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    idres.errors.ResultsError: /nonexistent: not an idres results folder (no manifest.json)
    """
    return results if isinstance(results, ResultsFolder) else ResultsFolder(results)


class Run:
    """One run as diff reads it: profile set, jobs, groups, links or pairs, keys.

    `name` labels an in-memory preview (a results folder is labelled by its path).
    """

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


def check_same_profiles(a: Run, b: Run) -> None:
    """Raise :class:`ResultsError` unless both runs were computed on the same profile set."""
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


def read_scored_pairs(results: ResultsFolder | str | Path) -> pl.DataFrame:
    """The ML job's scored pairs (ProfileIdA, ProfileIdB, ConfidenceScore) or a clear ResultsError.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text("{}")
    >>> read_scored_pairs(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    idres.errors.ResultsError: ...: no ML scores to sweep: ... (got jobs: none)
    """
    folder = as_folder(results)
    path = folder.path / ML / "pairs.parquet"
    if ML not in folder.jobs or not path.is_file():
        present = ", ".join(folder.jobs) or "none"
        raise ResultsError(
            Problem(
                str(path),
                "",
                "no ML scores to sweep: the folder holds no scored pairs (run `idres preview` "
                f"with Matching.Enabled) (got jobs: {present})",
            )
        )
    frame = pl.read_parquet(path)
    missing = [c for c in (PROFILE_ID_A, PROFILE_ID_B, CONFIDENCE) if c not in frame.columns]
    if missing:
        raise ResultsError(
            [Problem(str(path), c, f"missing column (got {frame.columns!r})") for c in missing]
        )
    return frame.select(
        pl.col(PROFILE_ID_A).cast(pl.String),
        pl.col(PROFILE_ID_B).cast(pl.String),
        pl.col(CONFIDENCE).cast(pl.Float64),
    )


def run_merge_threshold(manifest: dict[str, Any]) -> float | None:
    """The run's MinAllowedConfidenceScoreForMerging (0.0 when AutoMerging is on without one;
    None when AutoMerging was off).

    >>> run_merge_threshold({"config": {"Matching": {"Enabled": True, "AutoMerging": {
    ...     "Enabled": True, "MinAllowedConfidenceScoreForMerging": 0.8}}}})
    0.8
    """
    auto = ((manifest.get("config") or {}).get("Matching") or {}).get("AutoMerging") or {}
    if not auto.get("Enabled"):
        return None
    return float(auto.get(MERGE, 0.0))


def manifest_config(results: ResultsFolder | str | Path) -> DomainConfig:
    """The domain config a results folder was computed with (from its manifest).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text('{"config": {"DomainName": "live"}}')
    >>> manifest_config(d).DomainName
    'live'
    """
    folder = as_folder(results)
    return parse_domain(
        folder.manifest.get("config") or {}, source=str(folder.path / "manifest.json")
    )


__all__ = [
    "MERGE",
    "Run",
    "Source",
    "as_folder",
    "check_same_profiles",
    "manifest_config",
    "read_scored_pairs",
    "run_merge_threshold",
]
