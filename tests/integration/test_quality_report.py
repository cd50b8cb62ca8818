"""The monthly quality report: every figure against a small month computed by hand, the page, CSV and CLI.

The month is March 2026 in Asia/Shanghai (UTC+8, no daylight saving): local 09:00 is 01:00 UTC.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.db.models import (
    Agent,
    AuditItem,
    AuditSample,
    Call,
    CallEvent,
    QueueEntry,
    Recording,
    Review,
    ScorecardVersion,
    User,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.quality.report import build_quality_report
from ivr.quality.report_findings import finding_phrases, is_failed_answer
from ivr.quality.report_month import Month, MonthError
from run import cli

TIMEZONE = "Asia/Shanghai"
MARCH = Month(2026, 3)
PASSWORD = "correct horse battery"
AFTER_MARCH = datetime(2026, 4, 2, 0, 0)  # naive UTC: every deadline of March has passed


def local(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    """A local Shanghai time of 2026 as the naive UTC the database holds."""
    return datetime(2026, month, day, hour, minute, second) - timedelta(hours=8)


# ---------------------------------------------------------------- the hand-made month


class MonthBuilder:
    """Adds calls with their events, recordings, samples and reviews, as the hotline would have."""

    def __init__(self, session):
        self.session = session
        self.agents = {
            a.client_identity: a.id for a in session.scalars(select(Agent)) if a.client_identity is not None
        }
        self.events = 0
        self.samples: dict[date, AuditSample] = {}

    def agent(self, short: str) -> int:
        return self.agents[f"agent-{short}"]

    def event(self, sid: str, kind: str, at: datetime, **data) -> None:
        self.events += 1
        self.session.add(
            CallEvent(key=f"{sid}:{kind}:{self.events}", call_sid=sid, kind=kind, at=at, data=data)
        )

    def call(self, sid: str, started: datetime, *, intent=None, queue=None, outcome=None, **columns) -> Call:
        call = Call(
            call_sid=sid,
            started_at=started,
            intent=intent,
            queue=queue,
            outcome=outcome,
            status=columns.pop("status", "completed"),
            **columns,
        )
        self.session.add(call)
        return call

    def queued(self, sid: str, at: datetime, queue: str, **data) -> None:
        self.event(sid, "call.queued", at, queue=queue, **data)

    def answered(self, sid: str, agent: str, answered_at: datetime, talk: int) -> None:
        """The agent picked up at `answered_at` and talked `talk` s: the Dial's result arrives after."""
        at = answered_at + timedelta(seconds=talk)
        self.event(
            sid, "agent.result", at, status="completed", agent_id=self.agent(agent), duration=str(talk)
        )

    def recording(self, sid: str, agent: str, started: datetime, status: str = "completed") -> Recording:
        recording = Recording(
            recording_sid=f"RE{sid}",
            call_sid=sid,
            agent_id=self.agent(agent),
            status=status,
            started_at=started,
        )
        self.session.add(recording)
        self.session.flush()
        return recording

    def sampled(self, recording: Recording, day: date) -> AuditItem:
        if day not in self.samples:
            sample = AuditSample(day=day, seed=day.toordinal(), rate=0.1, recorded_calls=1, sampled_calls=1)
            self.session.add(sample)
            self.session.flush()
            self.samples[day] = sample
        item = AuditItem(
            sample_id=self.samples[day].id,
            recording_id=recording.id,
            call_sid=recording.call_sid,
            agent_id=recording.agent_id,
            status="done",
        )
        self.session.add(item)
        self.session.flush()
        return item

    def review(
        self, item: AuditItem, reviewer: int, score: float, answers: dict, findings: str, **kw
    ) -> None:
        self.session.add(
            Review(
                item_id=item.id,
                scorecard_version=7,
                reviewer_id=reviewer,
                answers=answers,
                score=score,
                findings=findings,
                **kw,
            )
        )


SCORECARD = {
    "name": "test card",
    "sections": [
        {
            "id": "opening",
            "title": "开场 / Opening",
            "questions": [
                {"id": "greeting", "text": "使用公司名称问候 / Greeted with the company's name", "weight": 10}
            ],
        },
        {
            "id": "handling",
            "title": "处理 / Handling",
            "questions": [
                {"id": "details_repeated", "text": "复述 / Repeated the details", "weight": 15},
                {
                    "id": "no_forbidden_phrase",
                    "text": "未使用服务禁语 / No forbidden phrase used",
                    "weight": 20,
                },
                {"id": "closing", "text": "结束语 / Closing", "weight": 5},
            ],
        },
    ],
}


