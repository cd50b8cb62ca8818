"""The floor pages: live board figures, emergencies, history, staffing inputs (each against data computed by
hand), the shift lead's moves with their change log, and who may open what.

Times: Asia/Shanghai (UTC+8, no daylight saving). "Today" is Tuesday 2026-03-10 and "now" local 12:00.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from ivr.configuration.rules.store import publish_rules
from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file
from ivr.db.models import Agent, AgentStateChange, Call, ChangeLog, QueueEntry, utcnow
from ivr.db.session import unit_of_work
from ivr.events.recorder import record_events
from ivr.events.store import new_event
from ivr.people.user_admin import create_user
from ivr.quality.report import build_quality_report
from ivr.quality.report_month import Month
from ivr.queueing.board import live_board
from ivr.queueing.history import MAX_HISTORY_DAYS, PeriodError, history, parse_period
from ivr.queueing.shift_moves import change_agent_groups
from ivr.queueing.staffing import expected_calls, past_same_weekdays, scheduled_agents
from tests.helpers import count, new_call_sid

TIMEZONE = "Asia/Shanghai"
PASSWORD = "correct horse battery"
TODAY = date(2026, 3, 10)
CALLER = "+8613800000001"


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Local Shanghai time in March 2026 as the naive UTC the database holds."""
    return datetime(2026, 3, day, hour, minute, second) - timedelta(hours=8)


NOW = local(10, 12)


class Floor:
    """Calls made of the events the webhooks record (the real projections), plus what the connect webhooks
    do to queue entries and agents."""

    def __init__(self, hotline):
        self.hotline = hotline
        self.keys = 0
        with hotline.sessions() as session:
            self.agents = {a.name: a.id for a in session.scalars(select(Agent))}

    def event(self, sid: str, kind: str, at: datetime, **data) -> None:
        self.keys += 1
        data = {"from": CALLER, "to": "+864008888888", **data}
        record_events(
            self.hotline.sessions, self.hotline.spool, [new_event(sid, kind, f"k{self.keys}", data, at)]
        )

    def call(
        self, started: datetime, queue: str | None = None, *, after=5, emergency=False, caller=CALLER, **data
    ) -> str:
        """A call started at `started`, entering `queue` `after` seconds later (None: never queued)."""
        sid = new_call_sid()
        self.event(sid, "call.started", started, menu_version=1, **{"from": caller})
        if queue is not None:
            fields = {
                "queue": queue,
                "intent": "safety" if emergency else queue,
                "priority": 10 if emergency else 5,
            }
            at = started + timedelta(seconds=after)
            self.event(sid, "call.queued", at, emergency=emergency, **fields, **{"from": caller}, **data)
        return sid

    def answered(self, sid: str, agent: str, answered_at: datetime, talk: int = 60, end: bool = True) -> None:
        """The agent picked up at `answered_at`; the Dial's result arrives when the talk ends."""
        with unit_of_work(self.hotline.sessions) as session:
            entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == sid))
            entry.status, entry.agent_id, entry.ended_at = "done", self.agents[agent], answered_at
            session.execute(update(Call).where(Call.call_sid == sid).values(outcome="answered"))
        done = answered_at + timedelta(seconds=talk)
        self.event(
            sid, "agent.result", done, status="completed", agent_id=self.agents[agent], duration=str(talk)
        )
        if end:
            self.ended(sid, done + timedelta(seconds=2))

    def hung_up_waiting(self, sid: str, at: datetime) -> None:
        self.event(sid, "queue.left", at, result="hangup", queue_time="30")
        self.ended(sid, at)

    def ended(self, sid: str, at: datetime) -> None:
        self.event(sid, "call.status", at, status="completed", duration="100")

    def entry(self, sid: str, **values) -> None:
        with unit_of_work(self.hotline.sessions) as session:
            session.execute(update(QueueEntry).where(QueueEntry.call_sid == sid).values(**values))

    def agent_state(self, name: str, state: str, call_sid: str | None = None) -> None:
        with unit_of_work(self.hotline.sessions) as session:
            session.execute(
                update(Agent)
                .where(Agent.name == name)
                .values(state=state, call_sid=call_sid, state_since=NOW)
            )


