"""The daily call-back draw on real databases: running quotas day by day, the under-20 rule, employees
balanced over the month, every exclusion, the scheduler job, concurrent draws, the command."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from ivr.db.models import (
    Agent,
    Call,
    CallbackCandidate,
    CallbackDraw,
    CallbackJob,
    DoNotCall,
    QueueEntry,
    ServiceCompletion,
    SurveyResponse,
)
from ivr.db.session import unit_of_work
from ivr.jobs import scheduler
from ivr.surveys.draws import draw_callbacks, month_figures
from run import cli

SHANGHAI = timedelta(hours=8)
PHONES = itertools.count(1)  # a distinct customer for every case add_day makes


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the database holds."""
    return datetime(day.year, day.month, day.day, hour, minute) - SHANGHAI


def add(hotline, specs):  # type: ignore[no-untyped-def]
    """Store completions: (external id, local completion time as naive UTC, phone, service type, employee)."""
    with unit_of_work(hotline.sessions) as session:
        for external_id, when, phone, service_type, employee in specs:
            session.add(
                ServiceCompletion(
                    source="field",
                    external_id=external_id,
                    service_type=service_type,
                    completed_at=when,
                    customer_phone=phone,
                    customer_language="zh-CN",
                    employee=employee,
                )
            )


def add_day(hotline, day, counts, *, service_type="free_repair", prefix="D"):  # type: ignore[no-untyped-def]
    """One local day's completions: `counts` is employee -> cases; every case a distinct customer."""
    specs, n = [], 0
    for employee, count in counts.items():
        for _ in range(count):
            key = f"{prefix}{day:%m%d}-{n}"
            phone = f"+86139{next(PHONES):08d}"
            specs.append((key, local(day, 10, n % 60), phone, service_type, employee))
            n += 1
    add(hotline, specs)


def draw(hotline, day, seed=None):  # type: ignore[no-untyped-def]
    """The draw that runs at 00:05 local on `day`: it decides everything completed before that day."""
    with unit_of_work(hotline.sessions) as session:
        return draw_callbacks(session, now=local(day, 0, 5), seed=seed)


def march_days(last=31):  # type: ignore[no-untyped-def]
    return [date(2026, 3, 1) + timedelta(days=n) for n in range(last)]


def selected_by_employee(hotline, month="2026-03", service_type="free_repair"):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        rows = session.execute(
            select(ServiceCompletion.employee)
            .join(CallbackCandidate, CallbackCandidate.completion_id == ServiceCompletion.id)
            .where(
                CallbackCandidate.month == month,
                CallbackCandidate.selected.is_(True),
                ServiceCompletion.service_type == service_type,
            )
        ).scalars()
        return Counter(rows)


def figures(hotline, month="2026-03"):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return month_figures(session, month)


# --- day by day over a month ---


def test_day_by_day_draws_give_the_share_and_keep_a_draw_row_per_day(hotline):
    add_day(hotline, date(2026, 2, 10), {"王": 25}, prefix="FEB")  # last month had 25 cases: sampled at once
    draw(hotline, date(2026, 3, 1))
    for day in march_days():
        add_day(hotline, day, {"王": 2, "李": 1, "张": 1})
        report = draw(hotline, day + timedelta(days=1), seed=day.day)
        assert [m.month for m in report.months] == ["2026-03"] and report.decided == 4
    march = figures(hotline)
    assert march.decided == 124 and march.draws == 31
    assert march.selected == {"free_repair": 13}  # ceil(10% of 124), as one monthly draw would give
    assert march.excluded == {"not_sampled": 111}
    with hotline.sessions() as session:
        draws = session.scalars(
            select(CallbackDraw).where(CallbackDraw.month == "2026-03").order_by(CallbackDraw.id)
        ).all()
        assert sum(d.selected for d in draws) == 13 and {d.decided for d in draws} == {4}
        assert (
            draws[0].through == local(date(2026, 3, 2))
            and draws[0].seed == 1
            and draws[0].policy_version == 0
        )
        orphans = session.scalar(
            select(func.count()).where(
                CallbackCandidate.draw_id.is_(None), CallbackCandidate.month == "2026-03"
            )
        )
        assert orphans == 0
    per_employee = selected_by_employee(hotline)
    assert max(per_employee.values()) - min(per_employee.values()) <= 1


def test_a_small_month_after_a_small_month_calls_every_case(hotline):
    add_day(hotline, date(2026, 2, 10), {"王": 19}, prefix="FEB")
    for day in march_days(15):
        add_day(hotline, day, {"王": 1})
        draw(hotline, day + timedelta(days=1))
    assert figures(hotline).selected == {"free_repair": 15}


