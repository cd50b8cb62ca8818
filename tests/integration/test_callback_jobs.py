"""Call-back jobs: made from the selection, claimed once, paced, retried, finished, safe across restarts."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from ivr.db.models import CallbackAttempt, CallbackCandidate, CallbackJob, ServiceCompletion
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import place_due_callbacks
from ivr.surveys.attempts import attempt_finished
from ivr.surveys.jobs import (
    Pacer,
    calling_rules,
    claim_next,
    create_jobs,
    stale_claims,
)
from ivr.telephony.base import PlacedCall, TelephonyError
from run import cli

COMPLETED = datetime(2026, 3, 4, 7, 30)  # 15:30 Shanghai
DUE = datetime(2026, 3, 7, 1, 0)  # day 3, 09:00 Shanghai
LATEST = datetime(2026, 3, 9, 12, 0)  # day 5, 20:00 Shanghai
NOW = datetime(2026, 3, 7, 2, 0)  # 10:00 Shanghai on day 3


class RecordingTelephony:
    """A Telephony double that records every call placed (and when, by the pacer's clock)."""

    def __init__(self, clock=None, fail_for=()):  # type: ignore[no-untyped-def]
        self.calls: list[dict[str, object]] = []
        self.clock = clock
        self.fail_for = set(fail_for)
        self.placed_at = NOW  # when the provider says it accepted each call (naive UTC)
        self._lock = threading.Lock()

    def redirect_call(self, call_sid: str, url: str) -> None:
        raise TelephonyError("not used")

    def create_call(self, *, to, from_, url, status_callback=None, machine_detection=False):  # type: ignore[no-untyped-def]
        if to in self.fail_for:
            raise TelephonyError("invalid number", status=400, code=21211)
        with self._lock:
            sid = f"CA{uuid.uuid4().hex}"
            self.calls.append(
                {
                    "sid": sid,
                    "to": to,
                    "from": from_,
                    "url": url,
                    "status_callback": status_callback,
                    "machine_detection": machine_detection,
                    "at": self.clock() if self.clock else None,
                }
            )
        return sid

    def calls_placed(self, *, to, since):  # type: ignore[no-untyped-def]
        with self._lock:
            mine = [call for call in self.calls if call["to"] == to and self.placed_at >= since]
        return [PlacedCall(str(call["sid"]), "queued", self.placed_at) for call in mine]

    def fetch_recording(self, recording_sid: str) -> bytes:
        return b""


def with_telephony(hotline, telephony):  # type: ignore[no-untyped-def]
    return dataclasses.replace(hotline, telephony=telephony)


def add_selected(hotline, count, *, completed_at=COMPLETED, selected=True, start=0):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        for n in range(start, start + count):
            completion = ServiceCompletion(
                source="field",
                external_id=f"WO-{n}",
                service_type="paid_repair",
                completed_at=completed_at,
                customer_phone=f"1380000{n:04d}",
                customer_language="zh-CN",
                employee="王师傅",
            )
            session.add(completion)
            session.flush()
            session.add(
                CallbackCandidate(
                    completion_id=completion.id,
                    month="2026-03",
                    selected=selected,
                    exclusion_reason=None if selected else "not_sampled",
                    policy_version=0,
                )
            )


def make_jobs(hotline, now=NOW):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        return create_jobs(session, calling_rules(hotline.settings), now)


def jobs(hotline):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        return list(session.scalars(select(CallbackJob).order_by(CallbackJob.id)))


def fast_pacer() -> Pacer:
    return Pacer(10_000)


def test_jobs_are_made_once_from_the_selected_candidates(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 3)
    add_selected(hotline, 2, selected=False, start=10)
    report = make_jobs(hotline)
    assert (report.created, report.expired) == (3, 0)
    assert make_jobs(hotline).created == 0  # again: nothing new
    add_selected(hotline, 1, start=20)
    assert make_jobs(hotline).created == 1
    rows = jobs(hotline)
    assert len(rows) == 4
    first = rows[0]
    assert (first.phone, first.language, first.status, first.attempts) == (
        "+8613800000000",
        "zh-CN",
        "queued",
        0,
    )
    assert (first.due_at, first.latest_at) == (DUE, LATEST)


def test_jobs_whose_days_are_holidays_or_over_are_made_expired(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 1)  # due 03-07..03-09
    add_selected(hotline, 1, completed_at=datetime(2026, 2, 1, 2, 0), start=1)  # over by NOW
    holidays = hotline.settings.with_overrides(
        callback_holidays=(date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9))
    )
    report = make_jobs(dataclasses.replace(hotline, settings=holidays))
    assert (report.created, report.expired) == (2, 2)
    assert [job.last_outcome for job in jobs(hotline)] == ["holidays on days 3 to 5", "over before the draw"]


