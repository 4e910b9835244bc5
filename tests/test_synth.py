"""Tests of the synthetic profile generator (idres.synth) and ``idres generate``."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idres import schema
from idres import synth_values as V
from idres.cli import main
from idres.errors import InputError
from idres.profiles import canonicalize, read_profiles
from idres.schema import ENTITY_ID
from idres.synth import SynthParams, generate, synthesize

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
#: The command documented in datasets/README.md (its output folder is appended).
SAMPLE_COMMAND = [
    "generate",
    "--n",
    "360",
    "--seed",
    "2024",
    "--format",
    "jsonl",
    "--truth-format",
    "csv",
    "--households-rate",
    "0.1",
    "--placeholder-rate",
    "0.01",
    "--namesake-rate",
    "0.03",
]
PLACEHOLDERS = {*V.PLACEHOLDER_EMAILS, *V.PLACEHOLDER_PHONES, *V.PLACEHOLDER_TEXTS}
EMAILS, PHONES = list(schema.EMAIL_FIELDS), list(schema.PHONE_FIELDS)


@pytest.fixture(scope="module")
def big():
    """100k profiles with default parameters, joined to their labels."""
    s = synthesize(100_000, seed=11)
    return s.profiles.join(s.labels, on=schema.PROFILE_ID), s


def _csv(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue()


# --- determinism, shape, truth -------------------------------------------------------------------


def test_same_seed_same_bytes():
    a, ta = generate(3000, seed=5)
    b, tb = generate(3000, seed=5)
    assert _csv(a) == _csv(b)
    assert _csv(ta) == _csv(tb)


def test_different_seed_differs():
    a, _ = generate(500, seed=1)
    b, _ = generate(500, seed=2)
    assert set(a[schema.PROFILE_ID]).isdisjoint(b[schema.PROFILE_ID])
    assert not a.drop(schema.PROFILE_ID).equals(b.drop(schema.PROFILE_ID))


def test_canonical_profile_table():
    profiles, _ = generate(2000, seed=3)
    for c in schema.PROFILE_COLUMNS:
        assert profiles.schema[c] == pl.String, c
    assert profiles.schema[schema.SOURCE] == pl.String
    assert profiles.schema[schema.UPDATED] == schema.TIMESTAMP_DTYPE
    assert profiles.schema["Attributes.LoyaltyId"] == pl.String
    assert profiles[schema.PROFILE_ID].is_sorted()
    assert profiles[schema.PROFILE_ID].str.contains("^[0-9a-f]{32}$").all()
    # Same columns, order and dtypes as the profile reader's canonical table.
    assert canonicalize(profiles).equals(profiles)


def test_truth_is_a_partition_of_the_profiles():
    profiles, truth = generate(4000, seed=9)
    assert truth.columns == [schema.PROFILE_ID, ENTITY_ID]
    assert truth[schema.PROFILE_ID].equals(profiles[schema.PROFILE_ID])
    assert truth[schema.PROFILE_ID].n_unique() == truth.height
    assert truth[ENTITY_ID].null_count() == 0
    sizes = truth.group_by(ENTITY_ID).len()["len"]
    assert sizes.max() <= SynthParams().max_profiles_per_entity
    assert (sizes > 1).any()


@settings(max_examples=15, deadline=None)
@given(n=st.integers(0, 400), seed=st.integers(0, 2**32 - 1))
def test_any_size_and_seed(n, seed):
    s = synthesize(n, seed=seed)
    assert s.profiles.height == s.truth.height == s.labels.height == n
    assert s.truth[schema.PROFILE_ID].n_unique() == n
    assert s.summary()["profiles"] == n


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"business_rate": 1.0}, id="all-businesses"),
        pytest.param({"household_rate": 1.0, "business_rate": 0.0}, id="all-households"),
        pytest.param({"max_profiles_per_entity": 1}, id="no-duplicates"),
        pytest.param({"placeholder_rate": 1.0, "subtype_move_rate": 1.0}, id="all-corrupt"),
    ],
)
def test_extreme_parameters(overrides):
    s = synthesize(600, seed=4, params=SynthParams(**overrides))
    assert s.profiles.height == 600
    if "max_profiles_per_entity" in overrides:
        assert s.summary()["duplicates"] == 0


# --- rates ---------------------------------------------------------------------------------------


def _rate(frame: pl.DataFrame, predicate: pl.Expr) -> float:
    return frame.select(predicate.mean()).item()


any_email = pl.any_horizontal(pl.col(EMAILS).is_not_null())
any_address = pl.any_horizontal(pl.col([f"{t}.City" for t in schema.ADDRESS_TYPES]).is_not_null())
person = pl.col("Kind") == "INDIVIDUAL"


@pytest.mark.parametrize(
    ("measure", "expected", "tolerance"),
    [
        pytest.param(
            lambda j: 1 - j[ENTITY_ID].n_unique() / j.height,
            SynthParams().expected_duplicate_rate,
            0.01,
            id="duplicates",
        ),
        pytest.param(lambda j: _rate(j, ~any_email), 0.15, 0.006, id="missing-email"),
        pytest.param(lambda j: _rate(j, ~any_address), 0.25, 0.006, id="missing-address"),
        pytest.param(lambda j: _rate(j, pl.col("FirstName").is_null()), 0.02, 0.003, id="no-first"),
        pytest.param(
            lambda j: _rate(j.filter(person), pl.col("BirthDate").is_null()),
            0.4,
            0.01,
            id="missing-birth-date",
        ),
        pytest.param(
            lambda j: _rate(j, pl.col("Placeholder").is_not_null()), 0.002, 0.0006, id="placeholder"
        ),
        pytest.param(
            lambda j: _rate(j.filter(person & any_email), pl.col("EmailAddress").is_null()),
            0.15,
            0.008,
            id="email-moved",
        ),
        pytest.param(
            lambda j: _rate(j.filter(person & any_address), pl.col("Address.City").is_null()),
            0.15,
            0.008,
            id="address-moved",
        ),
        pytest.param(
            lambda j: _rate(
                j.unique(ENTITY_ID).filter(person), pl.col("HouseholdId").is_not_null()
            ),
            0.05,
            0.006,
            id="household",
        ),
        pytest.param(
            lambda j: _rate(j.unique(ENTITY_ID), pl.col("Kind") == "BUSINESS"),
            0.08,
            0.006,
            id="business",
        ),
        pytest.param(
            lambda j: _rate(j, pl.col(schema.SOURCE) == "CRM"), 0.35, 0.01, id="source-crm"
        ),
    ],
)
def test_rates(big, measure, expected, tolerance):
    joined, _ = big
    assert measure(joined) == pytest.approx(expected, abs=tolerance)


def test_placeholder_labels_name_the_field_holding_one(big):
    joined, _ = big
    labelled = joined.filter(pl.col("Placeholder").is_not_null())
    values = [row[row["Placeholder"]] for row in labelled.iter_rows(named=True)]
    assert labelled.height > 100
    assert set(values) <= PLACEHOLDERS
    # Placeholders land on unrelated profiles: many entities share the same one.
    test_email = labelled.filter(pl.any_horizontal(pl.col(EMAILS) == "test@test.com"))
    assert test_email[ENTITY_ID].n_unique() > 5


def test_update_times_spread_over_two_years(big):
    joined, _ = big
    p = SynthParams()
    times = joined[schema.UPDATED]
    assert times.max() <= p.updated_end
    assert times.min() >= p.updated_end - timedelta(days=p.updated_span_days)
    assert (times.max() - times.min()) > timedelta(days=700)


# --- corruptions really occur --------------------------------------------------------------------


def _entity_values(joined: pl.DataFrame, expr: pl.Expr) -> pl.DataFrame:
    """Per entity with several profiles: the distinct values of `expr`, and of its normal form."""
    return (
        joined.select(ENTITY_ID, expr.alias("v"))
        .drop_nulls("v")
        .group_by(ENTITY_ID)
        .agg(pl.col("v").n_unique().alias("raw"), pl.col("v").alias("values"))
    )


@pytest.mark.parametrize(
    ("expr", "normal"),
    [
        pytest.param(pl.coalesce(EMAILS), lambda e: e.str.to_lowercase(), id="email-case"),
        pytest.param(
            pl.coalesce(PHONES[:2] + PHONES[3:]),
            lambda e: e.str.replace_all(r"\D", "").str.replace(r"^1(\d{10})$", "$1"),
            id="phone-format",
        ),
        pytest.param(
            pl.col("Address.Address1"),
            lambda e: e.str.replace(r" Street$", " St").str.replace(r" Avenue$", " Ave"),
            id="street-abbreviation",
        ),
        pytest.param(
            pl.col("LastName"), lambda e: e.str.strip_chars().str.to_lowercase(), id="case"
        ),
    ],
)
def test_duplicates_differ_only_in_form(big, expr, normal):
    """Some entity's profiles hold the same value written differently."""
    joined, _ = big
    per = (
        joined.select(ENTITY_ID, expr.alias("v"))
        .drop_nulls("v")
        .filter(~pl.col("v").is_in(list(PLACEHOLDERS)))
        .group_by(ENTITY_ID)
        .agg(raw=pl.col("v").n_unique(), norm=normal(pl.col("v")).n_unique())
    )
    assert per.filter((pl.col("raw") > 1) & (pl.col("norm") == 1)).height > 50


