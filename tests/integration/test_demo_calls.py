"""The demo calls `init-db --demo` writes: the last days' calls through the event projection, yesterday's
answered and recorded (so its audit sample has work), a spread of intents, some abandoned, written once."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ivr.db.models import Call, CallEvent, QueueEntry, Recording, RoutingDecision
from ivr.demo_calls import demo_days, load_demo_calls
from ivr.events.store import call_path
from ivr.jobs.scheduler import build_scheduler
from ivr.jobs.tasks import draw_due_samples
from ivr.setup import init_database
from ivr.telephony.base import TelephonyError
from ivr.telephony.sim_served import ServedSimulator

ZONE = ZoneInfo("Asia/Shanghai")


def _yesterday_bounds() -> tuple[datetime, datetime]:
    today = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    start = (today - timedelta(days=1)).astimezone(UTC).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def _counts(hotline) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Call, CallEvent, QueueEntry, Recording, RoutingDecision)
        }


def test_yesterday_has_answered_recorded_calls_of_every_kind_and_a_second_load_adds_nothing(hotline):
    lines = init_database(hotline, demo=True)
    assert any(line.startswith("demo calls:") for line in lines)
    start, end = _yesterday_bounds()
    with hotline.sessions() as session:
        calls = session.scalars(select(Call).where(Call.started_at >= start, Call.started_at < end)).all()
        recordings = session.scalars(
            select(Recording).where(Recording.started_at >= start, Recording.started_at < end)
        ).all()
        entries = dict(session.execute(select(QueueEntry.call_sid, QueueEntry.status)).all())
        decided = set(session.scalars(select(RoutingDecision.call_sid)))
    assert len(calls) >= 30 and all(c.call_sid.startswith("CAdemo") for c in calls)
    assert {c.intent for c in calls} >= {"billing", "repair", "safety", "complaint"}
    assert any(c.emergency for c in calls if c.intent == "safety")
    answered = [c for c in calls if c.outcome == "answered"]
    abandoned = [c for c in calls if c.outcome == "abandoned"]
    assert answered and abandoned and len(answered) + len(abandoned) == len(calls)
    assert all(c.status == "completed" and c.duration_seconds and c.ended_at for c in calls)
    assert all(entries[c.call_sid] == "done" and c.call_sid in decided for c in answered)
    assert all(entries[c.call_sid] == "abandoned" for c in abandoned)
    # Every answered call recorded by Twilio's callback: both channels, its talk time, its agent.
    assert sorted(r.call_sid for r in recordings) == sorted(c.call_sid for c in answered)
    assert all(r.status == "completed" and r.channels == 2 and r.duration_seconds for r in recordings)
    assert all(r.agent_id and r.recording_sid.startswith("REdemo") for r in recordings)
    with hotline.sessions() as session:
        days = {row.date() for row in session.scalars(select(Call.started_at))}
        paths = {tuple(call_path(session, c.call_sid)) for c in calls if c.language == "zh-CN"}
    assert ("main", "billing", "billing_queue") in paths and ("main", "emergency") in paths
    assert len(days) >= 7  # at least the week before: the history and the reports have figures

    before = _counts(hotline)
    with hotline.sessions() as session:
        assert load_demo_calls(session, hotline.settings) == 0
    init_database(hotline, demo=True)
    assert _counts(hotline) == before


def test_the_sample_of_yesterday_is_drawn_at_start_from_the_demo_calls(hotline):
    init_database(hotline, demo=True)
    job = build_scheduler(hotline).get_job("draw_audit_samples")
    assert job.next_run_time <= datetime.now(ZONE) + timedelta(seconds=1)  # at start, not at 00:30
    reports = draw_due_samples(hotline)
    yesterday = (datetime.now(ZONE) - timedelta(days=1)).date()
    drawn = {r.day: r for r in reports if r.created}
    assert yesterday in drawn and drawn[yesterday].sampled >= 3
    assert drawn[yesterday].recorded >= 25


def test_demo_days_cover_the_month_and_at_least_a_week():
    today = datetime(2026, 12, 2).date()
    days = demo_days(today)
    assert days[0] == datetime(2026, 11, 25).date() and days[-1] == datetime(2026, 12, 1).date()
    assert demo_days(datetime(2026, 12, 20).date())[0] == datetime(2026, 12, 1).date()


@pytest.mark.parametrize(("length", "channels", "seconds"), [((42, 2), 2, 42), ((600, 1), 1, 90)])
def test_the_served_simulator_makes_a_recording_as_long_as_the_call(length, channels, seconds):
    served = ServedSimulator(
        auth_token="token",
        public_base="http://127.0.0.1:5000",
        webhook_base="http://127.0.0.1:5000",
        hotline_number="+864008888888",
        recording_length=lambda sid: length if sid == "REknown" else None,
    )
    audio = served.fetch_recording("REknown")
    with wave.open(io.BytesIO(audio)) as read:
        assert read.getnchannels() == channels and read.getframerate() == 8000
        assert read.getnframes() / read.getframerate() == seconds
        frames = read.readframes(read.getnframes())
    assert any(frames)  # not silence
    assert served.fetch_recording("REknown") == audio  # the same recording, the same audio
    with pytest.raises(TelephonyError) as unknown:
        served.fetch_recording("REunknown")
    assert unknown.value.status == 404
    assert served.find_number("+864008888888").phone_number == "+864008888888"


def test_the_served_hotline_uses_the_simulator_only_without_twilio(hotline):
    from ivr.cli.serving import with_served_simulator
    from ivr.telephony.attached import AttachedPhonesTelephony
    from ivr.telephony.factory import build_telephony
    from ivr.telephony.twilio_rest import TwilioTelephony

    with_served_simulator(hotline)  # IVR_TELEPHONY=simulator, as under `make run`
    assert isinstance(hotline.telephony, ServedSimulator)
    hotline.settings = hotline.settings.with_overrides(simulator_phones=True)
    hotline.telephony = build_telephony(hotline.settings)
    with_served_simulator(hotline)  # terminal phones attach, and the server's own calls are the simulator's
    assert isinstance(hotline.telephony, AttachedPhonesTelephony)
    assert isinstance(hotline.telephony.inner, ServedSimulator)
    hotline.settings = hotline.settings.with_overrides(telephony="twilio", twilio_account_sid="AC" + "1" * 32)
    hotline.telephony = twilio = build_telephony(hotline.settings)
    with_served_simulator(hotline)
    assert hotline.telephony is twilio and isinstance(twilio, TwilioTelephony)
    twilio.close()