def test_a_small_month_after_a_big_month_is_sampled_from_the_first_day(hotline):
    add_day(hotline, date(2026, 2, 10), {"王": 20}, prefix="FEB")  # 20 is not "fewer than 20"
    for day in march_days(15):
        add_day(hotline, day, {"王": 1})
        draw(hotline, day + timedelta(days=1))
    assert figures(hotline).selected == {"free_repair": 2}  # ceil(10% of 15): days 1 and 11


def test_a_month_growing_past_twenty_after_a_small_month_keeps_its_first_cases_called(hotline):
    for day in march_days(20):
        add_day(hotline, day, {"王": 1, "李": 1})
        draw(hotline, day + timedelta(days=1))
    # Days 1-9: 18 cases, all called (they cannot wait for the month's end). From day 10 the month has 20
    # cases, and 18 selected is more than ceil(10% of 40) = 4: nobody more.
    assert figures(hotline).selected == {"free_repair": 18}
    with hotline.sessions() as session:
        last = session.scalars(select(CallbackDraw).order_by(CallbackDraw.id.desc()).limit(1)).one()
        assert last.selected == 0


def test_employees_are_balanced_across_days_even_one_who_starts_late(hotline):
    add_day(hotline, date(2026, 2, 10), {"王": 30}, prefix="FEB")
    for day in march_days(30):
        counts = {"王": 5, "李": 3, "张": 1}
        if day.day > 10:
            counts["赵"] = 1  # 赵 joins on day 11 and catches up
        add_day(hotline, day, counts)
        draw(hotline, day + timedelta(days=1))
    per_employee = selected_by_employee(hotline)
    assert sum(per_employee.values()) == 29  # ceil(10% of 290)
    assert set(per_employee) == {"王", "李", "张", "赵"}
    assert max(per_employee.values()) - min(per_employee.values()) <= 1


def test_the_same_seeds_give_the_same_selection(hotline):
    def month_of_draws(seeds):  # type: ignore[no-untyped-def]
        for day in march_days(10):
            draw(hotline, day + timedelta(days=1), seed=seeds[day.day])
        with hotline.sessions() as session:
            chosen = session.scalars(
                select(CallbackCandidate.completion_id)
                .where(CallbackCandidate.selected.is_(True), CallbackCandidate.month == "2026-03")
                .order_by(CallbackCandidate.completion_id)
            ).all()
        with unit_of_work(hotline.sessions) as session:
            session.execute(delete(CallbackCandidate).where(CallbackCandidate.month == "2026-03"))
            session.execute(delete(CallbackDraw).where(CallbackDraw.month == "2026-03"))
        return chosen

    add_day(hotline, date(2026, 2, 10), {"王": 30}, prefix="FEB")
    with unit_of_work(hotline.sessions) as session:  # February decided for good: it sets last month's size
        draw_callbacks(session, now=local(date(2026, 3, 1), 0, 5), seed=0)
    for day in march_days(10):
        add_day(hotline, day, {"王": 6, "李": 5, "张": 4})
    # Every completion exists before the first draw: each draw takes only the days before it.
    seeds = {n: 1000 + n for n in range(1, 11)}
    first = month_of_draws(seeds)
    assert len(first) == 15  # ceil(10% of 150)
    assert month_of_draws(seeds) == first
    assert month_of_draws({n: 2000 + n for n in range(1, 11)}) != first


# --- exclusions ---


def earlier_callback(session, n, phone, *, status, answered_at=None):  # type: ignore[no-untyped-def]
    """A February completion of `phone`, selected, with a call-back job in `status` (and a SurveyResponse
    when a person answered at `answered_at`)."""
    completion = ServiceCompletion(
        source="field",
        external_id=f"OLD-{n}",
        service_type="paid_repair",
        completed_at=(answered_at or datetime(2026, 2, 20)) - timedelta(days=3),
        customer_phone=phone,
        customer_language="zh-CN",
        employee="王",
    )
    session.add(completion)
    session.flush()
    candidate = CallbackCandidate(
        completion_id=completion.id, month="2026-02", selected=True, exclusion_reason=None, policy_version=0
    )
    session.add(candidate)
    session.flush()
    job = CallbackJob(
        candidate_id=candidate.id,
        completion_id=completion.id,
        phone=phone,
        language="zh-CN",
        due_at=completion.completed_at + timedelta(days=3),
        latest_at=completion.completed_at + timedelta(days=5),
        status=status,
    )
    session.add(job)
    session.flush()
    if answered_at:
        session.add(
            SurveyResponse(
                job_id=job.id,
                completion_id=completion.id,
                call_sid=f"CAOLD{n}",
                phone=phone,
                language="zh-CN",
                called_at=answered_at,
                attitude=9,
                ability=9,
            )
        )


