"""Call recordings: stored from Twilio's recording callbacks, noted when absent, played from a local copy.

This module also holds the append-only guard of calls, call events, recordings and the playback log
(DOMAIN: kept at least 2 years, nobody may delete or alter them). It lives here because the event
projection imports this module, so every process that writes calls has the guard installed.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Engine, Integer, Table, bindparam, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Delete, Update

from ivr.config import Settings
from ivr.db.models import Agent, Call, CallEvent, PlaybackLog, ProviderRecordingDeletion, Recording, utcnow
from ivr.db.session import unit_of_work
from ivr.private_files import open_private, private_dir
from ivr.telephony.base import Telephony, TelephonyError

if TYPE_CHECKING:
    from ivr.events.kinds import RecordingReported

log = logging.getLogger(__name__)

FINAL_STATUSES = ("completed", "failed", "absent")  # Twilio's; "in-progress" is followed by one of these
# Twilio posts the recording callback seconds after the call, minutes for a long one; after this long
# an answered agent call without one is recorded as absent.
ABSENT_AFTER = timedelta(minutes=15)
ABSENT_LOOKBACK = timedelta(days=2)  # how far back the absent check looks (it runs every few minutes)
_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")  # a RecordingSid names a file: nothing else gets through

# ---------------------------------------------------------------- the recording callback, projected

_recordings: Table = Recording.__table__  # type: ignore[assignment]
_INSERTS: dict[str, Any] = {}


def project_recording(connection: Connection, call_sid: str, event: RecordingReported, at: datetime) -> None:
    """Store a final recording callback; a repeated or replayed one finds its row (unique RecordingSid)."""
    status = event.recording_status.strip().lower()
    if status not in FINAL_STATUSES:
        return  # an in-progress notice: the event is kept, the row waits for the final callback
    row = {
        "recording_sid": event.recording_sid[:64] or None,
        "call_sid": call_sid,
        "sid": call_sid,
        "agent": _int(event.agent_id),
        "url": event.recording_url[:500],
        "duration_seconds": _int(event.recording_duration),
        "channels": _int(event.recording_channels),
        "status": status,
        "error": _error(status, event.error_code.strip()),
        "at": at,
        "created_at": utcnow(),
    }
    connection.execute(_insert_statement(connection.dialect.name), row)


def _insert_statement(dialect_name: str) -> Any:
    # Built once per dialect, like the other projections: one INSERT, no read first.
    statement = _INSERTS.get(dialect_name)
    if statement is None:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        # An agent id from the URL that names no agent becomes NULL rather than failing the foreign key
        # (which would lose the event); the call's start is read inside the same statement.
        agent = select(Agent.id).where(Agent.id == bindparam("agent", type_=Integer())).scalar_subquery()
        started = select(Call.started_at).where(Call.call_sid == bindparam("sid")).scalar_subquery()
        at = bindparam("at", type_=DateTime())
        values = {"agent_id": agent, "started_at": func.coalesce(started, at)}
        statement = _INSERTS[dialect_name] = (
            dialect.insert(_recordings).values(**values).on_conflict_do_nothing()
        )
    return statement


def _error(status: str, code: str) -> str:
    if status == "completed":
        return ""
    reason = "Twilio reported the recording failed" if status == "failed" else "Twilio recorded no audio"
    return f"{reason} (error {code[:20]})" if code else reason


# ---------------------------------------------------------------- recordings that never came


def note_absent_recordings(
    now: datetime | None = None, *, sessions: sessionmaker[Session], events_spooled: bool
) -> int:
    """An answered agent call with no recording callback after ABSENT_AFTER gets an `absent` row.
    `events_spooled`: call events wait in the spool (written while the database was away)."""
    if events_spooled:
        return 0  # the missing callback may be waiting in the spool: look again once it is replayed
    now = now or utcnow()
    # Candidates come from calls (started_at is indexed), never from a scan of every event.
    answered = (
        select(CallEvent.call_sid, CallEvent.data, Call.started_at)
        .join(Call, Call.call_sid == CallEvent.call_sid)
        .where(
            Call.started_at >= now - ABSENT_LOOKBACK,
            CallEvent.kind == "agent.result",
            CallEvent.at <= now - ABSENT_AFTER,
            ~select(Recording.id).where(Recording.call_sid == CallEvent.call_sid).exists(),
        )
        .order_by(CallEvent.id)
    )
    noted: set[str] = set()
    with unit_of_work(sessions) as session:
        for call_sid, data, started_at in session.execute(answered).all():
            duration = _int(data.get("duration")) or 0
            if data.get("status") != "completed" or duration <= 0 or call_sid in noted:
                continue
            agent_id = _int(data.get("agent_id"))
            minutes = int(ABSENT_AFTER.total_seconds() // 60)
            session.add(
                Recording(
                    recording_sid=None,
                    call_sid=call_sid,
                    agent_id=agent_id if agent_id and session.get(Agent, agent_id) else None,
                    duration_seconds=duration,
                    status="absent",
                    error=f"no recording callback within {minutes} minutes of the answered agent call",
                    started_at=started_at,
                )
            )
            noted.add(call_sid)
    return len(noted)


# ---------------------------------------------------------------- the audio


class RecordingUnavailable(Exception):
    """The audio cannot be had now: no telephony adapter to fetch it from, or the provider failed."""


def audio_path(settings: Settings, recording_sid: str) -> Path:
    """Where the local copy of a recording lives."""
    if not _SID.match(recording_sid):
        raise ValueError(f"not a RecordingSid: {recording_sid!r}")
    return settings.recordings_dir / f"{recording_sid}.wav"


def local_audio(recording_sid: str, *, settings: Settings, telephony: Telephony | None) -> Path:
    """The local copy of a recording, fetched from the telephony provider (and kept) on first use."""
    try:
        path = audio_path(settings, recording_sid)
    except ValueError as error:
        raise RecordingUnavailable(str(error)) from error
    if path.is_file():
        return path
    if telephony is None:
        raise RecordingUnavailable("no telephony adapter is configured to fetch the recording from")
    try:
        audio = telephony.fetch_recording(recording_sid)
    except TelephonyError as error:
        raise RecordingUnavailable(f"the telephony provider did not deliver it: {error}") from error
    private_dir(path.parent)
    # Written aside, then renamed: a reader never sees half a file, and two fetches race harmlessly.
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    with os.fdopen(open_private(partial), "wb") as handle:  # a caller's voice: 0600 whatever the umask
        handle.write(audio)
    os.replace(partial, path)
    return path


# ---------------------------------------------------------------- Twilio's copies

LOCAL_COPY_VERIFIED = "local-copy-verified"
RETENTION = "retention"


def verified_size(path: Path, channels: int | None) -> int | None:
    """The size of a local copy that is a readable WAV with audio (and the recording's channel count, when
    known); None when it is not. Length is not compared: a recording's reported duration is the call's."""
    try:
        with wave.open(str(path), "rb") as audio:
            frames, found = audio.getnframes(), audio.getnchannels()
            audio.readframes(frames)  # every frame readable, not just the header
    except (OSError, EOFError, wave.Error):
        return None
    if frames <= 0 or (channels and found != channels):
        return None
    return path.stat().st_size


def release_provider_copies(
    now: datetime | None = None,
    limit: int = 200,
    *,
    sessions: sessionmaker[Session],
    telephony: Telephony | None,
    settings: Settings,
) -> int:
    """IVR_DELETE_TWILIO_RECORDINGS: for completed recordings still at Twilio, fetch the local copy,
    verify it, then delete Twilio's copy and note it (provider_recording_deletions). Returns how many."""
    if not settings.delete_twilio_recordings or telephony is None:
        return 0
    done = select(ProviderRecordingDeletion.recording_sid)
    with sessions() as session:
        rows = session.execute(
            select(Recording.recording_sid, Recording.channels)
            .where(Recording.status == "completed", Recording.recording_sid.is_not(None))
            .where(Recording.recording_sid.not_in(done))
            .order_by(Recording.id)
            .limit(limit)
        ).all()
    released = 0
    for recording_sid, channels in rows:
        assert recording_sid is not None  # selected so
        try:
            path = local_audio(recording_sid, settings=settings, telephony=telephony)
        except RecordingUnavailable as error:
            log.warning("Twilio's copy of %s kept: no local copy (%s)", recording_sid, error)
            continue
        size = verified_size(path, channels)
        if size is None:
            path.unlink(missing_ok=True)  # fetched again at the next run
            log.warning("Twilio's copy of %s kept: the local copy is not a readable recording", recording_sid)
            continue
        try:
            telephony.delete_recording(recording_sid)
        except TelephonyError as error:
            log.warning("Twilio's copy of %s not deleted: %s", recording_sid, error)
            continue
        note_provider_deletion(recording_sid, size, LOCAL_COPY_VERIFIED, now or utcnow(), sessions=sessions)
        released += 1
    return released


