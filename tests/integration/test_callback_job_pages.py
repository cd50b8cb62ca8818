"""Call-back jobs as people handle them: the list (filters, paging, tries), retry and cancel with a reason,
each logged and shown on the job, refused when the job's state does not allow it, nothing half-written;
the page for each role, and the `callbacks jobs|retry|cancel` commands."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text, update

from ivr.db.models import (
    CallbackJob,
    ChangeLog,
    DoNotCall,
)
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.quality.report_month import Month
from ivr.surveys.due import CallingRules, parse_window
from ivr.surveys.job_actions import JobFilter, JobRefused, cancel_job, list_jobs, retry_job
from ivr.surveys.jobs import calling_rules
from ivr.surveys.report import build_satisfaction_report
from run import cli
from tests.callback_jobs import DUE, add_job

PASSWORD = "job-pages-pass-1"
ZONE = "Asia/Shanghai"
NOW = datetime(2026, 3, 10, 3, 0)  # 11:00 Shanghai on a Tuesday


def job(hotline, job_id):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        found = session.get(CallbackJob, job_id)
        session.expunge_all()
        return found


def log_entries(hotline):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return [
            (e.kind, e.action, e.subject, e.who)
            for e in session.scalars(select(ChangeLog).order_by(ChangeLog.id))
        ]


RULES = CallingRules(*parse_window("09:00-20:00"), timezone=ZONE)


# ---------------------------------------------------------------- the use cases


def test_jobs_are_listed_by_status_due_day_and_service_type_with_their_tries(hotline):
    unreachable = add_job(hotline, "unreachable", tries=("no-answer", "busy", "no-answer"))
    queued = add_job(hotline, "queued", service_type="ignition", due_at=DUE + timedelta(days=1))
    add_job(hotline, "completed", tries=("completed",), due_at=DUE + timedelta(days=2))
    with hotline.sessions() as session:
        everything = list_jobs(session, JobFilter(), timezone=ZONE)
        assert everything.total == 3
        assert [row.id for row in everything.rows][-1] == unreachable  # latest due first
        (row,) = list_jobs(session, JobFilter(status="unreachable"), timezone=ZONE).rows
        assert [t.outcome for t in row.tries] == ["no-answer", "busy", "no-answer"]
        by_type = list_jobs(session, JobFilter(service_type="ignition"), timezone=ZONE)
        assert [r.id for r in by_type.rows] == [queued]
        # 2026-03-08 local: the queued job (due 09:00 Shanghai that day) only.
        day = DUE.date() + timedelta(days=1)
        by_day = list_jobs(session, JobFilter(due_from=day, due_to=day), timezone=ZONE)
        assert [r.id for r in by_day.rows] == [queued]


def test_the_list_is_paged(hotline):
    for _ in range(5):
        add_job(hotline)
    with hotline.sessions() as session:
        first = list_jobs(session, JobFilter(page=1), timezone=ZONE, per_page=2)
        last = list_jobs(session, JobFilter(page=9), timezone=ZONE, per_page=2)
    assert (first.total, first.pages, len(first.rows)) == (5, 3, 2)
    assert (last.page, len(last.rows)) == (3, 1)  # past the end: the last page


def test_a_given_up_job_is_retried_now_and_logged(hotline):
    job_id = add_job(hotline, "unreachable", tries=("no-answer", "busy", "no-answer"))
    with unit_of_work(hotline.sessions) as session:
        retry_job(session, job_id, who="boss", rules=RULES, now=NOW, note="customer asked to be called")
    retried = job(hotline, job_id)
    assert (retried.status, retried.due_at, retried.finished_at, retried.attempts) == ("queued", NOW, None, 3)
    assert retried.latest_at == datetime(2026, 3, 11, 12, 0)  # 20:00 Shanghai on the next calling day
    assert retried.last_outcome == "retried by boss: customer asked to be called"
    assert log_entries(hotline) == [("callback_job", "retry", f"job {job_id}", "boss")]


def test_a_retry_outside_the_window_is_due_when_it_opens(hotline):
    job_id = add_job(hotline, "expired")
    night = datetime(2026, 3, 10, 14, 0)  # 22:00 Shanghai
    with unit_of_work(hotline.sessions) as session:
        retry_job(session, job_id, who="boss", rules=RULES, now=night)
    assert job(hotline, job_id).due_at == datetime(2026, 3, 11, 1, 0)  # 09:00 the next morning


@pytest.mark.parametrize(
    ("status", "tries", "words"),
    [
        ("completed", ("completed",), "answered this call-back"),
        ("refused", ("refused",), "declined"),
        ("queued", (), "queued already"),
        ("dialling", ("no-answer",), "under way"),
    ],
)
def test_a_retry_the_state_does_not_allow_is_refused_and_changes_nothing(hotline, status, tries, words):
    job_id = add_job(hotline, status, tries=tries)
    before = job(hotline, job_id)
    with pytest.raises(JobRefused, match=words), unit_of_work(hotline.sessions) as session:
        retry_job(session, job_id, who="boss", rules=RULES, now=NOW)
    after = job(hotline, job_id)
    assert (after.status, after.due_at, after.last_outcome) == (
        before.status,
        before.due_at,
        before.last_outcome,
    )
    assert log_entries(hotline) == []


def test_a_retry_is_refused_for_a_do_not_call_number_or_one_already_queued(hotline):
    listed = add_job(hotline, "expired", phone="+8613811112222")
    with unit_of_work(hotline.sessions) as session:
        session.add(DoNotCall(phone="+8613811112222", reason="asked"))
    with pytest.raises(JobRefused, match="do-not-call"), unit_of_work(hotline.sessions) as session:
        retry_job(session, listed, who="boss", rules=RULES, now=NOW)
    old = add_job(hotline, "unreachable", phone="+8613833334444")
    newer = add_job(hotline, "queued", phone="+8613833334444")
    with pytest.raises(JobRefused, match=f"job {newer}"), unit_of_work(hotline.sessions) as session:
        retry_job(session, old, who="boss", rules=RULES, now=NOW)
    assert job(hotline, listed).status == "expired" and job(hotline, old).status == "unreachable"


def test_a_queued_job_is_cancelled_with_its_reason_and_logged(hotline):
    job_id = add_job(hotline, "queued")
    with unit_of_work(hotline.sessions) as session:
        cancel_job(session, job_id, who="boss", reason="customer moved away", now=NOW)
    cancelled = job(hotline, job_id)
    assert (cancelled.status, cancelled.finished_at) == ("cancelled", NOW)
    assert cancelled.last_outcome == "cancelled by boss: customer moved away"
    with hotline.sessions() as session:
        (entry,) = session.scalars(select(ChangeLog))
        assert entry.after["reason"] == "customer moved away" and entry.before["status"] == "queued"
    # A cancelled job is not a call-back in the month's satisfaction figures.
    with hotline.sessions() as session, session.begin():
        report = build_satisfaction_report(session=session, month=Month.parse("2026-03"), timezone=ZONE)
    assert report.total.jobs == 0
    # ...and may be queued again if it was a mistake.
    with unit_of_work(hotline.sessions) as session:
        retry_job(session, job_id, who="boss", rules=RULES, now=NOW)
    assert job(hotline, job_id).status == "queued"


@pytest.mark.parametrize(
    ("status", "tries", "words"),
    [
        ("completed", ("completed",), "nothing to cancel"),
        ("partial", ("partial",), "nothing to cancel"),
        ("dialling", ("no-answer",), "under way"),
        ("expired", (), "over already"),
        ("cancelled", (), "cancelled already"),
    ],
)
def test_a_cancel_the_state_does_not_allow_is_refused_and_changes_nothing(hotline, status, tries, words):
    job_id = add_job(hotline, status, tries=tries)
    with pytest.raises(JobRefused, match=words), unit_of_work(hotline.sessions) as session:
        cancel_job(session, job_id, who="boss", reason="no longer wanted", now=NOW)
    assert job(hotline, job_id).status == status and log_entries(hotline) == []


def test_a_cancel_needs_a_reason(hotline):
    job_id = add_job(hotline, "queued")
    with pytest.raises(JobRefused, match="say why") as refused, unit_of_work(hotline.sessions) as session:
        cancel_job(session, job_id, who="boss", reason="   ", now=NOW)
    assert refused.value.status == 422 and job(hotline, job_id).status == "queued"


def test_a_dialler_claiming_the_job_at_the_same_moment_wins_and_the_cancel_writes_nothing(
    hotline, database_url
):
    """PostgreSQL, two real transactions: the cancel has read the job as queued and waits on the dialler's
    row lock; the dialler commits its claim; the cancel's conditional update then matches nothing, so it
    is refused and rolled back whole (no cancelled status, no change-log entry)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: the race is PostgreSQL's")
    job_id = add_job(hotline, "queued")
    outcome: dict[str, str] = {}

    def cancel() -> None:
        try:
            with unit_of_work(hotline.sessions) as session:
                cancel_job(session, job_id, who="boss", reason="duplicate", now=NOW)
            outcome["done"] = "cancelled"
        except JobRefused as refused:
            outcome["done"] = refused.message

    with hotline.sessions() as dialler, dialler.begin():
        dialler.execute(select(CallbackJob.id).where(CallbackJob.id == job_id).with_for_update())
        canceller = threading.Thread(target=cancel)
        canceller.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        for _ in range(200):  # until the cancel's UPDATE waits on the dialler's lock
            with hotline.engine.connect() as watcher:
                if watcher.execute(waiting).scalar():
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the cancel never waited on the row lock")
        dialler.execute(update(CallbackJob).where(CallbackJob.id == job_id).values(status="dialling"))
    canceller.join(timeout=10)
    assert "changed at this moment" in outcome["done"]
    assert job(hotline, job_id).status == "dialling" and log_entries(hotline) == []


