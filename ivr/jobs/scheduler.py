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
    return scheduler
