"""The satisfaction report: every figure against a small month computed by hand, the page, CSV, the comment
audio, the follow-up cases and the command line.

The month is March 2026 in Asia/Shanghai (UTC+8, no daylight saving): local 09:00 is 01:00 UTC. A call-back
belongs to the month its service was completed in.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.db.models import (
    Agent,
    CallbackCandidate,
    CallbackJob,
    ChangeLog,
    FollowUpCase,
    ServiceCompletion,
    SurveyResponse,
    User,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.quality.recordings import audio_path
from ivr.quality.report_month import Month
from ivr.surveys.follow_ups import close_follow_up
from ivr.surveys.report import SatisfactionFigures, build_satisfaction_report, satisfaction_text
from ivr.telephony.base import TelephonyError
from run import cli

TIMEZONE = "Asia/Shanghai"
MARCH = Month(2026, 3)
PASSWORD = "correct horse battery"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
WANG, LI, ZHAO = "王强", "李娜", "赵敏"
PAID, SAFETY = "paid_repair", "safety_inspection"


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A local Shanghai time of 2026 as the naive UTC the database holds."""
    return datetime(2026, month, day, hour, minute) - timedelta(hours=8)


class CallbackBuilder:
    """Adds completions with their call-back job and the survey answer, as selection and survey would."""

    def __init__(self, session):
        self.session = session
        self.count = 0

    def job(
        self,
        employee,
        service_type,
        status,
        completed=None,
        *,
        attitude=None,
        ability=None,
        refused=False,
        answered=True,
        comment=False,
        called=None,
        case=None,
    ):
        self.count += 1
        n = self.count
        completed = completed or local(2 + n % 20, 10)
        phone = f"+86138000{n:05d}"
        completion = ServiceCompletion(
            source="field",
            external_id=f"WO-{n}",
            service_type=service_type,
            completed_at=completed,
            customer_phone=phone,
            customer_language="zh-CN",
            employee=employee,
        )
        self.session.add(completion)
        self.session.flush()
        candidate = CallbackCandidate(
            completion_id=completion.id, month="2026-03", selected=True, policy_version=0
        )
        self.session.add(candidate)
        self.session.flush()
        job = CallbackJob(
            candidate_id=candidate.id,
            completion_id=completion.id,
            phone=phone,
            language="zh-CN",
            due_at=completed + timedelta(days=3),
            latest_at=completed + timedelta(days=5),
            status=status,
        )
        self.session.add(job)
        self.session.flush()
        if not answered:
            return job, None
        response = SurveyResponse(
            job_id=job.id,
            completion_id=completion.id,
            call_sid=f"CA{n:032d}",
            phone=phone,
            language="zh-CN",
            called_at=called or completed + timedelta(days=3, hours=1),
            attitude=attitude,
            ability=ability,
            refused=refused,
            comment_recording_sid=f"RE{n:032d}" if comment else None,
            comment_seconds=12 if comment else None,
        )
        self.session.add(response)
        self.session.flush()
        if case:
            self.session.add(
                FollowUpCase(response_id=response.id, reason=case, created_at=response.called_at)
            )
            self.session.flush()
        return job, response