def test_every_exclusion_is_recorded_with_its_reason(hotline):
    day = date(2026, 3, 20)
    at = local(day, 10)
    with unit_of_work(hotline.sessions) as session:
        session.add(DoNotCall(phone="+8613800000002", reason="asked"))
        earlier_callback(
            session, 6, "+8613800000006", status="completed", answered_at=at - timedelta(days=10)
        )
        earlier_callback(
            session, 7, "+8613800000007", status="completed", answered_at=at - timedelta(days=40)
        )
        earlier_callback(session, 8, "+8613800000008", status="queued")
        earlier_callback(session, 9, "+8613800000009", status="unreachable")
        earlier_callback(session, 10, "+8613800000010", status="dialling")
    add(
        hotline,
        [
            ("C1", at, "anonymous", "paid_repair", "王"),
            ("C2", at, "13800000002", "paid_repair", "王"),
            ("C3", at, "+8613800000003", "meter_swap", "王"),
            ("C4", at, "+8613800000004", "paid_repair", "王"),
            ("C5", at + timedelta(hours=2), "+8613800000004", "leak_repair", "李"),
            ("C6", at, "+8613800000006", "paid_repair", "王"),
            ("C7", at, "+8613800000007", "paid_repair", "王"),
            ("C8", at, "+8613800000008", "paid_repair", "王"),
            ("C9", at, "+8613800000009", "paid_repair", "王"),
            ("C10", at, "+8613800000010", "paid_repair", "王"),
        ],
    )
    draw(hotline, day + timedelta(days=1))
    with hotline.sessions() as session:
        decided = dict(
            session.execute(
                select(ServiceCompletion.external_id, CallbackCandidate.exclusion_reason)
                .join(CallbackCandidate, CallbackCandidate.completion_id == ServiceCompletion.id)
                .where(ServiceCompletion.external_id.like("C%"))
            ).all()
        )
    assert decided == {
        "C1": "no_usable_number",
        "C2": "do_not_call",
        "C3": "service_type_not_in_policy",
        "C4": "later_completion_same_customer",
        "C5": None,
        "C6": "recently_called_back",  # answered 10 days before
        "C7": None,  # answered 40 days before: past the 30 days
        "C8": "callback_pending",  # a queued call-back
        "C9": None,  # unreachable: no call-back is under way, nobody answered
        "C10": "callback_pending",  # being dialled
    }


# --- the scheduler job ---


def add_answered_call(hotline, sid, ended_at):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        agent_id = session.scalar(select(Agent.id).order_by(Agent.id).limit(1))
        session.add(
            Call(
                call_sid=sid,
                from_number="+8613700000001",
                started_at=ended_at - timedelta(minutes=4),
                ended_at=ended_at,
                language="zh-CN",
                outcome="answered",
            )
        )
        session.add(
            QueueEntry(call_sid=sid, queue="billing", intent="billing", language="zh-CN", agent_id=agent_id)
        )


def counts(hotline):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (ServiceCompletion, CallbackDraw, CallbackCandidate, CallbackJob)
        )


def test_the_scheduler_job_records_draws_and_schedules_once(hotline):
    today = date(2026, 3, 20)
    now = local(today, 0, 5)
    add_answered_call(hotline, "CA-DRAW-1", local(today - timedelta(days=1), 15))
    add_answered_call(hotline, "CA-TODAY", local(today, 0, 1))  # today's: waits for tomorrow's draw
    add_day(hotline, today - timedelta(days=1), {"王": 3}, service_type="paid_repair")
    assert scheduler.draw_callbacks(hotline, now) == 4  # 3 field completions and yesterday's hotline call
    first = counts(hotline)
    assert first == (5, 1, 4, 4)  # both calls made completions; 4 decided; hotline_call under 20: all
    with hotline.sessions() as session:
        statuses = Counter(session.scalars(select(CallbackJob.status)))
    assert statuses == {"queued": 4}
    assert scheduler.draw_callbacks(hotline, now + timedelta(minutes=15)) == 0
    assert counts(hotline) == first


def test_the_draw_is_scheduled_every_fifteen_minutes(hotline):
    job = scheduler.build_scheduler(hotline).get_job("draw_callbacks")
    assert job is not None and job.trigger.interval == timedelta(minutes=15)


def test_a_late_completion_is_decided_by_the_next_draw_and_its_job_expires(hotline):
    today = date(2026, 3, 20)
    add(hotline, [("LATE", local(today - timedelta(days=10), 11), "+8613800000077", "paid_repair", "王")])
    assert scheduler.draw_callbacks(hotline, local(today, 15)) == 1
    with hotline.sessions() as session:
        job = session.scalars(select(CallbackJob)).one()
    assert job.status == "expired" and job.last_outcome == "over before the draw"


