"""Content-derived identifiers: MatchIds and merge-group ids from the sorted member ProfileIds.

[choice] A MatchId is 32 lowercase hex characters: the MD5 of the group's ProfileIds, sorted and
joined by a newline. The same members always give the same id, whatever the run, the row order or
the Polars version; a group whose membership changes gets a new id (which is what a diff wants).
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from idres import schema


def match_id(profile_ids: list[str]) -> str:
    """The MatchId of a group with these members (any order).

    >>> match_id(["b", "a"]) == match_id(["a", "b"])
    True
    >>> len(match_id(["a", "b"]))
    32
    """
    joined = "\n".join(sorted(profile_ids))
    return hashlib.md5(joined.encode("utf-8"), usedforsecurity=False).hexdigest()


def group_ids(frame: pl.DataFrame, group_col: str, *, order_col: str | None = None) -> pl.DataFrame:
    """One ``(group_col, __id)`` row per group of `frame`, the id derived from its ProfileIds.

    `order_col`, when given, is an integer column in ProfileId order (a row index of the
    ProfileId-sorted table), so members are put in order without comparing strings. The members
    of every group are joined into one buffer by Polars and each group's slice hashed (one C call
    per group, not per profile).

    >>> f = pl.DataFrame({"ProfileId": ["a", "b", "c"], "g": [0, 0, 2]})
    >>> group_ids(f, "g").get_column("__id").str.len_chars().to_list()
    [32, 32]
    >>> group_ids(f.with_row_index("r"), "g", order_col="r").equals(group_ids(f, "g"))
    True
    """
    if order_col is None:
        ordered = frame.select(group_col, schema.PROFILE_ID).sort(group_col, schema.PROFILE_ID)
    else:
        ordered = frame.select(group_col, order_col, schema.PROFILE_ID)
        group = ordered.get_column(group_col)
        if (
            ordered.get_column(order_col).is_sorted()
            and group.dtype.is_unsigned_integer()
            and ordered.height < 1 << 32
            and (group.max() or 0) < 1 << 32
        ):  # sort (group, position) packed into one integer: no argsort, no string moves
            packed = (group.to_numpy().astype(np.uint64) << np.uint64(32)) | np.arange(
                ordered.height, dtype=np.uint64
            )
            perm = pl.Series(packed).sort().to_numpy() & np.uint64(0xFFFFFFFF)
            ordered = ordered.select(group_col, schema.PROFILE_ID)[perm.astype(np.int64)]
        else:
            ordered = ordered.sort(group_col, order_col).drop(order_col)
    ids = ordered.get_column(schema.PROFILE_ID).cast(pl.String)
    groups = ordered.get_column(group_col).to_numpy()
    if not groups.size:
        return pl.DataFrame(
            {group_col: ordered.get_column(group_col), "__id": pl.Series([], dtype=pl.String)}
        )
    lengths = ids.str.len_bytes().to_numpy().astype(np.int64)
    starts = np.cumsum(lengths + 1) - (lengths + 1)  # each id and its newline
    new = np.ones(groups.size, dtype=bool)
    new[1:] = groups[1:] != groups[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], groups.size) - 1
    buffer = memoryview(ids.str.join("\n").item().encode("utf-8"))
    md5 = hashlib.md5
    digests = [
        md5(buffer[s:e], usedforsecurity=False).hexdigest()
        for s, e in zip(
            starts[first].tolist(), (starts[last] + lengths[last]).tolist(), strict=True
        )
    ]
    return pl.DataFrame(
        {
            group_col: ordered.get_column(group_col).gather(first),
            "__id": pl.Series(digests, dtype=pl.String),
        }
    )