@pytest.fixture
def floor(hotline):
    return Floor(hotline)


def board(hotline, now=NOW):
    with hotline.sessions() as session:
        return live_board(session, rules=hotline.rules.live(), timezone=TIMEZONE, now=now)


# ---------------------------------------------------------------- the live board's figures


@pytest.fixture
def today(floor):
    """Today's calls (see each line); yesterday's one must not count."""
    f = floor
    a = f.call(local(10, 9), "billing")  # queued 09:00:05, answered 09:00:20: 15 s, within 20 s
    f.answered(a, "陈静", local(10, 9, 0, 20), talk=120)
    b = f.call(local(10, 9, 10), "billing")  # queued 09:10:05, answered 09:10:35: 30 s
    f.answered(b, "Emily Wu", local(10, 9, 10, 35))
    c = f.call(local(10, 9, 20), "repair")  # the caller hung up while waiting: abandoned
    f.hung_up_waiting(c, local(10, 9, 21))
    d = f.call(local(10, 9, 30), "safety", emergency=True)  # to the duty engineer, who answered
    f.event(d, "queue.left", local(10, 9, 31, 5), result="leave", emergency=True, queue_time="60")
    f.event(d, "dial.result", local(10, 9, 35), status="completed", attempt=1)
    f.ended(d, local(10, 9, 35))
    e = f.call(local(10, 9, 40), "general")  # booked a call-back while waiting
    f.event(e, "callback.booked", local(10, 9, 41), entry=1)
    f.entry(e, status="callback", callback_number="+8613800000001")
    f.ended(e, local(10, 9, 41))
    waiting = f.call(local(10, 11, 58, 55), "billing")  # queued 11:59:00, still waiting at noon: 60 s
    f.ended(f.call(local(10, 10), None), local(10, 10, 1))  # ended in the menu: never offered
    # An after-hours call-back request (another number: one owed call-back per number): never waited in a
    # queue, not offered.
    f.call(local(10, 7), "billing", caller="+8613800000009", callback_after=local(10, 8).isoformat())
    y = f.call(local(9, 23), "billing")  # yesterday, answered in 3 s
    f.answered(y, "陈静", local(9, 23, 0, 8))
    f.agent_state("陈静", "on_call", call_sid="CAx")
    f.agent_state("赵磊", "break")
    f.agent_state("孙丽", "offline")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "waiting": waiting}


def test_todays_service_level_abandonment_and_answer_time_by_hand(hotline, today):
    data = board(hotline)
    total = data["total"]["today"]
    # Offered: a, b, c, d, e (the waiting caller is still open; menu and after-hours calls never offered).
    assert total["offered"] == 5
    assert (total["answered"], total["answered_within"], total["abandoned"]) == (2, 1, 1)
    assert (total["duty"], total["callback"], total["other"]) == (1, 1, 0)
    assert total["in_progress"] == 1
    assert total["service_level"] == pytest.approx(1 / 5)
    assert total["abandonment"] == pytest.approx(1 / 5)
    assert total["average_answer_seconds"] == pytest.approx((15 + 30) / 2)
    assert total["longest_answer_seconds"] == pytest.approx(30)
    assert data["day"] == "2026-03-10" and data["local_time"] == "2026-03-10 12:00:00"


