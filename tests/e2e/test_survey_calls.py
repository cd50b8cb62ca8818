"""Satisfaction call-back surveys end to end: the job placed through the simulator, a simulated customer
answering (or a machine), the answers kept and the try settled by the status callback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ivr.db.models import (
    CallbackAttempt,
    CallbackCandidate,
    CallbackJob,
    Customer,
    FollowUpCase,
    ServiceCompletion,
    SurveyResponse,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import place_due_callbacks
from ivr.surveys.jobs import Pacer, calling_rules, create_jobs
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.e2e.conftest import Phone
from tests.helpers import PUBLIC_BASE_URL

CUSTOMER = "+8613800000001"  # 王芳 in the demo data


@pytest.fixture
def line(app, hotline):
    """A simulator that is also the hotline's telephony, so placed call-backs ring simulated customers."""
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    return phone


def add_job(hotline, *, phone=CUSTOMER, language="zh-CN", service_type="paid_repair"):
    """A completion 3 days ago, selected, with its job; returns the job id."""
    with unit_of_work(hotline.sessions) as session:
        completion = ServiceCompletion(
            source="field",
            external_id=f"WO-{phone}-{language}",
            service_type=service_type,
            completed_at=utcnow() - timedelta(days=3),
            customer_phone=phone,
            customer_language=language,
            employee="王师傅",
        )
        session.add(completion)
        session.flush()
        candidate = CallbackCandidate(
            completion_id=completion.id, month="2026-11", selected=True, policy_version=0
        )
        session.add(candidate)
        session.flush()
        create_jobs(session, calling_rules(hotline.settings))
        return session.scalar(select(CallbackJob.id).where(CallbackJob.candidate_id == candidate.id))


def ring(hotline, line, job_id, script, *, answered_by="human"):
    """Place the due job (inside its window) and let the simulated customer answer with `script`."""
    with unit_of_work(hotline.sessions) as session:
        job = session.get(CallbackJob, job_id)
        moment, number = job.due_at + timedelta(minutes=1), job.phone
    line.simulator.callee_for(number, ScriptedCaller(script), answered_by=answered_by)
    report = place_due_callbacks(hotline, Pacer(1000), now=lambda: moment)
    assert len(report.placed) == 1
    (result,) = line.simulator.run_pending_calls()
    assert not result.errors, result.errors
    return result


def response_of(hotline, job_id):
    with unit_of_work(hotline.sessions) as session:
        row = session.scalar(select(SurveyResponse).where(SurveyResponse.job_id == job_id))
        if row is not None:
            session.expunge(row)
        return row


def job_of(hotline, job_id):
    with unit_of_work(hotline.sessions) as session:
        job = session.get(CallbackJob, job_id)
        session.expunge(job)
        return job


def cases(hotline):
    with unit_of_work(hotline.sessions) as session:
        return [(c.reason, c.status) for c in session.scalars(select(FollowUpCase).order_by(FollowUpCase.id))]


def test_full_answers_are_kept_and_the_customer_is_marked(hotline, line):
    job_id = add_job(hotline)
    result = ring(hotline, line, job_id, ["1", "8", "10", "1", "2", "record:5"])
    spoken = result.spoken()
    assert "华夏燃气客户服务中心" in spoken and "有偿维修" in spoken  # who is calling, about which service
    local = (utcnow() - timedelta(days=3)) + timedelta(hours=8)
    assert f"{local.month}月{local.day}日" in spoken
    assert "服务态度" in spoken and "专业能力" in spoken and "收取了费用" in spoken
    answer = response_of(hotline, job_id)
    assert (answer.attitude, answer.ability, answer.on_time, answer.charged) == (8, 10, True, False)
    assert answer.comment_seconds == 5 and answer.comment_recording_sid in result.recordings
    assert answer.finished_at is not None and answer.invalid_answers == 0
    job = job_of(hotline, job_id)
    assert (job.status, job.attempts) == ("completed", 1)
    assert cases(hotline) == []  # 8 and 10: nothing to follow up
    with unit_of_work(hotline.sessions) as session:
        marked = session.scalar(select(Customer.last_called_back_on).where(Customer.phone == CUSTOMER))
        attempt = session.scalar(select(CallbackAttempt).where(CallbackAttempt.job_id == job_id))
        assert (attempt.outcome, attempt.answered_by) == ("completed", "human")
    assert marked == (answer.called_at + timedelta(hours=8)).date()
    assert spoken.rstrip().endswith("感谢您抽出宝贵时间，再见。")


