"""Tests for idres.evaluate (metrics, truth files) and the `idres evaluate` command."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.cli import main
from idres.errors import InputError
from idres.evaluate import MAX_PIECES, Metrics, OverMerged, Split, evaluate
from idres.results import profile_ids_digest
from idres.truth import check_truth, check_truth_profile_set, read_truth


def frames(clusters: list[str | None], entities: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Assignment (profiles with a cluster only) and truth for profiles p0, p1, ..."""
    ids = [f"p{i}" for i in range(len(entities))]
    truth = pl.DataFrame(
        {"ProfileId": ids, "EntityId": entities}, schema_overrides={"EntityId": pl.String}
    )
    assigned = [(i, c) for i, c in zip(ids, clusters, strict=True) if c is not None]
    assignment = pl.DataFrame(
        {"ProfileId": [i for i, _ in assigned], "MatchId": [c for _, c in assigned]},
        schema={"ProfileId": pl.String, "MatchId": pl.String},
    )
    return assignment, truth


def brute_force(clusters: list[str | None], entities: list[str]) -> dict[str, float]:
    """Reference values by listing every pair and every profile."""
    n = len(entities)
    key = [c if c is not None else ("alone", i) for i, c in enumerate(clusters)]
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(n), 2):
        same_c, same_e = key[i] == key[j], entities[i] == entities[j]
        tp += same_c and same_e
        fp += same_c and not same_e
        fn += same_e and not same_c
    csize, esize = Counter(key), Counter(entities)
    cell = Counter(zip(key, entities, strict=True))
    b3p = sum(cell[(key[i], entities[i])] / csize[key[i]] for i in range(n)) / n
    b3r = sum(cell[(key[i], entities[i])] / esize[entities[i]] for i in range(n)) / n
    ents_of = {c: {e for (cc, e) in cell if cc == c} for c in csize}
    clus_of = {e: {c for (c, ee) in cell if ee == e} for e in esize}
    exact = sum(1 for e in esize if len(clus_of[e]) == 1 and ents_of[next(iter(clus_of[e]))] == {e})
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "bcubed_precision": b3p,
        "bcubed_recall": b3r,
        "exact_entities": exact,
        "over_merged_clusters": sum(1 for c in csize if len(ents_of[c]) > 1),
        "split_entities": sum(1 for e in esize if len(clus_of[e]) > 1),
        "clusters": len(csize),
        "groups": sum(1 for c in csize if csize[c] > 1),
    }


HAND = [
    pytest.param(
        ["a", "a", "b", "b", None],
        ["x", "x", "y", "y", "z"],
        dict(
            tp=2, fp=0, fn=0, precision=1.0, recall=1.0, b3p=1.0, b3r=1.0, exact=3, over=0, split=0
        ),
        id="perfect",
    ),
    pytest.param(
        [None, None, None, None],
        ["x", "x", "y", "z"],
        dict(
            tp=0, fp=0, fn=1, precision=1.0, recall=0.0, b3p=1.0, b3r=0.75, exact=2, over=0, split=1
        ),
        id="all-singletons",
    ),
    pytest.param(
        ["a", "a", "a", None],
        ["x", "x", "y", "z"],
        dict(
            tp=1,
            fp=2,
            fn=0,
            precision=1 / 3,
            recall=1.0,
            b3p=(2 / 3 * 2 + 1 / 3 + 1) / 4,
            b3r=1.0,
            exact=1,
            over=1,
            split=0,
        ),
        id="one-over-merge",
    ),
    pytest.param(
        ["a", "a", "b", None],
        ["x", "x", "x", "y"],
        dict(
            tp=1,
            fp=0,
            fn=2,
            precision=1.0,
            recall=1 / 3,
            b3p=1.0,
            b3r=(2 / 3 * 2 + 1 / 3 + 1) / 4,
            exact=1,
            over=0,
            split=1,
        ),
        id="one-split",
    ),
    pytest.param(
        ["a", "a", "a", "b", "b", None, "c"],
        ["x", "x", "y", "y", "z", "z", "w"],
        dict(
            tp=1,
            fp=3,
            fn=2,
            precision=0.25,
            recall=1 / 3,
            b3p=(2 / 3 * 2 + 1 / 3 + 1 / 2 * 2 + 1 + 1) / 7,
            b3r=(1 + 1 + 1 / 2 + 1 / 2 + 1 / 2 + 1 / 2 + 1) / 7,
            exact=1,
            over=2,
            split=2,
        ),
        id="mixed",
    ),
]