def test_nicknames_typos_and_moves_occur(big):
    joined, _ = big
    firsts = joined.group_by(ENTITY_ID).agg(pl.col("FirstName").drop_nulls().unique())
    pairs = {(a, b) for row in firsts["FirstName"].to_list() for a in row for b in row}
    assert ("William", "Bill") in pairs or ("Robert", "Bob") in pairs
    assert joined["Nickname"].mean() > 0.03
    assert joined["Typo"].mean() > 0.05
    assert joined.filter(pl.col("Moved"))["MobilePhoneNumber"].null_count() < joined["Moved"].sum()
    assert joined["ShippingAddress.Address1"].drop_nulls().len() > 1000


def test_households_share_address_and_last_name_but_not_identity(big):
    joined, _ = big
    houses = (
        joined.filter(pl.col("HouseholdId").is_not_null())
        .group_by("HouseholdId")
        .agg(
            entities=pl.col(ENTITY_ID).n_unique(),
            last=pl.col("LastName").str.to_lowercase().str.strip_chars().mode().first(),
            street=pl.col("Address.PostalCode").drop_nulls().str.slice(0, 3).n_unique(),
        )
    )
    assert (houses["entities"] >= 2).mean() > 0.9
    assert (houses["street"] <= 1).mean() > 0.9


