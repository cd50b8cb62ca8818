"""Durable deadline timers of work orders (issue 16), on SQLite and PostgreSQL: they start and stop with the
stages, follow the desk's calendar, warn, escalate to the shift lead and then the supervisor exactly once on a
moving clock, survive a restart, and two schedulers on PostgreSQL never fire one step twice."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ivr.db.models import WorkOrder, WorkOrderEvent, WorkOrderTimer
from ivr.db.session import unit_of_work
from ivr.hotline import Hotline
from ivr.jobs import scheduler
from ivr.work_orders import cases, escalation, timers
from ivr.work_orders.orders import open_work_order

SHANGHAI = timedelta(hours=8)
MONDAY = date(2026, 12, 7)
SATURDAY = date(2026, 12, 12)
DESK = cases.Actor("desk-user", None)


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the database holds."""
    return datetime(day.year, day.month, day.day, hour, minute) - SHANGHAI


def after(minutes: int) -> datetime:
    """`minutes` after Monday 09:00 in Shanghai."""
    return local(MONDAY, 9) + timedelta(minutes=minutes)


def open_order(hotline: Hotline, work_class: str, at: datetime, key: str = "t-1") -> str:
    with unit_of_work(hotline.sessions) as session:
        order = cases.open_case(
            session, work_class=work_class, caller_number="+8613800000777", actor=DESK, source_key=key, now=at
        )
        return order.number


def order_of(hotline: Hotline, number: str) -> WorkOrder:
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert order is not None
        session.expunge(order)
        return order


def timer_rows(hotline: Hotline, number: str) -> list[WorkOrderTimer]:
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        rows = timers.timers_of(session, order)
        session.expunge_all()
        return rows


def event_kinds(hotline: Hotline, number: str) -> list[str]:
    with hotline.sessions() as session:
        return list(
            session.scalars(
                select(WorkOrderEvent.kind)
                .join(WorkOrder, WorkOrder.id == WorkOrderEvent.work_order_id)
                .where(WorkOrder.number == number)
                .order_by(WorkOrderEvent.id)
            )
        )


def test_a_quality_complaint_at_22_32_is_due_4_working_hours_after_8_00(hotline):
    number = open_order(hotline, "quality_complaint", local(MONDAY, 22, 32))
    [timer] = timer_rows(hotline, number)
    assert (timer.kind, timer.state) == ("handover", "running")
    # The field crew's desk opens at 08:00 on Tuesday: due 12:00, warned at 75 % (11:00), supervisor +2 h.
    assert timer.due_at == local(MONDAY + timedelta(days=1), 12)
    assert timer.warn_at == local(MONDAY + timedelta(days=1), 11)
    assert timer.supervisor_at == local(MONDAY + timedelta(days=1), 14)
    order = order_of(hotline, number)
    assert (order.due_at, order.warn_at, order.escalation) == (timer.due_at, timer.warn_at, "")


def test_over_the_weekend_the_deadline_waits_for_monday(hotline):
    # Saturday 18:00: the crew's desk closed at 17:00 and does not open on Sunday.
    number = open_order(hotline, "quality_complaint", local(SATURDAY, 18))
    [timer] = timer_rows(hotline, number)
    assert timer.due_at == local(SATURDAY + timedelta(days=2), 12)


def test_safety_runs_round_the_clock(hotline):
    number = open_order(hotline, "gas_leak", local(SATURDAY, 23, 50))
    [timer] = timer_rows(hotline, number)
    assert (timer.kind, timer.due_at) == ("on_site", local(SATURDAY, 23, 50) + timedelta(hours=1))
    assert timer.warn_at == local(SATURDAY, 23, 50) + timedelta(minutes=45)


def test_the_menu_s_gas_leak_order_gets_its_timer_too(hotline):
    with unit_of_work(hotline.sessions) as session:
        order = open_work_order(
            session, kind="gas_leak", caller_number="+8613800000778", source_key="menu-1", emergency=True
        )
        number = order.number
    assert [(t.kind, t.state) for t in timer_rows(hotline, number)] == [("on_site", "running")]