# ---------------------------------------------------------------- the pages


def client_for(app, hotline, role):  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF is tested with the other forms
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username=f"u-{role}", role=role, password=PASSWORD)
    client = app.test_client()
    assert client.post("/login", data={"username": f"u-{role}", "password": PASSWORD}).status_code == 302
    return client


def test_the_jobs_page_lists_filters_and_pages(app, hotline):
    boss = client_for(app, hotline, "supervisor")
    failed = add_job(hotline, "unreachable", tries=("no-answer", "busy", "no-answer"))
    add_job(hotline, "queued", service_type="ignition", due_at=DUE + timedelta(days=1))
    page = boss.get("/console/callback-jobs").get_data(as_text=True)
    assert "2 job(s)" in page and f'data-job="{failed}"' in page and "no-answer, busy, no-answer" in page
    assert "2026-03-07 09:00" in page  # the due time in the centre's zone, 24-hour ISO
    only = boss.get(
        "/console/callback-jobs?status=queued&service_type=ignition&from=2026-03-08&to=2026-03-08"
    )
    assert only.status_code == 200 and "1 job(s)" in only.get_data(as_text=True)
    bad = boss.get("/console/callback-jobs?from=03/08/2026&status=lost&page=0")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "YYYY-MM-DD" in text and "status must be one of" in text and "page must be" in text
    backwards = boss.get("/console/callback-jobs?from=2026-03-09&to=2026-03-08")
    assert backwards.status_code == 400 and "after the to date" in backwards.get_data(as_text=True)