def test_due_calls_are_placed_with_machine_detection_and_recorded(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 2)
    add_selected(hotline, 1, completed_at=COMPLETED + timedelta(days=1), start=5)  # due tomorrow
    make_jobs(hotline)
    phone = RecordingTelephony()
    report = place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: NOW)
    assert len(report.placed) == 2 == len(phone.calls)
    ids = [job.id for job in jobs(hotline)]
    call = phone.calls[0]
    assert call["to"] == "+8613800000000" and call["from"] == hotline.settings.hotline_number
    assert call["url"] == f"{hotline.settings.public_base_url}/voice/survey/start?j={ids[0]}"
    assert call["status_callback"] == f"{hotline.settings.public_base_url}/voice/survey/status?j={ids[0]}"
    assert call["machine_detection"] is True
    assert [(job.status, job.attempts) for job in jobs(hotline)] == [
        ("dialling", 1),
        ("dialling", 1),
        ("queued", 0),
    ]
    with unit_of_work(hotline.sessions) as session:
        assert session.scalars(select(CallbackAttempt.call_sid).order_by(CallbackAttempt.id)).all() == [
            c["sid"] for c in phone.calls
        ]
    # Nothing more is due: a second run places nothing.
    assert place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: NOW).placed == []


def test_nothing_is_placed_outside_the_window_or_on_a_holiday(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 1)
    make_jobs(hotline)
    phone = RecordingTelephony()
    evening = datetime(2026, 3, 7, 12, 30)  # 20:30 Shanghai
    assert place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: evening).placed == []
    holiday = hotline.settings.with_overrides(callback_holidays=(date(2026, 3, 7),))
    on_holiday = dataclasses.replace(hotline, settings=holiday, telephony=phone)
    assert place_due_callbacks(on_holiday, fast_pacer(), now=lambda: NOW).placed == []
    assert phone.calls == []
    assert len(place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: NOW).placed) == 1


def test_two_dispatchers_place_each_call_once(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 30)
    make_jobs(hotline)
    phone = RecordingTelephony()
    target = with_telephony(hotline, phone)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            place_due_callbacks(target, Pacer(2000), now=lambda: NOW, limit=100)
        except BaseException as error:  # pragma: no cover - shown by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    called = [call["to"] for call in phone.calls]
    assert len(called) == 30 == len(set(called))
    assert {(job.status, job.attempts) for job in jobs(hotline)} == {("dialling", 1)}


def test_placements_keep_to_the_calls_per_second_limit_across_runs(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 10)
    make_jobs(hotline)
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    phone = RecordingTelephony(clock=lambda: clock[0])
    pacer = Pacer(2, clock=lambda: clock[0], sleep=sleep)
    target = with_telephony(hotline, phone)
    assert len(place_due_callbacks(target, pacer, now=lambda: NOW, limit=5).placed) == 5
    clock[0] += 0.1  # the next run starts at once
    assert len(place_due_callbacks(target, pacer, now=lambda: NOW, limit=5).placed) == 5
    moments = [float(call["at"]) for call in phone.calls]  # type: ignore[arg-type]
    assert all(later - earlier >= 0.5 for earlier, later in zip(moments, moments[1:], strict=False))


def test_the_real_clock_pacing_at_a_small_limit(hotline):  # type: ignore[no-untyped-def]
    import time

    add_selected(hotline, 3)
    make_jobs(hotline)
    phone = RecordingTelephony(clock=time.monotonic)
    place_due_callbacks(with_telephony(hotline, phone), Pacer(10), now=lambda: NOW)
    moments = [float(call["at"]) for call in phone.calls]  # type: ignore[arg-type]
    assert len(moments) == 3 and all(b - a >= 0.099 for a, b in zip(moments, moments[1:], strict=False))


def placed_job(hotline, count=1):  # type: ignore[no-untyped-def]
    add_selected(hotline, count)
    make_jobs(hotline)
    phone = RecordingTelephony()
    place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: NOW)
    return jobs(hotline)[0].id, phone


def finish(hotline, job_id, outcome, answered_by="human", at=NOW, call_sid=None):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        job = attempt_finished(
            session,
            job_id,
            outcome,
            answered_by,
            rules=calling_rules(hotline.settings),
            now=at,
            call_sid=call_sid,
        )
        return None if job is None else (job.status, job.attempts, job.due_at, job.last_outcome)


@pytest.mark.parametrize("outcome", ["completed", "partial", "refused"])
def test_an_answered_call_keeps_its_final_outcome(hotline, outcome):  # type: ignore[no-untyped-def]
    job_id, _ = placed_job(hotline)
    status, attempts, _, last = finish(hotline, job_id, outcome, at=NOW + timedelta(minutes=3))
    assert (status, attempts, last) == (outcome, 1, outcome)
    assert finish(hotline, job_id, "no-answer") is None  # a repeated / late webhook changes nothing
    assert jobs(hotline)[0].status == outcome


