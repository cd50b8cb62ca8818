"""The calls we placed to a number, as we have them on record: survey tries and queue call-backs.

Asked when a claim went stale (its placer may have died after the provider accepted the call): a call the
provider reports to that number that is not on record here is the lost one (docs/callbacks.md, "Restarts").
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import CallbackAttempt, CallbackJob, QueueEntry

CLOCK_SKEW = timedelta(minutes=1)  # ours against the provider's, when asking what it placed since a claim


def known_call_sids(session: Session, phone: str) -> set[str]:
    """The CallSids already on record for calls we placed to `phone`: survey tries and queue call-backs."""
    tries = select(CallbackAttempt.call_sid).join(CallbackJob, CallbackJob.id == CallbackAttempt.job_id)
    queue = select(QueueEntry.callback_call_sid).where(QueueEntry.callback_number == phone)
    sids = set(session.scalars(tries.where(CallbackJob.phone == phone)))
    sids.update(session.scalars(queue.where(QueueEntry.callback_call_sid.is_not(None))))
    return {sid for sid in sids if sid}