@pytest.fixture
def march(hotline):
    """The hand-computed month (figures in the comments and in test_every_figure_of_the_month)."""
    with unit_of_work(hotline.sessions) as session:
        reviewer, _ = create_user(session, username="qa", role="quality", password=PASSWORD)
        session.flush()
        session.add(ScorecardVersion(version=7, document=SCORECARD))
        m = MonthBuilder(session)

        # C1: local 1 Mar 01:00 (28 Feb 17:00 UTC, March's all the same): billing, waited 10 s, 陈静 120 s.
        t = local(1, 1)
        m.call("C1", t, intent="billing", queue="billing", outcome="answered", queue_seconds=9)
        m.queued("C1", t + timedelta(seconds=30), "billing")
        m.answered("C1", "chenjing", t + timedelta(seconds=40), 120)
        # C2: billing; 赵磊 missed it (requeued); 陈静 answered 25 s after the FIRST entry, 200 s talk.
        t = local(1, 9, 15)
        m.call("C2", t, intent="billing", queue="billing", outcome="answered", queue_seconds=3)
        m.queued("C2", t + timedelta(seconds=20), "billing")
        m.event(
            "C2", "agent.result", t + timedelta(seconds=35), status="no-answer", agent_id=m.agent("zhaolei")
        )
        m.queued("C2", t + timedelta(seconds=36), "billing")
        m.answered("C2", "chenjing", t + timedelta(seconds=45), 200)
        # C3: gas leak, waited 5 s, 赵磊 talked 300 s.
        t = local(2, 9, 40)
        m.call("C3", t, intent="safety", queue="safety", outcome="answered", emergency=True)
        m.queued("C3", t + timedelta(seconds=5), "safety", emergency=True)
        m.answered("C3", "zhaolei", t + timedelta(seconds=10), 300)
        # C4: repair, the caller hung up after 40 s in the queue.
        t = local(2, 14)
        m.call("C4", t, intent="repair", queue="repair", outcome="abandoned", queue_seconds=40)
        m.queued("C4", t + timedelta(seconds=10), "repair")
        m.event("C4", "queue.left", t + timedelta(seconds=50), result="hangup", queue_time="40")
        # C12: billing bridged straight from the queue (no agent events): Twilio's 15 s in the queue.
        t = local(5, 12)
        m.call("C12", t, intent="billing", queue="billing", outcome="answered", queue_seconds=15)
        m.queued("C12", t + timedelta(seconds=8), "billing")
        # C10: after hours: a call-back request, never waiting in a queue (not offered).
        t = local(10, 3)
        m.call("C10", t, intent="agent", queue="general", outcome="abandoned")
        m.queued("C10", t + timedelta(seconds=12), "general", callback_after=local(10, 8).isoformat())
        # C5: service complaint (reply in 24 h), answered 20 s after entering the queue (counts), 400 s.
        t = local(15, 14, 30)
        q5 = t + timedelta(seconds=30)
        m.call(
            "C5",
            t,
            intent="complaint",
            queue="complaint",
            outcome="answered",
            complaint_class="service",
            reply_due_at=q5 + timedelta(hours=24),
        )
        m.queued("C5", q5, "complaint", complaint_class="service", reply_within_hours=24)
        m.answered("C5", "sunli", q5 + timedelta(seconds=20), 400)
        # C6: quality complaint (4 h): booked a call-back; 孙丽 reached the customer 2 h later, 100 s talk.
        t = local(15, 20)
        q6 = t + timedelta(seconds=30)
        m.call(
            "C6",
            t,
            intent="complaint",
            queue="complaint",
            outcome="answered",
            complaint_class="quality",
            reply_due_at=q6 + timedelta(hours=4),
        )
        m.queued("C6", q6, "complaint", complaint_class="quality", reply_within_hours=4)
        m.event("C6", "callback.booked", q6 + timedelta(seconds=60), entry=1)
        m.event("C6", "queue.left", q6 + timedelta(seconds=61), result="hangup", queue_time="61")
        session.add(
            QueueEntry(
                call_sid="C6",
                queue="complaint",
                intent="complaint",
                language="zh-CN",
                status="done",
                callback_number="+8613800000001",
                callback_call_sid="CB6",
                waiting_since=q6,
            )
        )
        m.answered("CB6", "sunli", q6 + timedelta(hours=2), 100)
        # C7: quality complaint, abandoned: nobody reached the caller within 4 h.
        t = local(20, 10)
        q7 = t + timedelta(seconds=30)
        m.call(
            "C7",
            t,
            intent="complaint",
            queue="complaint",
            outcome="abandoned",
            complaint_class="quality",
            reply_due_at=q7 + timedelta(hours=4),
        )
        m.queued("C7", q7, "complaint", complaint_class="quality", reply_within_hours=4)
        # C11: gas leak, the safety queue did not answer: the duty engineer did.
        t = local(20, 11)
        m.call("C11", t, intent="safety", queue="safety", outcome="duty-engineer-answered", emergency=True)
        m.queued("C11", t + timedelta(seconds=5), "safety", emergency=True)
        # C13: complaint chosen, then hung up in the menu: no class, no deadline.
        m.call("C13", local(25, 16), intent="complaint", outcome="ended-in-menu")
        # C8: ended in the menu without choosing anything.
        m.call("C8", local(31, 22), outcome="ended-in-menu")
        # C9: 1 April 00:30 local (31 March 16:30 UTC): April's, not March's.
        m.call("C9", local(1, 0, 30, month=4), intent="billing", queue="billing", outcome="answered")
        m.queued("C9", local(1, 0, 31, month=4), "billing")
        m.answered("C9", "chenjing", local(1, 0, 32, month=4), 60)

        # Recordings (completed): 陈静 3, 赵磊 1 (+1 failed: not counted), 孙丽 2; 陈静's April one: April's.
        r1 = m.recording("C1", "chenjing", local(1, 1, 0, 40))
        m.recording("C2", "chenjing", local(1, 9, 16))
        m.recording("CX", "chenjing", local(3, 9))
        m.recording("C3", "zhaolei", local(2, 9, 41))
        m.recording("CY", "zhaolei", local(4, 9), status="failed")
        r5 = m.recording("C5", "sunli", q5 + timedelta(seconds=20))
        r6 = m.recording("CB6", "sunli", q6 + timedelta(hours=2))
        m.recording("C9", "chenjing", local(1, 0, 32, month=4))
        # Sampled: 陈静 1 of 3, 赵磊 0 of 1, 孙丽 2 of 2; all three reviewed.
        i1 = m.sampled(r1, date(2026, 3, 1))
        i5 = m.sampled(r5, date(2026, 3, 15))
        i6 = m.sampled(r6, date(2026, 3, 15))
        m.review(
            i1,
            reviewer.id,
            90.0,
            {"greeting": 100, "details_repeated": 50, "no_forbidden_phrase": 100, "closing": "na"},
            "未复述客户信息；Closing incomplete.",
        )
        m.review(
            i5,
            reviewer.id,
            0.0,
            {"greeting": 0, "details_repeated": 100, "no_forbidden_phrase": 0},
            "使用禁语“没办法”\n未复述客户信息",
            auto_failed=True,
        )
        m.review(
            i6,
            reviewer.id,
            80.0,
            {"greeting": 0, "details_repeated": 100, "no_forbidden_phrase": 100},
            "- 开场未报公司名称\n- 未复述客户信息。未复述客户信息\nclosing incomplete",
        )
    return hotline


