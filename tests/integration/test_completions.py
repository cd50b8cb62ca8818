"""Service completions (API, CSV import, hotline calls), the policy commands, a month's selection."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from ivr.db.models import Agent, Call, CallbackCandidate, DoNotCall, QueueEntry, ServiceCompletion
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.surveys.completions import record_hotline_completions
from ivr.surveys.draws import select_callbacks
from run import cli

PASSWORD = "correct horse battery"


def item(external_id="WO-1", **changes):
    base = {
        "external_id": external_id,
        "service_type": "paid_repair",
        "completed_at": "2026-03-04T15:30:00+08:00",
        "customer_phone": "13800000001",
        "customer_language": "zh-CN",
        "employee": "王师傅",
        "amount_charged": "120.50",
    }
    return {**base, **changes}


def token_of(hotline, role, username=None):
    with unit_of_work(hotline.sessions) as session:
        _, token = create_user(session, username=username or role, role=role, password=PASSWORD)
    return {"Authorization": f"Bearer {token}"}


def completions(hotline):
    with hotline.sessions() as session:
        return session.scalars(select(ServiceCompletion).order_by(ServiceCompletion.id)).all()


@pytest.fixture
def api(app):
    return app.test_client()


@pytest.fixture
def env(monkeypatch, settings, hotline):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


# --- the API ---


def test_the_api_needs_a_supervisor_or_admin_token(api, hotline):
    assert api.post("/api/completions", json=item()).status_code == 401
    response = api.post("/api/completions", json=item(), headers=token_of(hotline, "quality"))
    assert response.status_code == 403
    assert completions(hotline) == []


def test_the_api_stores_a_list_and_normalises_it(api, hotline):
    body = [item("WO-1"), item("WO-2", customer_phone="+8613900000002", amount_charged=0)]
    response = api.post("/api/completions", json=body, headers=token_of(hotline, "supervisor"))
    assert response.status_code == 201, response.json
    assert [s["external_id"] for s in response.json["stored"]] == ["WO-1", "WO-2"]
    stored = completions(hotline)
    assert [(c.source, c.customer_phone) for c in stored] == [
        ("field", "+8613800000001"),
        ("field", "+8613900000002"),
    ]
    assert stored[0].completed_at == datetime(2026, 3, 4, 7, 30)  # naive UTC
    assert stored[0].amount_charged == Decimal("120.50")


def test_an_invalid_item_rejects_the_whole_request_naming_each_problem(api, hotline):
    body = [
        item("WO-1"),
        item(
            "WO-2",
            service_type="boiler_polish",
            completed_at="2026-03-04 15:30",
            customer_phone="12345",
            customer_language="fr-FR",
            amount_charged=-5,
        ),
        item("WO-3", customer_phone=""),
    ]
    response = api.post("/api/completions", json=body, headers=token_of(hotline, "admin"))
    assert response.status_code == 400
    assert response.json["error"] == "2 of 3 completion(s) rejected; nothing was stored"
    first, second = response.json["rejected"]
    assert first["index"] == 1 and first["external_id"] == "WO-2"
    problems = " | ".join(first["problems"])
    assert "service_type: unknown 'boiler_polish'" in problems
    assert "completed_at: '2026-03-04 15:30' has no UTC offset" in problems
    assert "customer_phone: '12345' cannot be called back" in problems
    assert "customer_language: 'fr-FR' is not one of zh-CN, en-US" in problems
    assert "amount_charged: -5 is negative" in problems
    assert second == {"index": 2, "external_id": "WO-3", "problems": ["customer_phone: missing"]}
    assert completions(hotline) == []  # WO-1 was valid, but all or nothing


def test_duplicates_are_skipped_not_errors(api, hotline):
    headers = token_of(hotline, "supervisor")
    assert api.post("/api/completions", json=item("WO-1"), headers=headers).status_code == 201
    response = api.post("/api/completions", json=[item("WO-1"), item("WO-2"), item("WO-2")], headers=headers)
    assert response.status_code == 201
    assert [s["external_id"] for s in response.json["stored"]] == ["WO-2"]
    assert response.json["skipped"] == [
        {"external_id": "WO-1", "reason": "duplicate"},
        {"external_id": "WO-2", "reason": "duplicate"},
    ]
    again = api.post("/api/completions", json=item("WO-1"), headers=headers)
    assert again.status_code == 200 and again.json["stored"] == []
    assert len(completions(hotline)) == 2


def test_the_api_refuses_hotline_calls_and_non_json(api, hotline):
    headers = token_of(hotline, "supervisor")
    response = api.post("/api/completions", json=item(service_type="hotline_call"), headers=headers)
    assert response.status_code == 400
    assert "come from the hotline's own call records" in response.json["rejected"][0]["problems"][0]
    assert api.post("/api/completions", data="x", headers=headers).status_code == 400
    assert api.post("/api/completions", json=[], headers=headers).status_code == 400


# --- the CSV import ---


def write_csv(path, rows, header=None):
    header = header or list(item().keys())
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_csv_import_counts_and_writes_the_rejected_rows(env, tmp_path):
    path = write_csv(
        tmp_path / "done.csv",
        [
            item("WO-1"),
            item("WO-2", amount_charged=""),
            item("WO-3", completed_at="yesterday"),
            item("WO-1"),  # repeated in the file
            item("WO-5", service_type="nope"),
        ],
    )
    result = CliRunner().invoke(cli, ["callbacks", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "imported: 2" in result.output
    assert "skipped duplicates: 1" in result.output and "row 5: WO-1 is already known" in result.output
    assert "rejected: 2" in result.output
    assert "row 4: completed_at: 'yesterday' is not an ISO 8601 date and time" in result.output
    assert "row 6: service_type: unknown 'nope'" in result.output
    with (tmp_path / "done.csv.rejected.csv").open(encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["line"], r["external_id"]) for r in rejected] == [("4", "WO-3"), ("6", "WO-5")]
    assert rejected[0]["reason"].startswith("completed_at:")
    assert [c.external_id for c in completions(env)] == ["WO-1", "WO-2"]
    assert completions(env)[1].amount_charged == Decimal("0")

    clean = write_csv(tmp_path / "again.csv", [item("WO-1"), item("WO-2")])
    again = CliRunner().invoke(cli, ["callbacks", "import", str(clean)])
    assert again.exit_code == 0, again.output
    assert "imported: 0" in again.output and "skipped duplicates: 2" in again.output
    assert not (tmp_path / "again.csv.rejected.csv").exists()


def test_a_csv_without_the_needed_columns_imports_nothing(env, tmp_path):
    path = write_csv(tmp_path / "bad.csv", [{"external_id": "WO-1"}], header=["external_id"])
    result = CliRunner().invoke(cli, ["callbacks", "import", str(path)])
    assert result.exit_code == 2
    assert "the header lacks the column(s) service_type, completed_at" in result.output
    assert completions(env) == []


# --- answered hotline calls ---


def add_call(hotline, sid, *, outcome="answered", ended=True, agent=True, number="+8613800000009"):
    with unit_of_work(hotline.sessions) as session:
        agent_id = session.scalar(select(Agent.id).order_by(Agent.id).limit(1)) if agent else None
        started = datetime(2026, 3, 5, 2)
        session.add(
            Call(
                call_sid=sid,
                from_number=number,
                started_at=started,
                ended_at=started + timedelta(minutes=4) if ended else None,
                language="en-US",
                outcome=outcome,
            )
        )
        session.add(
            QueueEntry(call_sid=sid, queue="billing", intent="billing", language="en-US", agent_id=agent_id)
        )
        return agent_id


def test_answered_agent_calls_become_completions_once(hotline):
    agent_id = add_call(hotline, "CA1")
    add_call(hotline, "CA2", outcome="abandoned")
    add_call(hotline, "CA3", ended=False)
    add_call(hotline, "CA4", number="anonymous")
    with unit_of_work(hotline.sessions) as session:
        assert record_hotline_completions(session) == 2
    with unit_of_work(hotline.sessions) as session:
        assert record_hotline_completions(session) == 0
    rows = completions(hotline)
    assert [(c.external_id, c.call_sid, c.service_type, c.source) for c in rows] == [
        ("CA1", "CA1", "hotline_call", "hotline"),
        ("CA4", "CA4", "hotline_call", "hotline"),
    ]
    assert rows[0].agent_id == agent_id and rows[0].employee.endswith(f"#{agent_id}")
    assert rows[0].completed_at == datetime(2026, 3, 5, 2, 4)
    assert rows[0].customer_language == "en-US"
    assert rows[1].customer_phone == "anonymous"  # kept; the selection excludes it


# --- the policy commands ---


def test_policy_publish_names_problems_and_show_reads_the_live_version(env, tmp_path):
    shown = CliRunner().invoke(cli, ["callbacks", "policy", "show"])
    assert "the shipped default" in shown.output and "leak_repair" in shown.output
    bad = tmp_path / "bad.toml"
    bad.write_text("min_cases_for_sampling = 20\nrecent_callback_days = 900\n[service_types.x]\nshare = 2\n")
    result = CliRunner().invoke(cli, ["callbacks", "policy", "publish", str(bad)])
    assert result.exit_code == 1
    assert "problem: recent_callback_days: must be from 0 to 365 (got 900)" in result.output
    assert "problem: service_types.x.share: must be from 0 to 1, e.g. 0.1 for 10% (got 2)" in result.output
    good = tmp_path / "good.toml"
    good.write_text(
        "min_cases_for_sampling = 10\nrecent_callback_days = 14\n"
        '[service_types.hotline_call]\nlabel = "hotline call"\nshare = 0.25\n'
    )
    published = CliRunner().invoke(cli, ["callbacks", "policy", "publish", str(good), "--by", "sup"])
    assert published.exit_code == 0 and "version 1 is live" in published.output
    shown = CliRunner().invoke(cli, ["callbacks", "policy", "show"])
    assert "version 1" in shown.output and "25%" in shown.output and "leak_repair" not in shown.output


# --- the monthly selection ---


def add_completions(hotline, count, *, service_type="free_repair", day=datetime(2026, 3, 10), prefix="F"):
    with unit_of_work(hotline.sessions) as session:
        for n in range(count):
            session.add(
                ServiceCompletion(
                    source="field",
                    external_id=f"{prefix}{n}",
                    service_type=service_type,
                    completed_at=day + timedelta(minutes=n),
                    customer_phone=f"+86138{n:08d}",
                    customer_language="zh-CN",
                    employee=f"E{n % 3}",
                )
            )


def candidates(hotline, month):
    with hotline.sessions() as session:
        rows = session.scalars(
            select(CallbackCandidate)
            .where(CallbackCandidate.month == month)
            .order_by(CallbackCandidate.completion_id)
        ).all()
        return [(r.completion_id, r.selected, r.exclusion_reason, r.policy_version) for r in rows]


def test_a_month_is_selected_once(hotline):
    add_completions(hotline, 30)
    add_completions(hotline, 5, day=datetime(2026, 2, 28, 15, 55), prefix="B")  # 23:55-23:59 local: February
    with unit_of_work(hotline.sessions) as session:
        session.add(DoNotCall(phone="+8613800000000", reason="asked"))
    with unit_of_work(hotline.sessions) as session:
        first = select_callbacks(session, "2026-03", seed=1)
    assert [draw.month for draw in first.months] == ["2026-03"] and first.policy_version == 0
    assert first.selected == {"free_repair": 3}  # 30 cases, 29 eligible: ceil(2.9)
    assert first.excluded == {"do_not_call": 1, "not_sampled": 26}
    stored = candidates(hotline, "2026-03")
    assert len(stored) == 30
    with unit_of_work(hotline.sessions) as session:
        second = select_callbacks(session, "2026-03", seed=999)
    assert second.months == [] and second.decided == 0
    assert candidates(hotline, "2026-03") == stored
    with hotline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CallbackCandidate)) == 30


def test_a_customer_selected_last_month_is_not_called_again_while_pending(hotline):
    add_completions(hotline, 3, service_type="paid_repair", day=datetime(2026, 2, 20), prefix="FEB")
    add_completions(hotline, 3, service_type="paid_repair", day=datetime(2026, 3, 20), prefix="MAR")
    with unit_of_work(hotline.sessions) as session:
        select_callbacks(session, "2026-02", seed=1)
        report = select_callbacks(session, "2026-03", seed=1)
    assert report.excluded == {"callback_pending": 3}  # February's call-backs are still to be made


def test_a_bad_month_is_refused_by_the_command(env):
    result = CliRunner().invoke(cli, ["callbacks", "select", "--month", "2026-13"])
    assert result.exit_code == 1 and "month must be YYYY-MM" in result.output
