"""The work-order report figures (pure): a deadline's outcome at a moment, on-time rates per group,
complaint closure, open work orders by age."""

from __future__ import annotations

from datetime import datetime, timedelta

from ivr.quality.work_order_figures import (
    LATE,
    ON_TIME,
    OVERDUE,
    PENDING,
    DeadlineFact,
    OrderFact,
    age_label,
    by_age,
    complaint_closure,
    figures,
    on_time_by,
    outcome,
)

T = datetime(2026, 3, 10, 1, 0)


def deadline(order=1, kind="handover", due=2, done=None, state="running", work_class="service_complaint"):  # type: ignore[no-untyped-def]
    """A deadline due `due` hours after T, met `done` hours after T (None: not met)."""
    return DeadlineFact(
        work_order_id=order,
        kind=kind,
        work_class=work_class,
        desk="complaints",
        owner="li",
        due_at=T + timedelta(hours=due),
        done_at=None if done is None else T + timedelta(hours=done),
        state=state if done is None else "met",
    )


def test_a_deadline_is_on_time_late_overdue_or_still_ahead_as_things_stood_then():
    assert outcome(deadline(due=2, done=1), T + timedelta(hours=5)) == ON_TIME
    assert outcome(deadline(due=2, done=2), T + timedelta(hours=5)) == ON_TIME  # at the due time is in time
    assert outcome(deadline(due=2, done=3), T + timedelta(hours=5)) == LATE
    assert outcome(deadline(due=2), T + timedelta(hours=5)) == OVERDUE
    assert outcome(deadline(due=2), T + timedelta(hours=1)) == PENDING
    # Met after the moment asked about: then it was still running (overdue, or ahead).
    assert outcome(deadline(due=2, done=4), T + timedelta(hours=3)) == OVERDUE
    assert outcome(deadline(due=2, done=4), T + timedelta(hours=1)) == PENDING
    assert outcome(deadline(due=2, state="stopped"), T + timedelta(hours=5)) is None


def test_the_on_time_rate_counts_late_and_overdue_against_and_leaves_out_what_is_still_ahead():
    rows = on_time_by(
        [
            deadline(kind="handover", due=1, done=0),
            deadline(kind="handover", due=1, done=2),
            deadline(kind="handover", due=1),
            deadline(kind="handover", due=9),
            deadline(kind="answer", due=1, done=1),
        ],
        T + timedelta(hours=5),
        lambda d: d.kind,
    )
    assert [(r.key, r.on_time, r.late, r.overdue, r.pending) for r in rows] == [
        ("answer", 1, 0, 0, 0),
        ("handover", 1, 1, 1, 1),
    ]
    assert rows[0].rate == 1.0 and rows[1].rate == 1 / 3


def test_complaint_closure_closed_on_time_late_and_open_per_class_and_all():
    as_of = T + timedelta(days=3)
    orders = [
        OrderFact(1, "service_complaint", T, T + timedelta(hours=5)),  # every deadline kept
        OrderFact(2, "service_complaint", T, T + timedelta(hours=5)),  # one met late
        OrderFact(3, "quality_complaint", T, None),  # open, overdue
        OrderFact(4, "quality_complaint", T, as_of + timedelta(hours=1)),  # closed after: open then
        OrderFact(5, "fault_repair", T, None),  # not a complaint
    ]
    deadlines = [
        deadline(order=1, due=2, done=1),
        deadline(order=2, due=2, done=3),
        deadline(order=3, due=2, work_class="quality_complaint"),
    ]
    rows = {row.key: row for row in complaint_closure(orders, deadlines, as_of)}
    service, quality, total = rows["service_complaint"], rows["quality_complaint"], rows["all"]
    assert (service.closed_on_time, service.closed_late, service.open) == (1, 1, 0)
    assert (quality.closed_on_time, quality.closed_late, quality.open, quality.open_overdue) == (0, 0, 2, 1)
    assert total.taken == 4 and total.closure_rate == 0.5 and total.on_time_rate == 0.25
    assert rows["safety_complaint"].closure_rate is None  # none taken: no rate, not 0 %


def test_open_orders_fall_in_age_bands_with_their_overdue_ones():
    assert age_label(timedelta(hours=3, minutes=59)) == "<4h"
    assert age_label(timedelta(hours=4)) == "4-24h"
    assert age_label(timedelta(days=3)) == "3-7d"
    assert age_label(timedelta(days=70)) == ">7d"
    buckets = by_age(
        [(T, True), (T + timedelta(hours=30), False), (T + timedelta(hours=31), True)],
        T + timedelta(hours=33),
    )
    assert [(b.label, b.open, b.overdue) for b in buckets] == [
        ("<4h", 2, 1),
        ("4-24h", 0, 0),
        ("1-3d", 1, 1),
        ("3-7d", 0, 0),
        (">7d", 0, 0),
    ]


def test_the_figures_total_every_kind():
    result = figures(
        [deadline(due=1, done=0), deadline(kind="answer", due=1)], [], [], T + timedelta(hours=2)
    )
    assert (result.all_deadlines.on_time, result.all_deadlines.overdue, result.all_deadlines.rate) == (
        1,
        1,
        0.5,
    )
    assert result.open_orders == 0 and result.closure_total.taken == 0


def test_deadline_kinds_come_in_the_order_the_work_meets_them():
    kinds = ["follow_up", "answer", "zz_new", "handover", "result", "on_site"]
    result = figures([deadline(kind=kind, due=1, done=0) for kind in kinds], [], [], T + timedelta(hours=2))
    assert [row.key for row in result.by_kind] == [
        "handover",
        "on_site",
        "result",
        "answer",
        "follow_up",
        "zz_new",
    ]