@pytest.fixture
def march(hotline):
    """The hand-made month (numbers in the comments are the job numbers the expectations refer to)."""
    with unit_of_work(hotline.sessions) as session:
        b = CallbackBuilder(session)
        # 王强 × paid repair: 1 (in the month's first local hour), 2 (comment), 3 partial, 4 refused, 5 queued
        b.job(WANG, PAID, "completed", local(1, 0, 30), attitude=10, ability=9)
        b.job(WANG, PAID, "completed", attitude=9, ability=10, comment=True, called=local(20, 10))
        b.job(WANG, PAID, "partial", attitude=8)
        b.job(WANG, PAID, "refused", refused=True)
        b.job(WANG, PAID, "queued", answered=False)
        # 王强 × safety inspection: 6, 7 unreachable
        b.job(WANG, SAFETY, "completed", attitude=10, ability=10)
        b.job(WANG, SAFETY, "unreachable", answered=False)
        # 李娜 × paid repair: 8 (low: case, comment), 9 expired, 10 answered but no score
        b.job(
            LI,
            PAID,
            "completed",
            attitude=5,
            ability=7,
            comment=True,
            called=local(22, 15),
            case="attitude 5",
        )
        b.job(LI, PAID, "expired", answered=False)
        b.job(LI, PAID, "partial")
        # 李娜 × safety inspection: 11 (low: case, comment)
        b.job(
            LI,
            SAFETY,
            "completed",
            attitude=6,
            ability=6,
            comment=True,
            called=local(25, 11),
            case="attitude 6, ability 6",
        )
        # 赵敏 × safety inspection: 12 unreachable, 13 dialling: nothing answered
        b.job(ZHAO, SAFETY, "unreachable", answered=False)
        b.job(ZHAO, SAFETY, "dialling", attitude=1, ability=1)  # under way: its answers wait for the end
        # Other months, which would spoil every figure if they counted (completed 1 minute either side).
        b.job(WANG, PAID, "completed", datetime(2026, 2, 28, 15, 59), attitude=1, ability=1, comment=True)
        b.job(LI, SAFETY, "completed", datetime(2026, 3, 31, 16, 0), attitude=1, ability=1, comment=True)
    return hotline


def build(hotline, month=MARCH):
    with hotline.sessions() as session, session.begin():
        return build_satisfaction_report(session=session, month=month, timezone=TIMEZONE)


def figures(row):
    """A row's figures as they are shown."""
    return {
        "jobs": row.jobs,
        "pending": row.pending,
        "answered": row.answered,
        "refused": row.refused,
        "unreachable": row.unreachable,
        "no_score": row.no_score,
        "rate": row.response_rate,
        "attitude": row.mean_attitude,
        "ability": row.mean_ability,
        "pct": satisfaction_text(row.satisfaction_percent),
        "met": row.target_met,
        "top_box": row.top_box_share,
    }


F = Fraction