def test_timers_start_and_stop_with_the_stages(hotline):
    opened = local(MONDAY, 9)
    number = open_order(hotline, "fault_repair", opened)
    assert [(t.kind, t.state) for t in timer_rows(hotline, number)] == [("handover", "running")]
    with unit_of_work(hotline.sessions) as session:
        cases.hand_over(session, number=number, desk="field_crew", reason="visit", actor=DESK, now=after(20))
    rows = timer_rows(hotline, number)
    assert [(t.kind, t.state) for t in rows] == [("handover", "met"), ("on_site", "running")]
    assert rows[0].done_at == opened + timedelta(minutes=20)
    assert rows[1].due_at == local(MONDAY, 11, 20)  # 2 working hours from the hand-over
    assert order_of(hotline, number).due_at == local(MONDAY, 11, 20)
    with unit_of_work(hotline.sessions) as session:
        # Passed on to the same kind of desk: the on-site clock is not restarted.
        cases.hand_over(session, number=number, desk="field_crew", reason="other", actor=DESK, now=after(30))
        cases.move(session, number=number, to_stage="accepted", actor=DESK, now=after(35))
        cases.move(session, number=number, to_stage="in_progress", actor=DESK, now=after(40))
    rows = timer_rows(hotline, number)
    assert [(t.kind, t.state) for t in rows] == [("handover", "met"), ("on_site", "met")]
    order = order_of(hotline, number)
    assert (order.due_at, order.warn_at, order.escalation) == (None, None, "")
    with unit_of_work(hotline.sessions) as session:
        cases.record_field_result(session, number=number, result="fixed", actor=DESK, now=local(MONDAY, 10))
    rows = timer_rows(hotline, number)
    assert [(t.kind, t.state) for t in rows][-1] == ("answer", "running")
    assert rows[-1].due_at == local(MONDAY + timedelta(days=1), 10)  # 1 working day: same time next day
    with unit_of_work(hotline.sessions) as session:
        cases.record_answer(session, number=number, channel="phone", answer="ok", actor=DESK, now=after(120))
        cases.close(session, number=number, actor=DESK, now=local(MONDAY, 12))
    assert [t.state for t in timer_rows(hotline, number)] == ["met", "met", "met"]
    assert order_of(hotline, number).due_at is None


def test_warned_then_escalated_then_supervisor_each_once_on_a_moving_clock(hotline):
    opened = local(MONDAY, 9)  # fault repair: hand-over within 1 working hour, supervisor 1 h later
    number = open_order(hotline, "fault_repair", opened)

    def sweep(minutes: int) -> escalation.SweepReport:
        return escalation.sweep_due_timers(hotline.sessions, now=after(minutes))

    assert sweep(44).timers == 0 and order_of(hotline, number).escalation == ""
    assert sweep(45).warned == 1
    assert order_of(hotline, number).escalation == "warned"
    assert sweep(50).timers == 0, "the warning is not given twice"
    assert sweep(61).escalated == 1
    assert order_of(hotline, number).escalation == "escalated"
    assert sweep(90).timers == 0
    report = sweep(121)
    assert (report.warned, report.escalated, report.supervisor) == (0, 0, 1)
    assert order_of(hotline, number).escalation == "supervisor"
    assert sweep(600).timers == 0, "nothing is left to fire"
    kinds = event_kinds(hotline, number)
    assert [k for k in kinds if k in ("warned", "escalated", "escalated_to_supervisor")] == [
        "warned",
        "escalated",
        "escalated_to_supervisor",
    ]
    [timer] = timer_rows(hotline, number)
    assert (timer.step, timer.next_fire_at) == ("supervisor", None)
    with hotline.sessions() as session:
        escalated = session.scalar(
            select(WorkOrderEvent).where(
                WorkOrderEvent.kind == "escalated", WorkOrderEvent.work_order_id == timer.work_order_id
            )
        )
        assert escalated.data["told"] == "shift_lead" and escalated.data["seconds_late"] == 60
    # Handed over at last: met, and the order is no longer shown as escalated.
    with unit_of_work(hotline.sessions) as session:
        cases.hand_over(session, number=number, desk="field_crew", reason="late", actor=DESK, now=after(180))
    assert order_of(hotline, number).escalation == ""