def test_namesakes_are_distinct_entities_with_the_same_name(big):
    joined, s = big
    namesakes = joined.filter(pl.col("Namesake") & pl.col("FirstName").is_not_null())
    key = pl.concat_str("FirstName", "LastName", separator=" ")
    shared = joined.filter(key.is_in(namesakes.select(key).to_series().implode()))
    assert shared.group_by(key).agg(pl.col(ENTITY_ID).n_unique())["EntityId"].max() > 1
    assert s.summary()["namesake entities"] > 100


def test_identifiers_are_not_shared_outside_households(big):
    joined, _ = big
    emails = (
        joined.filter(pl.col("Placeholder").is_null() & ~pl.col("Typo"))
        .select(ENTITY_ID, "HouseholdId", e=pl.coalesce(EMAILS).str.to_lowercase())
        .drop_nulls("e")
        .group_by("e")
        .agg(pl.col(ENTITY_ID).n_unique(), pl.col("HouseholdId").n_unique())
        .filter(pl.col(ENTITY_ID) > 1)
    )
    assert emails.height > 0  # households share some e-mails ...
    assert emails.filter(pl.col("HouseholdId") > 1).height == 0  # ... nobody else does


# --- parameters ----------------------------------------------------------------------------------


def test_bad_parameters_are_all_reported():
    with pytest.raises(InputError) as err:
        SynthParams(household_rate=1.5, typo_rate=-0.1, source_weights=(1.0,))
    locations = [p.location for p in err.value.problems]
    assert locations == ["household_rate", "typo_rate", "source_weights"]
    assert "(got 1.5)" in str(err.value)