def test_every_figure_of_the_month(march):
    report = build(march)
    rows = {(row.employee, row.service_type): row for row in report.rows}
    assert list(rows) == [(LI, PAID), (LI, SAFETY), (WANG, PAID), (WANG, SAFETY), (ZHAO, SAFETY)]
    # 王强 × paid: 5 jobs, 1 queued; answered 1, 2, 3 (partial, attitude only); 4 refused. Rate 3/4.
    # attitude (10+9+8)/3 = 9; ability (9+10)/2 = 9.5; satisfaction 9.25 -> 92.5 %; top box 2 of 2.
    assert figures(rows[WANG, PAID]) == {
        "jobs": 5, "pending": 1, "answered": 3, "refused": 1, "unreachable": 0, "no_score": 0,
        "rate": F(3, 4), "attitude": F(9), "ability": F(19, 2), "pct": "92.5", "met": False, "top_box": F(1),
    }  # fmt: skip
    # 王强 × safety: 6 answered 10/10, 7 unreachable: rate 1/2; satisfaction 10 -> 100 %, met.
    assert figures(rows[WANG, SAFETY]) == {
        "jobs": 2, "pending": 0, "answered": 1, "refused": 0, "unreachable": 1, "no_score": 0,
        "rate": F(1, 2), "attitude": F(10), "ability": F(10), "pct": "100.0", "met": True, "top_box": F(1),
    }  # fmt: skip
    # 李娜 × paid: 8 answered 5/7, 9 expired, 10 partial with no score: rate 1/3; satisfaction 6 -> 60 %.
    assert figures(rows[LI, PAID]) == {
        "jobs": 3, "pending": 0, "answered": 1, "refused": 0, "unreachable": 1, "no_score": 1,
        "rate": F(1, 3), "attitude": F(5), "ability": F(7), "pct": "60.0", "met": False, "top_box": F(0),
    }  # fmt: skip
    # 赵敏: nothing answered (13 is still dialling, its scores do not count yet): no figure, never 0.
    assert figures(rows[ZHAO, SAFETY]) == {
        "jobs": 2, "pending": 1, "answered": 0, "refused": 0, "unreachable": 1, "no_score": 0,
        "rate": F(0), "attitude": None, "ability": None, "pct": "—", "met": None, "top_box": None,
    }  # fmt: skip

    employees = {row.employee: row for row in report.by_employee}
    assert [row.service_type for row in report.by_employee] == [None, None, None]
    # 王强: attitude 10, 9, 8, 10 = 37/4; ability 9, 10, 10 = 29/3; (37/4 + 29/3) / 2 = 227/24 = 9.4583...
    # -> 94.583 %, shown rounded down as 94.5; rate 4 of 6 finished.
    assert figures(employees[WANG]) == {
        "jobs": 7, "pending": 1, "answered": 4, "refused": 1, "unreachable": 1, "no_score": 0,
        "rate": F(4, 6), "attitude": F(37, 4), "ability": F(29, 3), "pct": "94.5", "met": False,
        "top_box": F(3, 3),
    }  # fmt: skip
    assert employees[WANG].satisfaction == F(227, 24)
    assert figures(employees[LI])["attitude"] == F(11, 2) and figures(employees[LI])["pct"] == "60.0"
    assert figures(employees[ZHAO])["pct"] == "—"

    types = {row.service_type: row for row in report.by_service_type}
    assert [row.employee for row in report.by_service_type] == [None, None]
    # paid: jobs 1-5, 8-10; answered 1, 2, 3, 8; attitude 32/4 = 8; ability 26/3; satisfaction 25/3 -> 83.3 %.
    assert figures(types[PAID]) == {
        "jobs": 8, "pending": 1, "answered": 4, "refused": 1, "unreachable": 1, "no_score": 1,
        "rate": F(4, 7), "attitude": F(8), "ability": F(26, 3), "pct": "83.3", "met": False,
        "top_box": F(2, 3),
    }  # fmt: skip
    assert figures(types[SAFETY])["rate"] == F(2, 4) and figures(types[SAFETY])["pct"] == "80.0"

    # The month: 13 jobs; answered 1, 2, 3, 6, 8, 11; attitude 48/6 = 8; ability 42/5 = 8.4 -> 82 %;
    # top box: 1, 2, 6 of the 5 with both scores (1, 2, 6, 8, 11).
    assert figures(report.total) == {
        "jobs": 13, "pending": 2, "answered": 6, "refused": 1, "unreachable": 3, "no_score": 1,
        "rate": F(6, 11), "attitude": F(8), "ability": F(42, 5), "pct": "82.0", "met": False,
        "top_box": F(3, 5),
    }  # fmt: skip
    assert report.total.attitude_counts == [0, 0, 0, 0, 1, 1, 0, 1, 1, 2]
    assert report.total.ability_counts == [0, 0, 0, 0, 0, 1, 1, 0, 1, 2]
    # Comments of the month, newest first (the February and April ones are not this month's).
    assert [(c.employee, c.attitude, c.follow_up) for c in report.comments] == [
        (LI, 6, "open"),
        (LI, 5, "open"),
        (WANG, 9, None),
    ]


def test_satisfaction_is_the_mean_as_a_share_of_full_marks_and_98_is_met():
    def row(attitude, ability):
        figures = SatisfactionFigures(None, None)
        figures.attitude, figures.ability = attitude, ability
        return figures

    exactly = row([10, 10, 10, 10, 9], [10, 10, 10, 10, 9])  # 9.8 and 9.8: 98 %, met
    assert exactly.satisfaction_percent == 98 and exactly.target_met is True
    assert satisfaction_text(exactly.satisfaction_percent) == "98.0"
    below = row([10, 10, 10, 10, 9], [10, 10, 10, 9, 9])  # (9.8 + 9.6) / 2 = 9.7: 97 %, not met
    assert below.target_met is False and satisfaction_text(below.satisfaction_percent) == "97.0"
    # (9.8 + 9.79) / 2 = 9.795: 97.95 %, which rounding would show as 98.0; rounded down it reads 97.9
    hair = row([10, 10, 10, 10, 9], [10] * 79 + [9] * 21)
    assert hair.satisfaction_percent == Fraction(9795, 100) and hair.target_met is False
    assert satisfaction_text(hair.satisfaction_percent) == "97.9"
    one_dimension = row([7], [])  # the overall figure needs both means
    assert one_dimension.satisfaction is None and one_dimension.target_met is None
    assert satisfaction_text(one_dimension.satisfaction_percent) == "—"


