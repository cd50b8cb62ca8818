"""Outgoing webhooks on work-order events: a durable outbox, sent signed, at least once, in order per order.

An event is queued in the transaction of the change it tells of, so it exists exactly when the change does.
A sender claims the oldest undelivered event of each work order (FOR UPDATE SKIP LOCKED on PostgreSQL, and
a lease in `claimed_until`, so two schedulers never send one at once), posts it, and records the answer:
delivered, or tried again after a backoff that doubles up to a cap. A later event of a work order waits
until the earlier one is delivered, so a receiver that was down gets them in order when it is back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from ivr.db.models import WorkOrderOutbox, utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
EVENT_ID_HEADER = "X-Hotline-Event-Id"
EVENT_KIND_HEADER = "X-Hotline-Event"
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0  # a receiver down for a day is tried every hour, not every few seconds

# post(url, body, headers, timeout) -> the HTTP status; raises on a connection failure or timeout.
Post = Callable[[str, bytes, Mapping[str, str], float], int]


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of the raw body with the shared secret, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(
    attempts: int, *, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS
) -> float:
    """The wait after the `attempts`-th failed try: base, 2*base, 4*base, ... never above cap."""
    if attempts < 1:
        return 0.0
    return min(cap, base * 2.0 ** min(attempts - 1, 62))


def queue_delivery(
    session: Session, *, event_id: str, work_order_number: str, kind: str, body: dict[str, Any]
) -> None:
    """Owe the receiver this event, in the caller's transaction; the same event_id again does nothing."""
    if session.scalar(select(WorkOrderOutbox.id).where(WorkOrderOutbox.event_id == event_id)) is not None:
        return
    now = utcnow()
    payload = {
        "event_id": event_id,
        "kind": kind,
        "work_order_number": work_order_number,
        "created_at": now.isoformat(timespec="seconds") + "Z",
        "data": body,
    }
    session.add(
        WorkOrderOutbox(
            event_id=event_id,
            work_order_number=work_order_number,
            kind=kind,
            body=json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str),
            created_at=now,
            attempts=0,
            next_attempt_at=now,
            last_error="",
        )
    )
    session.flush()


@dataclass(frozen=True)
class DeliveryReport:
    """What one run sent: events delivered, and tries that failed (to be tried again)."""

    delivered: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_id: str
    kind: str
    body: str
    attempts: int


def deliver_due(
    session_factory: Callable[[], Session],
    *,
    post: Post,
    url: str,
    secret: str,
    now: Callable[[], datetime] = utcnow,
    limit: int = 200,
    timeout: float = 10.0,
    lease_seconds: float = 60.0,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
) -> DeliveryReport:
    """Send the due events (oldest undelivered of each work order first), until none is due or `limit`."""
    delivered = failed = 0
    while delivered + failed < limit:
        batch = _claim(session_factory, now(), limit - delivered - failed, lease_seconds)
        if not batch:
            break
        for row in batch:
            error = _send(row, post=post, url=url, secret=secret, timeout=timeout)
            _record(session_factory, row, error, now(), base=base, cap=cap)
            if error:
                failed += 1
            else:
                delivered += 1
        if failed:
            break  # a receiver that fails is not hammered within one run: the backoff decides the next try
    return DeliveryReport(delivered, failed)


def _claim(
    session_factory: Callable[[], Session], at: datetime, limit: int, lease_seconds: float
) -> list[_Claimed]:
    """Lease the oldest undelivered event of each work order that is due and not held by another sender."""
    earlier = aliased(WorkOrderOutbox)
    waiting_for_earlier = exists().where(
        earlier.work_order_number == WorkOrderOutbox.work_order_number,
        earlier.id < WorkOrderOutbox.id,
        earlier.delivered_at.is_(None),
    )
    free = or_(WorkOrderOutbox.claimed_until.is_(None), WorkOrderOutbox.claimed_until <= at)
    with session_factory() as session, session.begin():
        rows = session.scalars(
            select(WorkOrderOutbox)
            .where(
                WorkOrderOutbox.delivered_at.is_(None),
                WorkOrderOutbox.next_attempt_at <= at,
                free,
                ~waiting_for_earlier,
            )
            .order_by(WorkOrderOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL: another sender takes other rows
        ).all()
        claimed = []
        for row in rows:
            # A conditional update: on SQLite (no row locks) a second sender's lease makes this one a no-op.
            taken = session.execute(
                update(WorkOrderOutbox)
                .where(and_(WorkOrderOutbox.id == row.id, WorkOrderOutbox.delivered_at.is_(None), free))
                .values(claimed_until=at + timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(_Claimed(row.id, row.event_id, row.kind, row.body, row.attempts))
    return claimed


def _send(row: _Claimed, *, post: Post, url: str, secret: str, timeout: float) -> str:
    """Post one event; '' when the receiver took it (2xx), else what went wrong."""
    body = row.body.encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: row.event_id,
        EVENT_KIND_HEADER: row.kind,
        SIGNATURE_HEADER: sign(secret, body),
    }
    try:
        status = post(url, body, headers, timeout)
    except Exception as error:  # the receiver is down or slow: kept, and tried again later
        return f"{type(error).__name__}: {error}"[:500]
    return "" if 200 <= status < 300 else f"HTTP {status}"


def _record(
    session_factory: Callable[[], Session],
    row: _Claimed,
    error: str,
    at: datetime,
    *,
    base: float,
    cap: float,
) -> None:
    """Mark the event delivered, or count the failed try and set when the next one is due."""
    with session_factory() as session, session.begin():
        if not error:
            values: dict[str, Any] = {"delivered_at": at, "attempts": row.attempts + 1, "claimed_until": None}
        else:
            attempts = row.attempts + 1
            wait = backoff_seconds(attempts, base=base, cap=cap)
            log.warning("work-order event %s not delivered (try %d): %s", row.event_id, attempts, error)
            values = {
                "attempts": attempts,
                "last_error": error,
                "next_attempt_at": at + timedelta(seconds=wait),
                "claimed_until": None,
            }
        session.execute(
            update(WorkOrderOutbox)
            .where(WorkOrderOutbox.id == row.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
