"""Tests for idres.diff and the `idres diff` command."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres.cli import main
from idres.diff import MATCH_GROUPS, MERGE_GROUPS, diff_results
from idres.errors import ResultsError
from idres.ids import match_id
from idres.results import profile_ids_digest

IDS = [f"p{i}" for i in range(10)]
Group = tuple[list[str], int, list[str]]  # members, RuleLevel, members that merge together


def manifest(folder: Path, ids: list[str], config: dict[str, Any] | None = None) -> None:
    folder.mkdir(parents=True)
    data = {
        "profile_count": len(ids),
        "profile_ids_sha256": profile_ids_digest(pl.Series(ids)),
        "config": config or {},
    }
    (folder / "manifest.json").write_text(json.dumps(data))


def rule_based_folder(
    root: Path,
    name: str,
    groups: list[Group],
    links: list[tuple[str, str, int, int]],
    ids: list[str] = IDS,
    shuffle: int | None = None,
) -> Path:
    """A results folder with a rule-based job: groups, star links (a, b, level, key id), keys."""
    folder = root / name
    manifest(folder, ids)
    (folder / "rule-based").mkdir()
    rows = [
        (p, match_id(members), level, match_id(merge) if p in merge else None)
        for members, level, merge in groups
        for p in members
    ]
    if shuffle is not None:
        random.Random(shuffle).shuffle(rows)
    schema = {"ProfileId": pl.String, "MatchId": pl.String, "RuleLevel": pl.Int32}
    frame = pl.DataFrame(rows, schema={**schema, "MergeGroupId": pl.String}, orient="row")
    frame.write_parquet(folder / "rule-based" / "groups.parquet")
    link_schema = {"ProfileIdA": pl.String, "ProfileIdB": pl.String, "RuleLevel": pl.Int32}
    pl.DataFrame(links, schema={**link_schema, "KeyId": pl.UInt32}, orient="row").write_parquet(
        folder / "rule-based" / "links.parquet"
    )
    keys = sorted({(lv, k) for _, _, lv, k in links})
    pl.DataFrame(
        [(lv, k, f"key{lv}-{k}", 2) for lv, k in keys],
        schema={"RuleLevel": pl.Int32, "KeyId": pl.UInt32, "Key": pl.String, "Profiles": pl.Int64},
        orient="row",
    ).write_parquet(folder / "rule-based" / "keys.parquet")
    return folder


def ml_folder(
    root: Path, name: str, groups: list[tuple[list[str], float, bool]], pairs: list
) -> Path:
    """A results folder with an ML job: groups (members, score, merges?) and scored pairs."""
    folder = root / name
    manifest(folder, IDS)
    (folder / "ml").mkdir()
    rows = [
        (p, match_id(m), score, match_id(m) if merges else None)
        for m, score, merges in groups
        for p in m
    ]
    pl.DataFrame(
        rows,
        schema={
            "ProfileId": pl.String,
            "MatchId": pl.String,
            "ConfidenceScore": pl.Float64,
            "MergeGroupId": pl.String,
        },
        orient="row",
    ).write_parquet(folder / "ml" / "groups.parquet")
    pl.DataFrame(
        pairs,
        schema={"ProfileIdA": pl.String, "ProfileIdB": pl.String, "ConfidenceScore": pl.Float64},
        orient="row",
    ).write_parquet(folder / "ml" / "pairs.parquet")
    return folder


# A: {p0,p1} and {p2,p3} merge at L1; {p6,p7,p8} matches (p6-p7 L1 merges, p8 joins at L2).
A_GROUPS: list[Group] = [
    (["p0", "p1"], 1, ["p0", "p1"]),
    (["p2", "p3"], 1, ["p2", "p3"]),
    (["p6", "p7", "p8"], 2, ["p6", "p7"]),
]
A_LINKS = [("p0", "p1", 1, 0), ("p2", "p3", 1, 1), ("p6", "p7", 1, 2), ("p6", "p8", 2, 3)]
# B: joins {p0..p3} through a level-2 link, forms a new {p4,p5}, drops p8 from {p6,p7,p8}.
B_GROUPS: list[Group] = [
    (["p0", "p1", "p2", "p3"], 2, ["p0", "p1", "p2", "p3"]),
    (["p4", "p5"], 1, ["p4", "p5"]),
    (["p6", "p7"], 1, ["p6", "p7"]),
]
B_LINKS = [("p0", "p1", 1, 0), ("p2", "p3", 1, 1), ("p1", "p2", 2, 5), ("p4", "p5", 1, 7)]
B_LINKS += [("p6", "p7", 1, 2)]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return (
        rule_based_folder(tmp_path, "a", A_GROUPS, A_LINKS),
        rule_based_folder(tmp_path, "b", B_GROUPS, B_LINKS),
    )


def test_merge_groups_new_merges_split_unchanged(folders: tuple[Path, Path]) -> None:
    d = diff_results(*folders)
    assert d.jobs == ("rule-based",) and d.profiles == 10
    assert [(g.job, g.grouping) for g in d.diffs] == [
        ("rule-based", MERGE_GROUPS),
        ("rule-based", MATCH_GROUPS),
    ]
    m = d.get("rule-based", MERGE_GROUPS)
    assert (m.merged_groups, m.merged_profiles, m.merged_pairs) == (2, 6, 5)
    assert (m.split_groups, m.split_profiles, m.split_pairs) == (0, 0, 0)
    assert (m.unchanged_groups, m.unchanged_profiles) == (1, 2)
    assert m.merged_by == ((1, 1, 2), (2, 1, 4))  # (joining level, groups, profiles)
    big = m.merged_examples[0]
    assert big.group == match_id(["p0", "p1", "p2", "p3"])
    assert (big.size, big.pieces, big.level) == (4, 2, 2)
    assert [(x.group, x.profile_ids) for x in big.parts] == [
        (match_id(["p0", "p1"]), ("p0", "p1")),
        (match_id(["p2", "p3"]), ("p2", "p3")),
    ]
    assert big.evidence == (
        {"Profiles": ["p1", "p2"], "RuleLevel": 2, "Key": "key2-5", "CrossingLinks": 1},
    )
    new = m.merged_examples[1]
    assert [(x.group, x.size) for x in new.parts] == [(None, 2)]  # both alone in A


def test_match_groups_split_in_b(folders: tuple[Path, Path]) -> None:
    m = diff_results(*folders).get("rule-based", MATCH_GROUPS)
    assert (m.split_groups, m.split_profiles, m.split_pairs) == (1, 3, 2)
    assert m.unchanged_groups == 0
    x = m.split_examples[0]
    assert x.group == match_id(["p6", "p7", "p8"]) and x.level == 2
    assert [(pc.group, pc.profile_ids) for pc in x.parts] == [
        (match_id(["p6", "p7"]), ("p6", "p7")),
        (None, ("p8",)),
    ]
    assert x.evidence[0]["Profiles"] == ["p6", "p8"]


def test_same_runs_are_unchanged(folders: tuple[Path, Path]) -> None:
    d = diff_results(folders[0], folders[0])
    for g in d.diffs:
        assert g.merged_groups == g.split_groups == g.merged_pairs == g.split_pairs == 0
        assert g.unchanged_groups == g.groups_a == g.groups_b
        assert g.merged_examples == g.split_examples == ()


def test_swapping_sides_swaps_merges_and_splits(folders: tuple[Path, Path]) -> None:
    ab = diff_results(*folders).get("rule-based", MATCH_GROUPS)
    ba = diff_results(*folders[::-1]).get("rule-based", MATCH_GROUPS)
    assert (ab.merged_groups, ab.merged_profiles, ab.merged_pairs) == (
        ba.split_groups,
        ba.split_profiles,
        ba.split_pairs,
    )


def test_row_order_does_not_matter(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    shuffled = rule_based_folder(tmp_path, "b2", B_GROUPS, B_LINKS, shuffle=3)
    assert diff_results(folders[0], shuffled).diffs == diff_results(*folders).diffs


def test_examples_option_limits_examples(folders: tuple[Path, Path]) -> None:
    d = diff_results(*folders, examples=1)
    assert all(len(g.merged_examples) <= 1 for g in d.diffs)
    assert diff_results(*folders, examples=0).diffs[0].merged_examples == ()


def test_refuses_different_profile_sets(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    other = rule_based_folder(tmp_path, "c", B_GROUPS, B_LINKS, ids=[*IDS, "p10"])
    with pytest.raises(ResultsError, match="different profile sets") as err:
        diff_results(folders[0], other)
    assert "10 profiles" in str(err.value) and "11 profiles" in str(err.value)


def test_refuses_runs_without_a_common_job(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    ml = ml_folder(tmp_path, "m", [(["p0", "p1"], 0.9, True)], [("p0", "p1", 0.9)])
    with pytest.raises(ResultsError, match="no job to compare"):
        diff_results(folders[0], ml)


def test_ml_diff_reports_scores_of_both_runs(tmp_path: Path) -> None:
    pairs_a = [("p0", "p1", 0.97), ("p1", "p2", 0.62), ("p3", "p4", 0.4)]
    pairs_b = [("p0", "p1", 0.97), ("p1", "p2", 0.93), ("p3", "p4", 0.4)]
    a = ml_folder(tmp_path, "a", [(["p0", "p1"], 0.97, True)], pairs_a)
    b = ml_folder(tmp_path, "b", [(["p0", "p1", "p2"], 0.93, True)], pairs_b)
    m = diff_results(a, b).get("ml", MERGE_GROUPS)
    assert (m.merged_groups, m.merged_profiles, m.merged_pairs) == (1, 3, 2)
    assert m.reason == "ConfidenceScore" and m.merged_by == ((0.9, 1, 3),)
    x = m.merged_examples[0]
    assert x.score == pytest.approx(0.93) and x.level is None
    assert x.evidence == ({"Profiles": ["p1", "p2"], "ScoreInB": 0.93, "ScoreInA": 0.62},)


def _brute(a: list[int | None], b: list[int | None]) -> dict[str, int]:
    """Reference counts by listing groups and pairs (None or a singleton group: alone)."""

    def groups(labels: list[int | None]) -> list[frozenset[int]]:
        out: dict[int, set[int]] = {}
        for i, g in enumerate(labels):
            if g is not None:
                out.setdefault(g, set()).add(i)
        return [frozenset(s) for s in out.values() if len(s) >= 2]

    ga, gb = groups(a), groups(b)

    def owner(gs: list[frozenset[int]]) -> dict[int, frozenset[int]]:
        return {i: g for g in gs for i in g}

    oa, ob = owner(ga), owner(gb)
    together_a = {(i, j) for g in ga for i, j in itertools.combinations(sorted(g), 2)}
    together_b = {(i, j) for g in gb for i, j in itertools.combinations(sorted(g), 2)}

    def pieces(g: frozenset[int], other: dict[int, frozenset[int]]) -> int:
        return len({other.get(i, frozenset([-1 - i])) for i in g})

    merged = [g for g in gb if pieces(g, oa) >= 2]
    split = [g for g in ga if pieces(g, ob) >= 2]
    return {
        "merged_groups": len(merged),
        "merged_profiles": sum(map(len, merged)),
        "merged_pairs": len(together_b - together_a),
        "split_groups": len(split),
        "split_profiles": sum(map(len, split)),
        "split_pairs": len(together_a - together_b),
        "unchanged_groups": len(set(ga) & set(gb)),
    }


labels = st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=10, max_size=10)


@settings(max_examples=60, deadline=None)
@given(a=labels, b=labels)
def test_counts_match_brute_force(
    tmp_path_factory: pytest.TempPathFactory, a: list, b: list
) -> None:
    root = tmp_path_factory.mktemp("h")

    def folder(name: str, lab: list[int | None]) -> Path:
        members: dict[int, list[str]] = {}
        for i, g in enumerate(lab):
            if g is not None:
                members.setdefault(g, []).append(IDS[i])
        groups = [(m, 1, m) for m in members.values()]
        return rule_based_folder(root, name, groups, [])

    d = diff_results(folder("a", a), folder("b", b), examples=0)
    expected = _brute(a, b)
    for grouping in (MERGE_GROUPS, MATCH_GROUPS):
        g = d.get("rule-based", grouping)
        assert {k: getattr(g, k) for k in expected} == expected


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_leads_with_new_merges(
    folders: tuple[Path, Path], capsys: pytest.CaptureFixture
) -> None:
    assert main(["diff", str(folders[0]), str(folders[1])]) == 0
    out = capsys.readouterr().out
    first = next(line for line in out.splitlines() if "MERGE" in line or "merges no" in line)
    assert "B would MERGE 6 profiles" in first
    assert out.index("MERGE") < out.index("unchanged")


def test_cli_json(folders: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    assert main(["diff", str(folders[0]), str(folders[1]), "--json", "--examples", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["diffs"][0]["grouping"] == MERGE_GROUPS
    assert data["diffs"][0]["merged_profiles"] == 6
    assert len(data["diffs"][0]["merged_examples"]) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["x.json"], "PROFILES: not used", id="profiles-with-folders"),
        pytest.param(["--examples", "-1"], "", id="negative-examples"),
    ],
)
def test_cli_bad_usage_exits_2(
    folders: tuple[Path, Path], capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    assert main(["diff", str(folders[0]), str(folders[1]), *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_refusal_exits_2(tmp_path: Path, folders: tuple[Path, Path], capsys) -> None:
    other = rule_based_folder(tmp_path, "c", B_GROUPS, B_LINKS, ids=IDS[:9])
    assert main(["diff", str(folders[0]), str(other)]) == 2
    assert "different profile sets" in capsys.readouterr().err


def test_cli_configs_need_profiles(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a = tmp_path / "a.json"
    a.write_text("{}")
    assert main(["diff", str(a), str(a)]) == 2
    assert "PROFILES: required" in capsys.readouterr().err


# --- real previews ------------------------------------------------------------------------------

RULES = [
    {"Rule": ["EmailAddress", "LastName"]},
    {"Rule": ["PhoneNumber", "LastName"]},
    {"Rule": ["EmailAddress"]},
    {"Rule": ["FirstName", "LastName", "BirthDate"]},
]


def config(merging: int) -> dict[str, Any]:
    return {
        "DomainName": f"merge-{merging}",
        "RuleBasedMatching": {
            "Enabled": True,
            "MatchingRules": RULES,
            "MaxAllowedRuleLevelForMerging": merging,
        },
    }


def test_cli_diff_of_two_configs_on_generated_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from idres.profiles import write_profiles
    from idres.synth import generate

    profiles, _ = generate(300, seed=1)
    path = tmp_path / "profiles.parquet"
    write_profiles(profiles, path)
    for merging in (1, 3):
        (tmp_path / f"c{merging}.json").write_text(json.dumps(config(merging)))
    argv = ["diff", str(tmp_path / "c1.json"), str(tmp_path / "c3.json"), str(path), "--json"]
    argv += ["--out-b", str(tmp_path / "b")]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    merge, match = data["diffs"]
    assert data["a"].endswith("c1.json") and data["profiles"] == 300
    # Raising the merge level only merges more: nothing splits, match groups do not change.
    assert merge["merged_profiles"] > 0 and merge["split_groups"] == 0
    assert all(level in (2, 3) for level, _, _ in merge["merged_by"])
    assert match["merged_groups"] == match["split_groups"] == 0
    assert (tmp_path / "b" / "manifest.json").is_file()


def test_empty_side_joins_everything(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    empty = rule_based_folder(tmp_path, "empty", [], [])
    m = diff_results(empty, folders[1]).get("rule-based", MATCH_GROUPS)
    assert (m.groups_a, m.merged_groups, m.merged_profiles, m.merged_pairs) == (0, 3, 8, 8)
    assert m.merged_by == ((1, 3, 8),)  # each group holds an L1 link between two lone profiles


def test_cli_reports_problems_of_both_configs(tmp_path: Path, capsys) -> None:
    bad_a, bad_b = tmp_path / "a.json", tmp_path / "b.json"
    bad_a.write_text(json.dumps({"DomainName": "a b"}))
    bad_b.write_text(json.dumps({"DefaultExpirationDays": 0}))
    profiles = tmp_path / "p.csv"
    profiles.write_text("ProfileId\n1\n")
    assert main(["diff", str(bad_a), str(bad_b), str(profiles)]) == 2
    err = capsys.readouterr().err
    assert "a.json: DomainName" in err and "b.json: DefaultExpirationDays" in err