def test_per_queue_waiting_longest_wait_and_agents_by_state(hotline, today):
    queues = {row["name"]: row for row in board(hotline)["queues"]}
    assert list(queues) == ["safety", "billing", "repair", "complaint", "general"]  # the rules' order
    billing = queues["billing"]
    assert (billing["waiting"], billing["longest_wait"], billing["callbacks"]) == (1, 60, 1)
    assert billing["today"]["offered"] == 2 and billing["today"]["service_level"] == pytest.approx(0.5)
    assert billing["today"]["in_progress"] == 1
    # Billing agents (demo groups): 陈静 on a call, Emily Wu available.
    assert billing["agents"] == {
        "available": 1, "ringing": 0, "on_call": 1, "wrap_up": 0, "break": 0, "offline": 0
    }  # fmt: skip
    # Safety: 赵磊 on a break, 周杰 and 吴刚 available.
    assert queues["safety"]["agents"]["available"] == 2 and queues["safety"]["agents"]["break"] == 1
    assert queues["safety"]["today"]["duty"] == 1 and queues["safety"]["today"]["service_level"] == 0.0
    assert queues["repair"]["today"]["abandonment"] == pytest.approx(1.0)
    assert queues["general"]["today"]["callback"] == 1
    assert queues["complaint"]["waiting"] == 0 and queues["complaint"]["longest_wait"] is None
    total = board(hotline)["total"]
    assert total["agents"] == {
        "available": 3, "ringing": 0, "on_call": 1, "wrap_up": 0, "break": 1, "offline": 1
    }  # fmt: skip
    assert total["waiting"] == 1 and total["longest_wait"] == 60


def test_the_board_uses_the_quality_reports_definition(hotline, floor, today):
    # The whole month read by the monthly report and by the floor's history give the same answering figures
    # (once the caller still waiting has hung up: the report classifies finished calls).
    floor.hung_up_waiting(today["waiting"], local(10, 12, 1))
    with hotline.sessions() as session:
        report = build_quality_report(session=session, month=Month(2026, 3), timezone=TIMEZONE, now=NOW)
        period = history(
            session, start=date(2026, 3, 1), end=date(2026, 3, 31), by="day", timezone=TIMEZONE, now=NOW
        )
    ours, theirs = period.total.figures, report.queue
    assert ours.offered == theirs.offered == 7  # today's 5, yesterday's call and the one who hung up
    assert (ours.answered_within, ours.results, ours.waits) == (
        theirs.answered_within,
        theirs.results,
        theirs.waits,
    )
    assert ours.service_level == theirs.service_level == pytest.approx(2 / 7)
    assert ours.abandonment_rate == theirs.abandonment_rate == pytest.approx(2 / 7)


def test_a_call_without_an_end_for_six_hours_counts_as_other(hotline, floor):
    floor.call(local(10, 5, 59), "billing")  # queued 05:59:05; its final status never came
    assert board(hotline)["total"]["today"]["offered"] == 1  # at 12:00, over 6 hours later
    assert board(hotline)["total"]["today"]["other"] == 1
    assert board(hotline, now=local(10, 11, 58))["total"]["today"]["in_progress"] == 1


def test_a_call_counts_once_it_is_decided(hotline, floor):
    sid = floor.call(local(10, 11, 59), "billing")  # queued 11:59:05
    assert board(hotline)["total"]["today"]["offered"] == 0
    assert board(hotline)["total"]["today"]["in_progress"] == 1
    floor.answered(sid, "陈静", local(10, 11, 59, 17), talk=30)  # 12 s to answer
    later = board(hotline, now=local(10, 12, 5))["total"]["today"]
    assert (later["offered"], later["in_progress"], later["service_level"]) == (1, 0, 1.0)
    assert later["average_answer_seconds"] == pytest.approx(12)


# ---------------------------------------------------------------- emergencies of the last hour


