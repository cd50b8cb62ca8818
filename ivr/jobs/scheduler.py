"""Scheduled jobs (APScheduler 3). Each job opens its own session and is safe to run twice."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from ivr.hotline import Hotline
from ivr.jobs import tasks

log = logging.getLogger(__name__)


def replay_spool(hotline: Hotline) -> int:
    """Write events spooled during a database outage."""
    written = hotline.spool.replay(hotline.sessions)
    if written:
        log.info("replayed %d spooled call events", written)
    return written


def route_waiting_callers(hotline: Hotline) -> int:
    """Pair waiting callers with free agents and connect them."""
    return len(tasks.dispatch(hotline))


def tidy_agents(hotline: Hotline) -> int:
    """End finished wrap-ups; release claims a dead worker left behind."""
    return tasks.end_wrap_ups(hotline) + tasks.release_stale(hotline)


def draw_audit_samples(hotline: Hotline) -> int:
    """The daily quality-audit sample of yesterday (local), and of any recent day that was missed."""
    return sum(report.created for report in tasks.draw_due_samples(hotline))


def note_absent_recordings(hotline: Hotline) -> int:
    """Answered agent calls whose recording callback never came get an `absent` recording row."""
    return tasks.note_absent_recordings(hotline)


def deliver_work_order_events(hotline: Hotline) -> int:
    """Post the due work-order events to the utility's webhook receiver (docs/work-orders.md)."""
    return tasks.deliver_work_order_events(hotline).delivered


def sweep_work_order_timers(hotline: Hotline) -> int:
    """Warn owners and escalate work orders whose deadline timers are due (docs/work-orders.md)."""
    report = tasks.sweep_work_order_timers(hotline)
    return report.warned + report.escalated + report.supervisor


def remove_expired_records(hotline: Hotline) -> int:
    """Remove what holds a phone number or a recording, older than retention_days (never under 730)."""
    return tasks.remove_expired(hotline).rows


def release_twilio_recordings(hotline: Hotline) -> int:
    """IVR_DELETE_TWILIO_RECORDINGS: delete Twilio's copies of recordings whose local copy is verified."""
    return tasks.release_provider_copies(hotline)


def draw_callbacks(hotline: Hotline, now: datetime | None = None) -> int:
    """Completions of answered hotline calls, the call-back draw of what is undecided before today, then
    the jobs (a draw racing another is rolled back whole and logged). Returns how many were decided."""
    report = tasks.draw_and_schedule(hotline, now)
    return report.decided if report else 0


def place_callbacks(hotline: Hotline, pacer: object | None = None) -> int:
    """Make jobs of newly selected call-backs, then place the due ones (paced by the process's pacer)."""
    from sqlalchemy.exc import IntegrityError

    from ivr.surveys.jobs import Pacer, calling_rules, create_jobs

    try:
        with hotline.sessions() as session, session.begin():
            create_jobs(session, calling_rules(hotline.settings))
    except IntegrityError:  # another scheduler made them at the same moment
        log.info("call-back jobs were being made by another process")
    from ivr.db.models import utcnow
    from ivr.surveys.responses import close_lost_tries

    with hotline.sessions() as session, session.begin():
        close_lost_tries(session, calling_rules(hotline.settings), utcnow())
    report = tasks.place_due_callbacks(hotline, pacer if isinstance(pacer, Pacer) else None)
    return len(report.placed)


def size_call_queues(hotline: Hotline) -> int:
    """Create and size Twilio's call queues for the live menu and storm mode (services/queue_sizing.py)."""
    return sum(change.action in ("created", "resized") for change in tasks.size_queues(hotline))


def keep_hosted_fallback(hotline: Hotline, keeper: object | None = None) -> int:
    """Republish the number's Twilio-hosted fallback when the live menu's advice or duty number changed."""
    chosen = keeper if isinstance(keeper, tasks.FallbackKeeper) else tasks.FallbackKeeper()
    return int(chosen.keep(hotline))


