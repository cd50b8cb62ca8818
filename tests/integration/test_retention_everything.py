"""Retention covers everything holding a phone number or a recording (issue 13 point 16): work orders, queue
entries, call-back cases (completion, candidate, job, tries, survey response, follow-up), the playback log
(kept as long as the longer of it and its recording), Twilio's copies of recordings, and private files."""

from __future__ import annotations

import dataclasses
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ivr.db.models import (
    CallbackAttempt,
    CallbackCandidate,
    CallbackJob,
    CallEvent,
    FollowUpCase,
    PlaybackLog,
    ProviderRecordingDeletion,
    QueueEntry,
    Recording,
    ServiceCompletion,
    SurveyResponse,
    WorkOrder,
    utcnow,
)
from ivr.db.session import make_engine, unit_of_work
from ivr.jobs.tasks import local_audio, release_provider_copies, remove_expired
from ivr.people.user_admin import create_user
from ivr.quality.recordings import audio_path
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.simulator import SimClock, Simulator
from ivr.telephony.transport import HttpTransport
from ivr.telephony.twilio_rest import TwilioTelephony
from tests.helpers import new_call_sid

OLD, YOUNG = 900, 100  # days (the retention is 800 days by default)
TOKEN = "retention-auth-token"


def ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def rows(hotline, model, *where) -> int:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_work_orders_go_once_closed_and_old_never_while_open(hotline):
    with unit_of_work(hotline.sessions) as session:
        for number, status, days in (
            ("WO-OLD-DONE", "completed", OLD),
            ("WO-OLD-OPEN", "open", OLD),
            ("WO-OLD-DISP", "dispatched", OLD),
            ("WO-NEW-DONE", "completed", YOUNG),
        ):
            session.add(
                WorkOrder(
                    number=number,
                    kind="fault",
                    status=status,
                    caller_number="+8613800000001",
                    created_at=ago(days),
                    completed_at=ago(days) if status == "completed" else None,
                )
            )
    removed = remove_expired(hotline)
    assert removed.work_orders == 1
    with hotline.sessions() as session:
        left = set(session.scalars(select(WorkOrder.number).where(WorkOrder.number.like("WO-%"))))
    assert left == {"WO-OLD-OPEN", "WO-OLD-DISP", "WO-NEW-DONE"}


def test_queue_entries_go_once_settled_and_old_never_while_owed(hotline):
    with unit_of_work(hotline.sessions) as session:
        for n, (status, days) in enumerate(
            (("done", OLD), ("joined", OLD), ("callback", OLD), ("done", YOUNG))
        ):
            session.add(
                QueueEntry(
                    call_sid=f"CA{n:032d}",
                    queue="general",
                    intent="agent",
                    language="zh-CN",
                    status=status,
                    caller="+8613800000001",
                    callback_number="+8613800000001",
                    waiting_since=ago(days),
                    ended_at=ago(days) if status != "callback" else None,
                )
            )
    removed = remove_expired(hotline)
    assert removed.queue_entries == 2
    with hotline.sessions() as session:
        left = sorted(session.scalars(select(QueueEntry.status)))
    assert left == ["callback", "done"], "an owed call-back stays however old, and a recent entry"


def _case(session, n: int, days: float, *, job_status="completed", follow_up=None):  # type: ignore[no-untyped-def]
    completed = ago(days)
    phone = f"+86138000{n:05d}"
    completion = ServiceCompletion(
        source="field",
        external_id=f"R-{n}",
        service_type="paid_repair",
        completed_at=completed,
        customer_phone=phone,
        customer_language="zh-CN",
        employee="王师傅",
    )
    session.add(completion)
    session.flush()
    candidate = CallbackCandidate(
        completion_id=completion.id, month="2024-01", selected=True, policy_version=0
    )
    session.add(candidate)
    session.flush()
    final = job_status not in ("queued", "dialling")
    job = CallbackJob(
        candidate_id=candidate.id,
        completion_id=completion.id,
        phone=phone,
        language="zh-CN",
        due_at=completed + timedelta(days=3),
        latest_at=completed + timedelta(days=5),
        attempts=1,
        status=job_status,
        finished_at=completed + timedelta(days=3) if final else None,
    )
    session.add(job)
    session.flush()
    called = completed + timedelta(days=3)
    session.add(
        CallbackAttempt(
            job_id=job.id,
            number=1,
            call_sid=f"CA{n:032d}",
            placed_at=called,
            outcome="completed",
            finished_at=called,
        )
    )
    response = SurveyResponse(
        job_id=job.id,
        completion_id=completion.id,
        call_sid=f"CA{n:032d}",
        phone=phone,
        language="zh-CN",
        called_at=called,
        attitude=3,
        ability=4,
        comment_recording_sid=f"RE{n:032d}",
        comment_seconds=5,
    )
    session.add(response)
    session.flush()
    if follow_up:
        closed = follow_up == "closed"
        session.add(
            FollowUpCase(
                response_id=response.id,
                reason="attitude 3",
                status=follow_up,
                closed_at=called if closed else None,
                created_at=called,
            )
        )