def test_no_answer_busy_and_machines_are_tried_twice_more_then_unreachable(hotline):  # type: ignore[no-untyped-def]
    job_id, phone = placed_job(hotline)
    target = with_telephony(hotline, phone)
    first_end = NOW + timedelta(minutes=1)
    status, attempts, due, _ = finish(hotline, job_id, "no-answer", None, at=first_end)
    assert (status, attempts, due) == ("queued", 1, first_end + timedelta(hours=2))
    # Not yet due: nothing placed an hour later.
    assert place_due_callbacks(target, fast_pacer(), now=lambda: first_end + timedelta(hours=1)).placed == []
    second = due
    assert len(place_due_callbacks(target, fast_pacer(), now=lambda: second).placed) == 1
    # 12:01 + 2h -> a machine at 14:01 local; next try 16:02 local.
    status, attempts, due, last = finish(hotline, job_id, "completed", "machine_end_beep", at=second)
    assert (status, attempts, due, last) == (
        "queued",
        2,
        second + timedelta(hours=2),
        "completed (machine_end_beep)",
    )
    third = due
    assert len(place_due_callbacks(target, fast_pacer(), now=lambda: third).placed) == 1
    status, attempts, _, last = finish(hotline, job_id, "busy", None, at=third + timedelta(seconds=20))
    assert (status, attempts, last) == ("unreachable", 3, "busy")
    assert len(phone.calls) == 3
    with unit_of_work(hotline.sessions) as session:
        outcomes = session.execute(
            select(CallbackAttempt.number, CallbackAttempt.outcome).order_by(CallbackAttempt.number)
        ).all()
    assert [tuple(row) for row in outcomes] == [(1, "no-answer"), (2, "completed"), (3, "busy")]


def test_a_retry_goes_to_the_next_window_and_no_time_left_is_unreachable(hotline):  # type: ignore[no-untyped-def]
    job_id, _ = placed_job(hotline)
    evening = datetime(2026, 3, 7, 10, 30)  # 18:30 Shanghai: +2h is after 20:00
    status, _, due, _ = finish(hotline, job_id, "failed", None, at=evening)
    assert (status, due) == ("queued", datetime(2026, 3, 8, 1, 0))  # 09:00 next day
    # On the last day at 18:30 there is no moment left.
    with unit_of_work(hotline.sessions) as session:
        session.execute(
            update(CallbackJob).where(CallbackJob.id == job_id).values(due_at=LATEST - timedelta(hours=3))
        )
    last_day = LATEST - timedelta(hours=2)  # 18:00 local on day 5
    phone = RecordingTelephony()
    assert (
        len(place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: last_day).placed)
        == 1
    )
    status, attempts, _, _ = finish(hotline, job_id, "no-answer", None, at=last_day + timedelta(minutes=30))
    assert (status, attempts) == ("unreachable", 2)


def test_a_queued_job_past_its_last_moment_expires(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 1)
    make_jobs(hotline)
    report = place_due_callbacks(
        with_telephony(hotline, RecordingTelephony()), fast_pacer(), now=lambda: LATEST
    )
    assert (report.expired, report.placed) == (1, [])
    assert jobs(hotline)[0].status == "expired"


def test_a_webhook_of_another_call_is_ignored(hotline):  # type: ignore[no-untyped-def]
    job_id, phone = placed_job(hotline)
    assert finish(hotline, job_id, "completed", call_sid="CAnot-this-one") is None
    assert finish(hotline, job_id, "completed", call_sid=str(phone.calls[0]["sid"]))[0] == "completed"
    with pytest.raises(ValueError, match="outcome"):
        finish(hotline, job_id, "answered")


def test_a_refused_placement_is_queued_again_without_counting_a_try(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 1)
    make_jobs(hotline)
    phone = RecordingTelephony(fail_for={"+8613800000000"})
    report = place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: NOW)
    assert (report.failed, report.placed) == (1, [])
    job = jobs(hotline)[0]
    assert (job.status, job.attempts, job.due_at) == ("queued", 0, NOW + timedelta(hours=2))
    assert job.last_outcome and job.last_outcome.startswith("not placed: invalid number")


