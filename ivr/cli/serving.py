"""gunicorn serving the app (its documented custom-application API), with the scheduler process beside it."""

from __future__ import annotations

import logging
import subprocess
import threading
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from ivr.config import Settings
from ivr.hotline import Hotline

log = logging.getLogger(__name__)

SCHEDULER_STOP_SECONDS = 15.0  # a job finishing its transaction; then it is killed
SCHEDULER_CHECK_SECONDS = 2.0  # how soon a scheduler that ended is started again


class HotlineServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving the app: `web_workers` processes of `web_threads` threads, a `web_backlog` backlog;
    the scheduler command, if any, runs as a child process from ready to exit (started again if it ends;
    Ctrl-C or SIGTERM stop both)."""

    def __init__(self, settings: Settings, bind: str, scheduler_command: list[str] | None):
        self.settings = settings
        self.bind = bind
        self.scheduler_command = scheduler_command
        self.scheduler: subprocess.Popen[bytes] | None = None
        self._scheduler_lock = threading.Lock()
        self._stopping = threading.Event()
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": [self.bind],
            "workers": self.settings.web_workers,
            "worker_class": "gthread",
            "threads": self.settings.web_threads,
            "backlog": self.settings.web_backlog,
            "timeout": 30,  # a worker silent this long is replaced (every webhook answers within 1 s)
            "graceful_timeout": 10,  # on SIGTERM: requests in progress finish (well inside Twilio's 15 s)
            "keepalive": 5,
            "when_ready": self._start_scheduler,
            "on_exit": self._stop_scheduler,
        }
        if "control_socket_disable" in self.cfg.settings:  # newer gunicorn: one fixed path for every server
            options["control_socket_disable"] = True  # on the machine; `gunicornc` is not used here
        for name, value in options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        """Each worker builds its own app after the fork: its own database connections."""
        from ivr.app import create_app
        from ivr.config import load_settings

        hotline = Hotline.build(load_settings())
        with_served_simulator(hotline)
        return create_app(hotline=hotline)

    def _start_scheduler(self, server: Any) -> None:
        if self.scheduler_command:
            self._spawn_scheduler()
            threading.Thread(target=self._watch_scheduler, name="scheduler-watch", daemon=True).start()

    def _spawn_scheduler(self) -> None:
        with self._scheduler_lock:
            if self._stopping.is_set() or not self.scheduler_command:
                return
            self.scheduler = subprocess.Popen(self.scheduler_command)
            log.info("scheduler process %d started beside the server", self.scheduler.pid)

    def _watch_scheduler(self) -> None:
        """A scheduler that ended (killed, out of memory) is started again: the dispatcher lives there."""
        while not self._stopping.wait(SCHEDULER_CHECK_SECONDS):
            process = self.scheduler
            if process is not None and process.poll() is not None:
                log.error("scheduler process %d ended; starting another", process.pid)
                self._spawn_scheduler()

    def _stop_scheduler(self, server: Any) -> None:
        with self._scheduler_lock:  # no new one after this
            self._stopping.set()
            process = self.scheduler
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=SCHEDULER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("scheduler process %d did not stop in time; killed", process.pid)
            process.kill()
            process.wait()


def with_served_simulator(hotline: Hotline) -> None:
    """IVR_TELEPHONY=simulator: the built-in simulator is the served hotline's telephony (docs/recordings.md):
    it places the server's calls (call-backs) and serves the recordings; terminal phones attached to the
    server keep their own calls. With Twilio nothing changes."""
    from ivr.telephony.attached import AttachedPhonesTelephony
    from ivr.telephony.sim_served import ServedSimulator

    settings = hotline.settings
    if settings.telephony != "simulator":
        return
    served = ServedSimulator(
        auth_token=settings.twilio_auth_token,
        public_base=settings.public_base_url or "http://127.0.0.1:5000",
        webhook_base=settings.simulator_webhook_url or "http://127.0.0.1:5000",
        hotline_number=settings.hotline_number,
        recording_length=lambda sid: recording_length(hotline, sid),
    )
    if isinstance(hotline.telephony, AttachedPhonesTelephony):
        hotline.telephony.inner = hotline.telephony.inner or served
    elif hotline.telephony is None:
        hotline.telephony = served


def recording_length(hotline: Hotline, recording_sid: str) -> tuple[int, int] | None:
    """(seconds, channels) of a call recording or a survey comment the hotline keeps; None if unknown."""
    from sqlalchemy import select

    from ivr.db.models import Recording, SurveyResponse

    with hotline.sessions() as session:
        recorded = select(Recording.duration_seconds, Recording.channels)
        found = session.execute(recorded.where(Recording.recording_sid == recording_sid)).first()
        if found is not None:
            return found[0] or 1, found[1] or 1
        commented = select(SurveyResponse.comment_seconds)
        comment = session.execute(commented.where(SurveyResponse.comment_recording_sid == recording_sid))
        comment_row = comment.first()
    return None if comment_row is None else (comment_row[0] or 1, 1)