def test_the_jobs_page_has_next_and_previous_pages(app, hotline):
    boss = client_for(app, hotline, "supervisor")
    for _ in range(51):
        add_job(hotline, "queued")
    first = boss.get("/console/callback-jobs?status=queued").get_data(as_text=True)
    assert "page 1 of 2" in first and len(re.findall(r'data-job="', first)) == 50
    assert 'href="/console/callback-jobs?page=2&amp;status=queued"' in first
    second = boss.get("/console/callback-jobs?status=queued&page=2").get_data(as_text=True)
    assert len(re.findall(r'data-job="', second)) == 1 and 'rel="prev"' in second


def test_cancel_and_retry_from_the_job_page_are_shown_on_the_job(app, hotline):
    boss = client_for(app, hotline, "supervisor")
    queued = add_job(hotline, "queued")
    failed = add_job(hotline, "unreachable", tries=("no-answer", "no-answer", "busy"))
    no_reason = boss.post(f"/console/callback-jobs/{queued}/cancel", data={"reason": ""})
    assert no_reason.status_code == 422 and "say why" in no_reason.get_data(as_text=True)
    done = boss.post(f"/console/callback-jobs/{queued}/cancel", data={"reason": "duplicate order"})
    assert done.status_code == 302
    page = boss.get(f"/console/callback-jobs/{queued}").get_data(as_text=True)
    assert "duplicate order" in page and "取消 / Cancelled" in page and "u-supervisor" in page
    assert boss.post(f"/console/callback-jobs/{failed}/retry", data={"note": ""}).status_code == 302
    retried = boss.get(f"/console/callback-jobs/{failed}").get_data(as_text=True)
    assert "重新排队 / Retried" in retried and "busy" in retried  # the tries stay on the job
    assert job(hotline, failed).status == "queued"
    assert [e[1] for e in log_entries(hotline)] == ["cancel", "retry"]