def test_a_call_back_case_goes_whole_once_old_and_settled(hotline):
    with unit_of_work(hotline.sessions) as session:
        _case(session, 1, OLD, follow_up="closed")  # goes, with everything hanging off it
        _case(session, 2, OLD, follow_up="open")  # a supervisor still follows it up: kept whole
        _case(session, 3, OLD, job_status="queued")  # still to be called (a stuck job): kept
        _case(session, 4, YOUNG)
    removed = remove_expired(hotline)
    assert removed.completions == 1
    with hotline.sessions() as session:
        assert sorted(session.scalars(select(ServiceCompletion.external_id))) == ["R-2", "R-3", "R-4"]
    for model in (CallbackCandidate, CallbackJob, CallbackAttempt, SurveyResponse):
        assert rows(hotline, model) == 3, model.__name__
    assert rows(hotline, FollowUpCase) == 1
    assert rows(hotline, SurveyResponse, SurveyResponse.phone == "+8613800000001") == 0


def _recording_with_playback(hotline, recording_days: float, playback_days: float) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        user, _ = create_user(session, username=f"q{recording_days}", role="quality", password="p" * 12)
        call_sid = new_call_sid()
        recording = Recording(
            recording_sid="RE" + call_sid[2:],
            call_sid=call_sid,
            status="completed",
            started_at=ago(recording_days),
            channels=2,
        )
        session.add(recording)
        session.flush()
        session.add(
            PlaybackLog(recording_id=recording.id, user_id=user.id, call_sid=call_sid, at=ago(playback_days))
        )
        return recording.id, call_sid


def test_the_playback_log_outlives_its_recording_until_it_is_old_itself(hotline):
    recording_id, call_sid = _recording_with_playback(hotline, OLD, YOUNG)  # listened to 700 days after
    removed = remove_expired(hotline)
    assert (removed.recordings, removed.playbacks) == (1, 0)
    with hotline.sessions() as session:
        kept = session.scalars(select(PlaybackLog)).one()
    assert (kept.recording_id, kept.call_sid) == (None, call_sid), "who listened to which call's recording"
    assert remove_expired(hotline, utcnow() + timedelta(days=OLD - YOUNG + 1)).playbacks == 1
    assert rows(hotline, PlaybackLog) == 0


# ---------------------------------------------------------------- Twilio's copies


def _sim() -> Simulator:
    return Simulator(
        HttpTransport(),
        auth_token=TOKEN,
        voice_url="https://hotline.example/voice",
        clock=SimClock(datetime.now(UTC)),
    )


def _with(hotline, tmp_path, sim, *, delete: bool):  # type: ignore[no-untyped-def]
    settings = hotline.settings.with_overrides(
        recordings_dir=tmp_path / "rec", delete_twilio_recordings=delete
    )
    return dataclasses.replace(hotline, settings=settings, telephony=SimulatorTelephony(sim))


def _stored(hotline, sim, *, audio: bytes | None = None) -> str:  # type: ignore[no-untyped-def]
    sid = sim.store_recording(3, 2)
    if audio is not None:
        sim.recordings[sid] = audio
    with unit_of_work(hotline.sessions) as session:
        session.add(
            Recording(
                recording_sid=sid,
                call_sid=new_call_sid(),
                status="completed",
                channels=2,
                duration_seconds=3,
                started_at=ago(1),
            )
        )
    return sid


