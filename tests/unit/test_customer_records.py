"""A customer's record checked field by field (pure): numbers normalised, refusals naming the field."""

from __future__ import annotations

import pytest

from ivr.customers.records import CustomerRecord, RecordRefused, normalise_number, record_from, split_numbers


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+8613800000001", "+8613800000001"),
        ("138 0000 0001", "+8613800000001"),
        ("8613800000001", "+8613800000001"),
        ("008613800000001", "+8613800000001"),
        ("010-6512 3456", "+861065123456"),  # a Beijing landline with its trunk 0
        ("0755-12345678", "+8675512345678"),
        ("+1 (415) 555-0100", "+14155550100"),
    ],
)
def test_a_number_is_stored_as_the_ivr_sees_the_caller(raw, stored):
    assert normalise_number(raw) == stored


@pytest.mark.parametrize("raw", ["12345", "anonymous", "+0123456789", "1380000000"])
def test_what_is_not_a_phone_number_is_refused_by_name(raw):
    with pytest.raises(RecordRefused) as refused:
        normalise_number(raw)
    assert refused.value.field == "numbers" and repr(raw) in str(refused.value)


def test_a_cell_of_numbers_splits_on_any_separator_keeps_order_and_drops_repeats():
    cell = "13800000001; 010-65123456，+8613800000001 / 13900000002"
    assert split_numbers(cell) == ("+8613800000001", "+861065123456", "+8613900000002")


def test_at_most_five_numbers():
    with pytest.raises(RecordRefused, match="at most 5 numbers"):
        split_numbers(";".join(f"1390000000{n}" for n in range(6)))


def test_fields_not_given_are_none_and_kept():
    record = record_from({"account": " 10000009 ", "name": "赵六", "address": None, "district": ""})
    assert record == CustomerRecord(account="10000009", name="赵六", district="")
    assert record.given() == {"name": "赵六", "district": ""}


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"name": "x"}, "account", "is required"),
        ({"account": "10 00", "name": "x"}, "account", "letters, digits or dashes"),
        ({"account": "1", "name": ""}, "name", "must not be empty"),
        ({"account": "1", "name": "x" * 201}, "name", "at most 200"),
        ({"account": "1", "customer_class": "industrial"}, "customer_class", "residential, commercial"),
        ({"account": "1", "language": "fr-FR"}, "language", "zh-CN, en-US"),
        ({"account": "1", "numbers": [13800000001]}, "numbers", "list of text"),
        ({"account": "1", "address": 5}, "address", "must be text"),
    ],
)
def test_a_refusal_names_the_field_and_why(values, field, words):
    with pytest.raises(RecordRefused) as refused:
        record_from(values)
    assert refused.value.field == field and words in str(refused.value)
