"""``idres profiles inspect``: fill rates, top values, crowded values; the CLI around them."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from idres.cli import main
from idres.inspect import fill_rates, inspect_profiles, low_cardinality, top_values
from idres.profiles import canonicalize, write_profiles


def crowd(n_shared: int, n_other: int = 10) -> pl.DataFrame:
    """`n_shared` profiles with one (differently spelled) e-mail, plus `n_other` distinct ones."""
    shared = [" Info@Example.com", "info@example.com ", "INFO@EXAMPLE.COM"]
    emails = [shared[i % 3] for i in range(n_shared)] + [f"u{i}@x.org" for i in range(n_other)]
    ids = [f"p{i:05d}" for i in range(len(emails))]
    return canonicalize(pl.DataFrame({"ProfileId": ids, "EmailAddress": emails}))


@pytest.mark.parametrize(
    ("shared", "listed"),
    [pytest.param(501, True, id="501-profiles-listed"), pytest.param(500, False, id="500-not")],
)
def test_low_cardinality_limit_is_strict(shared: int, listed: bool) -> None:
    result = inspect_profiles(crowd(shared), limit=500)
    rows = result.crowded.rows()
    assert rows == ([("EmailAddress", "info@example.com", shared)] if listed else [])


def test_low_cardinality_counts_normalized_values_per_column() -> None:
    frame = pl.DataFrame(
        {
            "_n.FirstName": ["ann"] * 3 + ["bo"] * 3 + ["cy"],
            "_n.LastName": ["lee"] * 4 + [None] * 3,
            "FirstName": ["not", "counted", "raw", "x", "x", "x", "x"],
        }
    )
    assert low_cardinality(frame, limit=2).rows() == [
        ("FirstName", "ann", 3),
        ("FirstName", "bo", 3),
        ("LastName", "lee", 4),
    ]


def test_fill_rates_count_blank_text_as_empty() -> None:
    frame = pl.DataFrame({"a": ["x", "", None, " "], "n": [1, None, 3, 4]})
    assert fill_rates(frame).rows() == [("a", 1, 0.25), ("n", 3, 0.75)]


def test_top_values_are_deterministic() -> None:
    frame = pl.DataFrame({"_n.LastName": ["b", "a", "c", "a", "b", None], "FirstName": ["x"] * 6})
    assert top_values(frame, ("LastName", "FirstName", "BirthDate"), n=2).rows() == [
        ("LastName", "a", 2),
        ("LastName", "b", 2),
        ("FirstName", "x", 6),
    ]


def test_inspection_as_dict() -> None:
    result = inspect_profiles(crowd(3, 1), limit=2, top=1)
    data = result.to_dict()
    assert data["rows"] == 4
    assert {"column": "EmailAddress", "filled": 4, "fill_rate": 1.0} in data["columns"]
    assert data["top_values"] == [
        {"column": "EmailAddress", "value": "info@example.com", "count": 3}
    ]
    assert data["low_cardinality"] == {
        "limit": 2,
        "values": [{"column": "EmailAddress", "value": "info@example.com", "count": 3}],
    }


# ---------------------------------------------------------------------------------------------
# CLI


@pytest.fixture
def crowded_file(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.csv"
    write_profiles(crowd(501), path)
    return path


def test_cli_tables(crowded_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "inspect", str(crowded_file)]) == 0
    out = capsys.readouterr().out
    assert "511 profiles" in out
    assert "Fill rate per column" in out and "EmailAddress" in out
    assert "Values shared by more than 500 profiles" in out
    assert "info@example.com" in out and "501" in out


def test_cli_json(crowded_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "inspect", str(crowded_file), "--json", "--limit", "501"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["file"] == str(crowded_file)
    assert data["rows"] == 511
    assert data["low_cardinality"] == {"limit": 501, "values": []}


def test_cli_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.data"
    path.write_text('{"ProfileId": "a", "origin": "crm", "updated": 1714564800}\n')
    argv = ["profiles", "inspect", str(path), "--format", "jsonl", "--json"]
    argv += ["--source-column", "origin", "--updated-column", "updated"]
    assert main(argv) == 0
    columns = {c["column"]: c["filled"] for c in json.loads(capsys.readouterr().out)["columns"]}
    assert columns["SourceObjectType"] == 1 and columns["LastUpdatedAt"] == 1
    assert "origin" not in columns


@pytest.mark.parametrize(
    ("content", "extra", "expected"),
    [
        pytest.param(
            '{"ProfileId": "a"}\n{"ProfileId": "a"}\n',
            [],
            "line 1: duplicate ProfileId",
            id="duplicate",
        ),
        pytest.param('{"ProfileId": \n', [], "line 1: malformed JSON", id="malformed"),
        pytest.param(
            '{"ProfileId": "a"}\n', ["--format", "xml"], "unknown profile format", id="format"
        ),
        pytest.param(
            '{"ProfileId": "a"}\n',
            ["--updated-column", "when"],
            "no update-time column named 'when'",
            id="override",
        ),
    ],
)
def test_cli_bad_input_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    extra: list[str],
    expected: str,
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    assert main(["profiles", "inspect", str(path), *extra]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_cli_usage_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "inspect", str(tmp_path / "p.csv"), "--limit", "0"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_help_lists_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "inspect", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--format", "--source-column", "--updated-column", "--limit", "--json"):
        assert option in out
