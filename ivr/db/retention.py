"""Retention: the one path that removes what holds a phone number or a recording, once past retention_days.

Each row goes by its own age, in small batches, one transaction each, on a connection the append-only guard
lets through. What is removed, what is kept and why: docs/operations.md, "Retention".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db.models import (
    AuditItem,
    Call,
    CallbackAttempt,
    CallbackCandidate,
    CallbackJob,
    CallDisposition,
    CallEvent,
    FollowUpCase,
    PlaybackLog,
    QueueEntry,
    Recording,
    ServiceCompletion,
    SurveyResponse,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOutbox,
    WorkOrderTimer,
    utcnow,
)
from ivr.quality.recordings import RETENTION, audio_path, note_provider_deletion, removal_connection
from ivr.telephony.base import Telephony, TelephonyError

log = logging.getLogger(__name__)

RETENTION_FLOOR_DAYS = 730  # DOMAIN: records and recordings are kept at least 2 years
BATCH = 1000
# A queue entry still in use: a caller waiting or being connected, or a call-back owed or being placed.
OPEN_QUEUE_STATUSES = ("waiting", "offered", "connected", "callback")
OPEN_JOB_STATUSES = ("queued", "dialling")
CLOSED_WORK_ORDER = "completed"


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
    work_orders: int = 0
    queue_entries: int = 0
    completions: int = 0  # each with its candidate, job, tries, survey response and closed follow-up
    twilio_copies: int = 0  # recordings (and survey comments) deleted at Twilio too
    webhook_events: int = 0  # work-order events queued for the utility's webhooks (they carry the case)

    @property
    def rows(self) -> int:
        """Rows removed, all tables together (a completion counts once for its whole case)."""
        return (
            self.recordings + self.playbacks + self.calls + self.events
            + self.work_orders + self.queue_entries + self.completions + self.webhook_events
        )  # fmt: skip


def retention_cutoff(settings: Settings, now: datetime) -> datetime:
    """Rows older than this may go; never less than 730 days, whatever the settings say."""
    # load_settings enforces the floor too; this catches a Settings built in code with a smaller number.
    return now - timedelta(days=max(RETENTION_FLOOR_DAYS, settings.retention_days))


def remove_expired(
    now: datetime | None = None,
    *,
    engine: Engine,
    sessions: sessionmaker[Session],
    settings: Settings,
    telephony: Telephony | None,
) -> Removed:
    """Remove everything holding a phone number or a recording that is older than the cutoff."""
    now = now or utcnow()
    cutoff = retention_cutoff(settings, now)
    # A recording in a quality audit stays (audit_items point at it), and so do its call and events:
    # the audit keeps its own records, and a review without its call would make no sense.
    audited = select(AuditItem.recording_id)
    audited_calls = select(Recording.call_sid).where(Recording.id.in_(audited))
    gone_at_twilio: list[str] = []
    with removal_connection(engine) as connection:
        recordings, files, playbacks_freed, sids = _remove_recordings(
            connection, settings, (Recording.started_at < cutoff) & Recording.id.not_in(audited)
        )
        gone_at_twilio += sids
        # The playback log is the access record: it outlives its recording until it is old itself.
        playbacks = _remove_rows(
            connection, PlaybackLog, (PlaybackLog.at < cutoff) & PlaybackLog.recording_id.is_(None)
        )
        calls = _remove_rows(
            connection, Call, (Call.started_at < cutoff) & Call.call_sid.not_in(audited_calls)
        )
        # An agent's notes on a call are about its caller: they go when the call's record goes.
        _remove_rows(
            connection,
            CallDisposition,
            (CallDisposition.at < cutoff) & CallDisposition.call_sid.not_in(audited_calls),
        )
        expired_events = (CallEvent.at < cutoff) & CallEvent.call_sid.not_in(audited_calls)
        gone_at_twilio += _voice_messages(connection, expired_events)
        events = _remove_rows(connection, CallEvent, expired_events)
        work_orders = _remove_work_orders(connection, cutoff)
        # Delivered or not: an event a receiver has not taken in two years is not going to be taken.
        webhook_events = _remove_rows(connection, WorkOrderOutbox, WorkOrderOutbox.created_at < cutoff)
        queue_entries = _remove_rows(
            connection,
            QueueEntry,
            QueueEntry.status.not_in(OPEN_QUEUE_STATUSES)
            & (func.coalesce(QueueEntry.ended_at, QueueEntry.waiting_since) < cutoff),
        )
        completions, comments = _remove_callback_cases(connection, cutoff)
        gone_at_twilio += comments
        kept = connection.scalar(
            select(func.count())
            .select_from(Recording)
            .where(Recording.started_at < cutoff, Recording.id.in_(audited))
        )
    twilio = 0
    if settings.delete_twilio_recordings and telephony is not None:
        twilio = _delete_twilio_copies(gone_at_twilio, now, sessions=sessions, telephony=telephony)
    removed = Removed(
        cutoff,
        recordings,
        files,
        playbacks,
        calls,
        events,
        int(kept or 0),
        work_orders,
        queue_entries,
        completions,
        twilio,
        webhook_events,
    )
    log.info(
        "retention (older than %s): removed %d recordings (%d local files, %d deleted at Twilio), "
        "%d playback log rows (%d more outlive their recording for now), %d call records, %d call events, "
        "%d closed work orders, %d webhook events, %d queue entries, %d completions with their call-backs; "
        "kept %d old recordings that are in a quality audit",
        cutoff.isoformat(timespec="seconds"),
        removed.recordings,
        removed.files,
        removed.twilio_copies,
        removed.playbacks,
        max(0, playbacks_freed - playbacks),
        removed.calls,
        removed.events,
        removed.work_orders,
        removed.webhook_events,
        removed.queue_entries,
        removed.completions,
        removed.kept_for_audit,
    )
    return removed


def _remove_recordings(
    connection: Connection, settings: Settings, expired: Any
) -> tuple[int, int, int, list[str]]:
    rows_removed = files_removed = playbacks_freed = 0
    sids: list[str] = []
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
                return rows_removed, files_removed, playbacks_freed, sids
            ids = [row.id for row in rows]
            # The playback log names the recording; it stays (with its call_sid) and lets go of the id.
            freed = connection.execute(
                update(PlaybackLog).where(PlaybackLog.recording_id.in_(ids)).values(recording_id=None)
            )
            connection.execute(delete(Recording).where(Recording.id.in_(ids)))
        # Files after the commit: a failed unlink leaves a stray file, never a row without its audio.
        files_removed += sum(_remove_file(settings, row.recording_sid) for row in rows)
        rows_removed += len(rows)
        playbacks_freed += freed.rowcount
        sids += [row.recording_sid for row in rows if row.recording_sid]
        log.info(
            "retention: removed recordings %s",
            ", ".join(f"{row.id} ({row.recording_sid or 'no sid'}, call {row.call_sid})" for row in rows),
        )


def _voice_messages(connection: Connection, expired: Any) -> list[str]:
    """The recordings of voice messages (after hours, storm) whose events are about to go: Twilio's only."""
    with connection.begin():
        _allow_long_statements(connection)
        data = connection.scalars(select(CallEvent.data).where(expired, CallEvent.kind == "voicemail")).all()
    return [str(item["RecordingSid"]) for item in data if isinstance(item, dict) and item.get("RecordingSid")]