def note_provider_deletion(
    recording_sid: str, size: int | None, reason: str, now: datetime, *, sessions: sessionmaker[Session]
) -> None:
    """Record that Twilio's copy of a recording is gone (once: a second scheduler's note is ignored)."""
    row = {"recording_sid": recording_sid, "local_bytes": size, "reason": reason, "deleted_at": now}
    with sessions() as session, session.begin():
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(ProviderRecordingDeletion).values(row).on_conflict_do_nothing())


def log_playback(recording: Recording, user_id: int, *, session: Session) -> None:
    """Append who is listening to which recording (of which call), and when. The caller commits."""
    session.add(
        PlaybackLog(recording_id=recording.id, user_id=user_id, call_sid=recording.call_sid, at=utcnow())
    )


# ---------------------------------------------------------------- the append-only guard

REMOVAL_OPTION = "ivr_retention_removal"  # the execution option only the retention job sets
_NO_DELETE = frozenset({"calls", "call_events", "recordings", "playback_log"})
# Call rows are written by the projection while the call lives: that is the record being made, not altered.
_NO_UPDATE = frozenset({"call_events", "recordings", "playback_log"})


class AppendOnlyError(PermissionError):
    """A DELETE or UPDATE of kept records outside the retention job."""


@event.listens_for(Engine, "before_execute")
def _refuse_alterations(
    connection: Connection, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any
) -> None:
    # On the Engine, not a session: the event projections write with Core statements on a Connection.
    if isinstance(clauseelement, Delete):
        guarded, verb = _NO_DELETE, "DELETE FROM"
    elif isinstance(clauseelement, Update):
        guarded, verb = _NO_UPDATE, "UPDATE"
    else:
        return
    table = getattr(clauseelement.table, "name", "")
    if table not in guarded:
        return
    if execution_options.get(REMOVAL_OPTION) or connection.get_execution_options().get(REMOVAL_OPTION):
        return
    raise AppendOnlyError(
        f"refused: {verb} {table}. Calls, call events, recordings and the playback log are append-only "
        "(records and recordings are kept at least 2 years; nobody may delete or alter them). Only the "
        "retention job (ivr.db.retention) removes rows, once they are older than retention_days."
    )


@contextmanager
def removal_connection(engine: Engine) -> Iterator[Connection]:
    """A connection the guard lets delete kept records: for the retention job only."""
    with engine.connect() as connection:
        yield connection.execution_options(**{REMOVAL_OPTION: True})


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
