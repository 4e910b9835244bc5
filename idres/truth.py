"""Truth files and the input checks of evaluation: every problem at once, with a few ids quoted.

A truth file (CSV or Parquet) names the real-world entity of each profile: ``ProfileId`` and
``EntityId``, one row per profile of the profile set. :func:`read_truth` reads one,
:func:`check_truth` checks it against a profile set and :func:`check_truth_profile_set` against the
profile set of a results folder (known by its size and digest). The helpers that quote offending
ids (:func:`ids_problems`, :func:`duplicate_problems`, :func:`require_columns`) serve the
evaluators and sweeps too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import polars as pl

from idres import schema
from idres.errors import InputError, Problem, did_you_mean
from idres.schema import ENTITY_ID

#: Offending ids quoted per problem.
MAX_IDS: Final = 5


def quote_ids(ids: pl.Series) -> list[str]:
    """The first few ids (sorted), to quote in a problem."""
    return ids.cast(pl.String).sort().head(MAX_IDS).to_list()


def require_columns(frame: pl.DataFrame, columns: Sequence[str], source: str) -> None:
    """Raise :class:`InputError` naming each of `columns` missing from `frame`."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            [
                Problem(
                    source,
                    c,
                    f"missing column{did_you_mean(c, frame.columns)} (got columns {frame.columns!r})",
                )
                for c in missing
            ]
        )


def ids_problems(
    source: str, location: str, ids: pl.Series, what: str, *, got: bool = True
) -> list[Problem]:
    """One problem counting the distinct `ids` and quoting a few (none when `ids` is empty).

    >>> [str(p) for p in ids_problems("f", "ProfileId", pl.Series(["b", "a", "b"]), "unknown ids")]
    ["f: ProfileId: 2 unknown ids (got ['a', 'b'])"]
    """
    ids = ids.drop_nulls().unique()
    if ids.is_empty():
        return []
    quoted = f"got {quote_ids(ids)!r}" if got else f"e.g. {quote_ids(ids)!r}"
    return [Problem(source, location, f"{ids.len()} {what} ({quoted})")]


def duplicate_problems(ids: pl.Series, source: str, what: str) -> list[Problem]:
    """A problem listing the ids that appear more than once (none: empty list)."""
    if ids.n_unique() == ids.len():
        return []
    return ids_problems(
        source, ids.name, ids.filter(ids.is_duplicated()), f"{what} appear more than once"
    )


def empty_problems(frame: pl.DataFrame, column: str, source: str, key: str) -> list[Problem]:
    """Null or empty values of `column`, quoted by row number (or by the `key` column).

    >>> f = pl.DataFrame({"ProfileId": ["a", "b"], "EntityId": ["1", ""]})
    >>> [str(p) for p in empty_problems(f, "EntityId", "t.csv", "ProfileId")]
    ["t.csv: EntityId: 1 empty values (ProfileIds ['b'])"]
    """
    bad = frame.with_row_index("__row", offset=1).filter(
        pl.col(column).is_null() | (pl.col(column).cast(pl.String) == "")
    )
    if bad.is_empty():
        return []
    where = "rows" if key == column else f"{key}s"
    examples = bad["__row"].head(MAX_IDS).to_list() if key == column else quote_ids(bad[key])
    return [Problem(source, column, f"{bad.height} empty values ({where} {examples!r})")]