def _report(hotline, month=MARCH, now=AFTER_MARCH):
    with hotline.sessions() as session, session.begin():
        return build_quality_report(session=session, month=month, timezone=TIMEZONE, now=now)


# ---------------------------------------------------------------- the figures


def test_every_figure_of_the_month(march):
    report = _report(march)

    # Volume: 12 calls started in local March (C9 is April's; C1 is March's though it is February in UTC).
    assert report.calls == 12
    assert dict(report.by_intent) == {
        "safety": 2,
        "billing": 3,
        "repair": 1,
        "complaint": 4,
        "agent": 1,
        "none": 1,
    }
    days = dict(report.by_day)
    assert len(days) == 31 and sum(days.values()) == 12
    assert {d.day: n for d, n in days.items() if n} == {1: 2, 2: 2, 5: 1, 10: 1, 15: 2, 20: 2, 25: 1, 31: 1}
    assert {h: n for h, n in enumerate(report.by_hour) if n} == {
        1: 1,
        3: 1,
        9: 2,
        10: 1,
        11: 1,
        12: 1,
        14: 2,
        16: 1,
        20: 1,
        22: 1,
    }

    # Answering: offered C1 C2 C3 C4 C5 C6 C7 C11 C12 (C10 after hours; C8 and C13 never queued).
    queue = report.queue
    assert queue.offered == 9
    assert queue.results == {"answered": 5, "abandoned": 2, "callback": 1, "duty": 1, "other": 0}
    assert queue.after_hours == 1
    assert sorted(queue.waits) == [5.0, 10.0, 15.0, 20.0, 25.0]  # C3, C1, C12, C5 (20 s counts), C2
    assert queue.answered_within == 4
    assert queue.service_level == pytest.approx(4 / 9)
    assert queue.abandonment_rate == pytest.approx(2 / 9)
    assert queue.average_answer_seconds == pytest.approx(15.0)
    assert queue.wait_buckets == [
        ("0–10 s", 2),
        ("10–20 s", 2),
        ("20–30 s", 1),
        ("30–60 s", 0),
        ("60–120 s", 0),
        ("> 120 s", 0),
    ]

    # Handling: talks 120 + 200 (陈静), 300 (赵磊), 400 + 100 by call-back (孙丽); C9's is April's.
    assert report.handled == 5
    assert report.average_handling_seconds == pytest.approx(224.0)

    # Complaints: service C5 met; quality C6 met by call-back, C7 missed; C13 unclassified, no deadline.
    complaints = {row.complaint_class: row for row in report.complaints}
    assert list(complaints) == ["service", "quality", "safety", "unclassified"]
    service, quality, safety, unclassified = complaints.values()
    assert (service.calls, service.met, service.missed, service.open, service.no_deadline) == (1, 1, 0, 0, 0)
    assert service.mean_minutes_to_answer == pytest.approx(50 / 60)
    assert (quality.calls, quality.met, quality.missed, quality.open) == (2, 1, 1, 0)
    assert quality.closure_rate == pytest.approx(0.5)
    assert quality.mean_minutes_to_answer == pytest.approx((30 + 7200) / 60)  # called back 2 h after queueing
    assert safety.calls == 0 and safety.closure_rate is None
    assert (unclassified.calls, unclassified.no_deadline) == (1, 1)
    total = report.complaint_total
    assert (total.calls, total.met, total.missed, total.open, total.no_deadline) == (4, 2, 1, 0, 1)
    assert total.closure_rate == pytest.approx(2 / 3)

    # Agents: answered and talk time, recorded, sampled, reviews.
    agents = {agent.name: agent for agent in report.agents}
    assert set(agents) == {"陈静", "赵磊", "孙丽"}
    chen, zhao, sun = agents["陈静"], agents["赵磊"], agents["孙丽"]
    assert (chen.answered, chen.average_handling_seconds) == (2, 160.0)
    assert (zhao.answered, zhao.average_handling_seconds) == (1, 300.0)  # the missed offer is no answer
    assert (sun.answered, sun.average_handling_seconds) == (2, 250.0)
    assert (chen.recorded, chen.sampled, chen.coverage) == (3, 1, pytest.approx(1 / 3))
    assert (zhao.recorded, zhao.sampled, zhao.coverage) == (1, 0, 0.0)
    assert (sun.recorded, sun.sampled, sun.coverage) == (2, 2, 1.0)
    assert (report.recorded, report.sampled, report.coverage) == (6, 3, 0.5)
    assert (chen.reviewed, chen.mean_score, chen.min_score, chen.auto_failed) == (1, 90.0, 90.0, 0)
    assert (sun.reviewed, sun.mean_score, sun.min_score, sun.auto_failed) == (2, 40.0, 0.0, 1)
    assert (zhao.reviewed, zhao.mean_score) == (0, None)
    assert report.reviewed == 3
    assert report.mean_score == pytest.approx(170 / 3)

    # Findings: a phrase counts once per review, case aside; ties in text order.
    assert [(f.text, f.reviews) for f in report.findings] == [
        ("未复述客户信息", 3),
        ("Closing incomplete", 2),
        ("使用禁语“没办法”", 1),
        ("开场未报公司名称", 1),
    ]
    assert [(q.question, q.label, q.failed, q.answered) for q in report.failed_questions] == [
        ("greeting", "使用公司名称问候 / Greeted with the company's name", 2, 3),
        ("no_forbidden_phrase", "未使用服务禁语 / No forbidden phrase used", 1, 3),
    ]


