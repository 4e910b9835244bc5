"""Tests of idres.scoring: model save/load, attribute-set checks, explain_pair."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from idres.comparison_vectors import compare, encode
from idres.comparisons import Comparison
from idres.errors import ModelError
from idres.fellegi_sunter import FellegiSunter
from idres.schema import norm
from idres.scoring import check_model, explain_pair, load_model, model_to_dict, save_model

COMPS = [
    Comparison("FirstName", "name", (norm("FirstName"),)),
    Comparison("LastName", "name", (norm("LastName"),)),
    Comparison("BirthDate", "date", (norm("BirthDate"),)),
]
FRAME = pl.DataFrame(
    {
        "ProfileId": ["p0", "p1", "p2", "p3"],
        norm("FirstName"): ["ann", "ann", "bob", "ann"],
        norm("LastName"): ["li", "lie", "wu", None],
        norm("BirthDate"): ["1990-01-02", "1990-01-02", "1971-05-06", "1990-02-01"],
    }
)


def fitted() -> FellegiSunter:
    return FellegiSunter.from_parameters(
        COMPS,
        {
            "FirstName": [0.8, 0.1, 0.05, 0.05],
            "LastName": [0.7, 0.1, 0.1, 0.1],
            "BirthDate": [0.9, 0.05, 0.05],
        },
        {
            "FirstName": [0.02, 0.02, 0.06, 0.9],
            "LastName": [0.01, 0.01, 0.08, 0.9],
            "BirthDate": [0.001, 0.01, 0.989],
        },
        1e-3,
    )


def vectors() -> pl.DataFrame:
    pairs = pl.DataFrame({"a": [0, 0, 0, 1], "b": [1, 2, 3, 3]})
    return compare(encode(FRAME, COMPS), pairs)


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = fitted()
    path = tmp_path / "model.json"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.comparisons == model.comparisons
    assert loaded.lambda_ == model.lambda_
    assert loaded.predict(vectors()).equals(model.predict(vectors()))
    assert model_to_dict(loaded) == model_to_dict(model)
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temporary file left


def test_saved_model_records_the_attribute_set(tmp_path: Path) -> None:
    save_model(fitted(), tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["attributes"] == sorted(norm(c) for c in ("FirstName", "LastName", "BirthDate"))
    assert data["comparisons"][0]["levels"] == ["exact", "jw>=0.92", "jw>=0.8", "else"]


def test_model_for_another_attribute_set_is_refused(tmp_path: Path) -> None:
    save_model(fitted(), tmp_path / "m.json")
    other = [*COMPS[:2], Comparison("PhoneNumber", "phone", (norm("PhoneNumber"),))]
    with pytest.raises(ModelError) as info:
        load_model(tmp_path / "m.json", expected=other)
    text = str(info.value)
    assert "comparisons.BirthDate" in text and "comparisons.PhoneNumber" in text
    assert str(tmp_path / "m.json") in text


def test_model_whose_columns_the_profiles_lack_is_refused() -> None:
    with pytest.raises(ModelError, match=r"another attribute set.*_n\.BirthDate"):
        check_model(fitted(), FRAME.drop(norm("BirthDate")))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{not json", "not a readable JSON model", id="bad-json"),
        pytest.param('{"format": "other"}', "not an idres model", id="wrong-format"),
        pytest.param(
            '{"format": "idres.fellegi-sunter", "version": 99}',
            "unsupported model version",
            id="version",
        ),
    ],
)
def test_unreadable_model_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nope.json")


def test_every_bad_probability_is_reported_at_once(tmp_path: Path) -> None:
    data = model_to_dict(fitted())
    data["m"]["FirstName"] = [0.5, 0.5]
    data["u"]["BirthDate"] = [0.0, 0.5, 0.5]
    data["lambda"] = 2
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError) as info:
        load_model(path)
    locations = {p.location for p in info.value.problems}
    assert locations == {"m.FirstName", "u.BirthDate", "lambda"}


def test_explain_pair_adds_up_to_the_prediction() -> None:
    model = fitted()
    table = explain_pair(model, FRAME, 0, 1)
    assert table["comparison"].to_list() == [
        "(prior)",
        "FirstName",
        "LastName",
        "BirthDate",
        "(total)",
    ]
    assert table["level"].to_list()[1:4] == ["exact", "jw>=0.8", "exact"]
    assert table["value_b"].to_list()[1:4] == ["ann", "lie", "1990-01-02"]
    weights = table["match_weight"].to_list()
    assert weights[-1] == pytest.approx(sum(weights[:-1]))
    expected = model.predict(vectors())["match_probability"][0]
    assert table["match_probability"][-1] == pytest.approx(expected)
    reused = explain_pair(model, FRAME, 0, 1, encoded=encode(FRAME, COMPS))
    assert reused.equals(table)


def test_explain_pair_by_profile_id_and_missing_values() -> None:
    table = explain_pair(fitted(), FRAME, "p0", "p3")
    row = table.filter(pl.col("comparison") == "LastName").row(0, named=True)
    assert row["level"] == "missing" and row["match_weight"] == 0.0 and row["value_b"] is None
    date = table.filter(pl.col("comparison") == "BirthDate").row(0, named=True)
    assert date["level"] == "one of year/month/day differs or day/month swapped"
    first = table.filter(pl.col("comparison") == "FirstName").row(0, named=True)
    assert first["tf"] == pytest.approx(3 / 4)  # 'ann' held by 3 of 4 profiles
    assert first["match_weight"] == pytest.approx(np.log2(0.8 / 0.75))


def test_explain_pair_unknown_profile() -> None:
    with pytest.raises(ModelError, match="unknown ProfileId"):
        explain_pair(fitted(), FRAME, "p0", "nope")


def test_a_placeholder_email_weighs_less_than_a_rare_one() -> None:
    comp = Comparison("EmailAddress", "email", (norm("EmailAddress"),))
    model = FellegiSunter.from_parameters(
        [comp], {"EmailAddress": [0.9, 0.05, 0.05]}, {"EmailAddress": [0.05, 0.01, 0.94]}, 1e-4
    )
    emails = (
        ["test@test.com"] * 30 + ["ann.li@x.io", "ann.li@x.io"] + [f"u{i}@y.io" for i in range(68)]
    )
    frame = pl.DataFrame({norm("EmailAddress"): emails})
    common = explain_pair(model, frame, 0, 1).filter(pl.col("comparison") == "EmailAddress")
    rare = explain_pair(model, frame, 30, 31).filter(pl.col("comparison") == "EmailAddress")
    assert common["level"][0] == rare["level"][0] == "exact"
    assert common["tf"][0] == pytest.approx(0.3)
    assert common["match_weight"][0] == pytest.approx(np.log2(0.9 / 0.3))
    assert rare["match_weight"][0] == pytest.approx(np.log2(0.9 / 0.05))  # tf 0.02 < u: unchanged
