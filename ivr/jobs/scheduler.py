"""Scheduled jobs (APScheduler 3). Each job opens its own session and is safe to run twice."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from ivr.hotline import Hotline

log = logging.getLogger(__name__)


def replay_spool(hotline: Hotline) -> int:
    """Write events spooled during a database outage."""
    written = hotline.spool.replay(hotline.sessions)
    if written:
        log.info("replayed %d spooled call events", written)
    return written


def route_waiting_callers(hotline: Hotline) -> int:
    """Pair waiting callers with free agents and connect them."""
    from ivr.services.dispatch import dispatch

    return len(dispatch(hotline))


def tidy_agents(hotline: Hotline) -> int:
    """End finished wrap-ups; release claims a dead worker left behind."""
    from ivr.services.dispatch import end_wrap_ups, release_stale

    return end_wrap_ups(hotline) + release_stale(hotline)


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
    return scheduler