def test_a_complaint_whose_deadline_is_still_ahead_is_open_not_missed(march):
    # At local 20 March 12:00, C7's deadline (14:00:30) is still ahead.
    report = _report(march, now=local(20, 12))
    quality = next(row for row in report.complaints if row.complaint_class == "quality")
    assert (quality.met, quality.missed, quality.open) == (1, 0, 1)
    assert quality.closure_rate == 1.0


def test_an_empty_month_has_zeros_and_no_rates(hotline):
    report = _report(hotline, month=Month(2025, 2))
    assert report.calls == 0
    assert len(report.by_day) == 28 and report.by_hour == [0] * 24
    assert report.queue.offered == 0 and report.queue.service_level is None
    assert report.queue.abandonment_rate is None and report.average_handling_seconds is None
    assert report.complaint_total.closure_rate is None
    assert report.agents == [] and report.findings == [] and report.failed_questions == []


def test_month_parsing_and_local_bounds():
    assert Month.parse("2026-03") == MARCH
    assert MARCH.bounds(TIMEZONE) == (datetime(2026, 2, 28, 16), datetime(2026, 3, 31, 16))
    assert Month(2026, 12).next() == Month(2027, 1) and Month(2026, 1).previous() == Month(2025, 12)
    assert Month.last_complete(datetime(2026, 3, 31, 16, 30), TIMEZONE) == MARCH  # 1 April, local
    assert Month.current(datetime(2026, 3, 31, 16, 30), TIMEZONE) == Month(2026, 4)  # the report's default
    assert Month.current(datetime(2026, 3, 31, 15, 59), TIMEZONE) == MARCH  # 23:59 on 31 March, local
    for bad in ("2026-13", "2026-3", "March", "", "2026-00", "2026-03-01"):
        with pytest.raises(MonthError, match="YYYY-MM"):
            Month.parse(bad)