@pytest.mark.parametrize(("clusters", "entities", "want"), HAND)
def test_hand_computed(clusters: list[str | None], entities: list[str], want: dict) -> None:
    m = evaluate(*frames(clusters, entities))
    got = dict(
        tp=m.true_positives,
        fp=m.false_positives,
        fn=m.false_negatives,
        precision=m.precision,
        recall=m.recall,
        b3p=m.bcubed_precision,
        b3r=m.bcubed_recall,
        exact=m.exact_entities,
        over=m.over_merged_clusters,
        split=m.split_entities,
    )
    assert got == pytest.approx(want)
    p, r = want["precision"], want["recall"]
    assert m.f1 == pytest.approx(0.0 if p + r == 0 else 2 * p * r / (p + r))


partitions = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.one_of(st.none(), st.sampled_from("abcdefgh")), min_size=n, max_size=n),
        st.lists(st.sampled_from("uvwxyz"), min_size=n, max_size=n),
    )
)


@settings(max_examples=200, deadline=None)
@given(partitions)
def test_matches_brute_force(data: tuple[list[str | None], list[str]]) -> None:
    clusters, entities = data
    m = evaluate(*frames(clusters, entities))
    want = brute_force(clusters, entities)
    got = {k: getattr(m, k) for k in want}
    assert got == pytest.approx(want)
    assert m.exact_entity_share == pytest.approx(want["exact_entities"] / len(set(entities)))
    assert 0.0 <= m.precision <= 1.0 and 0.0 <= m.recall <= 1.0


@settings(max_examples=50, deadline=None)
@given(partitions, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(data: tuple[list[str | None], list[str]], rnd) -> None:
    assignment, truth = frames(*data)
    base = evaluate(assignment, truth)
    shuffled = evaluate(
        assignment.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 99)),
        truth.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 99)),
    )
    assert shuffled == base


def test_empty_profile_set_is_perfect_not_nan() -> None:
    m = evaluate(*frames([], []))
    assert (m.precision, m.recall, m.f1, m.bcubed_f1, m.exact_entity_share) == (
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
    )


def test_examples_are_ordered_and_capped() -> None:
    # cluster "big" holds 12 entities, "two" holds 2; entity "s" is split into 3 clusters + 1 alone.
    clusters = ["big"] * 13 + ["two", "two"] + ["c1", "c2", "c3", None]
    entities = [f"e{i:02d}" for i in range(12)] + ["e00"] + ["q", "r"] + ["s", "s", "s", "s"]
    m = evaluate(*frames(clusters, entities), examples=1)
    assert m.over_merged_clusters == 2 and m.split_entities == 1
    (big,) = m.over_merged_examples
    assert big.cluster == "big" and big.size == 13 and big.entities == 12
    assert len(big.pieces) == MAX_PIECES and big.pieces[0] == ("e00", 2)
    (split,) = m.split_examples
    assert split == Split("s", 4, 4, (("c1", 1), ("c2", 1), ("c3", 1)), 1)
    assert evaluate(*frames(clusters, entities), examples=0).over_merged_examples == ()


def test_integer_clusters_and_ids() -> None:
    assignment = pl.DataFrame({"ProfileId": [1, 2, 3], "MatchId": [7, 7, 7]})
    truth = pl.DataFrame({"ProfileId": ["1", "2", "3"], "EntityId": [5, 5, 6]})
    m = evaluate(assignment, truth)
    assert (m.true_positives, m.false_positives) == (1, 2)
    assert m.over_merged_examples == (OverMerged("7", 3, 2, (("5", 2), ("6", 1))),)


def test_to_dict_is_json_ready() -> None:
    d = evaluate(*frames(["a", "a", "a"], ["x", "x", "y"])).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["over_merged_examples"][0]["pieces"] == [["x", 2], ["y", 1]]
    assert set(d) >= {f.name for f in Metrics.__dataclass_fields__.values()}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        pytest.param(
            pl.DataFrame({"ProfileId": ["p0", "zz"], "MatchId": ["a", "a"]}),
            "1 ProfileIds are not in the truth (got ['zz'])",
            id="unknown-id",
        ),
        pytest.param(
            pl.DataFrame({"ProfileId": ["p0", "p0"], "MatchId": ["a", "b"]}),
            "1 ProfileIds appear more than once (got ['p0'])",
            id="duplicate-id",
        ),
        pytest.param(
            pl.DataFrame({"ProfileId": ["p0"], "MatchIds": ["a"]}),
            "missing column (did you mean 'MatchIds'?)",
            id="missing-column",
        ),
    ],
)
def test_bad_assignment(assignment: pl.DataFrame, message: str) -> None:
    _, truth = frames([None, None], ["x", "y"])
    with pytest.raises(InputError) as err:
        evaluate(assignment, truth)
    assert message in str(err.value)


