"""The work-order lifecycle: every allowed move passes, every other one is refused naming what is allowed."""

from __future__ import annotations

import pytest

from ivr.work_orders.lifecycle import (
    STAGES,
    TRANSITIONS,
    TransitionRefused,
    allowed_next,
    check_transition,
    menu_status,
)

ALLOWED = [(a, b) for a in STAGES for b in STAGES if b in TRANSITIONS[a]]
REFUSED = [(a, b) for a in STAGES for b in STAGES if b not in TRANSITIONS[a]]


def test_the_issue_s_path_and_reopening_are_allowed():
    path = ["opened", "handed_over", "accepted", "in_progress", "handled", "answered", "closed", "reopened"]
    for from_stage, to_stage in zip(path, path[1:], strict=False):
        check_transition(from_stage, to_stage)
    check_transition("answered", "reopened")
    for back_into_work in ("handed_over", "accepted", "in_progress"):
        check_transition("reopened", back_into_work)


def test_the_table_is_exactly_this():
    assert TRANSITIONS == {
        "opened": ("handed_over", "accepted", "in_progress", "handled"),
        "handed_over": ("handed_over", "accepted"),
        "accepted": ("handed_over", "in_progress", "handled"),
        "in_progress": ("handed_over", "handled"),
        "handled": ("in_progress", "answered"),
        "answered": ("closed", "reopened"),
        "closed": ("reopened",),
        "reopened": ("handed_over", "accepted", "in_progress"),
    }
    assert len(ALLOWED) == 19 and len(REFUSED) == 64 - 19


@pytest.mark.parametrize(("from_stage", "to_stage"), ALLOWED)
def test_allowed(from_stage, to_stage):
    check_transition(from_stage, to_stage)


@pytest.mark.parametrize(("from_stage", "to_stage"), REFUSED)
def test_refused_naming_the_allowed(from_stage, to_stage):
    with pytest.raises(TransitionRefused) as refused:
        check_transition(from_stage, to_stage)
    message = str(refused.value)
    assert f"from {from_stage} to {to_stage}" in message
    assert message.endswith(f"it may go to: {', '.join(TRANSITIONS[from_stage])}")
    assert refused.value.allowed == TRANSITIONS[from_stage]


def test_closed_goes_only_to_reopened():
    with pytest.raises(TransitionRefused, match="from closed it may go to: reopened$"):
        check_transition("closed", "in_progress")


def test_unknown_stages_are_refused_with_the_list():
    with pytest.raises(TransitionRefused, match="unknown stage 'done'; the stages are: opened, handed_over"):
        check_transition("handled", "done")
    with pytest.raises(TransitionRefused, match="unknown stage 'nope'"):
        check_transition("nope", "opened")
    assert allowed_next("nope") == ()
    with pytest.raises(TransitionRefused):
        check_transition("handled", "opened")  # nothing goes back to opened


def test_every_stage_has_the_menu_s_reading():
    assert {stage: menu_status(stage) for stage in STAGES} == {
        "opened": "open",
        "handed_over": "open",
        "accepted": "open",
        "in_progress": "dispatched",
        "handled": "completed",
        "answered": "completed",
        "closed": "completed",
        "reopened": "open",
    }
