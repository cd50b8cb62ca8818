"""Call recordings: stored from Twilio's recording callbacks, noted when absent, played from a local copy.

This module also holds the append-only guard of calls, call events, recordings and the playback log
(DOMAIN: kept at least 2 years, nobody may delete or alter them). It lives here because the event
projection imports this module, so every process that writes calls has the guard installed.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Engine, Integer, Table, bindparam, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Delete, Update

from ivr.config import Settings
from ivr.db.models import Agent, Call, CallEvent, PlaybackLog, Recording, utcnow
from ivr.db.session import unit_of_work
from ivr.telephony.base import TelephonyError

if TYPE_CHECKING:
    from ivr.hotline import Hotline
    from ivr.services.events import EventRecord

FINAL_STATUSES = ("completed", "failed", "absent")  # Twilio's; "in-progress" is followed by one of these
# Twilio posts the recording callback seconds after the call, minutes for a long one; after this long
# an answered agent call without one is recorded as absent.
ABSENT_AFTER = timedelta(minutes=15)
ABSENT_LOOKBACK = timedelta(days=2)  # how far back the absent check looks (it runs every few minutes)
_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")  # a RecordingSid names a file: nothing else gets through

# ---------------------------------------------------------------- the recording callback, projected

_recordings: Table = Recording.__table__  # type: ignore[assignment]
_INSERTS: dict[str, Any] = {}


def project_recording(connection: Connection, event: EventRecord, at: datetime) -> None:
    """Store a final recording callback; a repeated or replayed one finds its row (unique RecordingSid)."""
    data = event.data
    status = str(data.get("RecordingStatus", "")).strip().lower()
    if status not in FINAL_STATUSES:
        return  # an in-progress notice: the event is kept, the row waits for the final callback
    row = {
        "recording_sid": str(data.get("RecordingSid", ""))[:64] or None,
        "call_sid": event.call_sid,
        "sid": event.call_sid,
        "agent": _int(data.get("agent_id")),
        "url": str(data.get("RecordingUrl", ""))[:500],
        "duration_seconds": _int(data.get("RecordingDuration")),
        "channels": _int(data.get("RecordingChannels")),
        "status": status,
        "error": _error(status, str(data.get("ErrorCode", "")).strip()),
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


def note_absent_recordings(hotline: Hotline, now: datetime | None = None) -> int:
    """An answered agent call with no recording callback after ABSENT_AFTER gets an `absent` row."""
    if hotline.spool.has_pending():
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
    with unit_of_work(hotline.sessions) as session:
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


def local_audio(hotline: Hotline, recording_sid: str) -> Path:
    """The local copy of a recording, fetched from the telephony provider (and kept) on first use."""
    try:
        path = audio_path(hotline.settings, recording_sid)
    except ValueError as error:
        raise RecordingUnavailable(str(error)) from error
    if path.is_file():
        return path
    if hotline.telephony is None:
        raise RecordingUnavailable("no telephony adapter is configured to fetch the recording from")
    try:
        audio = hotline.telephony.fetch_recording(recording_sid)
    except TelephonyError as error:
        raise RecordingUnavailable(f"the telephony provider did not deliver it: {error}") from error
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then renamed: a reader never sees half a file, and two fetches race harmlessly.
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    partial.write_bytes(audio)
    os.replace(partial, path)
    return path


def log_playback(hotline: Hotline, recording: Recording, user_id: int) -> None:
    """Append who is listening to which recording (of which call), and when."""
    with unit_of_work(hotline.sessions) as session:
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
        "retention job (ivr.services.retention) removes rows, once they are older than retention_days."
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
