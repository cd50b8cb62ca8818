"""The use cases as one running hotline runs them, for the scheduler, the command line and the tests.

Each is handed the hotline's sessions and the few collaborators it needs (telephony, live rules or menu,
settings values). The scheduler, the command line and the tests call these; the use cases themselves never
reach for a Hotline."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path

from ivr.calls import hosted_fallback
from ivr.db import retention
from ivr.db.models import utcnow
from ivr.hotline import Hotline
from ivr.quality import audit_sampling, recordings
from ivr.queueing import dispatch as dispatching
from ivr.queueing import queue_sizing
from ivr.surveys import draws, jobs
from ivr.telephony.base import Telephony
from ivr.work_orders import escalation, outbox

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- queueing


def dispatch(hotline: Hotline, now: datetime | None = None) -> list[dispatching.Offer]:
    """Pair waiting callers with free agents, claim and connect them."""
    return dispatching.dispatch(
        now,
        sessions=hotline.sessions,
        telephony=hotline.telephony,
        rules=hotline.rules.live(),
        settings=hotline.settings,
    )


def claim_pairings(hotline: Hotline, now: datetime, *, limit: int | None = None) -> list[dispatching.Offer]:
    """Claim the router's pairings without connecting them."""
    return dispatching.claim_pairings(now, sessions=hotline.sessions, rules=hotline.rules.live(), limit=limit)


def release_stale(hotline: Hotline, now: datetime | None = None) -> int:
    """Release the claims a dead worker left behind."""
    return dispatching.release_stale(
        now,
        sessions=hotline.sessions,
        telephony=hotline.telephony,
        stale_claim_seconds=hotline.settings.stale_claim_seconds,
    )


def end_wrap_ups(hotline: Hotline, now: datetime | None = None) -> int:
    """Agents whose wrap-up is over are available again."""
    with hotline.sessions() as session, session.begin():
        return dispatching.end_wrap_ups(
            now, session=session, needs_disposition=hotline.settings.wrap_up_needs_disposition
        )


def size_queues(hotline: Hotline, storm: bool | None = None) -> list[queue_sizing.QueueChange]:
    """Create and size Twilio's call queues for the live menu and storm mode."""
    if hotline.telephony is None:
        return []  # no REST client: the live menu is not even read
    return queue_sizing.size_queues(
        storm, sessions=hotline.sessions, telephony=hotline.telephony, menu=hotline.menus.live()[1]
    )


# ---------------------------------------------------------------- quality


def draw_sample(
    hotline: Hotline,
    day: date,
    options: audit_sampling.AuditOptions,
    *,
    seed: int | None = None,
    created_by: str = "scheduler",
    now: datetime | None = None,
) -> audit_sampling.SampleReport:
    """Draw and store the audit sample of a local day, or return the one already drawn."""
    return audit_sampling.draw_sample(
        day,
        options,
        sessions=hotline.sessions,
        timezone=hotline.settings.local_timezone,
        seed=seed,
        created_by=created_by,
        now=now,
    )


def draw_due_samples(
    hotline: Hotline,
    *,
    now: datetime | None = None,
    catch_up_days: int = audit_sampling.CATCH_UP_DAYS,
    options: audit_sampling.AuditOptions | None = None,
) -> list[audit_sampling.SampleReport]:
    """Yesterday's audit sample, and any recent day's that was missed."""
    return audit_sampling.draw_due_samples(
        sessions=hotline.sessions,
        timezone=hotline.settings.local_timezone,
        options=options or audit_sampling.AuditOptions.from_settings(hotline.settings),
        now=now,
        catch_up_days=catch_up_days,
    )


def verify_sample(hotline: Hotline, day: date) -> bool | None:
    """Whether the stored sample of `day` draws again the same; None without one."""
    with hotline.sessions() as session:
        return audit_sampling.verify_sample(day, session=session, timezone=hotline.settings.local_timezone)


def audit_status(
    hotline: Hotline, day: date | None = None, *, last: int = 7
) -> list[audit_sampling.SampleReport]:
    """The sample of `day`, or the `last` samples, with their progress."""
    with hotline.sessions() as session:
        return audit_sampling.audit_status(day, session=session, last=last)


def note_absent_recordings(hotline: Hotline, now: datetime | None = None) -> int:
    """Answered agent calls whose recording callback never came get an `absent` recording row."""
    return recordings.note_absent_recordings(
        now, sessions=hotline.sessions, events_spooled=hotline.spool.has_pending()
    )


def local_audio(hotline: Hotline, recording_sid: str) -> Path:
    """The local copy of a recording, fetched from the provider on first use."""
    return recordings.local_audio(recording_sid, settings=hotline.settings, telephony=hotline.telephony)