def test_emergencies_of_the_last_hour_and_where_they_are(hotline, floor):
    f = floor
    waiting = f.call(local(10, 11, 30), "safety", after=10, emergency=True, caller="+8613800000002")
    ringing = f.call(local(10, 11, 35), "safety", emergency=True)
    f.entry(ringing, status="offered", agent_id=f.agents["周杰"])
    talking = f.call(local(10, 11, 40), "safety", emergency=True)
    f.entry(talking, status="connected", agent_id=f.agents["赵磊"])
    duty = f.call(local(10, 11, 50), "safety", emergency=True)
    f.event(duty, "queue.left", local(10, 11, 51, 5), result="leave", emergency=True, queue_time="60")
    answered = f.call(local(10, 11, 10), "safety", emergency=True)
    f.answered(answered, "吴刚", local(10, 11, 10, 20))
    old_on_line = f.call(local(10, 10, 30), "safety", emergency=True)  # waiting 90 minutes: still shown
    old_done = f.call(local(10, 10, 40), "safety", emergency=True)  # ended over an hour ago: gone
    f.answered(old_done, "吴刚", local(10, 10, 40, 10))
    f.call(local(10, 11, 45), "billing")  # not an emergency

    rows = {row["call_sid"]: row for row in board(hotline)["emergencies"]}
    assert set(rows) == {waiting, ringing, talking, duty, answered, old_on_line}
    assert [r["call_sid"] for r in board(hotline)["emergencies"]][0] == duty  # newest first
    where = {sid: rows[sid]["where"] for sid in rows}
    assert where[waiting]["kind"] == "waiting" and where[waiting]["seconds"] == 1790  # since 11:30:10
    assert "waiting in the safety queue for 1790 s" in where[waiting]["text"]
    assert where[ringing]["text"] == "坐席 周杰 振铃中 / ringing agent 周杰"
    assert where[talking]["text"] == "与坐席 赵磊 通话 / with agent 赵磊"
    assert where[duty]["kind"] == "duty" and "duty engineer" in where[duty]["text"]
    assert where[answered]["kind"] == "ended" and "answered by agent 吴刚" in where[answered]["text"]
    assert where[old_on_line]["seconds"] == 5395  # since 10:30:05
    assert rows[waiting]["caller"] == "+8613800000002" and rows[waiting]["started_local"] == "11:30:00"
    assert board(hotline)["total"]["emergencies_waiting"] == 3  # on the line in our queue: incl. ringing


# ---------------------------------------------------------------- history


def test_history_by_day_and_by_hour_by_hand(hotline, floor):
    f = floor
    a = f.call(local(9, 9), "billing")  # Monday 09:00:05 -> answered after 10 s
    f.answered(a, "陈静", local(9, 9, 0, 15))
    b = f.call(local(9, 9, 30), "billing")  # Monday 09:30:05 -> answered after 40 s
    f.answered(b, "陈静", local(9, 9, 30, 45))
    c = f.call(local(10, 9, 15), "repair")  # Tuesday 09:15 -> abandoned
    f.hung_up_waiting(c, local(10, 9, 16))
    d = f.call(local(10, 14), "general")  # Tuesday 14:00:05 -> answered after 5 s
    f.answered(d, "孙丽", local(10, 14, 0, 10))
    f.ended(f.call(local(10, 15), None), local(10, 15, 1))  # menu only
    f.call(local(11, 9), "billing")  # Wednesday: outside the period

    with hotline.sessions() as session:
        days = history(
            session, start=date(2026, 3, 9), end=date(2026, 3, 10), by="day", timezone=TIMEZONE, now=NOW
        )
        hours = history(
            session, start=date(2026, 3, 9), end=date(2026, 3, 10), by="hour", timezone=TIMEZONE, now=NOW
        )
    monday, tuesday = days.rows
    assert (monday.key, monday.calls, monday.figures.offered, monday.figures.answered_within) == (
        "2026-03-09",
        2,
        2,
        1,
    )
    assert monday.figures.service_level == 0.5 and monday.figures.average_answer_seconds == pytest.approx(25)
    assert (tuesday.calls, tuesday.figures.offered, tuesday.figures.abandoned) == (3, 2, 1)
    assert tuesday.figures.service_level == 0.5 and tuesday.figures.abandonment_rate == 0.5
    assert days.total.calls == 5 and days.total.figures.offered == 4
    assert days.total.figures.service_level == pytest.approx(2 / 4)
    assert days.total.figures.average_answer_seconds == pytest.approx((10 + 40 + 5) / 3)

    assert len(hours.rows) == 24
    nine = hours.rows[9]
    assert nine.key == "09" and (nine.calls, nine.figures.offered, nine.figures.answered) == (3, 3, 2)
    assert nine.figures.answered_within == 1 and nine.figures.abandoned == 1
    assert hours.rows[14].figures.service_level == 1.0 and hours.rows[15].calls == 1
    assert sum(row.calls for row in hours.rows) == 5
    assert dict((name, q.offered) for name, q in days.queues) == {"billing": 2, "general": 1, "repair": 1}