def test_an_empty_month_has_zeros_and_no_figures(hotline):
    report = build(hotline, Month(2025, 2))
    assert report.total.jobs == 0 and report.rows == [] and report.comments == []
    assert report.total.response_rate is None and report.total.target_met is None


# ---------------------------------------------------------------- pages, CSV, audio


@pytest.fixture
def client(app):
    app.config["SECRET_KEY"] = "test-secret-key"
    return app.test_client()


def _csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)


def _login(client, hotline, username, role, agent_id=None):
    with unit_of_work(hotline.sessions) as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)
    form = {"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login")}
    assert client.post("/login", data=form).status_code == 302


@pytest.mark.parametrize("role", ["supervisor", "quality", "admin"])
def test_the_page_shows_the_figures_charts_and_comments(march, client, role):
    _login(client, march, f"boss-{role}", role)
    response = client.get("/reports/satisfaction?month=2026-03")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'id="satisfaction">82\.0 %<', page)
    assert re.search(r'id="response-rate">54\.5 %<', page)
    assert re.search(r'id="mean-attitude">8\.00<', page) and re.search(r'id="mean-ability">8\.40<', page)
    assert re.search(r'id="top-box">60\.0 %<', page) and "未达标 / Not met" in page
    wang_paid = re.search(r'data-row="王强\|paid_repair">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", wang_paid, re.S)
    assert [c.strip() for c in cells[1:]] == [
        "5", "1", "3", "1", "0", "0", "75.0 %", "9.00", "9.50", "92.5 %", "未达标 / Not met", "100.0 %",
    ]  # fmt: skip
    zhao = re.search(r'data-row="赵敏\|\*">(.*?)</tr>', page, re.S).group(1)
    assert [c.strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", zhao, re.S)][7:] == [
        "0.0 %", "—", "—", "—", "—", "—",
    ]  # fmt: skip
    assert "paid repair" in page and "safety inspection" in page  # the policy's labels of the types
    assert page.count("<svg") == 3  # plain SVG: the page's one script is base.html's navigation file
    assert re.findall(r"<script[^>]*>", page) in ([], ['<script src="/admin/static/nav.js" defer>'])
    assert 'class="major guide line"' in page  # the 98 % line across the per-employee chart
    assert page.count('<audio class="comment"') == 3
    assert "/reports/satisfaction.csv?month=2026-03" in page
    assert "9.8 is 98 %" in page  # the definition, in writing


def test_report_roles(march, client):
    for path in ("/reports/satisfaction?month=2026-03", "/reports/satisfaction.csv?month=2026-03"):
        anonymous = client.get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    with march.sessions() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.client_identity == "agent-chenjing"))
    for name, role, agent in (("chen", "agent", agent_id), ("lead", "shift_lead", None)):
        _login(client, march, name, role, agent)
        assert client.get("/reports/satisfaction?month=2026-03").status_code == 403
        assert client.get("/reports/satisfaction.csv?month=2026-03").status_code == 403
        assert client.get("/satisfaction/follow-ups").status_code == 403
        client.post("/logout", data={"csrf_token": _csrf(client, "/home")})