# --- truth files -------------------------------------------------------------------------------


def test_check_truth_reports_every_problem_with_counts_and_five_examples() -> None:
    truth = pl.DataFrame(
        {
            "ProfileId": ["a", "a", "b", *[f"x{i}" for i in range(7)]],
            "EntityId": ["1"] * 10,
        }
    )
    universe = ["a", "b", *[f"m{i}" for i in range(6)]]
    with pytest.raises(InputError) as err:
        check_truth(truth, universe, source="t.csv")
    lines = str(err.value).splitlines()
    assert lines == [
        "t.csv: ProfileId: 1 ProfileIds appear more than once (got ['a'])",
        "t.csv: ProfileId: 6 profiles of the profile set are missing "
        "(e.g. ['m0', 'm1', 'm2', 'm3', 'm4'])",
        "t.csv: ProfileId: 7 ProfileIds are not in the profile set "
        "(got ['x0', 'x1', 'x2', 'x3', 'x4'])",
    ]
    assert len(err.value.problems) == 3


def test_check_truth_accepts_an_exact_cover() -> None:
    truth = pl.DataFrame({"ProfileId": ["b", "a"], "EntityId": ["1", "2"]})
    check_truth(truth, pl.Series(["a", "b"]))


def test_check_truth_profile_set() -> None:
    truth = pl.DataFrame({"ProfileId": ["a", "b"], "EntityId": ["1", "1"]})
    digest = profile_ids_digest(pl.Series(["a", "b"]))
    check_truth_profile_set(truth, profile_count=2, profile_ids_sha256=digest)
    with pytest.raises(InputError, match="truth has 2 profiles but the results were computed on 3"):
        check_truth_profile_set(truth, profile_count=3, profile_ids_sha256=digest)
    other = profile_ids_digest(pl.Series(["a", "c"]))
    with pytest.raises(InputError, match="not the profile set of the results"):
        check_truth_profile_set(truth, profile_count=2, profile_ids_sha256=other)