def test_history_agents_by_state_from_the_state_changes(hotline):
    with unit_of_work(hotline.sessions) as session:
        chen = session.scalar(select(Agent.id).where(Agent.name == "陈静"))
        session.execute(AgentStateChange.__table__.delete())
        for state, at in [
            ("offline", local(9, 20)),  # before the period: offline when it starts
            ("available", local(10, 8)),
            ("on_call", local(10, 8, 30)),
            ("wrap_up", local(10, 9)),
            ("available", local(10, 9, 1)),
            ("offline", local(10, 10)),
        ]:
            session.add(AgentStateChange(agent_id=chen, state=state, at=at))
    with hotline.sessions() as session:
        hours = history(session, start=TODAY, end=TODAY, by="hour", timezone=TIMEZONE, now=local(11, 0))
        day = history(session, start=TODAY, end=TODAY, by="day", timezone=TIMEZONE, now=local(11, 0))
    eight, nine = hours.rows[8].agents, hours.rows[9].agents
    assert eight["available"] == pytest.approx(0.5) and eight["on_call"] == pytest.approx(0.5)
    assert nine["wrap_up"] == pytest.approx(60 / 3600) and nine["available"] == pytest.approx(3540 / 3600)
    assert hours.rows[3].agents["offline"] == pytest.approx(1.0) and hours.rows[3].agents["available"] == 0
    assert day.rows[0].agents["available"] == pytest.approx((1800 + 3540) / 86400)
    assert day.rows[0].agents["offline"] == pytest.approx((8 * 3600 + 14 * 3600) / 86400)


def test_the_period_is_checked():
    assert parse_period(None, None, None, TODAY) == (date(2026, 3, 4), TODAY, "day")
    assert parse_period("2026-01-01", "2026-04-02", "hour", TODAY) == (
        date(2026, 1, 1),
        date(2026, 4, 2),
        "hour",
    )
    with pytest.raises(PeriodError, match=f"at most {MAX_HISTORY_DAYS} days"):
        parse_period("2026-01-01", "2026-04-03", "day", TODAY)  # 93 days
    with pytest.raises(PeriodError, match="after the end"):
        parse_period("2026-03-10", "2026-03-09", "day", TODAY)
    with pytest.raises(PeriodError, match="YYYY-MM-DD"):
        parse_period("10/03/2026", None, "day", TODAY)
    with pytest.raises(PeriodError, match="day or hour"):
        parse_period(None, None, "week", TODAY)


# ---------------------------------------------------------------- staffing inputs


def test_expected_calls_average_the_same_weekday_of_the_weeks_with_data(hotline, floor):
    # Planning Tuesday 2026-03-17 on 2026-03-10: the past Tuesdays are 03-03, 02-24, 02-17, 02-10.
    assert past_same_weekdays(date(2026, 3, 17), TODAY) == [
        date(2026, 3, 3), date(2026, 2, 24), date(2026, 2, 17), date(2026, 2, 10)
    ]  # fmt: skip
    for minute in (0, 10, 20, 29):  # 03-03 09:00-09:29: four calls in the 09:00 half hour
        floor.call(local(3, 9, minute), "billing")
    floor.call(local(3, 9, 30), "billing")  # 09:30 half hour
    floor.call(local(3, 9, 5), None)  # never queued: not a call for an agent
    tuesday_feb = datetime(2026, 2, 24, 9, 15) - timedelta(hours=8)
    floor.call(tuesday_feb, "repair")
    floor.call(tuesday_feb + timedelta(minutes=1), "repair")
    floor.call(local(2, 9, 0), "billing")  # a Monday: another weekday
    with hotline.sessions() as session:
        calls, used = expected_calls(session, day=date(2026, 3, 17), today=TODAY, timezone=TIMEZONE)
    assert used == [date(2026, 2, 24), date(2026, 3, 3)]  # 02-17 and 02-10 had no calls: not averaged
    assert calls[18] == pytest.approx((4 + 2) / 2)  # 09:00
    assert calls[19] == pytest.approx(1 / 2)  # 09:30
    assert sum(calls) == pytest.approx(7 / 2)
    with hotline.sessions() as session:
        mondays, used = expected_calls(session, day=date(2026, 3, 16), today=TODAY, timezone=TIMEZONE)
    assert used == [date(2026, 3, 2)] and mondays[18] == 1.0 and sum(mondays) == 1.0  # the Monday call


