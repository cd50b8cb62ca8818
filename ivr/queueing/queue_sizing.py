"""Twilio's call queues, created and sized for the day: <Enqueue> refuses a caller once a queue is full.

A queue <Enqueue> creates on first use holds Twilio's default (1000 callers); a storm fills that in seconds.
So every queue of the live menu, and its overflow queue, is created and sized through the REST API at start
(the scheduler's first run, `run.py queues sync`) and again when storm mode switches on. Sizes only grow:
a queue is never shrunk under the callers it may hold (turning storm mode off leaves them as they are).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ivr.configuration.menus.schema import MenuDocument, QueueNode
from ivr.telephony.base import QUEUE_DEFAULT_SIZE, QUEUE_MAX_SIZE, Telephony, TelephonyError

log = logging.getLogger(__name__)

GENERAL_QUEUE = "general"  # where a rescued caller waits (ivr/calls/views.py), whatever the menu says
_OVERFLOW_SUFFIX = ".overflow"  # a dot: no menu queue name (a-z, 0-9, _ and -) can end so


def overflow_queue(name: str) -> str:
    """The second queue a caller goes to when `name` is full (a FriendlyName: 64 characters at most)."""
    return f"{name[: 64 - len(_OVERFLOW_SUFFIX)]}{_OVERFLOW_SUFFIX}"


def is_overflow(name: str) -> bool:
    """True for a queue name made by overflow_queue."""
    return name.endswith(_OVERFLOW_SUFFIX)


def planned_sizes(menu: MenuDocument, storm: bool) -> dict[str, int]:
    """Queue name -> the MaxSize it should have at least. Safety queues and overflow queues always hold
    Twilio's maximum (a gas-leak caller never meets a full queue); the others Twilio's default on a calm
    day, the maximum in storm mode."""
    everyday = QUEUE_MAX_SIZE if storm else QUEUE_DEFAULT_SIZE
    sizes = {GENERAL_QUEUE: everyday}
    safety = set()
    for node in menu.nodes.values():
        if isinstance(node, QueueNode):
            wanted = QUEUE_MAX_SIZE if node.emergency else everyday
            sizes[node.queue] = max(sizes.get(node.queue, 0), wanted)
            if node.emergency:
                safety.add(node.queue)
    # A safety caller never overflows: a full safety queue means the duty engineer at once.
    for name in [name for name in sizes if name not in safety and not is_overflow(name)]:
        sizes[overflow_queue(name)] = QUEUE_MAX_SIZE
    return sizes


@dataclass(frozen=True)
class QueueChange:
    """One queue looked at: what was done ("created", "resized", "kept", "failed") and its size now."""

    name: str
    action: str
    max_size: int
    problem: str = ""


def sync_queues(telephony: Telephony, sizes: dict[str, int]) -> list[QueueChange]:
    """Create the queues missing and grow those too small; one queue failing does not stop the others."""
    try:
        existing = {queue.name: queue for queue in telephony.list_queues()}
    except TelephonyError as exc:
        return [QueueChange(name, "failed", 0, str(exc)) for name in sizes]
    changes = []
    for name, wanted in sorted(sizes.items()):
        queue = existing.get(name)
        try:
            if queue is None:
                created = telephony.create_queue(name, wanted)
                changes.append(QueueChange(name, "created", created.max_size))
            elif queue.max_size < wanted:
                resized = telephony.resize_queue(queue.sid, wanted)
                changes.append(QueueChange(name, "resized", resized.max_size))
            else:
                changes.append(QueueChange(name, "kept", queue.max_size))
        except TelephonyError as exc:
            changes.append(QueueChange(name, "failed", queue.max_size if queue else 0, str(exc)))
    return changes


def size_queues(
    storm: bool | None = None,
    *,
    sessions: sessionmaker[Session],
    telephony: Telephony | None,
    menu: MenuDocument,
) -> list[QueueChange]:
    """Size the live menu's queues for storm mode as stored (or as given); nothing without a REST client."""
    if telephony is None:
        return []
    if storm is None:
        from ivr.queueing.storm import storm_state

        with sessions() as session:
            storm = storm_state(session).on
    changes = sync_queues(telephony, planned_sizes(menu, storm))
    for change in changes:
        if change.action == "failed":
            log.warning("call queue %s not sized: %s", change.name, change.problem)
        elif change.action != "kept":
            log.info("call queue %s %s: MaxSize %d", change.name, change.action, change.max_size)
    return changes