def build_scheduler(hotline: Hotline, *, blocking: bool = False) -> BaseScheduler:
    """The hotline's periodic jobs on a background (in-process) or blocking (own process) scheduler."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    scheduler.add_job(
        replay_spool,
        "interval",
        seconds=hotline.settings.spool_replay_seconds,
        args=[hotline],
        id="replay_spool",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        route_waiting_callers,
        "interval",
        seconds=hotline.settings.dispatch_seconds,
        args=[hotline],
        id="route_waiting_callers",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        tidy_agents, "interval", seconds=5, args=[hotline], id="tidy_agents", max_instances=1, coalesce=True
    )
    scheduler.add_job(
        sweep_work_order_timers,
        "interval",
        seconds=30,  # a warning or escalation is at most this late; the timers themselves are rows
        args=[hotline],
        id="sweep_work_order_timers",
        max_instances=1,
        coalesce=True,
    )
    from ivr.quality.audit_sampling import parse_audit_time

    audit_hour, audit_minute = parse_audit_time(hotline.settings.audit_time)
    scheduler.add_job(
        draw_audit_samples,
        CronTrigger(hour=audit_hour, minute=audit_minute, timezone=ZoneInfo(hotline.settings.local_timezone)),
        args=[hotline],
        id="draw_audit_samples",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,  # run late rather than not at all (a busy or suspended process)
        # Also at start: a finished day not drawn yet (the server was down at 00:30, or it is day one) is
        # drawn now, so the quality staff have its sample without waiting for the next night.
        next_run_time=datetime.now(ZoneInfo(hotline.settings.local_timezone)),
    )
    scheduler.add_job(
        note_absent_recordings,
        "interval",
        minutes=5,
        args=[hotline],
        id="note_absent_recordings",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        release_twilio_recordings,
        "interval",
        minutes=10,
        args=[hotline],
        id="release_twilio_recordings",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        remove_expired_records,
        # Daily, at a quiet hour: it deletes in small batches, but callers come first.
        CronTrigger(hour=3, minute=30, timezone=ZoneInfo(hotline.settings.local_timezone)),
        args=[hotline],
        id="remove_expired_records",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        draw_callbacks,
        "interval",
        minutes=15,  # a new day's completions are decided soon after midnight; late imports within 15 min
        args=[hotline],
        id="draw_callbacks",
        max_instances=1,
        coalesce=True,
    )
    from ivr.surveys.jobs import Pacer

    scheduler.add_job(
        place_callbacks,
        "interval",
        seconds=30,
        # One pacer for the process: the calls-per-second limit holds across runs, not just inside one.
        args=[hotline, Pacer(hotline.settings.outbound_cps)],
        id="place_callbacks",
        max_instances=1,
        coalesce=True,
    )
    if hotline.settings.work_order_webhook_url:
        scheduler.add_job(
            deliver_work_order_events,
            "interval",
            seconds=5,  # a receiver hears of a change within seconds; a failing one is paced by the backoff
            args=[hotline],
            id="deliver_work_order_events",
            max_instances=1,
            coalesce=True,
        )
    if hotline.telephony is not None:
        scheduler.add_job(
            size_call_queues,
            "interval",
            minutes=10,  # at start, then in step with a new menu or storm mode set by another worker
            next_run_time=datetime.now(),
            args=[hotline],
            id="size_call_queues",
            max_instances=1,
            coalesce=True,
        )
    if hotline.telephony is not None:
        scheduler.add_job(
            keep_hosted_fallback,
            "interval",
            seconds=60,  # at start, then within a minute of a menu publish (console or CLI) or a restart
            next_run_time=datetime.now(),
            args=[
                hotline,
                tasks.FallbackKeeper(),
            ],  # remembers what it published: no REST request when unchanged
            id="keep_hosted_fallback",
            max_instances=1,
            coalesce=True,
        )
    return scheduler