def test_agents_scheduled_follow_the_live_calendars(hotline):
    with unit_of_work(hotline.sessions) as session:
        publish_rules(session, load_rules_file(DEFAULT_RULES_FILE), note="tests: office hours 08:00-20:00")
    hotline.rules._rules = None  # read the new version now
    with hotline.sessions() as session:
        slots = scheduled_agents(session, rules=hotline.rules.live(), day=TODAY, timezone=TIMEZONE)
        holiday = scheduled_agents(
            session, rules=hotline.rules.live(), day=date(2026, 10, 1), timezone=TIMEZONE
        )
    # Safety is always open: 赵磊, 周杰, 吴刚 (safety group); 08:00-20:00 every demo agent has an open group.
    assert slots[6] == 3 and slots[15] == 3  # 03:00, 07:30
    assert slots[16] == 6 and slots[39] == 6  # 08:00, 19:30
    assert slots[40] == 3  # 20:00: closed again
    assert holiday[18] == 3  # National Day: only the safety desk


def test_the_staffing_page_gives_agents_needed_beside_scheduled(hotline, lead):
    page = lead.get(
        "/console/staffing?day=2026-03-10&apply=1&fill_from=08:00&fill_to=09:30&fill_calls=100&handle=180"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # 100 calls per half hour of 180 s, 80 % in 20 s: 14 agents (Erlang C); with the default 30 % shrinkage
    # 14 / 0.7 = 20 to schedule; 6 scheduled: 14 short.
    row = re.search(r'<tr data-slot="08:00" class="short">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="n needed">14<', row) and re.search(r'class="n scheduled">6<', row)
    assert re.search(r'class="n to-schedule">20<', row) and re.search(r'class="n gap">-14<', row)
    assert "88.8 %" in row
    assert re.search(r'id="peak-needed">14<', html) and re.search(r'id="short-slots">4<', html)
    quiet = re.search(r'<tr data-slot="10:00" class="">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="n needed">0<', quiet)


def test_bad_staffing_input_is_a_form_error(lead):
    page = lead.get("/console/staffing?handle=abc&c3=-2&target=100")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "must be a number, not &#39;abc&#39;" in html
    assert "01:30 来电 / calls" in html and "must be from 0 to 100000" in html
    assert "must be from 1 to 99.9" in html
    assert 'id="peak-needed"' not in html  # nothing computed from bad input


# ---------------------------------------------------------------- pages, JSON, CSV and roles


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _client(app, hotline, username, role):
    with unit_of_work(hotline.sessions) as session:
        seat = session.scalar(select(Agent.id).where(Agent.name == "陈静")) if role == "agent" else None
        create_user(session, username=username, role=role, password=PASSWORD, agent_id=seat)
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture
def lead(app, hotline):
    app.config["SECRET_KEY"] = "test-secret-key"
    return _client(app, hotline, "lead", "shift_lead")


PAGES = [
    "/console/board",
    "/console/board.json",
    "/console/history",
    "/console/history.csv",
    "/console/staffing",
]


def test_every_floor_page_checks_the_role(app, hotline):
    app.config["SECRET_KEY"] = "test-secret-key"
    for role in ("shift_lead", "supervisor", "admin", "quality", "agent"):
        client = _client(app, hotline, f"user-{role}", role)
        for path in PAGES:
            assert client.get(path).status_code == (
                200 if role in ("shift_lead", "supervisor", "admin") else 403
            )
        home = client.get("/home").get_data(as_text=True)
        links = ('href="/console/board"', 'href="/console/history"', 'href="/console/staffing"')
        assert all(link in home for link in links) == (role in ("shift_lead", "supervisor", "admin"))
        token = _csrf(home)
        for action in ("/console/board/agent-state", "/console/board/agent-groups"):
            response = client.post(action, data={"csrf_token": token, "agent_id": "1", "state": "offline"})
            assert response.status_code == (302 if role in ("shift_lead", "supervisor", "admin") else 403)
    anonymous = app.test_client()
    for path in PAGES:
        assert anonymous.get(path).status_code == 302  # to the login page
    assert anonymous.post("/console/board/agent-state", data={"agent_id": "1"}).status_code in (302, 400)
    with hotline.sessions() as session:  # quality and agent users changed nothing
        assert count(session, ChangeLog, ChangeLog.who.in_(("user-quality", "user-agent"))) == 0


def test_the_board_json_shows_a_waiting_caller(hotline, floor, lead):
    floor.call(utcnow() - timedelta(seconds=45), "complaint")
    data = lead.get("/console/board.json").get_json()
    complaint = next(row for row in data["queues"] if row["name"] == "complaint")
    assert complaint["waiting"] == 1 and 38 <= complaint["longest_wait"] <= 50
    assert {a["name"] for a in data["agents"]} >= {"陈静", "赵磊"}
    page = lead.get("/console/board").get_data(as_text=True)
    assert 'id="board-data"' in page and "board.js" in page and "更改状态 / Change state" in page


def test_the_history_page_and_csv(hotline, floor, lead):
    a = floor.call(local(9, 9), "billing")
    floor.answered(a, "陈静", local(9, 9, 0, 15))
    floor.call(
        local(9, 9, 30), "repair"
    )  # never ended (its last webhook lost): "other", as the report has it
    floor.hung_up_waiting(floor.call(local(9, 9, 30), "repair"), local(9, 9, 31))
    page = lead.get("/console/history?start=2026-03-09&end=2026-03-10&by=day")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("<svg") == 3  # no agent state changes: that one is empty
    assert html.count('class="chart-empty"') == 1 and "Mean agents by state" in html
    assert re.search(r'id="total-sl">33.3 %<', html) and re.search(r'id="total-abandoned">33.3 %<', html)
    rows = list(
        csv.reader(
            io.StringIO(
                lead.get("/console/history.csv?start=2026-03-09&end=2026-03-10")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert rows[0][:4] == ["day", "calls", "offered", "answered"]
    assert rows[1][:11] == ["2026-03-09", "3", "3", "1", "1", "1", "0", "0", "1", "33.3", "33.3"]
    assert rows[-1][0] == "total" and len(rows) == 4
    bad = lead.get("/console/history?start=2026-01-01&end=2026-06-01")
    assert bad.status_code == 400 and "at most 92 days" in bad.get_data(as_text=True)


# ---------------------------------------------------------------- the shift lead's moves


def _agent(hotline, name):
    with hotline.sessions() as session:
        return session.scalar(select(Agent).where(Agent.name == name))


def _post(client, path, **form):
    token = _csrf(client.get("/console/board").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=True)


def _log(hotline):
    with hotline.sessions() as session:
        return session.scalars(select(ChangeLog).order_by(ChangeLog.id)).all()


def test_a_shift_lead_puts_an_agent_on_a_break_and_it_is_logged(hotline, lead):
    chen = _agent(hotline, "陈静")
    html = _post(
        lead, "/console/board/agent-state", agent_id=chen.id, state="break", reason="辅导 / coaching"
    )
    assert "状态已更新 / State changed · 陈静: 小休 / Break" in html.get_data(as_text=True)
    after = _agent(hotline, "陈静")
    assert (after.state, after.state_reason) == ("break", "辅导 / coaching")
    with hotline.sessions() as session:
        change = session.scalar(select(AgentStateChange).where(AgentStateChange.agent_id == chen.id))
    assert (change.state, change.previous, change.by) == ("break", "available", "lead")
    [entry] = _log(hotline)
    assert (entry.who, entry.kind, entry.action, entry.subject) == (
        "lead",
        "agent",
        "state",
        f"陈静 (#{chen.id})",
    )
    assert entry.before == {"state": "available", "reason": ""}
    assert entry.after == {"state": "break", "reason": "辅导 / coaching"}


def test_an_agent_on_a_call_cannot_be_taken_offline(hotline, lead, floor):
    floor.agent_state("赵磊", "on_call", call_sid="CA123")
    zhao = _agent(hotline, "赵磊")
    html = _post(lead, "/console/board/agent-state", agent_id=zhao.id, state="offline").get_data(as_text=True)
    assert "an agent cannot be taken off a call midway" in html and "赵磊 通话中" in html
    assert _agent(hotline, "赵磊").state == "on_call" and _log(hotline) == []
    with hotline.sessions() as session:
        assert count(session, AgentStateChange, AgentStateChange.agent_id == zhao.id) == 0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"state": "break", "reason": " "}, "a break needs a reason"),
        ({"state": "on_call"}, "may set available, break or offline"),
        ({"state": "available"}, "is already available"),
        ({"state": "offline", "agent_id": "x"}, "choose an agent"),
        ({"state": "offline", "agent_id": "9999"}, "no agent with id 9999"),
        ({"state": "break", "reason": "r" * 101}, "at most 100 characters"),
    ],
)
def test_refused_state_changes_say_why_and_change_nothing(hotline, lead, form, message):
    chen = _agent(hotline, "陈静")
    html = _post(lead, "/console/board/agent-state", **{"agent_id": chen.id, **form}).get_data(as_text=True)
    assert message in html
    assert _agent(hotline, "陈静").state == "available" and _log(hotline) == []