def test_a_bad_month_is_a_400_and_an_empty_month_renders(hotline, client):
    _login(client, hotline, "boss", "supervisor")
    response = client.get("/reports/satisfaction?month=2026-13")
    assert response.status_code == 400 and "YYYY-MM" in response.get_data(as_text=True)
    assert client.get("/reports/satisfaction.csv?month=nope").status_code == 400
    this_month = str(Month.current(utcnow(), TIMEZONE))
    page = client.get("/reports/satisfaction").get_data(as_text=True)  # no month: this month to date
    assert f"Satisfaction call-backs · {this_month}" in page and 'id="to-date"' in page
    page = client.get("/reports/satisfaction?month=2025-02").get_data(as_text=True)
    assert 'id="satisfaction">—<' in page and "No call-backs of services completed this month" in page
    # Nothing to draw: three boxes of one calm line each, not pygal's oversized "no data" across the plot
    assert page.count('class="chart-empty"') == 3 and page.count("<svg") == 0
    assert page.count('class="chart-empty-note"') == 3


def _csv(text):
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    return {(row["level"], row["employee"], row["service_type"]): row for row in rows}


def test_the_csv_holds_every_row(march, client):
    _login(client, march, "boss", "supervisor")
    response = client.get("/reports/satisfaction.csv?month=2026-03")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="satisfaction-2026-03.csv"' in response.headers["Content-Disposition"]
    rows = _csv(response.get_data(as_text=True))
    assert len(rows) == 5 + 3 + 2 + 1
    wang = rows["employee_service_type", WANG, PAID]
    assert {k: wang[k] for k in ("jobs", "pending", "answered", "refused", "unreachable_expired")} == {
        "jobs": "5", "pending": "1", "answered": "3", "refused": "1", "unreachable_expired": "0",
    }  # fmt: skip
    assert (wang["response_rate_pct"], wang["mean_attitude"], wang["mean_ability"]) == (
        "75.0",
        "9.00",
        "9.50",
    )
    assert (wang["satisfaction_pct"], wang["target_pct"], wang["target_met"]) == ("92.5", "98", "no")
    assert rows["employee_service_type", WANG, SAFETY]["target_met"] == "yes"
    zhao = rows["employee", ZHAO, ""]
    assert (zhao["mean_attitude"], zhao["satisfaction_pct"], zhao["target_met"]) == ("", "", "")
    month = rows["month", "", ""]
    assert (month["jobs"], month["response_rate_pct"], month["satisfaction_pct"]) == ("13", "54.5", "82.0")
    assert (month["no_score"], month["top_box_pct"]) == ("1", "60.0")
    assert [month[f"attitude_{n}"] for n in range(1, 11)] == [
        "0",
        "0",
        "0",
        "0",
        "1",
        "1",
        "0",
        "1",
        "1",
        "2",
    ]
    assert [month[f"ability_{n}"] for n in range(1, 11)] == ["0", "0", "0", "0", "0", "1", "1", "0", "1", "2"]
    assert rows["service_type", "", PAID]["satisfaction_pct"] == "83.3"


class FakeTelephony:
    """Serves recordings by sid and counts the downloads."""

    def __init__(self, audio):
        self.audio = audio
        self.fetched = []

    def fetch_recording(self, recording_sid):
        self.fetched.append(recording_sid)
        if recording_sid not in self.audio:
            raise TelephonyError(f"recording {recording_sid} not found", status=404, code=20404)
        return self.audio[recording_sid]


@pytest.fixture
def recordings_dir(march, monkeypatch, tmp_path):
    path = tmp_path / "recordings"
    monkeypatch.setattr(march, "settings", march.settings.with_overrides(recordings_dir=path))
    return path


def _responses(hotline):
    with hotline.sessions() as session:
        return {
            (employee, r.attitude): r
            for r, employee in session.execute(
                select(SurveyResponse, ServiceCompletion.employee).join(
                    ServiceCompletion, ServiceCompletion.id == SurveyResponse.completion_id
                )
            )
        }


def _play(client, response_id):
    with client.get(f"/satisfaction/comments/{response_id}/audio") as response:
        response.get_data()
        return response


