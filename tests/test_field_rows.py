"""field_rows: flat profiles to long field rows and back (the round trip is in test_merge)."""

import polars as pl
import pytest

from idres import schema
from idres.errors import InputError
from idres.field_rows import field_order, from_fields, sort_fields, to_fields
from tests.test_merge import day, profiles


def test_to_fields_rows() -> None:
    p = profiles(
        {"t": 1, "src": "crm", "FirstName": "Ann", "ShippingAddress.City": 'Os"lo', "Gender": ""}
    )
    assert to_fields(p).rows() == [
        ("p0", "FirstName", "Ann", day(1), "crm", "p0"),
        ("p0", "ShippingAddress", '{"City":"Os\\"lo"}', day(1), "crm", "p0"),
    ]


def test_from_fields_rejects_unknown_fields() -> None:
    f = pl.DataFrame({"ProfileId": ["a"], "Field": ["FirstNme"], "Value": ["x"]})
    with pytest.raises(InputError, match="did you mean 'FirstName'"):
        from_fields(f)


def test_from_fields_rejects_duplicate_rows() -> None:
    f = pl.DataFrame({"ProfileId": ["a", "a"], "Field": ["FirstName"] * 2, "Value": ["x", "y"]})
    with pytest.raises(InputError, match="more than one row"):
        from_fields(f)


def test_from_fields_keeps_template_rows_and_derives_the_others() -> None:
    f = pl.DataFrame(
        {
            "ProfileId": ["a", "b", "b"],
            "Field": ["FirstName", "FirstName", "LastName"],
            "Value": ["Ann", "Bo", "Lee"],
            "UpdatedAt": [day(1), day(2), day(3)],
            "Source": ["crm", "web", "app"],
        }
    )
    template = profiles({"ProfileId": "a", "t": 9, "src": "x"}, {"ProfileId": "c", "t": 4})
    out = from_fields(f, template=template)
    assert out.select("ProfileId", "FirstName", schema.SOURCE, schema.UPDATED).rows() == [
        ("a", "Ann", "x", day(9)),
        ("b", "Bo", "app", day(3)),
        ("c", None, None, day(4)),
    ]


def test_field_order_standard_then_sorted_others() -> None:
    assert list(field_order(["Attributes.z", "LastName", "Address", "FirstName"])) == [
        "FirstName",
        "LastName",
        "Address",
        "Attributes.z",
    ]


def test_sort_fields_by_integer_rank_equals_by_profile_id() -> None:
    f = to_fields(
        profiles(
            {"ProfileId": "b", "t": 1, "LastName": "L", "FirstName": "F"},
            {"t": 2, "FirstName": "G"},
        )
    )
    ranked = f.with_columns(pl.col("ProfileId").rank("dense").cast(pl.UInt32).alias("r"))
    assert sort_fields(ranked.reverse(), by="r").drop("r").equals(sort_fields(f.reverse()))