# --- two draws at once ---


def test_a_draw_racing_another_is_rolled_back_whole(hotline, caplog):
    for day in march_days(3):
        add_day(hotline, day, {"王": 20, "李": 20})
    now = local(date(2026, 3, 4), 0, 5)
    results: list[int] = []
    session = hotline.sessions()
    try:
        first = draw_callbacks(session, now=now, seed=1)  # decided, not committed yet
        second = threading.Thread(target=lambda: results.append(scheduler.draw_callbacks(hotline, now)))
        with caplog.at_level(logging.WARNING, logger="ivr.surveys.draws"):
            second.start()
            time.sleep(1.5)  # the second draw reads the same undecided completions and waits on the first
            session.commit()
            second.join(timeout=30)
    finally:
        session.close()
    assert results == [0]
    assert "call-back draw rolled back" in caplog.text
    with hotline.sessions() as session:
        draws = session.scalars(select(CallbackDraw)).all()
        assert [d.id for d in draws] == [m.draw_id for m in first.months]  # none of the second's is left
        assert session.scalar(select(func.count()).select_from(CallbackCandidate)) == 120
        assert set(session.scalars(select(CallbackCandidate.draw_id))) == {draws[0].id}
        # The second job still made the call-back jobs of the first draw's selection.
        assert (
            session.scalar(select(func.count()).select_from(CallbackJob)) == first.months[0].selected.total()
        )


def test_concurrent_scheduler_draws_never_decide_a_completion_twice(hotline, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("two scheduler processes share one PostgreSQL; SQLite runs one scheduler")
    decided: list[int] = []
    for round_ in range(3):
        day = date(2026, 3, 1) + timedelta(days=round_)
        add_day(hotline, day, {"王": 150, "李": 150}, prefix=f"R{round_}-")
        start = threading.Barrier(2)
        now = local(day + timedelta(days=1), 0, 5)

        def run(now=now, start=start):  # type: ignore[no-untyped-def]
            start.wait()
            decided.append(scheduler.draw_callbacks(hotline, now))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    with hotline.sessions() as session:
        candidates = session.scalar(select(func.count()).select_from(CallbackCandidate))
        distinct = session.scalar(select(func.count(func.distinct(CallbackCandidate.completion_id))))
        per_draw = dict(
            session.execute(
                select(CallbackCandidate.draw_id, func.count()).group_by(CallbackCandidate.draw_id)
            ).all()
        )
        draws = {d.id: d.decided for d in session.scalars(select(CallbackDraw))}
    assert candidates == distinct == 900
    assert sum(decided) == 900 and len(decided) == 6
    assert per_draw == draws  # every draw row left has exactly the candidates it counts: no half draws


# --- the command ---


@pytest.fixture
def env(monkeypatch, settings, hotline):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


def test_the_select_command_draws_what_is_undecided_and_says_when_nothing_is(env):
    add_day(env, date(2026, 3, 10), {"王": 25}, service_type="free_repair")
    add_day(env, date(2026, 2, 10), {"王": 2}, service_type="paid_repair", prefix="FEB")
    result = CliRunner().invoke(cli, ["callbacks", "select", "--month", "2026-03", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "decided 25 completion(s) before 2026-04-01 00:00 (Asia/Shanghai), policy version 0, seed 5" in (
        result.output
    )
    assert "    selected  free_repair: 3" in result.output  # ceil(10% of 25)
    assert "    excluded  not_sampled: 22" in result.output
    assert "2026-03 so far (1 draw(s)): decided 25, selected 3" in result.output
    again = CliRunner().invoke(cli, ["callbacks", "select", "--month", "2026-03"])
    assert again.exit_code == 0
    assert "nothing new to decide: every completion before 2026-04-01 00:00 (Asia/Shanghai)" in again.output
    assert "2026-03 so far (1 draw(s)): decided 25, selected 3" in again.output
    every = CliRunner().invoke(cli, ["callbacks", "select"])  # February was left out above
    assert every.exit_code == 0 and "2026-02 (draw " in every.output
    assert "    selected  paid_repair: 2" in every.output
    with env.sessions() as session:
        seeds = session.scalars(select(CallbackDraw.seed).order_by(CallbackDraw.id)).all()
    assert seeds[0] == 5 and len(seeds) == 2  # the random seed of the second draw is stored too
    bad = CliRunner().invoke(cli, ["callbacks", "select", "--month", "2026-13"])
    assert bad.exit_code == 1 and "month must be YYYY-MM" in bad.output