def test_a_comment_is_played_through_the_app(march, client, recordings_dir):
    responses = _responses(march)
    commented, silent = responses[LI, 5], responses[WANG, 10]
    telephony = march.telephony = FakeTelephony({commented.comment_recording_sid: WAV})
    assert _play(client, commented.id).status_code == 302  # strangers log in first
    _login(client, march, "qa", "quality")
    for _ in range(2):
        response = _play(client, commented.id)
        assert response.status_code == 200 and response.mimetype == "audio/wav"
        assert response.get_data() == WAV and "no-store" in response.headers["Cache-Control"]
    assert telephony.fetched == [commented.comment_recording_sid], "fetched once, then the local copy"
    assert audio_path(march.settings, commented.comment_recording_sid).read_bytes() == WAV
    page = client.get("/reports/satisfaction?month=2026-03").get_data(as_text=True)
    assert f'src="/satisfaction/comments/{commented.id}/audio"' in page
    assert "api.twilio.com" not in page and "RecordingUrl" not in page
    missing = _play(client, silent.id)
    assert missing.status_code == 404 and "has no recorded comment" in missing.get_data(as_text=True)
    assert _play(client, 999999).status_code == 404
    march.telephony = FakeTelephony({})
    gone = _play(client, responses[LI, 6].id)
    assert gone.status_code == 503 and "cannot be fetched" in gone.get_data(as_text=True)


def test_an_agent_cannot_hear_a_comment(march, client, recordings_dir):
    response_id = _responses(march)[LI, 5].id
    march.telephony = FakeTelephony({})
    _login(client, march, "lead", "shift_lead")
    assert _play(client, response_id).status_code == 403
    assert march.telephony.fetched == []


# ---------------------------------------------------------------- follow-up cases


def _cases(hotline):
    with hotline.sessions() as session:
        return {case.reason: case for case in session.scalars(select(FollowUpCase))}


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_follow_up_cases_are_listed_and_closed_with_a_note(march, client, role):
    _login(client, march, f"sup-{role}", role)
    page = client.get("/satisfaction/follow-ups").get_data(as_text=True)
    assert 'id="open-count">待跟进 / Open: 2<' in page
    case = _cases(march)["attitude 5"]
    section = re.search(rf'id="case-{case.id}">(.*?)</section>', page, re.S).group(1)
    assert LI in section and "attitude 5" in section and "+8613800000008" in section
    assert "Attitude 5" in section and "Ability 7" in section
    assert f'src="/satisfaction/comments/{case.response_id}/audio"' in section
    # oldest open first: job 8's case (called back on the 22nd) before job 11's (the 25th)
    assert page.index(f'id="case-{case.id}"') < page.index(
        f'id="case-{_cases(march)["attitude 6, ability 6"].id}"'
    )

    token = _csrf(client, "/satisfaction/follow-ups")
    empty = client.post(f"/satisfaction/follow-ups/{case.id}/close", data={"note": "  ", "csrf_token": token})
    assert empty.status_code == 400 and "a note is required" in empty.get_data(as_text=True)
    assert _cases(march)["attitude 5"].status == "open", "nothing half-written"

    no_token = client.post(f"/satisfaction/follow-ups/{case.id}/close", data={"note": "called"})
    assert no_token.status_code == 400 and _cases(march)["attitude 5"].status == "open"

    note = "已致电客户道歉，安排复查 / Called the customer, apologised, a revisit is booked"
    closed = client.post(
        f"/satisfaction/follow-ups/{case.id}/close", data={"note": note, "csrf_token": token}
    )
    assert closed.status_code == 303
    after = _cases(march)["attitude 5"]
    assert (after.status, after.note, after.closed_by) == ("closed", note, f"sup-{role}")
    assert after.closed_at is not None
    page = client.get("/satisfaction/follow-ups").get_data(as_text=True)
    assert f"Follow-up case {case.id} closed" in page and 'id="open-count">待跟进 / Open: 1<' in page
    assert note in re.search(r'id="closed">(.*?)</table>', page, re.S).group(1)

    again = client.post(
        f"/satisfaction/follow-ups/{case.id}/close", data={"note": "again", "csrf_token": token}
    )
    assert again.status_code == 303
    page = client.get("/satisfaction/follow-ups").get_data(as_text=True)
    assert f"Case {case.id} was already closed by sup-{role}" in page
    assert _cases(march)["attitude 5"].note == note, "the first note stays"
    with march.sessions() as session:
        logged = session.scalars(select(ChangeLog).where(ChangeLog.kind == "follow_up")).all()
    assert [(e.who, e.action, e.after["note"]) for e in logged] == [(f"sup-{role}", "close", note)]
    assert f"follow-up case {case.id}" in logged[0].subject and LI in logged[0].subject

    missing = client.post("/satisfaction/follow-ups/999999/close", data={"note": "x", "csrf_token": token})
    assert missing.status_code == 404