@pytest.mark.parametrize(
    "suffix", [pytest.param(".csv", id="csv"), pytest.param(".parquet", id="parquet")]
)
def test_read_truth_casts_entity_to_string(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame({"ProfileId": ["1", "2"], "EntityId": [10, 10], "Other": [1, 2]})
    path = tmp_path / f"truth{suffix}"
    frame.write_csv(path) if suffix == ".csv" else frame.write_parquet(path)
    got = read_truth(path)
    assert got.schema == pl.Schema({"ProfileId": pl.String, "EntityId": pl.String})
    assert got.rows() == [("1", "10"), ("2", "10")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("t.csv", None, "truth file not found", id="missing-file"),
        pytest.param("t.txt", "x", "must be .csv or .parquet (got '.txt')", id="bad-suffix"),
        pytest.param(
            "t.csv",
            "ProfileID,Entity\n1,2\n",
            "ProfileId: missing column (did you mean 'ProfileID'?)",
            id="missing-columns",
        ),
        pytest.param(
            "t.csv",
            "ProfileId,EntityId\n1,\n2,5\n",
            "EntityId: 1 empty values (ProfileIds ['1'])",
            id="empty-entity",
        ),
        pytest.param(
            "t.csv",
            "ProfileId,EntityId\n,3\n2,5\n",
            "ProfileId: 1 empty values (rows [1])",
            id="empty-id",
        ),
    ],
)
def test_read_truth_errors(tmp_path: Path, name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as err:
        read_truth(path)
    assert message in str(err.value)


# --- the `idres evaluate` command -------------------------------------------------------------


def make_results(root: Path) -> tuple[Path, Path]:
    """A hand-made results folder (both jobs) and its truth file."""
    ids = [f"p{i}" for i in range(8)]
    truth = pl.DataFrame({"ProfileId": ids, "EntityId": ["a", "a", "a", "b", "b", "c", "d", "d"]})
    truth_path = root / "truth.csv"
    truth.write_csv(truth_path)
    out = root / "res"
    (out / "rule-based").mkdir(parents=True)
    (out / "ml").mkdir()
    manifest = {"profile_count": 8, "profile_ids_sha256": profile_ids_digest(truth["ProfileId"])}
    (out / "manifest.json").write_text(json.dumps(manifest))
    pl.DataFrame(
        {
            "ProfileId": ["p0", "p1", "p2", "p3", "p4", "p5"],
            "MatchId": ["m1", "m1", "m1", "m1", "m2", "m2"],
            "RuleLevel": [1, 1, 1, 1, 3, 3],
            "MergeGroupId": ["g1", "g1", "g1", None, None, None],
        }
    ).write_parquet(out / "rule-based" / "groups.parquet")
    pl.DataFrame(
        {
            "ProfileIdA": ["p0", "p1", "p2", "p4"],
            "ProfileIdB": ["p1", "p2", "p3", "p5"],
            "RuleLevel": [1, 1, 2, 3],
        }
    ).write_parquet(out / "rule-based" / "links.parquet")
    pl.DataFrame(
        {
            "ProfileId": ["p0", "p1", "p6", "p7"],
            "MatchId": ["x", "x", "y", "y"],
            "ConfidenceScore": [0.9, 0.9, 0.8, 0.8],
            "MergeGroupId": ["x", "x", None, None],
        }
    ).write_parquet(out / "ml" / "groups.parquet")
    return out, truth_path


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, truth = make_results(tmp_path)
    assert main(["evaluate", str(out), str(truth), "--json", "--examples", "1"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rb = doc["jobs"]["rule-based"]
    assert (doc["profiles"], doc["entities"]) == (8, 4)
    assert rb["match_groups"]["true_positives"] == 3 and rb["match_groups"]["false_positives"] == 4
    assert rb["merge_groups"]["precision"] == 1.0 and rb["merge_groups"]["true_positives"] == 3
    assert [lv["level"] for lv in rb["levels"]] == [1, 2, 3]
    assert [lv["new_false_pairs"] for lv in rb["levels"]] == [0, 3, 1]
    assert len(rb["match_groups"]["split_examples"]) == 1
    assert doc["jobs"]["ml"]["match_groups"]["precision"] == 1.0


def test_cli_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, truth = make_results(tmp_path)
    assert main(["evaluate", str(out), str(truth)]) == 0
    text = capsys.readouterr().out
    for expected in (
        "rule-based",
        "ml",
        "pairwise precision",
        "B-cubed F1",
        "over-merged match group m1",
        "levels ≤ L",
    ):
        assert expected in text


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--examples" in text and "--json" in text and "B-cubed" in text


def _drop(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(
            lambda out, t: out.rename(out.with_name("gone")),
            "results folder not found",
            id="no-folder",
        ),
        pytest.param(
            lambda out, t: _drop(out / "manifest.json"), "manifest.json: missing", id="no-manifest"
        ),
        pytest.param(
            lambda out, t: _drop(out / "rule-based" / "groups.parquet"),
            "groups.parquet: missing",
            id="no-groups",
        ),
        pytest.param(
            lambda out, t: _drop(out / "rule-based" / "links.parquet"),
            "links.parquet: missing",
            id="no-links",
        ),
        pytest.param(
            lambda out, t: (out / "manifest.json").write_text('{"profile_count": 8}'),
            "manifest.json: profile_ids_sha256: missing or not str (got None)",
            id="manifest-key",
        ),
        pytest.param(
            lambda out, t: (out / "ml" / "groups.parquet").write_text("not parquet"),
            "groups.parquet: cannot read",
            id="corrupt-parquet",
        ),
        pytest.param(
            lambda out, t: t.write_text("ProfileId,EntityId\np0,a\np1,a\n"),
            "the truth has 2 profiles but the results were computed on 8",
            id="other-profile-set",
        ),
        pytest.param(
            lambda out, t: t.write_text(
                "ProfileId,EntityId\n" + "".join(f"q{i},a\n" for i in range(8))
            ),
            "not the profile set of the results",
            id="same-count-other-ids",
        ),
        pytest.param(
            lambda out, t: t.write_text("Id,EntityId\np0,a\n"),
            "ProfileId: missing column",
            id="truth-column",
        ),
        pytest.param(
            lambda out, t: pl.DataFrame({"ProfileId": ["p0"], "MatchId": ["m"]}).write_parquet(
                out / "ml" / "groups.parquet"
            ),
            "MergeGroupId: missing column",
            id="groups-column",
        ),
    ],
)
def test_cli_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage, message: str
) -> None:
    out, truth = make_results(tmp_path)
    damage(out, truth)
    assert main(["evaluate", str(out), str(truth)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err.replace("\n", " ")
    assert "Traceback" not in captured.err


def test_cli_unknown_ids_in_groups(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, truth = make_results(tmp_path)
    pl.DataFrame(
        {"ProfileId": ["p0", "zz"], "MatchId": ["m", "m"], "MergeGroupId": [None, None]}
    ).write_parquet(out / "ml" / "groups.parquet")
    assert main(["evaluate", str(out), str(truth)]) == 2
    assert "1 ProfileIds are not in the truth (got ['zz'])" in capsys.readouterr().err