def _remove_callback_cases(connection: Connection, cutoff: datetime) -> tuple[int, list[str]]:
    """A completion goes with everything hanging off it (candidate, job, tries, survey response, a closed
    follow-up case), once every part is past the cutoff and nothing is still open; returns how many went,
    and the survey comment recordings they held."""
    job = CallbackJob
    response = SurveyResponse
    open_or_recent_job = (
        select(job.id)
        .where(job.completion_id == ServiceCompletion.id)
        .where(or_(job.status.in_(OPEN_JOB_STATUSES), job.finished_at >= cutoff))
        .exists()
    )
    recent_response = (
        select(response.id)
        .where(response.completion_id == ServiceCompletion.id, response.called_at >= cutoff)
        .exists()
    )
    open_or_recent_case = (
        select(FollowUpCase.id)
        .join(response, response.id == FollowUpCase.response_id)
        .where(response.completion_id == ServiceCompletion.id)
        .where(or_(FollowUpCase.status != "closed", FollowUpCase.closed_at >= cutoff))
        .exists()
    )
    expired = and_(
        ServiceCompletion.completed_at < cutoff, ~open_or_recent_job, ~recent_response, ~open_or_recent_case
    )
    removed, comments = 0, list[str]()
    while True:
        with connection.begin():
            _allow_long_statements(connection)
            ids = connection.scalars(
                select(ServiceCompletion.id).where(expired).order_by(ServiceCompletion.id).limit(BATCH)
            ).all()
            if not ids:
                return removed, comments
            responses = select(response.id).where(response.completion_id.in_(ids))
            jobs = select(job.id).where(job.completion_id.in_(ids))
            held = select(response.comment_recording_sid).where(response.completion_id.in_(ids))
            comments += [sid for sid in connection.scalars(held) if sid]
            # Children first: every foreign key points at a row still there.
            connection.execute(delete(FollowUpCase).where(FollowUpCase.response_id.in_(responses)))
            connection.execute(delete(response).where(response.completion_id.in_(ids)))
            connection.execute(delete(CallbackAttempt).where(CallbackAttempt.job_id.in_(jobs)))
            connection.execute(delete(job).where(job.completion_id.in_(ids)))
            connection.execute(delete(CallbackCandidate).where(CallbackCandidate.completion_id.in_(ids)))
            connection.execute(delete(ServiceCompletion).where(ServiceCompletion.id.in_(ids)))
        removed += len(ids)


def _delete_twilio_copies(
    recording_sids: list[str], now: datetime, *, sessions: sessionmaker[Session], telephony: Telephony
) -> int:
    """IVR_DELETE_TWILIO_RECORDINGS: the removed recordings go at Twilio too (one already gone is fine)."""
    deleted = 0
    for sid in recording_sids:
        try:
            telephony.delete_recording(sid)
        except TelephonyError as error:
            log.warning("retention: Twilio's copy of %s not deleted: %s", sid, error)
            continue
        note_provider_deletion(sid, None, RETENTION, now, sessions=sessions)
        deleted += 1
    return deleted


def _remove_work_orders(connection: Connection, cutoff: datetime) -> int:
    """A closed work order past the cutoff goes with its history (its events name the caller's case)."""
    # Handled and answered orders read "completed" on the menu but still await the customer: they stay.
    expired = (
        (WorkOrder.status == CLOSED_WORK_ORDER)
        & WorkOrder.stage.not_in(("handled", "answered"))
        & (func.coalesce(WorkOrder.completed_at, WorkOrder.created_at) < cutoff)
    )
    removed = 0
    while True:
        with connection.begin():
            _allow_long_statements(connection)
            oldest = select(WorkOrder.id).where(expired).order_by(WorkOrder.id).limit(BATCH)
            ids = connection.scalars(oldest).all()
            if not ids:
                return removed
            connection.execute(delete(WorkOrderEvent).where(WorkOrderEvent.work_order_id.in_(ids)))
            connection.execute(delete(WorkOrderTimer).where(WorkOrderTimer.work_order_id.in_(ids)))
            connection.execute(delete(WorkOrder).where(WorkOrder.id.in_(ids)))
        removed += len(ids)


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