def test_quality_staff_read_the_report_but_not_the_cases(march, client):
    _login(client, march, "qa", "quality")
    assert client.get("/reports/satisfaction?month=2026-03").status_code == 200
    assert client.get("/satisfaction/follow-ups").status_code == 403
    token = _csrf(client, "/reports/satisfaction?month=2026-03")
    case = _cases(march)["attitude 5"]
    refused = client.post(
        f"/satisfaction/follow-ups/{case.id}/close", data={"note": "x", "csrf_token": token}
    )
    assert refused.status_code == 403 and _cases(march)["attitude 5"].status == "open"


def test_closing_is_decided_once_in_the_database(march):
    case_id = _cases(march)["attitude 6, ability 6"].id
    with unit_of_work(march.sessions) as session:
        first = close_follow_up(session, case_id=case_id, note="done", who="a")
    with unit_of_work(march.sessions) as session:
        second = close_follow_up(session, case_id=case_id, note="also done", who="b")
    assert first.closed_now and not second.closed_now and second.closed_by == "a"
    assert _cases(march)["attitude 6, ability 6"].note == "done"


def test_home_links(march, client):
    _login(client, march, "boss", "supervisor")
    home = client.get("/home").get_data(as_text=True)
    assert "/reports/satisfaction" in home and "/satisfaction/follow-ups" in home


# ---------------------------------------------------------------- the command line


@pytest.fixture
def env(monkeypatch, settings, march):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    monkeypatch.setenv("IVR_TIMEZONE", TIMEZONE)
    return march


def test_the_cli_prints_the_month_and_each_employee_and_writes_files(env, tmp_path):
    out_csv, out_html = tmp_path / "s.csv", tmp_path / "deep" / "s.html"
    result = CliRunner().invoke(
        cli, ["report", "satisfaction", "--month", "2026-03", "--csv", str(out_csv), "--html", str(out_html)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith(
        "month: 13 call-backs, 2 pending, 6 answered, 1 refused, 3 unreachable/expired"
    )
    assert "response rate 54.5%" in lines[1] and "satisfaction 82.0% (target 98%: not met)" in lines[1]
    by_employee = {line.split(":")[0]: line for line in lines[2:5]}
    assert set(by_employee) == {WANG, LI, ZHAO}
    assert "attitude 9.25, ability 9.67; satisfaction 94.5%" in by_employee[WANG]
    assert "satisfaction — (target 98%: —)" in by_employee[ZHAO]
    assert lines[5:] == [f"written: {out_csv}", f"written: {out_html}"]
    assert _csv(out_csv.read_text(encoding="utf-8"))["month", "", ""]["satisfaction_pct"] == "82.0"
    page = out_html.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "82.0 %" in page
    assert "<link" not in page and "<script" not in page and "src=" not in page  # nothing fetched


def test_the_cli_prints_only_without_files_and_refuses_a_bad_month(env, tmp_path):
    result = CliRunner().invoke(cli, ["report", "satisfaction", "--month", "2025-02"])
    assert result.exit_code == 0, result.output
    assert (
        "no call-backs of services completed this month" in result.output and "written" not in result.output
    )
    bad = CliRunner().invoke(
        cli, ["report", "satisfaction", "--month", "2026-3", "--csv", str(tmp_path / "x")]
    )
    assert bad.exit_code == 1 and "month must be YYYY-MM" in bad.output
    assert not (tmp_path / "x").exists()