def test_a_restart_loses_and_duplicates_nothing(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 2)
    make_jobs(hotline)
    # A dispatcher claims a job and dies before placing the call (no CallSid).
    with hotline.sessions() as session, session.begin():
        lost = claim_next(session, NOW)
    assert lost is not None
    # Another job was placed properly and is waiting for its status webhook.
    phone = RecordingTelephony()
    target = with_telephony(hotline, phone)
    assert len(place_due_callbacks(target, fast_pacer(), now=lambda: NOW).placed) == 1
    minutes = hotline.settings.callback_stale_minutes
    with unit_of_work(hotline.sessions) as session:
        assert stale_claims(session, NOW + timedelta(minutes=minutes - 1), minutes) == []  # too soon
    # The restarted scheduler asks the provider (no call to that number), releases the lost claim, not the
    # call under way, and places it once.
    later = NOW + timedelta(minutes=minutes + 1)
    report = place_due_callbacks(target, fast_pacer(), now=lambda: later)
    assert (report.released, report.adopted, len(report.placed)) == (1, 0, 1)
    assert sorted(str(call["to"]) for call in phone.calls) == ["+8613800000000", "+8613800000001"]
    assert {(job.status, job.attempts) for job in jobs(hotline)} == {("dialling", 1)}
    with unit_of_work(hotline.sessions) as session:
        assert session.scalar(select(func.count()).select_from(CallbackAttempt)) == 2


def test_the_commands_schedule_and_status(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 2)
    result = CliRunner().invoke(cli, ["callbacks", "schedule"], obj=hotline)  # the command's hotline
    assert result.exit_code == 0, result.output
    assert "call-back jobs created: 2" in result.output
    result = CliRunner().invoke(cli, ["callbacks", "status"], obj=hotline)
    assert result.exit_code == 0 and "queued" in result.output


def test_a_call_placed_by_a_placer_that_died_is_adopted_not_placed_again(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 1)
    make_jobs(hotline)
    phone = RecordingTelephony()
    # A placer claims the job, the provider accepts its call, and it dies before keeping the CallSid.
    with hotline.sessions() as session, session.begin():
        lost = claim_next(session, NOW)
    assert lost is not None
    sid = phone.create_call(to=lost.phone, from_="+864000000000", url="https://h/voice/survey/start?j=1")
    later = NOW + timedelta(minutes=hotline.settings.callback_stale_minutes + 1)
    report = place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: later)
    assert (report.released, report.adopted, report.placed) == (0, 1, [])
    assert len(phone.calls) == 1, "the customer is called once"
    (job,) = jobs(hotline)
    assert (job.status, job.attempts) == ("dialling", 1)
    with unit_of_work(hotline.sessions) as session:
        attempts = session.execute(select(CallbackAttempt.call_sid, CallbackAttempt.number)).all()
    assert attempts == [(sid, 1)]
    # Its status webhook now settles the try as any other.
    with unit_of_work(hotline.sessions) as session:
        finished = attempt_finished(
            session, job.id, "no-answer", None, rules=calling_rules(hotline.settings), call_sid=sid, now=later
        )
    assert finished is not None and finished.status == "queued"


def test_a_stale_claim_stays_while_the_provider_cannot_be_asked(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 1)
    make_jobs(hotline)

    class Unreachable(RecordingTelephony):
        def calls_placed(self, *, to, since):  # type: ignore[no-untyped-def]
            raise TelephonyError("connection refused")

    phone = Unreachable()
    with hotline.sessions() as session, session.begin():
        assert claim_next(session, NOW) is not None
    later = NOW + timedelta(minutes=hotline.settings.callback_stale_minutes + 1)
    report = place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: later)
    assert (report.released, report.adopted, report.placed, phone.calls) == (0, 0, [], [])
    assert [job.status for job in jobs(hotline)] == ["dialling"]


def test_an_adopted_call_that_is_over_settles_its_try_at_once(hotline):  # type: ignore[no-untyped-def]
    add_selected(hotline, 1)
    make_jobs(hotline)

    class Ended(RecordingTelephony):
        def calls_placed(self, *, to, since):  # type: ignore[no-untyped-def]
            placed = super().calls_placed(to=to, since=since)
            return [PlacedCall(call.sid, "no-answer", self.placed_at) for call in placed]

    phone = Ended()
    with hotline.sessions() as session, session.begin():
        lost = claim_next(session, NOW)
    assert lost is not None
    phone.create_call(to=lost.phone, from_="+864000000000", url="https://h/voice/survey/start?j=1")
    # Its status callback came while no try was on record (and changed nothing); nobody answered.
    later = NOW + timedelta(minutes=hotline.settings.callback_stale_minutes + 1)
    report = place_due_callbacks(with_telephony(hotline, phone), fast_pacer(), now=lambda: later)
    assert (report.adopted, report.placed, len(phone.calls)) == (1, [], 1)
    (job,) = jobs(hotline)
    assert (job.status, job.attempts, job.last_outcome) == ("queued", 1, "no-answer"), "tried again later"
    assert job.due_at >= later + timedelta(hours=2)
