"""The export of work orders and call records as CSV (issue 16): local-day ranges, bad input, roles,
spreadsheet safety, streaming, and the command line; on SQLite and PostgreSQL.

The hotline's time zone is Asia/Shanghai (UTC+8): local midnight of 1 March 2026 is 16:00 UTC on 28 February.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from ivr.db.models import Agent, Call, Customer, User, WorkOrder
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.work_orders.export import BATCH, ExportRangeError, day_range, safe_cell
from run import cli

PASSWORD = "export the lot 2026"
TIMEZONE = "Asia/Shanghai"


def local(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    """A local Shanghai time of 2026 as the naive UTC the database holds."""
    return datetime(2026, month, day, hour, minute, second) - timedelta(hours=8)


def _order(number: str, created: datetime, **columns) -> dict:
    return {"number": number, "kind": "fault", "created_at": created, "updated_at": created, **columns}


def _call(sid: str, started: datetime, **columns) -> dict:
    return {"call_sid": sid, "started_at": started, "updated_at": started, **columns}


@pytest.fixture
def march(hotline):
    """Orders and calls on both sides of 1 March and 31 March, local time."""
    with unit_of_work(hotline.sessions) as session:
        customer = session.scalar(select(Customer).where(Customer.account_number == "10000001"))
        boss = create_user(session, username="lead-wang", role="shift_lead", password=PASSWORD)[0]
        session.execute(
            insert(WorkOrder),
            [
                _order("WO-FEB-LAST", local(28, 23, 59, 59, month=2)),
                _order(
                    "WO-MAR-FIRST",
                    local(1),
                    work_class="quality_complaint",
                    stage="closed",
                    status="completed",
                    desk="complaints",
                    owner_user_id=boss.id,
                    customer_id=customer.id,
                    caller_number="+8613800000001",
                    address="朝阳区建国路88号",
                    description="燃气表不走字, reported twice",
                    promised_by=local(1, 12),
                    due_at=local(2, 12),
                    warn_at=local(2, 9),
                    escalation="warned",
                    completed_at=local(2, 10),
                    updated_at=local(3, 8, 30),
                ),
                _order("WO-MAR-LAST", local(31, 23, 59, 59), description="=HYPERLINK(\"http://x\",\"a\")"),
                _order("WO-APR-FIRST", local(1, month=4)),
            ],
        )
        session.execute(
            insert(Call),
            [
                _call("CA-FEB-LAST", local(28, 23, 59, 59, month=2)),
                _call(
                    "CA-MAR-FIRST",
                    local(1),
                    from_number="+8613800000001",
                    to_number="+8657100000000",
                    ended_at=local(1, 0, 5),
                    customer_id=customer.id,
                    intent="complaint",
                    queue="complaints",
                    priority=3,
                    emergency=True,
                    complaint_class="quality",
                    reply_due_at=local(1, 12),
                    outcome="answered",
                    status="completed",
                    duration_seconds=300,
                    queue_seconds=12,
                ),
                _call("CA-MAR-LAST", local(31, 23, 59, 59)),
                _call("CA-APR-FIRST", local(1, month=4)),
            ],
        )
    return hotline


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


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with the byte-order mark
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


# ---------------------------------------------------------------- the range


@pytest.mark.parametrize(
    ("first", "last", "said"),
    [
        (None, "2026-03-31", "'from' is missing"),
        ("2026-03-01", "", "'to' is missing"),
        ("2026-13-01", "2026-03-31", "'from' must be a date as YYYY-MM-DD"),
        ("2026-02-30", "2026-03-31", "'from' must be a date as YYYY-MM-DD"),
        ("2026-3-1", "2026-03-31", "'from' must be a date as YYYY-MM-DD"),
        ("2026-03-01", "2026-03-31T00:00", "'to' must be a date as YYYY-MM-DD"),
        ("0999-03-01", "2026-03-31", "after 1900"),
        ("2026-04-01", "2026-03-31", "'from' (2026-04-01) is after 'to' (2026-03-31)"),
    ],
)
def test_a_range_that_is_not_one_is_refused_in_words(first, last, said):
    with pytest.raises(ExportRangeError, match=re.escape(said)):
        day_range(first, last, timezone=TIMEZONE)


def test_the_range_is_local_midnight_to_midnight_in_utc():
    days = day_range("2026-03-01", "2026-03-31", timezone=TIMEZONE)
    assert days.bounds() == (datetime(2026, 2, 28, 16, 0), datetime(2026, 3, 31, 16, 0))
    one_day = day_range("2026-03-01", "2026-03-01", timezone=TIMEZONE)
    assert one_day.bounds() == (datetime(2026, 2, 28, 16, 0), datetime(2026, 3, 1, 16, 0))
    # A day of daylight saving time's change is 23 hours long: the bounds follow the zone's own midnights.
    spring = day_range("2026-03-08", "2026-03-08", timezone="America/New_York").bounds()
    assert spring == (datetime(2026, 3, 8, 5, 0), datetime(2026, 3, 9, 4, 0))


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+2", "'=1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("+8613800000001", "+8613800000001"),  # a phone number computes nothing
        ("-46.20", "-46.20"),
        ("燃气表 = 不走字", "燃气表 = 不走字"),
        ("", ""),
    ],
)
def test_a_cell_that_would_start_a_formula_is_made_text(cell, shown):
    assert safe_cell(cell) == shown


# ---------------------------------------------------------------- the downloads


def test_the_work_orders_of_the_local_days_asked_for(march, client):
    _login(client, march, "boss", "supervisor")
    response = client.get("/exports/work-orders.csv?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="work-orders-2026-03-01-2026-03-31.csv"' in response.headers["Content-Disposition"]
    rows = _rows(response.get_data(as_text=True))
    assert [row["number"] for row in rows] == ["WO-MAR-FIRST", "WO-MAR-LAST"]  # not 28 Feb, not 1 April
    assert rows[0] == {
        "number": "WO-MAR-FIRST",
        "class": "quality_complaint",
        "stage": "closed",
        "desk": "complaints",
        "owner": "lead-wang",
        "customer_account": "10000001",
        "caller_number": "+8613800000001",
        "address": "朝阳区建国路88号",
        "created": "2026-03-01 00:00:00",
        "promised_by": "2026-03-01 12:00:00",
        "due_at": "2026-03-02 12:00:00",
        "warn_at": "2026-03-02 09:00:00",
        "escalation": "warned",
        "handled": "2026-03-02 10:00:00",
        "closed": "2026-03-03 08:30:00",
        "description": "燃气表不走字, reported twice",
    }
    last = rows[1]
    assert last["created"] == "2026-03-31 23:59:59"
    assert last["closed"] == "" and last["owner"] == "" and last["due_at"] == "" and last["escalation"] == ""
    assert last["description"] == "'=HYPERLINK(\"http://x\",\"a\")"  # a formula arrives as text


def test_the_calls_of_the_local_days_asked_for(march, client):
    _login(client, march, "boss", "quality")
    response = client.get("/exports/calls.csv?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200
    assert 'filename="calls-2026-03-01-2026-03-31.csv"' in response.headers["Content-Disposition"]
    rows = _rows(response.get_data(as_text=True))
    assert [row["call_sid"] for row in rows] == ["CA-MAR-FIRST", "CA-MAR-LAST"]
    assert rows[0] == {
        "call_sid": "CA-MAR-FIRST",
        "from_number": "+8613800000001",
        "to_number": "+8657100000000",
        "started": "2026-03-01 00:00:00",
        "ended": "2026-03-01 00:05:00",
        "language": "zh-CN",
        "menu_version": "",
        "customer_account": "10000001",
        "intent": "complaint",
        "queue": "complaints",
        "priority": "3",
        "emergency": "yes",
        "complaint_class": "quality",
        "reply_due_at": "2026-03-01 12:00:00",
        "outcome": "answered",
        "status": "completed",
        "duration_seconds": "300",
        "queue_seconds": "12",
    }


def test_one_day_and_an_empty_range(march, client):
    _login(client, march, "boss", "admin")
    one_day = _rows(client.get("/exports/calls.csv?from=2026-02-28&to=2026-02-28").get_data(as_text=True))
    assert [row["call_sid"] for row in one_day] == ["CA-FEB-LAST"]
    response = client.get("/exports/work-orders.csv?from=2025-01-01&to=2025-12-31")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert _rows(text) == []
    assert text.removeprefix("\ufeff").startswith("number,class,stage,desk,owner,")


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("from=2026-03-01", "&#39;to&#39; is missing"),
        ("from=2026-02-30&to=2026-03-31", "&#39;from&#39; must be a date as YYYY-MM-DD"),
        ("from=yesterday&to=2026-03-31", "(got &#39;yesterday&#39;)"),
        ("from=2026-04-01&to=2026-03-01", "&#39;from&#39; (2026-04-01) is after &#39;to&#39; (2026-03-01)"),
    ],
)
def test_bad_dates_are_a_400_that_says_why(march, client, query, said):
    _login(client, march, "boss", "supervisor")
    for what in ("work-orders", "calls"):
        response = client.get(f"/exports/{what}.csv?{query}")
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert said in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["supervisor", "shift_lead", "quality", "admin"])
def test_the_page_offers_both_downloads_to_the_roles_that_may_export(march, client, role):
    _login(client, march, f"export-{role}", role)
    home = client.get("/home").get_data(as_text=True)
    assert 'href="/exports"' in home
    page = client.get("/exports?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/exports/work-orders.csv?from=2026-03-01&amp;to=2026-03-31" in text
    assert "/exports/calls.csv?from=2026-03-01&amp;to=2026-03-31" in text
    assert client.get("/exports/work-orders.csv?from=2026-03-01&to=2026-03-31").status_code == 200


def test_an_agent_may_not_export_and_a_stranger_must_log_in(march, client):
    for path in ("/exports", "/exports/work-orders.csv?from=2026-03-01&to=2026-03-31", "/exports/calls.csv"):
        assert client.get(path).status_code == 302
    with march.sessions() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.client_identity == "agent-chenjing"))
    _login(client, march, "chen", "agent", agent_id)
    for path in ("/exports", "/exports/work-orders.csv?from=2026-03-01&to=2026-03-31"):
        assert client.get(path).status_code == 403
    assert 'href="/exports"' not in client.get("/home").get_data(as_text=True)


def test_many_rows_are_streamed_in_pieces_never_the_whole_file_at_once(hotline, client):
    rows = 5_000
    with unit_of_work(hotline.sessions) as session:
        session.execute(
            insert(WorkOrder),
            [
                _order(f"WO-{n:06d}", local(1) + timedelta(seconds=n), description="漏气 " + "x" * 200)
                for n in range(rows)
            ],
        )
    _login(client, hotline, "boss", "supervisor")
    response = client.get("/exports/work-orders.csv?from=2026-03-01&to=2026-03-01", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed  # a generator, not a body built before the answer
    pieces = [piece.decode("utf-8") for piece in response.response]
    response.close()
    # BATCH rows a piece: the file never exists whole on the server.
    assert len(pieces) == rows // BATCH + 1
    assert max(len(piece) for piece in pieces) < sum(len(piece) for piece in pieces) / 4
    lines = _rows("".join(pieces))
    assert len(lines) == rows
    assert [line["number"] for line in lines[:2]] == ["WO-000000", "WO-000001"]
    assert lines[-1]["number"] == "WO-004999" and lines[-1]["created"] == "2026-03-01 01:23:19"


def test_a_download_stopped_halfway_gives_its_connection_back(hotline, client):
    with unit_of_work(hotline.sessions) as session:
        calls = [_call(f"CA-{n:05d}", local(2) + timedelta(seconds=n)) for n in range(3000)]
        session.execute(insert(Call), calls)
    _login(client, hotline, "boss", "supervisor")
    response = client.get("/exports/calls.csv?from=2026-03-02&to=2026-03-02", buffered=False)
    pieces = iter(response.response)
    assert next(pieces).decode("utf-8").startswith("\ufeffcall_sid,")
    assert hotline.engine.pool.checkedout() == 1  # the export's read transaction, still open
    response.close()  # what the server does when the browser goes away
    assert hotline.engine.pool.checkedout() == 0  # and, on PostgreSQL, no server-side cursor left open


# ---------------------------------------------------------------- the command line


@pytest.fixture
def env(monkeypatch, settings, march):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    monkeypatch.setenv("IVR_TIMEZONE", TIMEZONE)
    return march


def test_the_cli_writes_both_files(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["export", "work-orders", "--from", "2026-03-01", "--to", "2026-03-31"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "work-orders-2026-03-01-2026-03-31.csv"
    assert result.output.strip() == path.name
    text = path.read_bytes().decode("utf-8")
    assert [row["number"] for row in _rows(text)] == ["WO-MAR-FIRST", "WO-MAR-LAST"]
    out = tmp_path / "calls.csv"
    args = ["export", "calls", "--from", "2026-03-31", "--to", "2026-04-01", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    calls = _rows(out.read_bytes().decode("utf-8"))
    assert [row["call_sid"] for row in calls] == ["CA-MAR-LAST", "CA-APR-FIRST"]


def test_the_cli_writes_to_standard_output_and_refuses_bad_dates(env):
    args = ["export", "calls", "--from", "2026-02-28", "--to", "2026-02-28", "--out", "-"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # stdout_bytes: click's `output` turns the CSV's CRLF into LF
    assert [row["call_sid"] for row in _rows(result.stdout_bytes.decode("utf-8"))] == ["CA-FEB-LAST"]
    result = CliRunner().invoke(cli, ["export", "work-orders", "--from", "2026-03-31", "--to", "2026-03-01"])
    assert result.exit_code == 2
    assert "'from' (2026-03-31) is after 'to' (2026-03-01)" in result.output