def test_negative_n_is_an_input_error():
    with pytest.raises(InputError, match="n: must be >= 0"):
        synthesize(-1)


# --- CLI -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "truth"),
    [
        pytest.param("parquet", "truth.parquet", id="parquet"),
        pytest.param("jsonl", "truth.parquet", id="jsonl"),
        pytest.param("json", "truth.parquet", id="json"),
        pytest.param("csv", "truth.csv", id="csv"),
    ],
)
def test_cli_generate_round_trips(tmp_path, capsys, fmt, truth):
    out = tmp_path / "out"
    code = main(["generate", "--n", "300", "--seed", "3", "--out", str(out), "--format", fmt])
    assert code == 0
    assert "households" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted([f"profiles.{fmt}", truth, "synth.json"])
    profiles, expected_truth = generate(300, seed=3)
    read = read_profiles(out / f"profiles.{fmt}")
    assert read.equals(profiles)
    got = pl.read_csv(out / truth) if truth.endswith(".csv") else pl.read_parquet(out / truth)
    assert got.equals(expected_truth)
    assert json.loads((out / "synth.json").read_text())["seed"] == 3


def test_cli_options_reach_the_generator(tmp_path):
    out = tmp_path / "o"
    args = ["generate", "--n", "400", "--out", str(out), "--labels", "--truth-format", "csv"]
    args += [
        "--placeholder-rate",
        "1",
        "--param",
        "sources=Web,Shop",
        "--param",
        "source_weights=1,1",
    ]
    assert main(args) == 0
    profiles = pl.read_parquet(out / "profiles.parquet")
    labels = pl.read_csv(out / "labels.csv")
    assert labels["Placeholder"].null_count() == 0
    assert set(profiles[schema.SOURCE]) == {"Web", "Shop"}


def test_cli_refuses_a_non_empty_folder_unless_forced(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["generate", "--n", "20", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    assert main(["generate", "--n", "20", "--out", str(out), "--force"]) == 0
    assert not (out / "keep.txt").exists()


def test_cli_reports_every_bad_parameter(tmp_path, capsys):
    args = ["generate", "--n", "20", "--out", str(tmp_path / "o"), "--households-rate", "2"]
    args += ["--param", "typo_rat=0.1", "--param", "missing_email_rate=x", "--param", "nope"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "did you mean 'typo_rate'" in err
    assert "--param missing_email_rate: expected float (got 'x')" in err
    assert "expected NAME=VALUE (got 'nope')" in err
    assert "--households-rate: must be between 0 and 1 (got 2.0)" in err
    assert not (tmp_path / "o").exists()


# --- bundled sample ------------------------------------------------------------------------------


def test_sample_dataset_is_reproducible(tmp_path):
    """The committed sample is exactly what the command in datasets/README.md writes."""
    out = tmp_path / "sample"
    assert main([*SAMPLE_COMMAND, "--out", str(out)]) == 0
    readme = (DATASETS / "README.md").read_text()
    assert " ".join(["idres", *SAMPLE_COMMAND, "--out"]) in readme
    assert (out / "profiles.jsonl").read_bytes() == (
        DATASETS / "sample-profiles.jsonl"
    ).read_bytes()
    assert (out / "truth.csv").read_bytes() == (DATASETS / "sample-truth.csv").read_bytes()


def test_sample_dataset_has_the_traps():
    truth = pl.read_csv(DATASETS / "sample-truth.csv")
    profiles = read_profiles(DATASETS / "sample-profiles.jsonl")
    assert profiles.height == truth.height == 360
    assert truth[ENTITY_ID].n_unique() < truth.height  # duplicates
    values = profiles.select(pl.concat_list(pl.col(EMAILS + PHONES)).alias("v"))["v"].explode()
    assert values.is_in(list(PLACEHOLDERS)).sum() >= 2