def release_provider_copies(hotline: Hotline, now: datetime | None = None, limit: int = 200) -> int:
    """Delete Twilio's copies of recordings whose local copy is verified (when so configured)."""
    return recordings.release_provider_copies(
        now, limit, sessions=hotline.sessions, telephony=hotline.telephony, settings=hotline.settings
    )


def remove_expired(hotline: Hotline, now: datetime | None = None) -> retention.Removed:
    """Remove what holds a phone number or a recording, older than the retention period."""
    return retention.remove_expired(
        now,
        engine=hotline.engine,
        sessions=hotline.sessions,
        settings=hotline.settings,
        telephony=hotline.telephony,
    )


# ---------------------------------------------------------------- surveys


def place_due_callbacks(
    hotline: Hotline,
    pacer: jobs.Pacer | None = None,
    *,
    now: Callable[[], datetime] = utcnow,
    limit: int | None = None,
    only: int | None = None,
) -> jobs.PlacementReport:
    """Settle stale claims, expire overdue jobs, then place the due satisfaction call-backs."""
    return jobs.place_due_callbacks(
        pacer,
        sessions=hotline.sessions,
        telephony=hotline.telephony,
        settings=hotline.settings,
        now=now,
        limit=limit,
        only=only,
    )


def draw_and_schedule(hotline: Hotline, now: datetime | None = None) -> draws.DrawReport | None:
    """Completions of answered calls, the call-back draw, then the call-back jobs."""
    return draws.draw_and_schedule(now, sessions=hotline.sessions, settings=hotline.settings)


# ---------------------------------------------------------------- work-order webhooks


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST the body as it is (the signature covers these bytes) and return the HTTP status."""
    import requests  # installed with twilio's library

    return requests.post(url, data=body, headers=dict(headers), timeout=timeout).status_code


def deliver_work_order_events(
    hotline: Hotline, now: Callable[[], datetime] = utcnow
) -> outbox.DeliveryReport:
    """Send the due work-order events to IVR_WORK_ORDER_WEBHOOK_URL (none when it is not set)."""
    url = hotline.settings.work_order_webhook_url
    if not url:
        return outbox.DeliveryReport()
    if not hotline.settings.work_order_webhook_secret:  # unsigned, the receiver could not trust them: kept
        log.error("IVR_WORK_ORDER_WEBHOOK_SECRET is not set: work-order events are kept, not sent")
        return outbox.DeliveryReport()
    return outbox.deliver_due(
        hotline.sessions, post=post_json, url=url, secret=hotline.settings.work_order_webhook_secret, now=now
    )


# ---------------------------------------------------------------- work-order deadlines


def sweep_work_order_timers(hotline: Hotline, now: datetime | None = None) -> escalation.SweepReport:
    """Warn and escalate the work orders whose deadline timers are due; call the duty engineer for safety."""
    duty = None
    if hotline.telephony is not None:
        base = hotline.settings.public_base_url or "http://127.0.0.1:5000"
        duty = escalation.DutyCaller(
            telephony=hotline.telephony,
            duty_number=hotline.settings.duty_engineer_number,
            caller_id=hotline.settings.hotline_number,
            notice_url=lambda number, kind: escalation.notice_url(base, number, kind),
        )
    return escalation.sweep_due_timers(hotline.sessions, now=now, duty=duty)


# ---------------------------------------------------------------- the hosted fallback


def current_fallback_url(hotline: Hotline) -> str:
    """The hosted fallback URL for the live menu (in its voice) and the configured duty number."""
    version, menu = hotline.menus.live()
    voice = hotline.voice.for_menu(version, menu.prompts)
    return hosted_fallback.fallback_url(voice, menu, hotline.settings.duty_engineer_number)


def publish_fallback(hotline: Hotline, telephony: Telephony | None = None) -> hosted_fallback.Published:
    """Set the hotline number's VoiceFallbackUrl to the hosted fallback (through `telephony` if given)."""
    return hosted_fallback.publish_fallback(
        lambda: current_fallback_url(hotline),
        telephony=telephony or hotline.telephony,
        hotline_number=hotline.settings.hotline_number,
    )


class FallbackKeeper:
    """Republishes one hotline's hosted fallback when its content changed (the scheduler keeps one)."""

    def __init__(self) -> None:
        self._keeper = hosted_fallback.FallbackKeeper()

    def keep(self, hotline: Hotline) -> bool:
        """Publish if the content changed since the last publish; True when the number was updated."""
        return self._keeper.keep(
            lambda: current_fallback_url(hotline),
            telephony=hotline.telephony,
            hotline_number=hotline.settings.hotline_number,
        )
