"""A webhook never waits on the database longer than its budget, whatever the database does.

No driver bounds a statement on the client side (PostgreSQL's statement_timeout is enforced by the
server, which never sees a statement whose packets are held; libpq's connect_timeout covers only the
connect; SQLite's busy timeout only its own lock). So a webhook's database work runs in a worker thread
and the webhook waits for it at most the budget left (`WEBHOOK_BUDGET_SECONDS` for all of a webhook's
database work together); past that it gets `DatabaseTimeout` and goes on without the database, as it does
when the database is down (events to the spool, the cached menu, Twilio's queue position).

A statement given up on goes on in its worker; when it finishes (the link comes back, or breaks) its
result is dropped. A late event write is harmless: the events were spooled, and their unique keys make
the replay a no-op. While such a statement has not come back, the database counts as hung and every
bounded call fails at once, so callers do not each wait a budget behind it (`HUNG_RETRY_SECONDS` later
a new attempt is let through, in case that one statement is stuck for good).

Outside a webhook (jobs, console pages, the CLI) the work runs in the calling thread, unbounded, unless
a budget is given (`/health`). The web layer marks a webhook's span with begin_webhook / end_webhook
(ivr/app.py does, for the voice blueprint's requests).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

log = logging.getLogger(__name__)

WEBHOOK_BUDGET_SECONDS = 0.8  # all of one webhook's database work, unless set (IVR_WEBHOOK_DB_BUDGET)
HUNG_RETRY_SECONDS = 30.0  # a statement stuck this long no longer stops new attempts
MAX_WORKERS = 32  # threads per process; more in flight than this means the database is not answering

T = TypeVar("T")


class DatabaseTimeout(TimeoutError):
    """The database did not answer within the budget (or an earlier statement is still hung)."""


def bounded(work: Callable[[], T], budget: float | None = None) -> T:
    """`work()` (a few statements, no request objects inside), waited for at most the budget left."""
    deadline = _webhook_deadline() if budget is None else time.monotonic() + budget
    if deadline is None:
        return work()
    return _runner().run(work, deadline)


class _Webhook:
    """The webhook being served: its budget, and its deadline once its first bounded call set it."""

    __slots__ = ("budget", "deadline")

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.deadline: float | None = None


_current_webhook: ContextVar[_Webhook | None] = ContextVar("current_webhook", default=None)


def begin_webhook(budget: float | None = None) -> None:
    """A webhook starts being served: its bounded calls share `budget` seconds (default: the constant)."""
    _current_webhook.set(_Webhook(float(budget) if budget else WEBHOOK_BUDGET_SECONDS))


def end_webhook() -> None:
    """The webhook is answered: later work in this context is no longer bounded."""
    _current_webhook.set(None)


def _webhook_deadline() -> float | None:
    """The deadline of the webhook being served (set by its first bounded call); None outside one."""
    webhook = _current_webhook.get()
    if webhook is None:
        return None
    if webhook.deadline is None:
        webhook.deadline = time.monotonic() + webhook.budget
    return webhook.deadline


class _Task:
    """One piece of work handed to a worker, and what came of it."""

    __slots__ = ("work", "finished", "done", "result", "error", "given_up_at")

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.finished = False  # set under the runner's lock, so a give-up and a finish never cross
        # Held until the worker is done: a bare lock is the cheapest wait with a timeout. An Event builds a
        # Condition and a lock of its own on every wait: a handoff took 25 us that way, 17 us this way.
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None
        self.given_up_at: float | None = None


class _Runner:
    """This process's worker threads (daemons: a hung statement never holds up the process's exit)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.tasks: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self.idle = 0
        self.workers = 0
        self.overdue: set[_Task] = set()  # given up on, still running

    def run(self, work: Callable[[], T], deadline: float) -> T:
        task = _Task(work)
        with self.lock:
            hung = self._hung()
            if hung is not None:
                raise DatabaseTimeout(f"the database has not answered a statement for {hung:.1f} s")
            if time.monotonic() >= deadline:
                raise DatabaseTimeout("the webhook's database budget is spent")
            if self.idle:
                self.idle -= 1
                self.tasks.put(task)
            elif self.workers < MAX_WORKERS:
                self.workers += 1
                threading.Thread(target=self._serve, args=(task,), name="db-bounded", daemon=True).start()
            else:
                raise DatabaseTimeout("every database worker is busy")
        if not task.done.acquire(timeout=max(0.0, deadline - time.monotonic())):
            with self.lock:
                if not task.finished:
                    task.given_up_at = time.monotonic()
                    self.overdue.add(task)
                    raise DatabaseTimeout("the database did not answer in time")
        if task.error is not None:
            raise task.error
        return task.result  # type: ignore[no-any-return]

    def _hung(self) -> float | None:
        """Seconds the oldest recent given-up statement has been running; None when none is."""
        now = time.monotonic()
        since = [t.given_up_at for t in self.overdue if t.given_up_at is not None]
        recent = [at for at in since if now - at < HUNG_RETRY_SECONDS]
        return now - min(recent) if recent else None

    def _serve(self, task: _Task) -> None:
        while True:
            try:
                task.result = task.work()
            except BaseException as error:  # handed to the waiting webhook, which decides
                task.error = error
            with self.lock:
                task.finished = True
                task.done.release()
                if task.given_up_at is not None:
                    self.overdue.discard(task)
                    log.warning(
                        "a database statement given up on finished %.1f s later",
                        time.monotonic() - task.given_up_at,
                    )
                task.work = _nothing  # drop the closure (and what it holds) now
                self.idle += 1
            task = self.tasks.get()


def _nothing() -> None:
    return None


_runners: dict[int, _Runner] = {}
_creating = threading.Lock()


def _runner() -> _Runner:
    """This process's runner (a forked child starts its own: threads do not survive a fork)."""
    pid = os.getpid()
    runner = _runners.get(pid)
    if runner is None:
        with _creating:
            runner = _runners.setdefault(pid, _Runner())
    return runner


def database_hung() -> bool:
    """Whether a statement given up on recently is still running in this process."""
    runner = _runners.get(os.getpid())
    if runner is None:
        return False
    with runner.lock:
        return runner._hung() is not None
