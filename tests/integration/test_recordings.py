"""Recordings: the callback's row, failed and absent recordings, playback rights and log, the append-only
guard, and retention."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update

from ivr.config import load_settings
from ivr.db.models import (
    Agent,
    AuditItem,
    AuditSample,
    Call,
    CallEvent,
    PlaybackLog,
    Recording,
    User,
    utcnow,
)
from ivr.db.retention import retention_cutoff
from ivr.db.session import unit_of_work
from ivr.events.store import new_event
from ivr.jobs.scheduler import build_scheduler
from ivr.jobs.tasks import note_absent_recordings, remove_expired
from ivr.people.user_admin import create_user
from ivr.quality.recordings import (
    ABSENT_AFTER,
    AppendOnlyError,
    audio_path,
    removal_connection,
)
from ivr.telephony.base import TelephonyError
from tests.helpers import count, new_call_sid

PASSWORD = "correct horse battery"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)


class FakeTelephony:
    """Serves recordings by sid and counts the downloads (the real adapters are tested elsewhere)."""

    def __init__(self, audio: dict[str, bytes]):
        self.audio = audio
        self.fetched: list[str] = []

    def fetch_recording(self, recording_sid: str) -> bytes:
        self.fetched.append(recording_sid)
        if recording_sid not in self.audio:
            raise TelephonyError(f"recording {recording_sid} not found", status=404, code=20404)
        return self.audio[recording_sid]


@pytest.fixture
def recordings_dir(hotline, monkeypatch, tmp_path):
    path = tmp_path / "recordings"
    monkeypatch.setattr(hotline, "settings", hotline.settings.with_overrides(recordings_dir=path))
    return path


def agent_id(hotline, identity):
    with hotline.sessions() as session:
        return session.scalar(select(Agent.id).where(Agent.client_identity == identity))


def new_recording_sid() -> str:
    return "RE" + new_call_sid()[2:]


def start_call(twilio) -> str:
    sid = new_call_sid()
    assert twilio.post("/voice/incoming", call_sid=sid).status_code == 200
    return sid


def recording_callback(twilio, call_sid, agent, **params):
    form = {
        "RecordingSid": new_recording_sid(),
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0",
        "RecordingStatus": "completed",
        "RecordingDuration": "42",
        "RecordingChannels": "2",
        **params,
    }
    response = twilio.post(f"/voice/recording?e=1&a={agent}&l=zh-CN", form, call_sid=call_sid)
    assert response.status_code == 200
    return form


def recordings_of(hotline, call_sid):
    with hotline.sessions() as session:
        return session.scalars(
            select(Recording).where(Recording.call_sid == call_sid).order_by(Recording.id)
        ).all()


def add_recording(hotline, *, agent=None, status="completed", started_at=None, sid=None, error=""):
    call_sid = new_call_sid()
    with unit_of_work(hotline.sessions) as session:
        recording = Recording(
            recording_sid=sid if sid is not None else (new_recording_sid() if status != "absent" else None),
            call_sid=call_sid,
            agent_id=agent,
            url="",
            duration_seconds=30,
            channels=2,
            status=status,
            error=error,
            started_at=started_at or utcnow(),
        )
        session.add(recording)
    return recording


# ---------------------------------------------------------------- the recording callback


def test_the_callback_stores_the_recording_against_the_call_and_the_agent(hotline, twilio):
    chen = agent_id(hotline, "agent-chenjing")
    call_sid = start_call(twilio)
    sent = recording_callback(twilio, call_sid, chen)
    [recording] = recordings_of(hotline, call_sid)
    assert recording.recording_sid == sent["RecordingSid"] and recording.url == sent["RecordingUrl"]
    assert (recording.duration_seconds, recording.channels, recording.status) == (42, 2, "completed")
    assert recording.agent_id == chen and recording.error == ""
    with hotline.sessions() as session:
        started = session.scalar(select(Call.started_at).where(Call.call_sid == call_sid))
    assert recording.started_at == started, "the call's start, not the callback's arrival"


def test_a_repeated_callback_keeps_one_row(hotline, twilio):
    chen = agent_id(hotline, "agent-chenjing")
    call_sid = start_call(twilio)
    sent = recording_callback(twilio, call_sid, chen)
    recording_callback(twilio, call_sid, chen, **sent)  # Twilio's retry: the same request
    recording_callback(twilio, call_sid, chen, **sent, RecordingStartTime="later")  # another event, same sid
    assert len(recordings_of(hotline, call_sid)) == 1
    with hotline.sessions() as session:
        assert count(session, CallEvent, CallEvent.call_sid == call_sid, CallEvent.kind == "recording") == 2


def test_a_spooled_callback_is_replayed_into_the_same_row(hotline, twilio):
    chen = agent_id(hotline, "agent-chenjing")
    call_sid = start_call(twilio)
    data = {
        "RecordingSid": new_recording_sid(),
        "RecordingUrl": "https://api.twilio.com/r",
        "RecordingStatus": "completed",
        "RecordingDuration": "9",
        "RecordingChannels": "2",
        "agent_id": str(chen),
    }
    # kept while the database was away, then spooled again by a second worker under another key
    hotline.spool.put([new_event(call_sid, "recording", "k-first", data)])
    hotline.spool.put([new_event(call_sid, "recording", "k-second", data)])
    assert hotline.spool.replay(hotline.sessions) == 2
    [recording] = recordings_of(hotline, call_sid)
    assert recording.recording_sid == data["RecordingSid"] and recording.agent_id == chen


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        ("failed", "13617", "Twilio reported the recording failed (error 13617)"),
        ("absent", "", "Twilio recorded no audio"),
    ],
)
def test_failed_and_absent_recordings_are_kept_with_the_error(hotline, twilio, status, code, error):
    call_sid = start_call(twilio)
    recording_callback(
        twilio, call_sid, agent_id(hotline, "agent-chenjing"), RecordingStatus=status, ErrorCode=code
    )
    [recording] = recordings_of(hotline, call_sid)
    assert (recording.status, recording.error) == (status, error)


def test_an_in_progress_notice_waits_for_the_final_callback(hotline, twilio):
    call_sid = start_call(twilio)
    recording_callback(twilio, call_sid, agent_id(hotline, "agent-chenjing"), RecordingStatus="in-progress")
    assert recordings_of(hotline, call_sid) == []


def test_an_unknown_agent_in_the_url_does_not_lose_the_recording(hotline, twilio):
    call_sid = start_call(twilio)
    recording_callback(twilio, call_sid, 99999)
    [recording] = recordings_of(hotline, call_sid)
    assert recording.agent_id is None and recording.status == "completed"


# ---------------------------------------------------------------- absent: no callback at all


def answered_agent_call(twilio, agent, status="completed", duration="65"):
    call_sid = start_call(twilio)
    form = {"DialCallStatus": status, "DialCallDuration": duration}
    assert (
        twilio.post(f"/voice/agent-result?e=&a={agent}&l=zh-CN", form, call_sid=call_sid).status_code == 200
    )
    return call_sid


def test_an_answered_call_without_a_recording_callback_is_recorded_as_absent(hotline, twilio):
    chen = agent_id(hotline, "agent-chenjing")
    call_sid = answered_agent_call(twilio, chen)
    missed = answered_agent_call(twilio, chen, status="no-answer", duration="")
    recorded = answered_agent_call(twilio, chen)
    recording_callback(twilio, recorded, chen)
    now = utcnow()

    assert note_absent_recordings(hotline, now) == 0, "too early: Twilio may still be processing it"
    assert note_absent_recordings(hotline, now + ABSENT_AFTER + timedelta(minutes=1)) == 1
    [absent] = recordings_of(hotline, call_sid)
    assert (absent.status, absent.recording_sid, absent.agent_id) == ("absent", None, chen)
    assert absent.duration_seconds == 65 and "no recording callback" in absent.error
    assert recordings_of(hotline, missed) == [], "nobody answered: nothing was to be recorded"
    assert len(recordings_of(hotline, recorded)) == 1
    assert note_absent_recordings(hotline, now + ABSENT_AFTER * 2) == 0, "noted once"


def test_absent_is_not_decided_while_callbacks_wait_in_the_spool(hotline, twilio):
    answered_agent_call(twilio, agent_id(hotline, "agent-chenjing"))
    hotline.spool.put([new_event(new_call_sid(), "call.started", "k-waiting", {"menu_version": 1})])
    assert note_absent_recordings(hotline, utcnow() + ABSENT_AFTER * 2) == 0


# ---------------------------------------------------------------- playback


@pytest.fixture
def users(hotline, app):
    """Signed-in test clients by role: quality, supervisor, admin, shift_lead, the agents chen and li."""
    app.config["SECRET_KEY"] = "test-secret-key"
    agents = {"chen": agent_id(hotline, "agent-chenjing"), "other": _another_agent(hotline)}
    people = {
        "quality": None,
        "supervisor": None,
        "admin": None,
        "shift_lead": None,
        "chen": agents["chen"],
        "other": agents["other"],
    }
    clients = {}
    with unit_of_work(hotline.sessions) as session:
        for name, linked in people.items():
            role = "agent" if linked else name
            create_user(session, username=name, role=role, password=PASSWORD, agent_id=linked)
    for name in people:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)
        form = {"username": name, "password": PASSWORD, "csrf_token": csrf}
        assert client.post("/login", data=form).status_code == 302
        clients[name] = client
    return clients


def play(client, recording_id):
    """GET the audio; the response is read and closed (a streamed file stays open otherwise)."""
    with client.get(f"/recordings/{recording_id}/audio") as response:
        response.get_data()
        return response


def _another_agent(hotline):
    with hotline.sessions() as session:
        return session.scalar(
            select(Agent.id).where(Agent.client_identity != "agent-chenjing").order_by(Agent.id).limit(1)
        )


def playbacks(hotline):
    with hotline.sessions() as session:
        return session.execute(
            select(User.username, PlaybackLog.call_sid, PlaybackLog.recording_id, PlaybackLog.at)
            .join(User, User.id == PlaybackLog.user_id)
            .order_by(PlaybackLog.id)
        ).all()


def test_quality_hears_any_recording_fetched_once_and_every_playback_is_logged(
    hotline, users, recordings_dir
):
    recording = add_recording(hotline, agent=agent_id(hotline, "agent-chenjing"))
    telephony = hotline.telephony = FakeTelephony({recording.recording_sid: WAV})
    before = utcnow()
    for name in ("quality", "supervisor", "admin", "chen"):
        response = play(users[name], recording.id)
        assert response.status_code == 200, (name, response.status_code)
        assert response.mimetype == "audio/wav" and response.get_data() == WAV
        assert "no-store" in response.headers["Cache-Control"]
    assert telephony.fetched == [recording.recording_sid], "fetched once, then served from the local copy"
    assert audio_path(hotline.settings, recording.recording_sid).read_bytes() == WAV
    logged = playbacks(hotline)
    assert [row.username for row in logged] == ["quality", "supervisor", "admin", "chen"]
    assert {(row.call_sid, row.recording_id) for row in logged} == {(recording.call_sid, recording.id)}
    assert all(row.at >= before - timedelta(seconds=1) for row in logged)


def test_an_agent_cannot_hear_another_agents_call_nor_a_shift_lead_any(hotline, users, recordings_dir):
    recording = add_recording(hotline, agent=agent_id(hotline, "agent-chenjing"))
    unassigned = add_recording(hotline, agent=None)
    hotline.telephony = FakeTelephony({recording.recording_sid: WAV, unassigned.recording_sid: WAV})
    refused = play(users["other"], recording.id)
    assert refused.status_code == 403 and "recordings of their calls" in refused.get_data(as_text=True)
    assert play(users["chen"], unassigned.id).status_code == 403
    assert play(users["shift_lead"], recording.id).status_code == 403
    anonymous = users["quality"].application.test_client().get(f"/recordings/{recording.id}/audio")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert playbacks(hotline) == [], "a refused request is not a playback"
    assert not recordings_dir.exists() or not any(recordings_dir.iterdir()), "nothing fetched for them"


def test_missing_failed_and_absent_recordings_are_404_with_a_message(hotline, users, recordings_dir):
    hotline.telephony = FakeTelephony({})
    failed = add_recording(
        hotline, status="failed", error="Twilio reported the recording failed (error 13617)"
    )
    absent = add_recording(hotline, status="absent", error="no recording callback within 15 minutes")
    client = users["quality"]
    missing = play(client, 999999)
    assert missing.status_code == 404 and "There is no recording 999999" in missing.get_data(as_text=True)
    for recording, words in ((failed, "error 13617"), (absent, "no recording callback")):
        response = play(client, recording.id)
        body = response.get_data(as_text=True)
        assert response.status_code == 404 and "no recording to play" in body and words in body
    assert playbacks(hotline) == []


def test_audio_the_provider_cannot_deliver_is_503_and_not_logged(hotline, users, recordings_dir):
    recording = add_recording(hotline)
    hotline.telephony = FakeTelephony({})  # the provider no longer has it
    response = play(users["quality"], recording.id)
    assert response.status_code == 503 and "cannot be fetched" in response.get_data(as_text=True)
    hotline.telephony = None
    assert play(users["quality"], recording.id).status_code == 503
    assert playbacks(hotline) == []


def test_a_local_copy_is_served_without_asking_the_provider(hotline, users, recordings_dir):
    recording = add_recording(hotline)
    recordings_dir.mkdir()
    audio_path(hotline.settings, recording.recording_sid).write_bytes(WAV)
    hotline.telephony = None
    response = play(users["quality"], recording.id)
    assert response.status_code == 200 and response.get_data() == WAV
    assert len(playbacks(hotline)) == 1


# ---------------------------------------------------------------- append-only


def test_deleting_a_recording_is_refused_with_a_clear_error(hotline):
    recording = add_recording(hotline)
    with hotline.sessions() as session, pytest.raises(AppendOnlyError) as refused:
        session.delete(session.get(Recording, recording.id))
        session.commit()
    message = str(refused.value)
    assert "refused: DELETE FROM recordings" in message and "append-only" in message
    assert "retention" in message
    with hotline.sessions() as session:
        assert session.get(Recording, recording.id) is not None


@pytest.mark.parametrize(
    "statement",
    [
        delete(Call),
        delete(CallEvent).where(CallEvent.kind == "menu.turn"),
        delete(Recording),
        delete(PlaybackLog),
        update(CallEvent).values(kind="altered"),
        update(Recording).values(status="completed"),
    ],
    ids=[
        "delete-calls",
        "delete-events",
        "delete-recordings",
        "delete-playbacks",
        "alter-event",
        "alter-rec",
    ],
)
def test_bulk_and_core_deletes_and_alterations_are_refused(hotline, twilio, statement):
    start_call(twilio)
    with hotline.sessions() as session, pytest.raises(AppendOnlyError):
        session.execute(statement)
    with hotline.engine.connect() as connection, pytest.raises(AppendOnlyError):
        connection.execute(statement)  # the projections' way: Core on a Connection


def test_altering_a_loaded_recording_is_refused(hotline):
    recording = add_recording(hotline, status="failed", error="Twilio reported the recording failed")
    with hotline.sessions() as session, pytest.raises(AppendOnlyError, match="UPDATE recordings"):
        session.get(Recording, recording.id).status = "completed"
        session.commit()


def test_the_call_record_is_still_written_while_the_call_lives(hotline, twilio):
    call_sid = start_call(twilio)
    with unit_of_work(hotline.sessions) as session:
        session.execute(update(Call).where(Call.call_sid == call_sid).values(outcome="answered"))
    with hotline.sessions() as session:
        assert session.scalar(select(Call.outcome).where(Call.call_sid == call_sid)) == "answered"


def test_only_the_removal_connection_passes_and_its_permission_does_not_leak(hotline):
    recording = add_recording(hotline)
    with removal_connection(hotline.engine) as connection, connection.begin():
        connection.execute(delete(Recording).where(Recording.id == recording.id))
    again = add_recording(hotline)
    for _ in range(3):  # pooled connections come back without the permission
        with hotline.sessions() as session, pytest.raises(AppendOnlyError):
            session.execute(delete(Recording).where(Recording.id == again.id))


# ---------------------------------------------------------------- retention


def old_and_young(hotline, recordings_dir, *, old_days=800, young_days=100):
    """A call with events, a recording (with its local file) and a playback, at each age."""
    made = {}
    with unit_of_work(hotline.sessions) as session:
        user, _ = create_user(session, username="auditor", role="quality", password=PASSWORD)
        for name, days in (("old", old_days), ("young", young_days)):
            at = utcnow() - timedelta(days=days)
            call_sid = new_call_sid()
            session.add(Call(call_sid=call_sid, started_at=at, from_number="+8613800000001"))
            session.add(
                CallEvent(key=f"k-{call_sid}", call_sid=call_sid, kind="call.started", at=at, data={})
            )
            recording = Recording(
                recording_sid=new_recording_sid(), call_sid=call_sid, status="completed", started_at=at
            )
            session.add(recording)
            session.flush()
            session.add(PlaybackLog(recording_id=recording.id, user_id=user.id, call_sid=call_sid, at=at))
            made[name] = (call_sid, recording.id, recording.recording_sid)
    recordings_dir.mkdir(exist_ok=True)
    for _, _, sid in made.values():
        audio_path(hotline.settings, sid).write_bytes(WAV)
    return made


def left(hotline, call_sid):
    with hotline.sessions() as session:
        return (
            count(session, Call, Call.call_sid == call_sid),
            count(session, CallEvent, CallEvent.call_sid == call_sid),
            count(session, Recording, Recording.call_sid == call_sid),
            count(session, PlaybackLog, PlaybackLog.call_sid == call_sid),
        )


def test_retention_removes_only_what_is_older_than_retention_days(hotline, recordings_dir, caplog):
    made = old_and_young(hotline, recordings_dir)
    with caplog.at_level(logging.INFO, logger="ivr.db.retention"):
        removed = remove_expired(hotline)
    assert (removed.recordings, removed.files, removed.playbacks, removed.calls, removed.events) == (
        1,
        1,
        1,
        1,
        1,
    )
    old_sid, _, old_file = made["old"]
    young_sid, _, young_file = made["young"]
    assert left(hotline, old_sid) == (0, 0, 0, 0)
    assert left(hotline, young_sid) == (1, 1, 1, 1)
    assert not audio_path(hotline.settings, old_file).exists()
    assert audio_path(hotline.settings, young_file).exists()
    logged = caplog.text
    assert "removed 1 recordings (1 local files, 0 deleted at Twilio), 1 playback log rows" in logged
    assert "1 call records, 1 call events" in logged
    assert old_file in logged and young_file not in logged
    assert remove_expired(hotline).recordings == 0, "nothing left to remove"


def test_retention_never_goes_under_730_days(hotline, recordings_dir, monkeypatch):
    made = old_and_young(hotline, recordings_dir, old_days=729, young_days=100)
    monkeypatch.setattr(hotline, "settings", hotline.settings.with_overrides(retention_days=30))
    removed = remove_expired(hotline)
    assert (removed.recordings, removed.calls, removed.events) == (0, 0, 0)
    assert left(hotline, made["old"][0]) == (1, 1, 1, 1)
    now = utcnow()
    assert retention_cutoff(hotline.settings, now) == now - timedelta(days=730)


def test_the_settings_floor_is_730_days(monkeypatch):
    monkeypatch.setenv("IVR_RETENTION_DAYS", "30")
    assert load_settings().retention_days == 730
    monkeypatch.setenv("IVR_RETENTION_DAYS", "1000")
    assert load_settings().retention_days == 1000


def test_retention_keeps_an_old_recording_in_a_quality_audit_with_its_call(hotline, recordings_dir):
    made = old_and_young(hotline, recordings_dir)
    call_sid, recording_id, _ = made["old"]
    with unit_of_work(hotline.sessions) as session:
        sample = AuditSample(
            day=(utcnow() - timedelta(days=801)).date(), seed=1, rate=0.1, recorded_calls=1, sampled_calls=1
        )
        session.add(sample)
        session.flush()
        session.add(AuditItem(sample_id=sample.id, recording_id=recording_id, call_sid=call_sid))
    removed = remove_expired(hotline)
    assert removed.kept_for_audit == 1 and removed.recordings == 0 and removed.calls == 0
    assert left(hotline, call_sid) == (1, 1, 1, 1)


def test_retention_lifts_the_webhooks_statement_limit_only_inside_its_transactions(hotline, recordings_dir):
    if hotline.engine.dialect.name != "postgresql":
        pytest.skip("the statement limit is PostgreSQL's")
    old_and_young(hotline, recordings_dir)
    remove_expired(hotline)
    with hotline.engine.connect() as connection:
        assert connection.scalar(text("SHOW statement_timeout")) == "3s"


def test_the_recording_jobs_are_scheduled(hotline):
    scheduler = build_scheduler(hotline)
    assert scheduler.get_job("note_absent_recordings") is not None
    assert "hour='3'" in str(scheduler.get_job("remove_expired_records").trigger)