def test_findings_are_split_into_phrases_and_answers_judged():
    assert finding_phrases("1. 未报公司名称；\n2) Did not repeat. e.g.x\n• 语速太快！") == [
        "未报公司名称",
        "Did not repeat",
        "e.g.x",
        "语速太快",
    ]
    assert [is_failed_answer(v) for v in (0, 50, 100, "fail", "pass", False, True, "na")] == [
        True,
        False,
        False,
        True,
        False,
        True,
        False,
        False,
    ]


# ---------------------------------------------------------------- the page and the CSV


@pytest.fixture
def client(app):
    app.config["SECRET_KEY"] = "test-secret-key"
    return app.test_client()


def _login(client, hotline, username, role, agent_id=None):
    with unit_of_work(hotline.sessions) as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize("role", ["supervisor", "quality", "admin"])
def test_the_page_shows_the_figures_and_charts(march, client, role):
    _login(client, march, f"boss-{role}", role)
    response = client.get("/reports/quality?month=2026-03")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2026-03" in page
    assert re.search(r'id="service-level">44\.4 %<', page)
    assert re.search(r'id="abandonment">22\.2 %<', page)
    assert re.search(r'id="aht">224\.0 s<', page)
    assert re.search(r'id="offered">9<', page)
    assert "calls answered by an agent within 20 s of entering an" in page  # the definition, in writing
    # 9 of calls and audit, 2 of work orders; a chart with nothing to draw is a box saying so in one line
    assert page.count("<svg") + page.count('class="chart-empty"') == 11
    # the charts are plain SVG (the page's one script is the site's navigation file, base.html's)
    assert re.findall(r"<script[^>]*>", page) in ([], ['<script src="/admin/static/nav.js" defer>'])
    assert "未复述客户信息" in page and "陈静" in page
    assert "/reports/quality.csv?month=2026-03" in page


def test_the_page_is_refused_to_an_agent_and_asks_strangers_to_log_in(march, client):
    assert client.get("/reports/quality?month=2026-03").status_code == 302
    assert client.get("/reports/quality.csv?month=2026-03").status_code == 302
    with march.sessions() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.client_identity == "agent-chenjing"))
    _login(client, march, "chen", "agent", agent_id)
    assert client.get("/reports/quality?month=2026-03").status_code == 403
    assert client.get("/reports/quality.csv?month=2026-03").status_code == 403