def test_a_deadline_met_before_its_warning_never_fires(hotline):
    opened = local(MONDAY, 9)
    number = open_order(hotline, "fault_repair", opened)
    with unit_of_work(hotline.sessions) as session:
        cases.hand_over(session, number=number, desk="field_crew", reason="visit", actor=DESK, now=after(10))
    report = escalation.sweep_due_timers(hotline.sessions, now=opened + timedelta(minutes=59))
    assert report.warned == 0
    assert "warned" not in event_kinds(hotline, number)


def test_a_restarted_hotline_continues_where_the_last_one_stopped(hotline, settings):
    opened = local(MONDAY, 9)
    number = open_order(hotline, "fault_repair", opened)
    assert escalation.sweep_due_timers(hotline.sessions, now=opened + timedelta(minutes=46)).warned == 1
    hotline.engine.dispose()  # the process is gone; its successor reads the same database

    restarted = Hotline.build(settings)
    try:
        again = escalation.sweep_due_timers(restarted.sessions, now=opened + timedelta(minutes=62))
        assert (again.warned, again.escalated) == (0, 1)
    finally:
        restarted.engine.dispose()
    kinds = event_kinds(hotline, number)
    assert kinds.count("warned") == 1 and kinds.count("escalated") == 1


def test_the_scheduler_sweeps_every_30_seconds(hotline):
    job = scheduler.build_scheduler(hotline).get_job("sweep_work_order_timers")
    assert job is not None and job.trigger.interval == timedelta(seconds=30)


def test_two_schedulers_fire_each_step_once(settings, postgres_url, hotline):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("two schedulers claim with FOR UPDATE SKIP LOCKED: PostgreSQL (SQLite has one writer)")
    opened = local(MONDAY, 9)
    numbers = [open_order(hotline, "fault_repair", opened, key=f"two-{i}") for i in range(120)]
    later = opened + timedelta(hours=3)  # every step of every timer is due
    schedulers = [Hotline.build(settings), Hotline.build(settings)]  # each its own engine (pool)
    start = threading.Barrier(2)
    reports: list[escalation.SweepReport] = []
    errors: list[BaseException] = []

    def run(h: Hotline) -> None:
        try:
            start.wait()
            reports.append(escalation.sweep_due_timers(h.sessions, now=later, batch_size=7))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(h,)) for h in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for h in schedulers:
        h.engine.dispose()
    assert not errors, errors
    assert sum(r.timers for r in reports) == 120
    assert sum(r.escalated for r in reports) == 120 and sum(r.supervisor for r in reports) == 120
    assert all(r.timers > 0 for r in reports), "both schedulers took part"
    with hotline.sessions() as session:
        counts = dict(
            session.execute(
                select(WorkOrderEvent.kind, func.count())
                .where(WorkOrderEvent.kind.in_(("warned", "escalated", "escalated_to_supervisor")))
                .group_by(WorkOrderEvent.kind)
            ).all()
        )
        per_order = session.execute(
            select(WorkOrderEvent.work_order_id, func.count())
            .where(WorkOrderEvent.kind == "escalated")
            .group_by(WorkOrderEvent.work_order_id)
            .having(func.count() > 1)
        ).all()
    assert counts == {"warned": 120, "escalated": 120, "escalated_to_supervisor": 120}
    assert per_order == []
    assert {order_of(hotline, n).escalation for n in numbers} == {"supervisor"}
