"""The sampling policy as a form: shown in percent, read back into the same document, a message per field."""

from __future__ import annotations

from typing import Any

from ivr.surveys.policy import load_policy_file, validate_policy
from ivr.surveys.policy_form import PolicyForm, form_of, percent_text, read_form


def posted(form: PolicyForm, **changed: str) -> tuple[dict[str, str], list[str]]:
    """The fields a browser would post for `form`, with some changed."""
    values = {
        "min_cases_for_sampling": form.min_cases,
        "recent_callback_days": form.recent_days,
    }
    for row in form.types:
        values[f"label.{row.key}"] = row.label
        values[f"share.{row.key}"] = row.percent
    values.update(changed)
    return values, [row.key for row in form.types]


def test_the_form_shows_shares_in_percent() -> None:
    form = form_of(load_policy_file())
    shown = {row.key: row.percent for row in form.types}
    assert shown["paid_repair"] == "100" and shown["hotline_call"] == "10"
    assert (form.min_cases, form.recent_days) == ("20", "30")
    assert [percent_text(share) for share in (0.125, 0.3333, 0, 1)] == ["12.5", "33.33", "0", "100"]


def test_the_unchanged_form_gives_back_the_same_document() -> None:
    document = load_policy_file()
    form, read = read_form(*posted(form_of(document)))
    assert form.errors == {} and read == document
    assert list(read["service_types"]) == list(document["service_types"])  # the order is kept


def test_a_changed_share_percent_and_settings_make_a_valid_document() -> None:
    values, keys = posted(
        form_of(load_policy_file()),
        **{"share.small_installation": "12.5%", "min_cases_for_sampling": "15", "recent_callback_days": "60"},
    )
    _, document = read_form(values, keys)
    assert document is not None
    assert document["service_types"]["small_installation"]["share"] == 0.125
    assert (document["min_cases_for_sampling"], document["recent_callback_days"]) == (15, 60)
    assert validate_policy(document).shares["small_installation"] == 0.125


def test_every_wrong_field_has_its_own_message_and_no_document_is_made() -> None:
    values, keys = posted(
        form_of(load_policy_file()),
        **{
            "share.paid_repair": "150",
            "share.ignition": "ten",
            "share.free_repair": "1.23456",
            "label.leak_repair": "  ",
            "min_cases_for_sampling": "-1",
            "recent_callback_days": "400",
            "remove.hotline_call": "on",
        },
    )
    form, document = read_form(values, keys)
    assert document is None
    assert set(form.errors) == {
        "share.paid_repair",
        "share.ignition",
        "share.free_repair",
        "label.leak_repair",
        "min_cases_for_sampling",
        "recent_callback_days",
        "remove.hotline_call",
    }
    assert "0 to 100" in form.errors["share.paid_repair"] and "'ten'" in form.errors["share.ignition"]
    assert "4 decimal places" in form.errors["share.free_repair"]
    assert "0 to 365" in form.errors["recent_callback_days"]
    # What was typed is kept, to be corrected rather than typed again.
    assert {row.key: row.percent for row in form.types}["paid_repair"] == "150"


def test_a_type_is_added_and_another_removed() -> None:
    values, keys = posted(
        form_of(load_policy_file()),
        **{
            "remove.service_hall": "on",
            "new_key": "meter_repair",
            "new_label": "meter repair",
            "new_share": "50",
        },
    )
    _, document = read_form(values, keys)
    assert document is not None
    types: dict[str, Any] = document["service_types"]
    assert "service_hall" not in types
    assert types["meter_repair"] == {"label": "meter repair", "share": 0.5}


def test_a_new_type_must_be_a_new_well_formed_key_with_a_label_and_share() -> None:
    base = form_of(load_policy_file())
    form, document = read_form(*posted(base, new_key="Meter Repair", new_share="5"))
    assert document is None and set(form.errors) == {"new_key", "new_label"}
    form, document = read_form(*posted(base, new_key="paid_repair", new_label="again", new_share="5"))
    assert document is None and "in the policy already" in form.errors["new_key"]


def test_a_tampered_hidden_type_key_is_refused_by_the_policy_rules() -> None:
    values, keys = posted(form_of(load_policy_file()))
    values.update({"label.Bad Key": "x", "share.Bad Key": "5"})
    form, document = read_form(values, [*keys, "Bad Key"])
    assert document is None and "service_types.Bad Key" in form.errors["form"]
