"""Call-back jobs in any state, with their tries, for the jobs pages' tests (integration and browser)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from ivr.db.models import CallbackAttempt, CallbackCandidate, CallbackJob, ServiceCompletion
from ivr.db.session import unit_of_work

DUE = datetime(2026, 3, 7, 1, 0)  # 09:00 Shanghai, day 3
_numbers = count(1)


def add_job(  # type: ignore[no-untyped-def]
    hotline,
    status="queued",
    *,
    service_type="paid_repair",
    due_at=DUE,
    tries=(),
    phone=None,
    employee="王师傅",
) -> int:
    """A completion, its selected candidate and its job in `status`, with a finished try per `tries`."""
    n = next(_numbers)
    with unit_of_work(hotline.sessions) as session:
        completion = ServiceCompletion(
            source="field",
            external_id=f"JOB-{n}",
            service_type=service_type,
            completed_at=due_at - timedelta(days=3),
            customer_phone=phone or f"+86138{n:08d}",
            customer_language="zh-CN",
            employee=employee,
        )
        session.add(completion)
        session.flush()
        candidate = CallbackCandidate(
            completion_id=completion.id, month="2026-03", selected=True, policy_version=0
        )
        session.add(candidate)
        session.flush()
        final = status not in ("queued", "dialling")
        job = CallbackJob(
            candidate_id=candidate.id,
            completion_id=completion.id,
            phone=completion.customer_phone,
            language="zh-CN",
            due_at=due_at,
            latest_at=due_at + timedelta(days=2, hours=11),
            attempts=len(tries),
            status=status,
            last_outcome=tries[-1] if tries else None,
            finished_at=due_at + timedelta(days=2) if final else None,
            claimed_at=due_at if status == "dialling" else None,
        )
        session.add(job)
        session.flush()
        for number, outcome in enumerate(tries, start=1):
            placed = due_at + timedelta(hours=2 * number)
            session.add(
                CallbackAttempt(
                    job_id=job.id,
                    number=number,
                    call_sid=f"CA{n:04d}{number}",
                    placed_at=placed,
                    outcome=outcome,
                    finished_at=placed + timedelta(minutes=1),
                )
            )
        return job.id