def same_dtype(x: pl.Series, y: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`x` and `y` unchanged when their dtypes agree, else both cast to strings (ids to compare).

    >>> [s.dtype for s in same_dtype(pl.Series([1]), pl.Series(["1"]))]
    [String, String]
    """
    if x.dtype == y.dtype:
        return x, y
    return x.cast(pl.String), y.cast(pl.String)


def check_truth(
    truth: pl.DataFrame,
    profile_ids: pl.Series | Sequence[str],
    *,
    source: str = "truth file",
    profile_col: str = schema.PROFILE_ID,
    entity_col: str = ENTITY_ID,
) -> None:
    """Raise :class:`InputError` unless `truth` names every profile of `profile_ids` exactly once.

    Reports, all at once, duplicate ids, profiles the truth misses and ids it has that are not in
    the profile set (each with its count and up to five examples), and empty values.

    >>> t = pl.DataFrame({"ProfileId": ["a", "a", "z"], "EntityId": ["1", "1", "2"]})
    >>> check_truth(t, ["a", "b"])
    Traceback (most recent call last):
    ...
    idres.errors.InputError: truth file: ProfileId: 1 ProfileIds appear more than once (got ['a'])
    truth file: ProfileId: 1 profiles of the profile set are missing (e.g. ['b'])
    truth file: ProfileId: 1 ProfileIds are not in the profile set (got ['z'])
    """
    require_columns(truth, (profile_col, entity_col), source)
    ids, universe = same_dtype(truth.get_column(profile_col), pl.Series(profile_col, profile_ids))
    problems = [
        *empty_problems(truth, profile_col, source, profile_col),
        *empty_problems(truth, entity_col, source, profile_col),
        *duplicate_problems(ids, source, "ProfileIds"),
    ]
    missing = universe.filter(~universe.is_in(ids.implode()))
    problems += ids_problems(
        source, profile_col, missing, "profiles of the profile set are missing", got=False
    )
    extra = ids.filter(~ids.is_in(universe.implode()))
    problems += ids_problems(source, profile_col, extra, "ProfileIds are not in the profile set")
    if problems:
        raise InputError(problems)


def check_truth_profile_set(
    truth: pl.DataFrame,
    *,
    profile_count: int,
    profile_ids_sha256: str,
    source: str = "truth file",
    profile_col: str = schema.PROFILE_ID,
) -> None:
    """Raise :class:`InputError` unless `truth` covers exactly the profile set of a results folder.

    The set is known by its size and the SHA-256 of its sorted ProfileIds joined by newlines (the
    results folder's ``manifest.json``); duplicates in the truth are reported too.

    >>> from idres.results import profile_ids_digest
    >>> t = pl.DataFrame({"ProfileId": ["a", "b"], "EntityId": ["1", "1"]})
    >>> check_truth_profile_set(t, profile_count=2, profile_ids_sha256=profile_ids_digest(t["ProfileId"]))
    """
    from idres.results import profile_ids_digest

    ids = truth.get_column(profile_col).cast(pl.String)
    problems = duplicate_problems(ids, source, "ProfileIds")
    if ids.len() != profile_count:
        problems.append(
            Problem(
                source,
                profile_col,
                f"the truth has {ids.len()} profiles but the results were computed on "
                f"{profile_count} (got {ids.len()})",
            )
        )
    elif not problems and profile_ids_digest(ids) != profile_ids_sha256:
        problems.append(
            Problem(
                source,
                profile_col,
                "the truth's ProfileIds are not the profile set of the results (sha256 of the "
                f"sorted ids differs: expected {profile_ids_sha256[:12]}…, "
                f"got {profile_ids_digest(ids)[:12]!r}…)",
            )
        )
    if problems:
        raise InputError(problems)


def read_truth(
    path: str | Path, *, profile_col: str = schema.PROFILE_ID, entity_col: str = ENTITY_ID
) -> pl.DataFrame:
    """Read a truth file (CSV or Parquet): ``ProfileId`` and ``EntityId``, both as strings.

    Other columns are ignored; an EntityId of any type is cast to a string. Missing file or
    columns and empty values raise :class:`InputError`.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "truth.csv"
    >>> _ = p.write_text("ProfileId,EntityId\\n1,7\\n2,7\\n")
    >>> read_truth(p).rows()
    [('1', '7'), ('2', '7')]
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(Problem(source, "", "truth file not found"))
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False)
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
        else:
            raise InputError(
                Problem(source, "", f"truth file must be .csv or .parquet (got {suffix!r})")
            )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(Problem(source, "", f"cannot read the truth file: {exc}")) from exc
    require_columns(frame, (profile_col, entity_col), source)
    frame = frame.select(pl.col(profile_col).cast(pl.String), pl.col(entity_col).cast(pl.String))
    problems = [
        *empty_problems(frame, profile_col, source, profile_col),
        *empty_problems(frame, entity_col, source, profile_col),
    ]
    if problems:
        raise InputError(problems)
    return frame