def test_twilios_copy_is_deleted_once_the_local_copy_is_verified_when_the_setting_says_so(hotline, tmp_path):
    sim = _sim()
    good = _stored(hotline, sim)
    broken = _stored(hotline, sim, audio=b"RIFF\x00\x00\x00\x00WAVE")  # a truncated download
    assert release_provider_copies(_with(hotline, tmp_path, sim, delete=False)) == 0, "off by default"
    assert set(sim.recordings) == {good, broken}
    target = _with(hotline, tmp_path, sim, delete=True)
    assert release_provider_copies(target) == 1
    assert good not in sim.recordings and broken in sim.recordings, "no verified copy: Twilio's is kept"
    assert audio_path(target.settings, good).stat().st_size > 44
    assert not audio_path(target.settings, broken).exists(), "the bad copy is fetched again next time"
    with hotline.sessions() as session:
        noted = session.scalars(select(ProviderRecordingDeletion)).one()
    assert (noted.recording_sid, noted.reason) == (good, "local-copy-verified") and noted.local_bytes
    assert release_provider_copies(target) == 0, "deleted once"
    assert local_audio(target, good).exists(), "played from the local copy from now on"


def test_the_rest_server_accepts_the_delete_like_twilio():
    sim = _sim()
    sid = sim.store_recording(2, 1)
    with (
        serve_in_thread(create_rest_app(sim)) as base,
        TwilioTelephony(sim.account_sid, TOKEN, base) as twilio,
    ):
        twilio.delete_recording(sid)
        assert sid not in sim.recordings
        twilio.delete_recording(sid)  # already gone (404 at Twilio): no error


def test_retention_deletes_twilios_copies_of_what_it_removes(hotline, tmp_path):
    sim = _sim()
    target = _with(hotline, tmp_path, sim, delete=True)
    sid = sim.store_recording(2, 2)
    comment = sim.store_recording(2, 1)
    message = sim.store_recording(2, 1)  # an after-hours voice message: only its event names it
    with unit_of_work(hotline.sessions) as session:
        call_sid = new_call_sid()
        session.add(Recording(recording_sid=sid, call_sid=call_sid, status="completed", started_at=ago(OLD)))
        session.add(
            CallEvent(
                key="vm", call_sid=call_sid, kind="voicemail", at=ago(OLD), data={"RecordingSid": message}
            )
        )
        _case(session, 9, OLD)
        session.execute(SurveyResponse.__table__.update().values(comment_recording_sid=comment))
    removed = remove_expired(target)
    assert (removed.recordings, removed.events, removed.completions, removed.twilio_copies) == (1, 1, 1, 3)
    assert sim.recordings == {}
    with hotline.sessions() as session:
        noted = set(session.scalars(select(ProviderRecordingDeletion.reason)))
    assert noted == {"retention"}


# ---------------------------------------------------------------- file modes


@pytest.fixture
def loose_umask():  # type: ignore[no-untyped-def]
    previous = os.umask(0o022)  # the usual default: new files 0644, directories 0755
    yield
    os.umask(previous)


def mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_database_and_its_wal_are_the_services_alone(tmp_path, loose_umask):
    path = tmp_path / "instance" / "hotline.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (phone TEXT)")
        connection.exec_driver_sql("INSERT INTO t VALUES ('+8613800000001')")
        wal, shm = path.with_name("hotline.db-wal"), path.with_name("hotline.db-shm")
        assert wal.exists() and shm.exists()
        assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    assert mode(path.parent) == 0o700
    engine.dispose()
    os.chmod(path, 0o644)  # made by an older version
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600, "tightened at start"


def test_the_spool_and_local_recordings_are_the_services_alone(hotline, tmp_path, loose_umask):
    from ivr.events.spool import Spool
    from ivr.events.store import EventRecord

    spool = Spool(tmp_path / "spool")
    spool.put(
        [
            EventRecord(
                call_sid=new_call_sid(),
                key="k",
                kind="call.started",
                at=utcnow().isoformat(),
                data={"from": "+8613800000001"},
            )
        ]
    )
    (spooled,) = spool.pending()
    assert (mode(spool.directory), mode(spooled)) == (0o700, 0o600)
    sim = _sim()
    target = _with(hotline, tmp_path, sim, delete=False)
    path = local_audio(target, sim.store_recording(1, 1))
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)


def test_the_generated_secret_key_is_the_services_alone(tmp_path, loose_umask):
    from ivr.people.secret import stored_secret_key

    stored_secret_key(tmp_path / "instance" / "secret_key")
    assert mode(tmp_path / "instance" / "secret_key") == 0o600