def test_in_english_a_low_score_opens_a_follow_up_with_the_comment(hotline, line):
    job_id = add_job(hotline, phone="+8613800000077", language="en-US", service_type="leak_repair")
    result = ring(hotline, line, job_id, ["1", "4", "7", "1", "1", "record:12"])
    assert "Huaxia Gas customer service" in result.spoken() and "gas leak repair" in result.spoken()
    answer = response_of(hotline, job_id)
    assert (answer.attitude, answer.ability, answer.language) == (4, 7, "en-US")
    assert answer.comment_seconds == 12
    assert cases(hotline) == [("attitude 4", "open")]
    assert job_of(hotline, job_id).status == "completed"


def test_an_invalid_answer_is_asked_again_once_then_the_survey_goes_on(hotline, line):
    job_id = add_job(hotline)
    # attitude: 0 (not a score), 11 (not a score) -> left empty; ability: 5; on time: 3 then 1; charged: 2
    result = ring(hotline, line, job_id, ["1", "0", "11", "5", "3", "1", "2", "#"])
    assert result.spoken().count("抱歉，没有收到有效的回答") == 2  # said before each second asking
    answer = response_of(hotline, job_id)
    assert (answer.attitude, answer.ability, answer.on_time, answer.charged) == (None, 5, True, False)
    assert answer.invalid_answers == 3 and answer.comment_seconds is None
    assert job_of(hotline, job_id).status == "partial"
    assert cases(hotline) == [("ability 5", "open")]


def test_silence_counts_as_no_answer_and_is_asked_again(hotline, line):
    job_id = add_job(hotline)
    ring(hotline, line, job_id, ["1", "silence", "9", "silence", "silence", "1", "2", "#"])
    answer = response_of(hotline, job_id)
    assert (answer.attitude, answer.ability, answer.on_time, answer.charged) == (9, None, True, False)
    assert answer.invalid_answers == 3


def test_a_hang_up_midway_keeps_the_answers_given(hotline, line):
    job_id = add_job(hotline)
    result = ring(hotline, line, job_id, ["1", "9", "hangup"])
    assert result.ended_by == "caller-hangup"
    answer = response_of(hotline, job_id)
    assert (answer.attitude, answer.ability, answer.on_time) == (9, None, None)
    assert answer.finished_at is not None
    job = job_of(hotline, job_id)
    assert (job.status, job.last_outcome) == ("partial", "partial")


def test_a_customer_who_declines_is_refused_and_not_called_again(hotline, line):
    job_id = add_job(hotline)
    result = ring(hotline, line, job_id, ["2"])
    assert "打扰您了" in result.spoken()
    answer = response_of(hotline, job_id)
    assert answer.refused is True and answer.attitude is None
    assert job_of(hotline, job_id).status == "refused"
    assert place_due_callbacks(hotline, Pacer(1000), now=lambda: utcnow() + timedelta(hours=3)).placed == []


def test_no_key_at_the_introduction_twice_ends_as_refused(hotline, line):
    job_id = add_job(hotline)
    result = ring(hotline, line, job_id, ["silence", "silence"])
    assert "开始评价请按1" in result.spoken()
    assert job_of(hotline, job_id).status == "refused"


def test_an_answering_machine_is_hung_up_on_and_tried_again_later(hotline, line):
    job_id = add_job(hotline)
    before = utcnow()
    result = ring(hotline, line, job_id, [], answered_by="machine_end_beep")
    assert result.said() == []  # no message left on a machine
    assert response_of(hotline, job_id) is None
    job = job_of(hotline, job_id)
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.due_at >= before + timedelta(hours=2)
    assert job.last_outcome.endswith("(machine_end_beep)")
    with unit_of_work(hotline.sessions) as session:
        assert session.scalar(select(Customer.last_called_back_on).where(Customer.phone == CUSTOMER)) is None