def test_a_refused_action_says_why_and_writes_nothing(app, hotline):
    boss = client_for(app, hotline, "supervisor")
    answered = add_job(hotline, "completed", tries=("completed",))
    cancel = boss.post(f"/console/callback-jobs/{answered}/cancel", data={"reason": "oops"})
    assert cancel.status_code == 409 and "the customer answered this call-back" in cancel.get_data(
        as_text=True
    )
    retry = boss.post(f"/console/callback-jobs/{answered}/retry")
    assert retry.status_code == 409 and "not placed again" in retry.get_data(as_text=True)
    assert boss.post("/console/callback-jobs/999999/retry").status_code == 404
    assert boss.get("/console/callback-jobs/999999").status_code == 404
    assert job(hotline, answered).status == "completed" and log_entries(hotline) == []


def test_quality_staff_may_look_but_not_act_and_shift_leads_and_agents_may_not_open_it(app, hotline):
    job_id = add_job(hotline, "queued")
    quality = client_for(app, hotline, "quality")
    assert quality.get("/console/callback-jobs").status_code == 200
    page = quality.get(f"/console/callback-jobs/{job_id}").get_data(as_text=True)
    assert 'id="cancel-form"' not in page
    assert quality.post(f"/console/callback-jobs/{job_id}/cancel", data={"reason": "x"}).status_code == 403
    assert client_for(app, hotline, "shift_lead").get("/console/callback-jobs").status_code == 403
    assert job(hotline, job_id).status == "queued"


# ---------------------------------------------------------------- the commands


def test_the_commands_list_retry_and_cancel_jobs(hotline):
    failed = add_job(hotline, "expired")
    queued = add_job(hotline, "queued", service_type="ignition")
    answered = add_job(hotline, "completed", tries=("completed",))
    runner = CliRunner()
    listed = runner.invoke(cli, obj=hotline, args=["callbacks", "jobs", "--status", "expired"])
    assert listed.exit_code == 0 and "1 job(s)" in listed.output and f"{failed}  expired" in listed.output
    assert (
        runner.invoke(cli, obj=hotline, args=["callbacks", "retry", str(failed), "--by", "ops"]).exit_code
        == 0
    )
    cancelled = runner.invoke(
        cli, obj=hotline, args=["callbacks", "cancel", str(queued), "--reason", "moved", "--by", "ops"]
    )
    assert cancelled.exit_code == 0
    refused = runner.invoke(cli, obj=hotline, args=["callbacks", "cancel", str(answered), "--reason", "x"])
    assert refused.exit_code == 1 and "nothing to cancel" in refused.output
    assert (
        runner.invoke(cli, obj=hotline, args=["callbacks", "cancel", str(answered)]).exit_code == 2
    )  # --reason is required
    status = runner.invoke(cli, obj=hotline, args=["callbacks", "status"])
    assert re.search(r"cancelled\s+1", status.output)
    assert [e[1:] for e in log_entries(hotline)] == [
        ("retry", f"job {failed}", "ops"),
        ("cancel", f"job {queued}", "ops"),
    ]
    with hotline.sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(CallbackJob).where(CallbackJob.status == "queued")
            )
            == 1
        )


def test_calling_rules_of_the_settings_are_what_the_page_retries_with(hotline):
    assert calling_rules(hotline.settings) == RULES