def test_a_shift_lead_moves_an_agent_between_groups(hotline, lead):
    chen = _agent(hotline, "陈静")
    assert chen.groups == ["billing", "general"]
    html = _post(lead, "/console/board/agent-groups", agent_id=chen.id, remove="billing", add="safety")
    assert "分组已更新 / Groups changed · 陈静: general, safety" in html.get_data(as_text=True)
    assert _agent(hotline, "陈静").groups == ["general", "safety"]
    _post(lead, "/console/board/agent-groups", agent_id=chen.id, add="complaint")
    _post(lead, "/console/board/agent-groups", agent_id=chen.id, remove="general")
    assert _agent(hotline, "陈静").groups == ["safety", "complaint"]
    entries = _log(hotline)
    assert [(e.kind, e.action, e.before, e.after) for e in entries] == [
        ("agent", "groups", ["billing", "general"], ["general", "safety"]),
        ("agent", "groups", ["general", "safety"], ["general", "safety", "complaint"]),
        ("agent", "groups", ["general", "safety", "complaint"], ["safety", "complaint"]),
    ]
    # The board counts 陈静 under the safety queue now.
    safety = next(q for q in board(hotline, now=utcnow())["queues"] if q["name"] == "safety")
    assert safety["agents"]["available"] == 4  # 赵磊, 周杰, 吴刚 and now 陈静


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"add": "nosuch"}, "not a group of the live routing rules"),
        ({"add": "billing"}, "is already in billing"),
        ({"remove": "safety"}, "is not in safety"),
        ({"add": "safety", "remove": "safety"}, "both the group to leave and to join"),
        ({}, "choose a group to add or to remove"),
    ],
)
def test_refused_group_changes_say_why_and_change_nothing(hotline, lead, form, message):
    chen = _agent(hotline, "陈静")
    html = _post(lead, "/console/board/agent-groups", agent_id=chen.id, **form).get_data(as_text=True)
    assert message in html
    assert _agent(hotline, "陈静").groups == ["billing", "general"] and _log(hotline) == []


def test_a_move_without_the_forms_token_is_refused(hotline, lead):
    chen = _agent(hotline, "陈静")
    response = lead.post("/console/board/agent-state", data={"agent_id": chen.id, "state": "offline"})
    assert response.status_code == 400
    assert _agent(hotline, "陈静").state == "available" and _log(hotline) == []


def test_the_group_change_and_its_log_entry_commit_together(hotline):
    # A failure after the change (here: the log entry's own transaction is rolled back) leaves neither.
    with pytest.raises(RuntimeError), unit_of_work(hotline.sessions) as session:
        change_agent_groups(
            session, rules=hotline.rules.live(), agent_id=_agent(hotline, "陈静").id, add="safety", by="lead"
        )
        raise RuntimeError("the request failed after the change")
    assert _agent(hotline, "陈静").groups == ["billing", "general"] and _log(hotline) == []