def test_nobody_answering_is_tried_again(hotline, line):
    job_id = add_job(hotline)
    with unit_of_work(hotline.sessions) as session:
        job = session.get(CallbackJob, job_id)
        moment, number = job.due_at + timedelta(minutes=1), job.phone
    line.simulator.callee_for(number, ScriptedCaller([]), outcome="no-answer")
    place_due_callbacks(hotline, Pacer(1000), now=lambda: moment)
    line.simulator.run_pending_calls()
    job = job_of(hotline, job_id)
    assert (job.status, job.attempts, job.last_outcome) == ("queued", 1, "no-answer")
    assert response_of(hotline, job_id) is None


def test_a_failure_inside_a_step_ends_politely_and_keeps_earlier_answers(hotline, line, monkeypatch):
    from ivr.surveys import responses as survey

    job_id = add_job(hotline)
    real = survey.save_answer

    def failing(session, job, sid, question, value):  # type: ignore[no-untyped-def]
        if question.field == "ability":
            raise RuntimeError("database went away")
        return real(session, job, sid, question, value)

    monkeypatch.setattr(survey, "save_answer", failing)
    result = ring(hotline, line, job_id, ["1", "7", "8", "1", "1", "#"])
    assert "抱歉，系统暂时出现故障，我们改天再联系您" in result.spoken()
    assert response_of(hotline, job_id).attitude == 7
    assert job_of(hotline, job_id).status == "partial"


def test_unknown_jobs_and_unsigned_requests(app, hotline, twilio):
    start = f"{PUBLIC_BASE_URL}/voice/survey/start?j=999"
    answer = twilio.post(start, {"CallSid": "CAx", "AnsweredBy": "human"})
    assert answer.status_code == 200 and b"<Response" in answer.data and b"<Say" not in answer.data
    step = f"{PUBLIC_BASE_URL}/voice/survey/answer?j=abc&q=zz"
    garbage = twilio.post(step, {"CallSid": "CAx", "Digits": "9"})
    assert garbage.status_code == 200 and b"<Response" in garbage.data
    unsigned = app.test_client().post("/voice/survey/start?j=1", data={"CallSid": "CAx"})
    assert unsigned.status_code == 403


def test_a_try_whose_end_was_never_reported_is_settled_from_the_answers(hotline, line, twilio):
    from ivr.surveys.responses import close_lost_tries

    job_id = add_job(hotline)
    with unit_of_work(hotline.sessions) as session:
        moment = session.get(CallbackJob, job_id).due_at + timedelta(minutes=1)
    (sid,) = place_due_callbacks(hotline, Pacer(1000), now=lambda: moment).placed
    base = f"{PUBLIC_BASE_URL}/voice/survey"
    twilio.post(f"{base}/start?j={job_id}", {"AnsweredBy": "human"}, call_sid=sid)
    twilio.post(f"{base}/answer?j={job_id}&q=0&t=0&l=zh-CN", {"Digits": "1"}, call_sid=sid)
    twilio.post(f"{base}/answer?j={job_id}&q=1&t=0&l=zh-CN", {"Digits": "3"}, call_sid=sid)
    # The status callback never came (the database was away): the job is still dialling.
    assert job_of(hotline, job_id).status == "dialling"
    rules = calling_rules(hotline.settings)
    with unit_of_work(hotline.sessions) as session:
        assert close_lost_tries(session, rules, moment + timedelta(minutes=30)) == 0  # not lost yet
        assert close_lost_tries(session, rules, moment + timedelta(hours=3)) == 1
    assert job_of(hotline, job_id).status == "partial"
    assert cases(hotline) == [("attitude 3", "open")]
    # A late status callback, or a repeated one, changes nothing.
    twilio.post(f"{base}/status?j={job_id}", {"CallStatus": "completed"}, call_sid=sid)
    assert job_of(hotline, job_id).status == "partial"


def test_a_repeated_start_webhook_keeps_one_response(hotline, line, twilio):
    job_id = add_job(hotline)
    with unit_of_work(hotline.sessions) as session:
        moment = session.get(CallbackJob, job_id).due_at + timedelta(minutes=1)
    (sid,) = place_due_callbacks(hotline, Pacer(1000), now=lambda: moment).placed
    for _ in range(2):
        answer = twilio.post(
            f"{PUBLIC_BASE_URL}/voice/survey/start?j={job_id}", {"AnsweredBy": "human"}, call_sid=sid
        )
        assert "开始请按1".encode() in answer.data
    with unit_of_work(hotline.sessions) as session:
        assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