def test_a_bad_month_is_a_400_and_no_month_is_this_month_to_date(march, client):
    _login(client, march, "boss", "supervisor")
    response = client.get("/reports/quality?month=2026-13")
    assert response.status_code == 400
    assert "YYYY-MM" in response.get_data(as_text=True)
    assert client.get("/reports/quality.csv?month=nope").status_code == 400
    page = client.get("/reports/quality").get_data(as_text=True)
    this_month = str(Month.current(utcnow(), TIMEZONE))
    assert f"Monthly quality report · {this_month}" in page and 'id="to-date"' in page
    assert f'name="month" value="{this_month}"' in page  # an ISO text field, not the browser's month picker
    assert 'type="month"' not in page
    assert 'id="to-date"' not in client.get("/reports/quality?month=2026-03").get_data(as_text=True)


def test_an_empty_month_renders(hotline, client):
    _login(client, hotline, "boss", "supervisor")
    response = client.get("/reports/quality?month=2025-02")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "No data" in page and 'id="service-level">—<' in page
    assert client.get("/reports/quality.csv?month=2025-02").status_code == 200


def _csv(text):
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["section", "key", "metric", "value"]
    return {(s, k, m): v for s, k, m, v in rows[1:]}


def test_the_csv_holds_the_figures(march, client):
    _login(client, march, "boss", "supervisor")
    response = client.get("/reports/quality.csv?month=2026-03")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="quality-2026-03.csv"' in response.headers["Content-Disposition"]
    figures = _csv(response.get_data(as_text=True))
    assert figures[("volume", "all", "calls")] == "12"
    assert figures[("volume_by_intent", "complaint", "calls")] == "4"
    assert figures[("volume_by_day", "2026-03-01", "calls")] == "2"
    assert figures[("volume_by_day", "2026-03-31", "calls")] == "1"
    assert figures[("volume_by_hour", "09", "calls")] == "2"
    assert figures[("answering", "all", "offered")] == "9"
    assert figures[("answering", "all", "answered_within_20s")] == "4"
    assert figures[("answering", "all", "service_level_pct")] == "44.4"
    assert figures[("answering", "all", "abandonment_rate_pct")] == "22.2"
    assert figures[("answering", "all", "average_answer_seconds")] == "15.0"
    assert figures[("handling", "all", "average_handling_seconds")] == "224.0"
    assert figures[("complaints", "quality", "deadline_missed")] == "1"
    assert figures[("complaints", "all", "closure_rate_pct")] == "66.7"
    with march.sessions() as session:
        chen = session.scalar(select(Agent.id).where(Agent.client_identity == "agent-chenjing"))
    assert figures[("agents", f"陈静 (#{chen})", "coverage_pct")] == "33.3"
    assert figures[("agents", f"陈静 (#{chen})", "mean_score")] == "90.0"
    assert figures[("audit", "all", "coverage_pct")] == "50.0"
    assert figures[("audit", "all", "mean_score")] == "56.7"
    assert figures[("top_findings", "未复述客户信息", "reviews")] == "3"
    assert figures[("failed_questions", "greeting", "failed")] == "2"


# ---------------------------------------------------------------- the command line


@pytest.fixture
def env(monkeypatch, settings, march):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    monkeypatch.setenv("IVR_TIMEZONE", TIMEZONE)
    return march


def test_the_cli_writes_the_html_and_the_csv(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["report", "quality", "--month", "2026-03"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "reports" / "2026-03"
    html, csv_file = folder / "quality-2026-03.html", folder / "quality-2026-03.csv"
    assert result.output.split() == [str(html.relative_to(tmp_path)), str(csv_file.relative_to(tmp_path))]
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") + page.count('class="chart-empty"') == 11  # 2 of them the work orders'
    assert "44.4 %" in page
    assert "<link" not in page and "<script" not in page and "src=" not in page  # nothing fetched
    assert _csv(csv_file.read_text(encoding="utf-8"))[("answering", "all", "offered")] == "9"


def test_the_cli_writes_where_told_even_for_an_empty_month(env, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["report", "quality", "--month", "2025-02", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["quality-2025-02.csv", "quality-2025-02.html"]
    assert "No data" in (out / "quality-2025-02.html").read_text(encoding="utf-8")


def test_the_cli_refuses_a_bad_month(env, tmp_path):
    result = CliRunner().invoke(cli, ["report", "quality", "--month", "2026-3", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "month must be YYYY-MM" in result.output
    assert not (tmp_path / "x").exists()
