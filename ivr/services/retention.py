"""Retention: the one path that removes recordings, call records and call events, once past retention_days.

Each row goes by its own age (a recording and a call by when they started, an event by when it arrived),
in small batches, one transaction each, on a connection the append-only guard lets through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection

from ivr.config import Settings
from ivr.db.models import AuditItem, Call, CallEvent, PlaybackLog, Recording, utcnow
from ivr.services.recordings import audio_path, removal_connection

if TYPE_CHECKING:
    from ivr.hotline import Hotline

log = logging.getLogger(__name__)

RETENTION_FLOOR_DAYS = 730  # DOMAIN: records and recordings are kept at least 2 years
BATCH = 1000


@dataclass(frozen=True)
class Removed:
    """What one retention run removed, and what it kept on purpose."""

    cutoff: datetime
    recordings: int = 0
    files: int = 0
    playbacks: int = 0
    calls: int = 0
    events: int = 0
    kept_for_audit: int = 0  # old recordings a quality review still points at


def retention_cutoff(settings: Settings, now: datetime) -> datetime:
    """Rows older than this may go; never less than 730 days, whatever the settings say."""
    # load_settings enforces the floor too; this catches a Settings built in code with a smaller number.
    return now - timedelta(days=max(RETENTION_FLOOR_DAYS, settings.retention_days))


def remove_expired(hotline: Hotline, now: datetime | None = None) -> Removed:
    """Remove recordings (row and local file), call records and call events older than the cutoff."""
    cutoff = retention_cutoff(hotline.settings, now or utcnow())
    # A recording in a quality audit stays (audit_items point at it), and so do its call and events:
    # the audit keeps its own records, and a review without its call would make no sense.
    audited = select(AuditItem.recording_id)
    audited_calls = select(Recording.call_sid).where(Recording.id.in_(audited))
    with removal_connection(hotline.engine) as connection:
        recordings, files, playbacks = _remove_recordings(
            connection, hotline.settings, (Recording.started_at < cutoff) & Recording.id.not_in(audited)
        )
        calls = _remove_rows(
            connection, Call, (Call.started_at < cutoff) & Call.call_sid.not_in(audited_calls)
        )
        events = _remove_rows(
            connection, CallEvent, (CallEvent.at < cutoff) & CallEvent.call_sid.not_in(audited_calls)
        )
        kept = connection.scalar(
            select(func.count())
            .select_from(Recording)
            .where(Recording.started_at < cutoff, Recording.id.in_(audited))
        )
    removed = Removed(cutoff, recordings, files, playbacks, calls, events, int(kept or 0))
    log.info(
        "retention (older than %s): removed %d recordings (%d local files, %d playback log rows), "
        "%d call records, %d call events; kept %d old recordings that are in a quality audit",
        cutoff.isoformat(timespec="seconds"),
        removed.recordings,
        removed.files,
        removed.playbacks,
        removed.calls,
        removed.events,
        removed.kept_for_audit,
    )
    return removed


def _remove_recordings(connection: Connection, settings: Settings, expired: Any) -> tuple[int, int, int]:
    rows_removed = files_removed = playbacks_removed = 0
    while True:
        with connection.begin():
            _allow_long_statements(connection)
            rows = connection.execute(
                select(Recording.id, Recording.recording_sid, Recording.call_sid)
                .where(expired)
                .order_by(Recording.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return rows_removed, files_removed, playbacks_removed
            ids = [row.id for row in rows]
            # The playback log points at the recording; its rows go with it.
            playbacks = connection.execute(delete(PlaybackLog).where(PlaybackLog.recording_id.in_(ids)))
            connection.execute(delete(Recording).where(Recording.id.in_(ids)))
        # Files after the commit: a failed unlink leaves a stray file, never a row without its audio.
        files_removed += sum(_remove_file(settings, row.recording_sid) for row in rows)
        rows_removed += len(rows)
        playbacks_removed += playbacks.rowcount
        log.info(
            "retention: removed recordings %s",
            ", ".join(f"{row.id} ({row.recording_sid or 'no sid'}, call {row.call_sid})" for row in rows),
        )


def _remove_rows(connection: Connection, model: Any, expired: Any) -> int:
    removed = 0
    while True:
        with connection.begin():
            _allow_long_statements(connection)
            ids = connection.scalars(select(model.id).where(expired).order_by(model.id).limit(BATCH)).all()
            if not ids:
                return removed
            connection.execute(delete(model).where(model.id.in_(ids)))
        removed += len(ids)


def _remove_file(settings: Settings, recording_sid: str | None) -> bool:
    if not recording_sid:
        return False
    try:
        audio_path(settings, recording_sid).unlink()
    except FileNotFoundError:
        return False  # never fetched (or the provider's copy only)
    except (OSError, ValueError):
        log.warning("retention: could not remove the local copy of %s", recording_sid, exc_info=True)
        return False
    return True


def _allow_long_statements(connection: Connection) -> None:
    # The engine's 3 s statement limit protects callers; this daily job scans old rows, so it may take
    # longer. SET LOCAL ends with the transaction: the pooled connection goes back with the 3 s limit.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL statement_timeout = '120s'"))
